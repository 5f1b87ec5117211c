// Fuzz targets: every parser that takes outside input, each with the properties its accepted inputs must have.
//
// Used three ways: by libFuzzer (`Tools/fuzz.sh TARGET SECONDS`, the `suyuan-fuzz` binary built with
// `-sanitize=fuzzer`), by the same binary without libFuzzer to replay files, and by the test suite, which
// feeds every corpus and crash file in `Tools/fuzz/corpus/TARGET/` through its target.
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// What one input did to a parser.
public struct FuzzOutcome: Sendable, CustomStringConvertible {
    /// True if the parser accepted the input.
    public var accepted = false
    /// The refusal, when refused (a clean, thrown error: never a crash).
    public var refusal: String?
    /// Properties an accepted (or refused) input broke. Empty when all is well; libFuzzer aborts otherwise.
    public var violations: [String] = []

    public var description: String {
        if !violations.isEmpty { return "VIOLATION: " + violations.joined(separator: "; ") }
        return accepted ? "accepted" : "refused: \(refusal ?? "")"
    }

    mutating func check(_ ok: Bool, _ what: @autoclosure () -> String) { if !ok { violations.append(what()) } }
}

/// A parser under test.
public struct FuzzTarget: Sendable {
    public let name: String
    /// What it parses.
    public let about: String
    let body: @Sendable ([UInt8], inout FuzzOutcome) -> Void

    /// Runs the parser on `bytes` and checks its properties.
    public func run(_ bytes: [UInt8]) -> FuzzOutcome {
        var o = FuzzOutcome()
        body(bytes, &o)
        if !o.accepted, o.refusal == nil { o.refusal = "(no message)" }
        if !o.accepted, o.refusal!.isEmpty { o.violations.append("refused with an empty message") }
        return o
    }

    /// Every target, by name.
    public static let all: [FuzzTarget] = [json, note, checkpoint, vkey, envelope, entry, statement, productCode, keyFile, witness, timestamp, didKey,
                                          epcis, attestation, bundle, termBundle, batch]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// Runs `f`; records a thrown error as the refusal. Returns the value when accepted.
func attempt<T>(_ o: inout FuzzOutcome, _ f: () throws -> T) -> T? {
    do {
        let v = try f()
        o.accepted = true
        return v
    } catch {
        o.accepted = false
        o.refusal = "\(error)"
        return nil
    }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

// Fixed keys for the targets that verify signatures (a fuzzer cannot forge them; it must not crash trying).
let fuzzLogKey = SecretKey(seed: [UInt8](repeating: 0x31, count: 32))!
let fuzzLogVKey = try! VerifierKey(name: "fuzz.suyuan.example/log", publicKey: fuzzLogKey.publicKey)
let fuzzWitnessVKey = try! VerifierKey(name: "fuzz.suyuan.example/witness",
                                                publicKey: SecretKey(seed: [UInt8](repeating: 0x32, count: 32))!.publicKey,
                                                algorithm: .cosignatureV1)

extension FuzzTarget {
    /// RFC 8259 parsing and RFC 8785 canonicalisation.
    static let json = FuzzTarget(name: "json", about: "JSONValue.parse, JCS canonical form") { bytes, o in
        guard let v = attempt(&o, { try JSONValue.parse(bytes) }) else {
            o.check(!JCS.isCanonical(bytes), "isCanonical accepted what parse refused")
            return
        }
        guard let c = try? v.canonical() else { return o.check(false, "a parsed value has no canonical form") }
        guard let again = try? JSONValue.parse(c) else { return o.check(false, "the canonical form does not parse: \(text(c))") }
        o.check(again == v, "parse(canonical(v)) != v for \(text(c))")
        o.check((try? again.canonical()) == c, "canonicalisation is not idempotent for \(text(c))")
        o.check(JCS.isCanonical(c), "isCanonical refuses a canonical form")
        o.check(JCS.isCanonical(bytes) == (c == bytes), "isCanonical disagrees with canonical() on the input")
        _ = v.prettyPrinted()
    }

    /// C2SP signed notes: structure, verification against a fixed key, and re-encoding.
    static let note = FuzzTarget(name: "note", about: "Note.parse, Note.verify") { bytes, o in
        guard let n = attempt(&o, { try Note.parse(bytes) }) else { return }
        o.check(Array(n.encoded.utf8) == bytes, "a parsed note does not re-encode to its bytes")
        o.check(!n.signatures.isEmpty && n.signatures.count <= Note.maxSignatures, "signature count out of range")
        if let again = try? Note.parse(Array(n.encoded.utf8)) {
            o.check(again.text == n.text && again.signatures == n.signatures, "re-parse differs")
        } else {
            o.check(false, "the re-encoded note does not parse")
        }
        // Verification must throw cleanly (nobody can sign with the fuzz key here but the seeds).
        _ = try? n.verify(trusting: [fuzzLogVKey, fuzzWitnessVKey])
        for s in n.signatures { _ = Cosignature(from: s)?.verify(checkpointBody: n.text, key: fuzzWitnessVKey) }
    }

    /// C2SP checkpoints: the body inside a note, and the note as a signed checkpoint.
    static let checkpoint = FuzzTarget(name: "checkpoint", about: "Checkpoint.parse(body:), Checkpoint.verify, TrustPolicy.check") { bytes, o in
        // The whole input as a body…
        // (It takes a String: invalid UTF-8 arrives as U+FFFD, so only valid UTF-8 must re-encode to itself.)
        if let cp = try? Checkpoint.parse(body: text(bytes)) {
            o.check(Array(cp.body.utf8) == Array(text(bytes).utf8), "a parsed checkpoint body does not re-encode to its text")
            o.check((try? Checkpoint(origin: cp.origin, size: cp.size, root: cp.root, extensions: cp.extensions)) != nil,
                    "a parsed checkpoint cannot be rebuilt")
        }
        // …and as a signed checkpoint note (the outcome reported).
        let policy = try! TrustPolicy(log: fuzzLogVKey, quorum: 1, witnesses: ["W": fuzzWitnessVKey])
        _ = try? policy.check(bytes)
        guard let v = attempt(&o, { try Checkpoint.verify(bytes, trusting: [fuzzLogVKey, fuzzWitnessVKey]) }) else { return }
        o.check(!v.verifiedBy.isEmpty, "a verified checkpoint names no signer")
        o.check(Array(v.checkpoint.body.utf8) == Array(v.note.text.utf8), "verified checkpoint body differs from the note text")
    }

    /// Verifier key strings `name+hex8+base64`.
    static let vkey = FuzzTarget(name: "vkey", about: "VerifierKey(parsing:), NoteSigner(parsingGoPrivateKey:)") { bytes, o in
        _ = try? NoteSigner(parsingGoPrivateKey: text(bytes))
        guard let k = attempt(&o, { try VerifierKey(parsing: text(bytes)) }) else { return }
        o.check(k.description == text(bytes), "a parsed verifier key does not print as its input")
        o.check((try? VerifierKey(parsing: k.description)) == k, "the printed verifier key does not parse back")
    }

    /// DSSE envelopes holding signed statements, as `suyuan append --statement` reads them.
    static let envelope = FuzzTarget(name: "envelope", about: "SignedStatement(envelope:), signature check, rules") { bytes, o in
        guard let s = attempt(&o, { try SignedStatement(envelope: bytes) }) else { return }
        o.check(s.canonical.count <= Statement.maxBytes, "an accepted statement is over the size limit")
        o.check(JCS.isCanonical(s.canonical), "an accepted statement is not canonical")
        o.check(s.signature.count == 64, "an accepted signature is not 64 bytes")
        guard let env = try? s.envelope.canonical(), let again = try? SignedStatement(envelope: env) else {
            return o.check(false, "the statement's own envelope does not parse")
        }
        o.check(again == s, "envelope round trip differs")
        _ = try? s.verifySignature()
        if let rule = try? RuleBook.core.rule(for: s.statement.kind) { _ = try? rule.validate(s.statement) }
    }

    /// Stored entry bytes, as the store, `suyuan entries` and the audit read them.
    static let entry = FuzzTarget(name: "entry", about: "Entry(parsing:)") { bytes, o in
        guard let e = attempt(&o, { try Entry(parsing: bytes) }) else { return }
        o.check(e.bytes == bytes, "an accepted entry is not its own canonical bytes")
        o.check(e.leafHash == RFC6962.leafHash(bytes), "leaf hash differs from RFC 6962 over the bytes")
        o.check((try? Entry(parsing: e.bytes))?.bytes == bytes, "re-parse differs")
        _ = try? e.signed.verifySignature()
    }

    /// Statement objects and the payloads of every kind the ledger knows.
    static let statement = FuzzTarget(name: "statement", about: "Statement(json:), Genesis(payload:), Notice(payload:)") { bytes, o in
        guard let j = try? JSONValue.parse(bytes) else { o.refusal = "not JSON"; return }
        _ = try? Genesis(payload: j)
        _ = try? Notice(payload: j)
        guard let s = attempt(&o, { try Statement(json: j) }) else { return }
        o.check(s.json == j, "Statement(json:).json differs from its input")
        _ = try? s.signerKey()
        if let rule = try? RuleBook.core.rule(for: s.kind) { _ = try? rule.validate(s) }
        _ = try? Genesis(payload: s.payload)
        _ = try? Notice(payload: s.payload)
    }

    /// GS1 product codes: Digital Link URIs, element strings, EPC URNs.
    static let productCode = FuzzTarget(name: "productcode", about: "ProductCode(parsing:)") { bytes, o in
        guard let c = attempt(&o, { try ProductCode(parsing: text(bytes)) }) else { return }
        guard let again = try? ProductCode(parsing: c.canonical) else {
            return o.check(false, "the canonical key \(c.canonical) does not parse")
        }
        o.check(again.canonical == c.canonical, "canonical key not stable: \(c.canonical) → \(again.canonical)")
        // Equal identity fields (an item's lot and a CPV are not in the key: Specs/product-codes.md §2).
        o.check(again.kind == c.kind && again.gtin == c.gtin && again.serial == c.serial && again.sscc == c.sscc
                && again.gln == c.gln && again.glnExtension == c.glnExtension, "parse(canonical) names another code")
        if let lot = c.lotKey { o.check((try? ProductCode(parsing: lot))?.canonical == lot, "lot key \(lot) does not parse to itself") }
        if let cls = c.classKey { o.check((try? ProductCode(parsing: cls))?.canonical == cls, "class key \(cls) does not parse to itself") }
    }

    /// Encrypted key files (structure only: decrypting costs Argon2id, bounded separately).
    static let keyFile = FuzzTarget(name: "keyfile", about: "KeyFile.parse") { bytes, o in
        guard let f = attempt(&o, { try KeyFile.parse(bytes) }) else { return }
        o.check(f.publicKeyValue != nil, "an accepted key file has no public key")
        o.check((try? KeyFile.parse(f.encoded())) != nil, "a key file's own encoding does not parse")
        _ = try? VerifierKey(name: f.name, publicKey: f.publicKeyValue!)
    }

    /// Witness state files and trust policy files.
    static let witness = FuzzTarget(name: "witness", about: "WitnessState(json:), TrustPolicy(json:)") { bytes, o in
        guard let j = try? JSONValue.parse(bytes, maxBytes: 1 << 16) else { o.refusal = "not JSON"; return }
        if let p = try? TrustPolicy(json: j) {
            o.check(p.quorum >= 0 && p.quorum <= p.witnesses.count, "policy quorum out of range")
        }
        guard let s = attempt(&o, { try WitnessState(json: j) }) else { return }
        o.check((try? WitnessState(json: s.json)) == s, "witness state does not round-trip")
    }

    /// RFC 3339 times.
    static let timestamp = FuzzTarget(name: "timestamp", about: "Timestamp(parsing:)") { bytes, o in
        let t = text(bytes)
        guard let ts = attempt(&o, { () throws -> Timestamp in
            guard let v = Timestamp(parsing: t) else { throw FuzzRefusal("not an RFC 3339 UTC time") }
            return v
        }) else { return }
        o.check(Timestamp(parsing: ts.millisecondString) == ts.truncatedToMilliseconds, "millisecond form does not parse back")
        o.check(Timestamp(parsing: ts.secondString)?.seconds == ts.seconds, "second form does not parse back")
    }

    /// did:key identifiers, base58btc and base64.
    static let didKey = FuzzTarget(name: "didkey", about: "DIDKey.decode, Base58BTC.decode, Base64.decode") { bytes, o in
        let t = text(bytes)
        if let b = Base64.decode(t) { o.check(Base64.encode(b) == t, "base64 decode accepted a non-canonical form") }
        if let b = Base58BTC.decode(t) { o.check(Base58BTC.decode(Base58BTC.encode(b)) == b, "base58 round trip differs") }
        _ = try? DIDKey.decodeMultibaseSecretKey(t)
        guard let k = attempt(&o, { try DIDKey.decode(t) }) else { return }
        o.check((try? DIDKey.decode(DIDKey.encode(k))) == k, "did:key round trip differs")
    }
}

struct FuzzRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

import SuyuanCrypto
import SuyuanFormats

/// What a user signs: `{"kind","payload","signer","time"}`, encoded with JCS (see `Specs/ledger.md`).
public struct Statement: Equatable, Sendable {
    /// The statement kind, e.g. `genesis` or `notice`.
    public let kind: String
    /// The kind-specific payload (a JSON object).
    public let payload: JSONValue
    /// The signer's key as a `did:key`.
    public let signer: String
    /// When the signer made the statement (RFC 3339, UTC).
    public let time: Timestamp
    /// The statement's exact text as given (canonical form).
    public let timeText: String

    /// The DSSE payload type that names this format and version.
    public static let payloadType = "application/vnd.suyuan.statement.v1+json"
    /// The largest accepted statement, in bytes of its canonical form.
    public static let maxBytes = 65_536
    /// Kind names: 1–64 characters of `a-z 0-9 . -`.
    static func isValidKind(_ k: String) -> Bool {
        !k.isEmpty && k.utf8.count <= 64 && k.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x2d }
    }

    /// Builds a statement to be signed.
    public init(kind: String, payload: JSONValue, signer: PublicKey, time: Timestamp) throws(LedgerError) {
        guard Statement.isValidKind(kind) else { throw .malformed("kind \"\(kind)\" must be 1–64 characters of a-z, 0-9, '.', '-'") }
        guard case .object = payload else { throw .malformed("payload must be a JSON object") }
        self.kind = kind
        self.payload = payload
        self.signer = DIDKey.encode(signer)
        self.time = time.truncatedToMilliseconds
        self.timeText = self.time.millisecondString
    }

    private static let fields: Set<String> = ["kind", "payload", "signer", "time"]

    /// Parses a statement object, requiring exactly the four fields.
    public init(json: JSONValue) throws(LedgerError) {
        guard let obj = json.objectValue else { throw .malformed("statement must be a JSON object") }
        if !obj.keys.allSatisfy(Statement.fields.contains) {
            let extra = Set(obj.keys).subtracting(Statement.fields)
            throw .malformed("unexpected statement field(s) \(extra.sorted().joined(separator: ", "))")
        }
        guard let kind = obj["kind"]?.stringValue else { throw .malformed("statement needs a string \"kind\"") }
        guard Statement.isValidKind(kind) else { throw .malformed("kind \"\(kind)\" must be 1–64 characters of a-z, 0-9, '.', '-'") }
        guard let payload = obj["payload"], payload.objectValue != nil else { throw .malformed("statement needs an object \"payload\"") }
        guard let signer = obj["signer"]?.stringValue else { throw .malformed("statement needs a string \"signer\" (a did:key)") }
        guard let timeText = obj["time"]?.stringValue else { throw .malformed("statement needs a string \"time\"") }
        guard let time = Timestamp(parsing: timeText) else {
            throw .malformed("time \"\(timeText)\" is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.fff]Z)")
        }
        self.kind = kind
        self.payload = payload
        self.signer = signer
        self.time = time
        self.timeText = timeText
    }

    /// The statement as a JSON object.
    public var json: JSONValue {
        .object(["kind": .string(kind), "payload": payload, "signer": .string(signer), "time": .string(timeText)])
    }

    /// The signer's public key, decoded from `signer`.
    public func signerKey() throws(LedgerError) -> PublicKey {
        do { return try DIDKey.decode(signer) } catch {
            throw .malformed("signer \"\(signer)\" is not an Ed25519 did:key")
        }
    }

    /// Signs this statement: Ed25519 over DSSE PAE(payloadType, JCS(statement)).
    public func sign(with key: SecretKey) throws(LedgerError) -> SignedStatement {
        guard key.publicKey == (try signerKey()) else { throw .malformed("statement signer is not the signing key") }
        let body: [UInt8]
        do { body = try json.canonical() } catch { throw .malformed("\(error)") }
        guard body.count <= Statement.maxBytes else {
            throw .malformed("statement is \(body.count) bytes; the limit is \(Statement.maxBytes)")
        }
        let sig = key.sign(DSSE.pae(type: Statement.payloadType, body: body))
        return SignedStatement(unverifiedStatement: self, canonical: body, signature: sig, hashed: true)
    }
}

/// A statement with its canonical bytes and signature. Not yet verified.
public struct SignedStatement: Sendable, Equatable {
    /// The fields, held once (as `Entry` holds its own): a statement is copied through batches,
    /// results and entries, and a copy is then one reference count instead of one per field.
    @usableFromInline final class Storage: Sendable {
        @usableFromInline let statement: Statement, canonical: [UInt8], signature: [UInt8], knownHash: Hash?
        init(_ statement: Statement, _ canonical: [UInt8], _ signature: [UInt8], _ knownHash: Hash?) {
            self.statement = statement; self.canonical = canonical; self.signature = signature; self.knownHash = knownHash
        }
    }
    @usableFromInline let storage: Storage

    /// The parsed statement.
    @inlinable public var statement: Statement { storage.statement }
    /// `JCS(statement)`: the exact bytes that were signed (inside the PAE).
    @inlinable public var canonical: [UInt8] { storage.canonical }
    /// The 64-byte Ed25519 signature.
    @inlinable public var signature: [UInt8] { storage.signature }
    /// Hash identifying the statement (for duplicate detection): SHA-256 of its canonical bytes.
    /// Computed once for a statement submitted or signed here (it will be looked up and stored), and
    /// on each use for one read back from entries, where most readers never need it.
    public var statementHash: Hash { storage.knownHash ?? SHA256.hash(storage.canonical) }

    /// Wraps parts already checked; `hashed` computes the statement hash now (for an append).
    init(unverifiedStatement: Statement, canonical: [UInt8], signature: [UInt8], hashed: Bool) {
        storage = Storage(unverifiedStatement, canonical, signature, hashed ? SHA256.hash(canonical) : nil)
    }

    /// Equal when the signed bytes and the signature are (the statement is parsed from those bytes).
    public static func == (a: SignedStatement, b: SignedStatement) -> Bool {
        a.storage === b.storage || (a.canonical == b.canonical && a.signature == b.signature)
    }

    /// Parses statement bytes that must already be canonical, plus a signature.
    public init(canonical: [UInt8], signature: [UInt8]) throws(LedgerError) {
        guard canonical.count <= Statement.maxBytes else {
            throw .malformed("statement is \(canonical.count) bytes; the limit is \(Statement.maxBytes)")
        }
        let (json, isCanonical): (JSONValue, Bool)
        do { (json, isCanonical) = try JSONValue.parseCheckingCanonical(canonical) } catch { throw .malformed("statement is not valid JSON: \(error)") }
        let st = try Statement(json: json)
        guard isCanonical else { throw .malformed("statement is not in RFC 8785 canonical form") }
        guard signature.count == 64 else { throw .malformed("signature must be 64 bytes, got \(signature.count)") }
        storage = Storage(st, canonical, signature, SHA256.hash(canonical))
    }


    /// Checks the signature against the signer key named in the statement.
    public func verifySignature() throws(LedgerError) {
        try verifySignature(by: try statement.signerKey())
    }

    /// Checks the signature against `key`, which the caller decoded from `signer`.
    public func verifySignature(by key: PublicKey) throws(LedgerError) {
        guard key.isValidSignature(signature, for: DSSE.pae(type: Statement.payloadType, body: canonical)) else {
            throw .badSignature("the Ed25519 signature by \(statement.signer) does not match this \(statement.kind) statement")
        }
    }

    /// A DSSE envelope: `{"payload":b64,"payloadType":…,"signatures":[{"keyid":did,"sig":b64}]}`.
    public var envelope: JSONValue {
        .object([
            "payloadType": .string(Statement.payloadType),
            "payload": .string(Base64.encode(canonical)),
            "signatures": .array([.object(["keyid": .string(statement.signer), "sig": .string(Base64.encode(signature))])]),
        ])
    }

    /// Parses a DSSE envelope holding one signature over a statement.
    public init(envelope bytes: [UInt8]) throws(LedgerError) {
        guard bytes.count <= Statement.maxBytes * 2 else { throw .malformed("envelope is larger than \(Statement.maxBytes * 2) bytes") }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch { throw .malformed("not valid JSON: \(error)") }
        guard let obj = json.objectValue else { throw .malformed("a signed statement must be a DSSE envelope object") }
        guard obj["payloadType"]?.stringValue == Statement.payloadType else {
            throw .malformed("payloadType must be \"\(Statement.payloadType)\"")
        }
        guard let p = obj["payload"]?.stringValue, let body = Base64.decode(p) else { throw .malformed("payload must be standard base64") }
        guard let sigs = obj["signatures"]?.arrayValue, sigs.count == 1 else { throw .malformed("exactly one signature expected in \"signatures\"") }
        guard let s = sigs[0]["sig"]?.stringValue, let sig = Base64.decode(s) else { throw .malformed("signatures[0].sig must be standard base64") }
        try self.init(canonical: body, signature: sig)
    }

    /// The most statements one batch holds, and the largest batch body.
    public static let maxBatchStatements = 10_000
    public static let maxBatchBytes = 32 << 20

    /// Parses a batch `{"statements":[envelope, …]}` (1 to `maxBatchStatements` DSSE envelopes), as
    /// `POST /api/v1/statements/batch` receives it; a bad envelope is named by its position.
    public static func batch(parsing bytes: [UInt8]) throws(LedgerError) -> [SignedStatement] {
        guard bytes.count <= maxBatchBytes else { throw .malformed("the batch is larger than the \(maxBatchBytes)-byte limit") }
        let doc: JSONValue
        do { doc = try JSONValue.parse(bytes) } catch { throw .malformed("the batch is not valid JSON: \(error)") }
        guard let list = doc.objectValue?["statements"]?.arrayValue, doc.objectValue?.count == 1, !list.isEmpty,
              list.count <= maxBatchStatements else {
            throw .malformed("a batch is {\"statements\":[…]} with 1 to \(maxBatchStatements) DSSE envelopes as written by `suyuan sign`")
        }
        var statements: [SignedStatement] = []
        for (i, item) in list.enumerated() {
            do { statements.append(try SignedStatement(envelope: try item.canonical())) } catch {
                // Already under "malformed statement": a malformed envelope's own message, without that prefix again.
                throw .malformed("statement \(i + 1) of \(list.count): \((error as? LedgerError)?.detail ?? "\(error)")")
            }
        }
        return statements
    }
}

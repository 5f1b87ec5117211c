import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// What proves entries: a signed checkpoint, the entries' bytes and their inclusion proofs in it, and
/// optionally consistency proofs from checkpoints the consumer saved earlier.
public struct ProofMaterial: Sendable {
    public var checkpoint: [UInt8]
    /// Entry bytes by index (genesis, entry 0, always included).
    public var entries: [UInt64: [UInt8]]
    /// Inclusion proof of each entry in the checkpoint's tree.
    public var proofs: [UInt64: [Hash]]

    public init(checkpoint: [UInt8], entries: [UInt64: [UInt8]], proofs: [UInt64: [Hash]]) {
        self.checkpoint = checkpoint; self.entries = entries; self.proofs = proofs
    }

    /// The bundle fields (`Specs/bundle.md`): the checkpoint note and the entries, ascending, each
    /// with its base64 bytes and proof.
    var json: [String: JSONValue] {
        // On all cores: a product's bundle may hold thousands of entries and their proofs.
        ["checkpoint": .string(String(decoding: checkpoint, as: UTF8.self)),
         "entries": .array(Parallel.map(entries.sorted { $0.key < $1.key }) { [proofs] i, bytes in
             .object(["index": .number(Double(i)), "entry": .string(Base64.encode(bytes)),
                      "proof": .array((proofs[i] ?? []).map { .string(Base64.encode($0.bytes)) })])
         })]
    }

    /// The entries of `entries` whose statement signatures verify, by index, checked on all cores.
    public static func checkSignatures(_ entries: [Entry]) -> [UInt64: Entry] {
        let signers = SignerKeyCache()
        let ok = Parallel.map(entries) { e in (try? e.signed.verifySignature(by: try signers.key(of: e.statement))) != nil }
        var out: [UInt64: Entry] = Dictionary(minimumCapacity: entries.count)
        for (e, good) in zip(entries, ok) where good { out[e.index] = e }
        return out
    }

    /// The top-level fields of a bundle document of `format`, allowing `more` besides the checkpoint
    /// and entries.
    static func fields(_ bytes: [UInt8], _ what: String, maxBytes: Int, format: String, more: Set<String>) throws(LedgerError) -> Fields {
        guard bytes.count <= maxBytes else { throw .malformed("the \(what) is larger than \(maxBytes) bytes") }
        let v: JSONValue
        // Its entries (most of the bytes of a large bundle) are parsed on all cores.
        do { v = try JSONValue.parse(bytes, maxBytes: maxBytes, splittingArrayMember: "entries") } catch { throw .malformed("the \(what) is not valid JSON: \(error)") }
        let f = try Fields(v, what, allowed: more.union(["format", "checkpoint", "entries"]))
        guard try f.string("format") == format else { throw .malformed("\(what) format must be \(format)") }
        return f
    }

    /// Parses the checkpoint and entries of a bundle document; every malformed part is named (the
    /// first in document order). The entries are decoded on all cores.
    init(_ f: Fields, _ what: String) throws(LedgerError) {
        checkpoint = Array(try f.string("checkpoint", maxLength: 16 << 10).utf8)
        entries = [:]; proofs = [:]
        let items = Array(try f.array("entries", maxCount: 1_000_000).enumerated())
        for decoded in Parallel.map(items, { n, item in Result { () throws(LedgerError) in try Self.entry(item, "\(what) entries[\(n)]") } }) {
            let (i, b, proof) = try decoded.get()
            guard entries[i] == nil else { throw .malformed("\(what) entry \(i) appears twice") }
            entries[i] = b
            proofs[i] = proof
        }
    }

    /// One item of a bundle's `entries`: its index, entry bytes and proof.
    private static func entry(_ item: JSONValue, _ what: String) throws(LedgerError) -> (UInt64, [UInt8], [Hash]) {
        let e = try Fields(item, what, allowed: ["index", "entry", "proof"])
        guard let i = e.object["index"]?.integerValue, i >= 0 else { throw .malformed("\(what).index must be a non-negative integer") }
        guard let b = Base64.decode(try e.string("entry", maxLength: Statement.maxBytes * 3)) else { throw .malformed("\(what).entry is not base64") }
        var proof: [Hash] = []
        for p in try e.array("proof", maxCount: 64) {
            guard let s = p.stringValue, let d = Base64.decode(s), let h = Hash(bytes: d) else {
                throw .malformed("\(what).proof must hold base64 32-byte hashes")
            }
            proof.append(h)
        }
        return (UInt64(i), b, proof)
    }

    /// Checks the checkpoint signature with `trusted` keys and every entry's inclusion proof and
    /// signature; returns the verified checkpoint, the parsed entries and every failure, each a
    /// sentence. `signedAfterInclusion`, asked once the inclusion proofs are checked, may give entries
    /// the caller parsed from these very bytes and whose signatures it checked (`checkSignatures`,
    /// on other threads meanwhile): those are not parsed or checked again.
    public func verify(trusting trusted: [VerifierKey], signedAfterInclusion: () -> [UInt64: Entry] = { [:] }) -> (VerifiedCheckpoint?, [UInt64: Entry], [String]) {
        Self.verify(checkpoint: checkpoint, entries: entries, trusting: trusted, signedAfterInclusion: signedAfterInclusion) { leaves, size, root in
            // All at once (their shared upper paths hashed once).
            RFC6962.verifyInclusions(leaves.map { ($0.index, $0.leafHash, proofs[$0.index] ?? []) }, size: size, root: root)
        }
    }

    /// The checks of `verify(trusting:signedAfterInclusion:)` for `entries` proved by `inclusion`, which
    /// says for each (index, leaf hash computed from its bytes) whether it is in the checkpoint's tree
    /// of `size` leaves and `root` (nil when it is): from the proofs a bundle carries, or from the
    /// tree a ledger stores (`RFC6962.verifyInclusions(_:size:root:reader:)`).
    public static func verify(
        checkpoint: [UInt8], entries: [UInt64: [UInt8]], trusting trusted: [VerifierKey], signedAfterInclusion: () -> [UInt64: Entry],
        inclusion: (_ leaves: [(index: UInt64, leafHash: Hash)], _ size: UInt64, _ root: Hash) -> [(any Error)?]
    ) -> (VerifiedCheckpoint?, [UInt64: Entry], [String]) {
        var failures: [String] = []
        var parsed: [UInt64: Entry] = [:]
        let cp: VerifiedCheckpoint
        do { cp = try Checkpoint.verify(checkpoint, trusting: trusted) } catch {
            return (nil, [:], ["the checkpoint does not verify with the trusted key(s) \(trusted.map(\.description).joined(separator: ", ")): \(error)"])
        }
        let size = cp.checkpoint.size, root = cp.checkpoint.root
        let items = entries.sorted(by: { $0.key < $1.key }).map { (index: $0.key, bytes: $0.value) }
        let covered = items.filter { $0.index < size }
        let leafHashes = Parallel.map(covered) { RFC6962.leafHash($0.bytes) }
        let included = inclusion(zip(covered, leafHashes).map { ($0.index, $1) }, size, root)
        let notIncluded = Dictionary(uniqueKeysWithValues: zip(covered, included).compactMap { item, error in error.map { (item.index, "\($0)") } })
        let known = signedAfterInclusion()
        // Then each entry on its own (canonical form, signature): on all cores.
        let signers = SignerKeyCache()
        let checked = Parallel.map(items) { item -> (entry: Entry?, failure: String?) in
            let i = item.index
            guard i < size else {
                return (nil, "entry \(i) is not covered by the checkpoint (size \(size)); sign a new checkpoint")
            }
            if let error = notIncluded[i] { return (nil, "entry \(i) is not included in the checkpoint of size \(size): \(error)") }
            if let k = known[i], k.index == i, k.bytes == item.bytes { return (k, nil) }
            do {
                let e = try Entry(parsing: item.bytes)
                guard e.index == i else { return (nil, "entry \(i) says it is entry \(e.index)") }
                try e.signed.verifySignature(by: try signers.key(of: e.statement))
                return (e, nil)
            } catch {
                return (nil, "entry \(i): \(error)")
            }
        }
        for (item, result) in zip(items, checked) {
            if let e = result.entry { parsed[item.index] = e }
            if let f = result.failure { failures.append(f) }
        }
        if let g = parsed[0] {
            if let genesis = try? Genesis(payload: g.statement.payload), g.statement.kind == Genesis.kind {
                if genesis.origin != cp.checkpoint.origin {
                    failures.append("the checkpoint is for origin \(cp.checkpoint.origin), but the ledger's genesis names \(genesis.origin)")
                }
                if !trusted.contains(where: { $0.publicKey == genesis.operatorKey.publicKey }) {
                    failures.append("the ledger's genesis names operator key \(genesis.operatorKey), which is not a trusted key")
                }
            } else { failures.append("entry 0 is not a genesis statement") }
        } else if entries[0] == nil { failures.append("the genesis entry (0) is missing") }
        return (cp, parsed, failures)
    }
}

/// The result of verifying a product: its journey, attestations, recognition verdicts and the
/// integrity proof, with every problem spelled out. Built the same way from a ledger or a bundle.
public struct ProductVerification: Sendable {
    public let journey: ProductJourney
    public let verdicts: [Region: ProductVerdict]
    public let checkpoint: VerifiedCheckpoint?
    /// Integrity failures (signatures, proofs, consistency); empty when all entries verify.
    public let integrityFailures: [String]
    /// How many entries were proved included.
    public let entriesProved: Int
    /// The regions whose verdict counts for `verified` (all three by default).
    public let regions: [Region]
    /// When verified from an offline bundle: the bundle's creation time. A bundle proves the entries it
    /// holds, not that no entry (e.g. a later recall) was left out or added since.
    public var offlineBundleCreatedAt: Timestamp?

    /// Everything that makes the verification fail, as sentences.
    public var problems: [String] {
        var p = integrityFailures
        if journey.recalled { p.append("the product is recalled\(journey.recallReason.map { ": \($0)" } ?? "")") }
        p += journey.findings.map { "\($0.kind): \($0.message)" }
        for r in regions where verdicts[r]?.verdict == .notRecognised {
            p.append("not recognised in \(r.rawValue): \(verdicts[r]!.reasons.joined(separator: " "))")
        }
        return p
    }

    public var verified: Bool { problems.isEmpty }

    /// Judges `journey` against `registry` at `now`, with the integrity result.
    public init(journey: ProductJourney, registry: Registry, now: Timestamp, policy: LaterSuspensionPolicy? = nil,
                checkpoint: VerifiedCheckpoint?, integrityFailures: [String], entriesProved: Int, regions: [Region] = Region.allCases) {
        let v = RecognitionVerifier(registry: registry, now: now, policyOverride: policy)
        let verdicts = v.productVerdicts(journey.attestations, product: journey.code, lot: journey.lot)
        self.journey = journey; self.verdicts = verdicts; self.checkpoint = checkpoint
        self.integrityFailures = integrityFailures; self.entriesProved = entriesProved; self.regions = regions
    }

    // MARK: Output

    public var json: JSONValue {
        // Each signer's did:key once, and each event's object on all cores: a product may have thousands.
        var dids: [PublicKey: String] = [:]
        for s in journey.steps where dids[s.signer] == nil { dids[s.signer] = DIDKey.encode(s.signer) }
        let events: [JSONValue] = Parallel.map(journey.steps) { [dids] s in
            var o: [String: JSONValue] = [
                "index": .number(Double(s.index)), "time": .string(s.event.time.millisecondString), "step": .string(s.step),
                "type": .string(s.event.type), "eventID": .string(s.event.eventID), "signer": .string(s.signerName),
                "signerKey": .string(dids[s.signer]!), "retracted": .bool(s.retracted),
            ]
            if let p = s.place { o["location"] = .string(p) }
            if let b = s.event.bizStep { o["bizStep"] = .string(b) }
            if let d = s.event.disposition { o["disposition"] = .string(d) }
            if let v = s.via { o["via"] = .string(v) }
            if let z = s.event.bondedZone.flatMap(BondedZone.init(rawValue:)) { o["bondedZone"] = .string(z.rawValue) }
            if let c = s.event.customsRelease {
                var cr: [String: JSONValue] = ["declaration": .string(c.declaration), "mode": .string(c.mode)]
                if let h = c.orderHash { cr["orderHash"] = .string(h) }
                o["customsRelease"] = .object(cr)
            }
            if !s.event.sensorReadings.isEmpty {
                o["readings"] = .array(s.event.sensorReadings.map { r in
                    var x: [String: JSONValue] = ["type": .string(r.type), "value": .number(r.value)]
                    if let u = r.uom { x["uom"] = .string(u) }
                    return .object(x)
                })
            }
            if let c = s.event.countryOfOrigin { o["countryOfOrigin"] = .string(c) }
            if let l = s.event.lot { o["lot"] = .string(l) }
            if let x = s.event.expiry { o["expiry"] = .string(x) }
            if let r = s.event.reason ?? s.event.errorReason { o["reason"] = .string(r) }
            return .object(o)
        }
        let attestations: [JSONValue] = journey.attestations.map { r in
            let a = r.attestation
            var o: [String: JSONValue] = [
                "id": .string(a.id), "index": .number(Double(r.index)), "body": .string(a.body), "product": .string(a.product.canonical),
                "category": .string(a.scope.category), "standard": .string(a.scope.standard), "result": .string(a.result.rawValue),
                "validFrom": .string(a.validFrom.millisecondString), "issuer": .string(DIDKey.encode(a.issuer)),
                "values": .array(a.values.map { .string($0.text) }),
            ]
            if let u = a.validUntil { o["validUntil"] = .string(u.millisecondString) }
            if let h = a.reportHash { o["reportHash"] = .string(h) }
            var per: [String: JSONValue] = [:]
            for region in Region.allCases {
                if let v = verdicts[region]?.attestations.first(where: { $0.attestation == a.id }) {
                    per[region.rawValue] = .object(["verdict": .string(v.verdict.rawValue), "reasons": .array(v.reasons.map { .string($0) })])
                }
            }
            o["verdicts"] = .object(per)
            return .object(o)
        }
        var recognition: [String: JSONValue] = [:]
        for (r, v) in verdicts { recognition[r.rawValue] = v.json }
        var out: [String: JSONValue] = [
            "code": .string(journey.code.canonical), "verified": .bool(verified), "problems": .array(problems.map { .string($0) }),
            "events": .array(events), "attestations": .array(attestations), "recognition": .object(recognition),
            "recalled": .bool(journey.recalled), "coldChain": .string(journey.coldChain),
            "findings": .array(journey.findings.map { f in
                .object(["kind": .string(f.kind), "index": f.index.map { .number(Double($0)) } ?? .null, "message": .string(f.message)])
            }),
            "integrity": .object(["entriesProved": .number(Double(entriesProved)), "failures": .array(integrityFailures.map { .string($0) })]),
        ]
        if let l = journey.lot { out["lot"] = .string(l.canonical) }
        if let t = offlineBundleCreatedAt {
            out["offline"] = .object(["bundleCreatedAt": .string(t.millisecondString), "completeness": "not proved: a bundle proves the entries it holds"])
        }
        if let r = journey.recallReason { out["recallReason"] = .string(r) }
        if let cp = checkpoint {
            out["checkpoint"] = .object(["origin": .string(cp.checkpoint.origin), "size": .number(Double(cp.checkpoint.size)),
                                         "root": .string(cp.checkpoint.root.hex), "note": .string(cp.note.encoded)])
        } else { out["checkpoint"] = .null }
        return .object(out)
    }

    public var text: String {
        var l: [String] = []
        l.append("Product \(journey.code.canonical)" + (journey.lot.map { "  (lot \($0.lot ?? $0.canonical))" } ?? ""))
        if let t = offlineBundleCreatedAt {
            l.append("Offline bundle made \(t.millisecondString): it proves the entries it holds; it cannot show that none was left out or added since (check online for recalls).")
        }
        l.append(verified ? "VERIFIED: every entry below is signed and included in the operator's signed checkpoint; no problem found."
                          : "NOT VERIFIED: \(problems.count) problem(s):")
        for p in problems { l.append("  ✗ \(p)") }
        l.append("")
        l.append("Journey (\(journey.steps.count) events):")
        // Each step's lines on all cores: a product may have thousands.
        l += Parallel.map(journey.steps) { s in
            var line = "  \(s.event.time.millisecondString)  \(s.step.padded(13)) \(s.place ?? "-")  — \(s.signerName)  [entry \(s.index)]"
            if let v = s.via { line += " via \(v)" }
            if s.retracted { line += "  (declared in error)" }
            if let c = s.event.countryOfOrigin { line += "\n      origin \(c)\(s.event.lot.map { ", lot \($0)" } ?? "")\(s.event.expiry.map { ", expires \($0)" } ?? "")" }
            if let c = s.event.customsRelease { line += "\n      customs declaration \(c.declaration), mode \(c.mode)" }
            for r in s.event.sensorReadings { line += "\n      \(r.type) \(JourneyRules.number(r.value))\(r.uom.map { " \($0)" } ?? "")" }
            if let r = s.event.reason ?? s.event.errorReason { line += "\n      reason: \(r)" }
            return line
        }
        l.append("")
        l.append("Cold chain: \(journey.coldChain)    Recall: \(journey.recalled ? "RECALLED\(journey.recallReason.map { " (\($0))" } ?? "")" : "none")")
        if !journey.findings.isEmpty {
            l.append("Journey findings:")
            for f in journey.findings { l.append("  - \(f.kind)\(f.index.map { " at entry \($0)" } ?? ""): \(f.message)") }
        }
        l.append("")
        l.append("Inspection attestations (\(journey.attestations.count)):")
        for r in journey.attestations {
            let a = r.attestation
            l.append("  \(a.id)  \(a.scope)  \(a.result.rawValue)  by \(a.body)  \(a.validFrom.millisecondString)  [entry \(r.index)]")
            if !a.values.isEmpty { l.append("      " + a.values.map(\.text).joined(separator: ", ")) }
        }
        l.append("")
        l.append("Recognition (一次认证、一次检测、三地通行):")
        for r in Region.allCases {
            guard let v = verdicts[r] else { continue }
            l.append("  \(r.rawValue) \(r.displayName.padded(10)) \(v.verdict.rawValue)")
            for reason in v.reasons { l.append("      \(reason)") }
        }
        l.append("")
        if let cp = checkpoint {
            l.append("Integrity: \(entriesProved) entries proved included in checkpoint \(cp.checkpoint.origin) size \(cp.checkpoint.size) root \(cp.checkpoint.root.hex)")
        } else { l.append("Integrity: no verified checkpoint") }
        for f in integrityFailures { l.append("  ✗ \(f)") }
        return l.joined(separator: "\n")
    }
}

extension String {
    func padded(_ n: Int) -> String { self + String(repeating: " ", count: Swift.max(0, n - count)) }
}

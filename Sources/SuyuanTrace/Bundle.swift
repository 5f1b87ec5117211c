import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// A self-contained offline proof bundle for one product (see `Specs/bundle.md`): the product's
/// entries, the registry entries its verdicts depend on, the genesis, each with its inclusion proof in
/// one signed checkpoint. Checking it needs no ledger, only the operator's verifier key.
public struct ProductBundle: Sendable {
    public static let format = "suyuan-bundle/v1"
    /// The largest bundle accepted, in bytes.
    public static let maxBytes = 64 << 20

    public let code: ProductCode
    public let createdAt: Timestamp
    public let material: ProofMaterial

    public init(code: ProductCode, createdAt: Timestamp, material: ProofMaterial) {
        self.code = code; self.createdAt = createdAt; self.material = material
    }

    public var json: JSONValue {
        .object([
            "format": .string(Self.format), "code": .string(code.canonical), "createdAt": .string(createdAt.millisecondString),
            "checkpoint": .string(String(decoding: material.checkpoint, as: UTF8.self)),
            "entries": .array(material.entries.keys.sorted().map { i in
                .object(["index": .number(Double(i)), "entry": .string(Base64.encode(material.entries[i]!)),
                         "proof": .array((material.proofs[i] ?? []).map { .string(Base64.encode($0.bytes)) })])
            }),
        ])
    }

    /// Parses a bundle file; every malformed part is named.
    public init(parsing bytes: [UInt8]) throws(LedgerError) {
        guard bytes.count <= Self.maxBytes else { throw .malformed("the bundle is larger than \(Self.maxBytes) bytes") }
        let v: JSONValue
        do { v = try JSONValue.parse(bytes) } catch { throw .malformed("the bundle is not valid JSON: \(error)") }
        let f = try Fields(v, "bundle", allowed: ["format", "code", "createdAt", "checkpoint", "entries", "report"])
        guard try f.string("format") == Self.format else { throw .malformed("bundle format must be \(Self.format)") }
        do { code = try ProductCode(parsing: try f.string("code", maxLength: 512)) } catch { throw .malformed("bundle code: \(error)") }
        createdAt = try f.time("createdAt")
        let cp = Array(try f.string("checkpoint", maxLength: 16 << 10).utf8)
        var entries: [UInt64: [UInt8]] = [:], proofs: [UInt64: [Hash]] = [:]
        for (n, item) in try f.array("entries", maxCount: 1_000_000).enumerated() {
            let e = try Fields(item, "bundle entries[\(n)]", allowed: ["index", "entry", "proof"])
            guard let i = e.object["index"]?.integerValue, i >= 0 else { throw .malformed("bundle entries[\(n)].index must be a non-negative integer") }
            guard let b = Base64.decode(try e.string("entry", maxLength: Statement.maxBytes * 3)) else { throw .malformed("bundle entries[\(n)].entry is not base64") }
            var proof: [Hash] = []
            for p in try e.array("proof", maxCount: 64) {
                guard let s = p.stringValue, let d = Base64.decode(s), let h = Hash(bytes: d) else {
                    throw .malformed("bundle entries[\(n)].proof must hold base64 32-byte hashes")
                }
                proof.append(h)
            }
            guard entries[UInt64(i)] == nil else { throw .malformed("bundle entry \(i) appears twice") }
            entries[UInt64(i)] = b
            proofs[UInt64(i)] = proof
        }
        material = ProofMaterial(checkpoint: cp, entries: entries, proofs: proofs)
    }

    /// Verifies the bundle offline: the checkpoint with `trusted` keys, every entry's inclusion and
    /// signature, the registry entries' rules, then rebuilds the journey and the verdicts as of `now`.
    public func verify(trusting trusted: [VerifierKey], now: Timestamp, policy: LaterSuspensionPolicy? = nil,
                       regions: [Region] = Region.allCases) throws -> ProductVerification {
        var (cp, parsed, failures) = material.verify(trusting: trusted)
        guard let g = parsed[0], let genesis = try? Genesis(payload: g.statement.payload) else {
            throw LedgerError.corrupt(failures.first ?? "the bundle's genesis entry does not verify")
        }
        let rules = RuleBook.suyuan
        // The registry, replayed from the bundled registry entries, each checked against the rules.
        var registry = Registry(genesis: genesis)
        let ordered = parsed.sorted { $0.key < $1.key }.map(\.value)
        var terms: [UInt64: [String]] = [:]
        for e in ordered where e.index > 0 {
            terms[e.index] = rules.terms(e.statement)
            guard terms[e.index]!.contains(Registry.term) else { continue }
            do {
                let rule = try rules.rule(for: e.statement.kind)
                try rule.validate(e.statement)
                try rule.authorize(e.statement, signer: try e.statement.signerKey(),
                                   context: AppendContext(genesis: genesis, index: e.index, recordedAt: e.recordedAt, state: registry))
                registry.apply(e)
            } catch { failures.append("registry entry \(e.index): \(error)") }
        }
        for e in ordered where e.index > 0 && !terms[e.index]!.contains(Registry.term) {
            do { try rules.rule(for: e.statement.kind).validate(e.statement) } catch { failures.append("entry \(e.index): \(error)") }
        }
        let source: EntrySource = { term in ordered.filter { terms[$0.index]?.contains(term) == true } }
        let journey = try ProductJourney.build(code, source: source, registry: registry)
        var v = ProductVerification(journey: journey, registry: registry, now: now, policy: policy, checkpoint: cp,
                                    integrityFailures: failures, entriesProved: parsed.count, regions: regions)
        v.offlineBundleCreatedAt = createdAt
        return v
    }
}

/// Verifies a product against a ledger, and makes its offline bundle.
public enum ProductVerifier {
    /// Builds the journey from the ledger's index, proves every entry it used (and the registry entries
    /// its verdicts need) in the latest checkpoint, checks that checkpoint with `trusted` keys (default:
    /// the operator key named in genesis) and its consistency with each of `trustedCheckpoints`.
    public static func verify(
        _ code: ProductCode, in ledger: Ledger, trusting trusted: [VerifierKey]? = nil, trustedCheckpoints: [[UInt8]] = [],
        now: Timestamp, policy: LaterSuspensionPolicy? = nil, regions: [Region] = Region.allCases
    ) throws -> (ProductVerification, ProductBundle?) {
        let reader = TraceReader(ledger: ledger)
        let registry = try reader.registry()
        // Every entry read, so the proofs below need not read or parse it again.
        var read: [UInt64: Entry] = [:]
        let journey = try ProductJourney.build(code, source: { term in
            let entries = try reader.entries(term)
            for e in entries { read[e.index] = e }
            return entries
        }, registry: registry)
        let keys = trusted ?? [ledger.genesis.operatorKey]
        guard let (size, note) = try ledger.store.latestCheckpoint() else {
            let v = ProductVerification(journey: journey, registry: registry, now: now, policy: policy, checkpoint: nil,
                                        integrityFailures: ["the ledger has no signed checkpoint yet; run `suyuan checkpoint`"], entriesProved: 0, regions: regions)
            return (v, nil)
        }
        var indexes = Set([UInt64(0)]).union(journey.entryIndexes)
        indexes.formUnion(registryEntries(for: journey, registry: registry))
        var entries: [UInt64: [UInt8]] = [:]
        for i in indexes where i < size {
            if let bytes = try read[i]?.bytes ?? ledger.store.entry(at: i)?.bytes { entries[i] = bytes }
        }
        let proved = entries.keys.sorted()
        let proofs = Dictionary(uniqueKeysWithValues: zip(proved, try RFC6962.inclusionProofs(indexes: proved, size: size, reader: ledger.store)))
        let material = ProofMaterial(checkpoint: note, entries: entries, proofs: proofs)
        var (cp, parsed, failures) = material.verify(trusting: keys, parsed: read)
        for i in indexes.sorted() where i >= size {
            failures.append("entry \(i) is newer than the latest signed checkpoint (size \(size)); run `suyuan checkpoint`")
        }
        if let cp {
            for (n, t) in trustedCheckpoints.enumerated() {
                do {
                    let old = try Checkpoint.verify(t, trusting: keys).checkpoint
                    guard old.origin == cp.checkpoint.origin else { failures.append("trusted checkpoint \(n + 1) is for origin \(old.origin)"); continue }
                    guard old.size <= cp.checkpoint.size else {
                        failures.append("the ledger's latest checkpoint (size \(cp.checkpoint.size)) is older than trusted checkpoint \(n + 1) (size \(old.size)): a rollback")
                        continue
                    }
                    let proof = try ledger.consistencyProof(from: old.size, to: cp.checkpoint.size)
                    try RFC6962.verifyConsistency(oldSize: old.size, newSize: cp.checkpoint.size, oldRoot: old.root, newRoot: cp.checkpoint.root, proof: proof)
                } catch {
                    failures.append("trusted checkpoint \(n + 1) is not consistent with the latest checkpoint: \(error)")
                }
            }
        }
        let v = ProductVerification(journey: journey, registry: registry, now: now, policy: policy, checkpoint: cp,
                                    integrityFailures: failures, entriesProved: parsed.count, regions: regions)
        return (v, ProductBundle(code: code, createdAt: now, material: material))
    }

    /// The registry entries the journey's verdicts and signer names depend on: the bodies of the
    /// attestations and of every signer's bindings (with their accreditation bodies and status
    /// changes), those signers' bindings and revocations, and every agreement and policy.
    static func registryEntries(for journey: ProductJourney, registry: Registry) -> [UInt64] {
        var keys = Set(journey.steps.map(\.signer))
        var bodies = Set<String>()
        for r in journey.attestations { keys.insert(r.attestation.issuer); bodies.insert(r.attestation.body) }
        for k in keys { for b in registry.bindings(of: k) { bodies.insert(b.body) } }
        for b in bodies { if let a = registry.bodies[b]?.accreditedBy { bodies.insert(a) } }
        return registry.entryIndexes(bodies: bodies, keys: keys)
    }
}


import Dispatch
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
        .object(material.json.merging(["format": .string(Self.format), "code": .string(code.canonical),
                                       "createdAt": .string(createdAt.millisecondString)]) { $1 })
    }

    /// The bundle with the verification it was made with under `report` (for display only: a verifier
    /// never trusts it), as the server serves it and `suyuan verify CODE --bundle FILE` writes it.
    public func json(report: ProductVerification) -> JSONValue {
        guard case .object(var o) = json else { return json }
        o["report"] = report.json
        return .object(o)
    }

    /// Parses a bundle file; every malformed part is named.
    public init(parsing bytes: [UInt8]) throws(LedgerError) {
        let f = try ProofMaterial.fields(bytes, "bundle", maxBytes: Self.maxBytes, format: Self.format, more: ["code", "createdAt", "report"])
        do { code = try ProductCode(parsing: try f.string("code", maxLength: 512)) } catch { throw .malformed("bundle code: \(error)") }
        createdAt = try f.time("createdAt")
        material = try ProofMaterial(f, "bundle")
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
        let ordered = parsed.sorted { $0.key < $1.key }.map(\.value).filter { $0.index > 0 }
        // Each entry's terms, and the rules of every entry but the registry's (an event's CBV 2.0 hash
        // among them), on all cores: a product's bundle may hold thousands of events. An event is
        // parsed once, by its rule's check, for its terms and the journey.
        let checked = Parallel.map(ordered) { e -> (terms: [String], event: EPCISEvent?, invalid: String?) in
            if e.statement.kind == TraceKind.event, let event = try? EventRule.parse(e.statement) { return (event.terms, event, nil) }
            let terms = rules.terms(e.statement)
            guard !terms.contains(Registry.term) else { return (terms, nil, nil) }
            do { try rules.rule(for: e.statement.kind).validate(e.statement); return (terms, nil, nil) } catch { return (terms, nil, "entry \(e.index): \(error)") }
        }
        for (e, c) in zip(ordered, checked) where c.terms.contains(Registry.term) {
            do {
                let rule = try rules.rule(for: e.statement.kind)
                try rule.validate(e.statement)
                try rule.authorize(e.statement, signer: try e.statement.signerKey(),
                                   context: AppendContext(genesis: genesis, index: e.index, recordedAt: e.recordedAt, state: registry))
                registry.apply(e)
            } catch { failures.append("registry entry \(e.index): \(error)") }
        }
        failures += checked.compactMap(\.invalid)
        // The journey reads the entries by term, and the events parsed above.
        var byTerm: [String: [Entry]] = [:]
        var events: [UInt64: EPCISEvent] = [:]
        for (e, c) in zip(ordered, checked) {
            for t in c.terms where byTerm[t]?.last?.index != e.index { byTerm[t, default: []].append(e) }
            events[e.index] = c.event
        }
        let source: EntrySource = { [byTerm] term in byTerm[term] ?? [] }
        let journey = try ProductJourney.build(code, source: source, registry: registry, events: events)
        var v = ProductVerification(journey: journey, registry: registry, now: now, policy: policy, checkpoint: cp,
                                    integrityFailures: failures, entriesProved: parsed.count, regions: regions)
        v.offlineBundleCreatedAt = createdAt
        // The parsed entries and events are not part of the answer.
        Parallel.releaseInBackground((parsed, ordered, checked, events, byTerm))
        return v
    }
}

/// Every entry indexed under one term (`registry`, `attestation:ID`, `product:CODE`, …) with its
/// inclusion proof in one signed checkpoint, and the genesis (see `Specs/bundle.md` §term bundles): what a
/// remote reader needs to use those entries without trusting the server that sent them.
public struct TermBundle: Sendable {
    public static let format = "suyuan-term-bundle/v1"
    /// The most entries one term bundle holds.
    public static let maxEntries = 200_000

    public let term: String
    public let material: ProofMaterial

    public init(term: String, material: ProofMaterial) { self.term = term; self.material = material }

    /// The bundle of `term` in `ledger`'s latest signed checkpoint (entries appended after it are left out).
    public static func build(_ term: String, in ledger: Ledger) throws -> TermBundle {
        guard let (size, note) = try ledger.store.latestCheckpoint() else {
            throw LedgerError.state("the ledger has no signed checkpoint yet; run `suyuan checkpoint`")
        }
        var stored = try ledger.store.entries(withTerm: term).filter { $0.index < size }
        guard stored.count < maxEntries else {
            throw LedgerError.malformed("\(stored.count) entries are indexed under \(term), more than the \(maxEntries) a term bundle holds")
        }
        if stored.first?.index != 0, let g = try ledger.store.entry(at: 0) { stored.insert(g, at: 0) }
        let indexes = stored.map(\.index)
        let proofs = try RFC6962.inclusionProofs(indexes: indexes, size: size, reader: ledger.store)
        return TermBundle(term: term, material: ProofMaterial(
            checkpoint: note, entries: Dictionary(uniqueKeysWithValues: stored.map { ($0.index, $0.bytes) }),
            proofs: Dictionary(uniqueKeysWithValues: zip(indexes, proofs))))
    }

    public var json: JSONValue {
        .object(material.json.merging(["format": .string(Self.format), "term": .string(term)]) { $1 })
    }

    public init(parsing bytes: [UInt8]) throws(LedgerError) {
        let f = try ProofMaterial.fields(bytes, "term bundle", maxBytes: ProductBundle.maxBytes * 4, format: Self.format, more: ["term"])
        term = try f.string("term", maxLength: 600)
        material = try ProofMaterial(f, "term bundle")
    }

    /// Checks the checkpoint with `trusted` keys and every entry (inclusion, signature), and that every
    /// entry but the genesis is indexed under the term by `rules`. Returns the verified checkpoint and
    /// the entries under the term (the genesis left out) in ledger order; throws naming the first failure. A server can leave
    /// entries out of a bundle: it proves the entries it holds, not that none is missing.
    public func verify(trusting trusted: [VerifierKey], rules: RuleBook = .suyuan) throws -> (VerifiedCheckpoint, [Entry]) {
        let (cp, parsed, failures) = material.verify(trusting: trusted)
        if let f = failures.first { throw LedgerError.corrupt("term bundle for \(term): \(f)") }
        guard let cp else { throw LedgerError.corrupt("term bundle for \(term): the checkpoint does not verify") }
        let entries = parsed.sorted { $0.key < $1.key }.map(\.value).filter { $0.index > 0 }
        for e in entries where !rules.terms(e.statement).contains(term) {
            throw LedgerError.corrupt("term bundle for \(term): entry \(e.index) (\(e.statement.kind)) is not indexed under \(term)")
        }
        return (cp, entries)
    }
}

/// Verifies a product against a ledger, and makes its offline bundle.
public enum ProductVerifier {
    /// Builds the journey from the ledger's index, proves every entry it used (and the registry entries
    /// its verdicts need) in the latest checkpoint, checks that checkpoint with `trusted` keys (default:
    /// the operator key named in genesis) and its consistency with each of `trustedCheckpoints`. The
    /// inclusion of the entries is checked in one walk over the ledger's stored tree; with `bundle`,
    /// their proofs are read instead, checked, and returned in the offline bundle (nil when there is
    /// no checkpoint, or without `bundle`).
    public static func verify(
        _ code: ProductCode, in ledger: Ledger, trusting trusted: [VerifierKey]? = nil, trustedCheckpoints: [[UInt8]] = [],
        now: Timestamp, policy: LaterSuspensionPolicy? = nil, regions: [Region] = Region.allCases, bundle: Bool = true
    ) throws -> (ProductVerification, ProductBundle?) {
        let reader = TraceReader(ledger: ledger)
        // Every entry read, so the proofs below need not read or parse it again; its signature is
        // checked on the cores from the moment it is read, while this thread builds the journey and
        // reads the proofs. `verify` below checks the rest.
        var read: [UInt64: Entry] = [:]
        let signed = BackgroundSignatures()
        defer { _ = signed.take() }  // nothing outlives this call, even when it throws
        let source: EntrySource = { term in
            let entries = try reader.entries(term)
            let new = entries.filter { read.updateValue($0, forKey: $0.index) == nil }
            signed.check(new)
            return entries
        }
        // Only the registry's facts about the journey's signers and bodies are read, not the whole
        // registry (unless the ledger's index predates the terms that find them).
        var registry: Registry!
        let journey = try ProductJourney.build(code, source: source) { keys, bodies in
            registry = try reader.registry(about: keys, bodies: bodies, source: source) ?? reader.registry()
            return registry
        }
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
        // For a bundle its proofs are read, and checked as offline; otherwise inclusion is checked in
        // one walk over the stored tree, which builds no proof.
        var material: ProofMaterial?
        if bundle {
            let proved = entries.keys.sorted()
            let proofs = try RFC6962.inclusionProofs(indexes: proved, size: size, reader: ledger.store)
            material = ProofMaterial(checkpoint: note, entries: entries, proofs: Dictionary(uniqueKeysWithValues: zip(proved, proofs)))
        }
        // The signatures checked in the background are taken once the inclusion is checked.
        var known: [UInt64: Entry] = [:]
        let take = { known = signed.take(); return known }
        var (cp, parsed, failures) = material?.verify(trusting: keys, signedAfterInclusion: take)
            ?? ProofMaterial.verify(checkpoint: note, entries: entries, trusting: keys, signedAfterInclusion: take) { leaves, size, root in
                RFC6962.verifyInclusions(leaves, size: size, root: root, reader: ledger.store)
            }
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
        // The parsed entries are not part of the answer.
        Parallel.releaseInBackground((read, parsed, known))
        read = [:]
        return (v, material.map { ProductBundle(code: code, createdAt: now, material: $0) })
    }

    /// Checks the signatures of entries in the background, batch after batch, on all cores.
    final class BackgroundSignatures: @unchecked Sendable {
        private let queue = DispatchQueue(label: "suyuan.product-signatures")
        /// Touched only on `queue`.
        private var verified: [UInt64: Entry] = [:]

        func check(_ entries: [Entry]) {
            guard !entries.isEmpty else { return }
            queue.async { self.verified.merge(ProofMaterial.checkSignatures(entries)) { a, _ in a } }
        }

        /// The entries whose signatures verified, once every batch given so far is checked, handed over:
        /// this object holds them no longer.
        func take() -> [UInt64: Entry] { queue.sync { defer { verified = [:] }; return verified } }
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


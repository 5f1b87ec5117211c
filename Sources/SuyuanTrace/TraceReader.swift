import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger

/// Reads supply-chain facts out of a ledger through its term index: the registry, attestations.
public struct TraceReader: Sendable {
    public let ledger: Ledger

    public init(ledger: Ledger) { self.ledger = ledger }

    /// The registry as of the end of the ledger: the ledger's cached derived state when its rule book
    /// keeps the registry (`.suyuan`), caught up with new entries only; otherwise replayed from every
    /// registry entry.
    public func registry() throws -> Registry {
        if let r = try ledger.state() as? Registry { return r }
        return registry(replaying: try entries(Registry.term))
    }

    /// The registry replayed from `entries` (the registry entries, already read, in ledger order),
    /// whatever rule book the ledger was opened with.
    public func registry(replaying entries: [Entry]) -> Registry {
        var r = Registry(genesis: ledger.genesis)
        r.apply(all: entries)
        return r
    }

    /// The registry's facts about `keys` and `bodies`, replayed from their entries alone, found by the
    /// subject terms (`Specs/registry.md` §4): the bodies' registrations and status changes, the keys'
    /// bindings and revocations, the same for the bodies those bindings name and for the accreditation
    /// bodies of all of them, and every agreement and policy. About those keys and bodies it holds what
    /// the whole registry holds. Entries are read through `source` (default: the term index), and each
    /// is kept only if its own statement derives the term it was found under. Nil when the ledger's term
    /// index predates the subject terms: use `registry()` then.
    public func registry(about keys: Set<PublicKey>, bodies: Set<String>, source: EntrySource? = nil) throws -> Registry? {
        guard ledger.rules.termIndexVersion >= 2, try ledger.store.termIndexVersion() >= 2 else { return nil }
        let read = source ?? { try self.entries($0) }
        var found: [UInt64: Entry] = [:]
        func add(_ term: String) throws {
            for e in try read(term) where ledger.rules.terms(e.statement).contains(term) { found[e.index] = e }
        }
        try add(Registry.everyoneTerm)
        for k in keys { try add(Registry.term(key: k)) }
        var done = Set<String>(), wanted = bodies
        while true {
            for b in wanted.subtracting(done).sorted() { try add(Registry.term(body: b)) }
            done.formUnion(wanted)
            var r = Registry(genesis: ledger.genesis)
            r.apply(all: found.values.sorted { $0.index < $1.index })
            // The bodies the facts read so far point to: the keys' bodies and their accreditation bodies.
            for k in keys { for b in r.bindings(of: k) { wanted.insert(b.body) } }
            for b in wanted { if let a = r.bodies[b]?.accreditedBy { wanted.insert(a) } }
            if wanted.isSubset(of: done) { return r }
        }
    }

    /// The parsed entries indexed under `term`, in ledger order (parsed on all cores).
    public func entries(_ term: String) throws -> [Entry] {
        try Entry.parseAll(try ledger.store.entries(withTerm: term))
    }

    /// The attestation with `id` and its status changes, or nil.
    public func attestation(id: String) throws -> RecordedAttestation? {
        try Self.recorded(from: try entries("attestation:\(id)")).first
    }

    /// The attestations recorded for `code` (an item, a lot or any other product code), with status changes.
    public func attestations(for code: ProductCode) throws -> [RecordedAttestation] {
        var out: [RecordedAttestation] = []
        for e in try entries("product:\(code.canonical)") where e.statement.kind == TraceKind.attestation {
            let a = try AttestationRule.parse(e.statement)
            out += try Self.recorded(from: try entries("attestation:\(a.id)"))
        }
        return out
    }

    /// Groups an attestation entry with the status entries that follow it (the entries indexed under
    /// `attestation:ID`).
    public static func recorded(from entries: [Entry]) throws -> [RecordedAttestation] {
        guard let first = entries.first(where: { $0.statement.kind == TraceKind.attestation }) else { return [] }
        let a = try AttestationRule.parse(first.statement)
        let changes = try entries.filter { $0.statement.kind == TraceKind.attestationStatus && $0.index > first.index }.map { e in
            let p = try AttestationStatusPayload(e.statement.payload)
            return (state: p.status, reason: p.reason, effective: p.effective, index: e.index)
        }
        return [RecordedAttestation(attestation: a, index: first.index, statusChanges: changes)]
    }
}

import Synchronization
import Testing
import SuyuanAudit
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanStore
import SuyuanTrace

/// The registry a long-lived reader keeps (the ledger's cached state) and the registry entries a
/// product's bundle carries.
@Suite struct RegistryCacheTests {
    /// The registry read through the ledger's cache equals a full replay, also after another process
    /// (here: a second `Ledger` on the same SQLite file) appended registry facts.
    @Test func theCachedRegistryCatchesUpWithEntriesAppendedElsewhere() throws {
        let b = try Bay()
        let reader = TraceReader(ledger: b.world.ledger)
        let before = try reader.registry()
        #expect(before.bodies.keys.sorted() == ["CNAS", "HK-LAB", "HKAS", "MO-LAB"])

        let other = try Ledger(opening: try SQLiteLedgerStore(path: b.world.dir + "/ledger.db"), rules: .suyuan, clock: { b.world.now })
        let hk = b.world.regulator(.HK)
        let appended = try other.appendAll([
            try Statement(kind: TraceKind.body, payload: try RegistryPayload.body(
                id: "HK-LAB-2", name: "Second laboratory", region: .HK, type: .lab, accreditedBy: "HKAS", accreditation: "ACC-2",
                scope: [try ScopeItem(parsing: Bay.food)], validity: Validity(from: time("2024-01-01"))),
                          signer: hk.publicKey, time: b.world.now).sign(with: hk),
            try Statement(kind: TraceKind.status, payload: RegistryPayload.status(body: "HK-LAB", status: .suspended, effective: time("2026-05-01")),
                          signer: hk.publicKey, time: b.world.now).sign(with: hk),
        ])

        let after = try reader.registry()
        #expect(after.bodies["HK-LAB-2"]?.index == appended[0].index)
        #expect(after.bodies["HK-LAB"]?.history.map(\.index) == [appended[1].index])
        #expect(after == reader.registry(replaying: try reader.entries(Registry.term)))
        // The copy handed out earlier is a value: it did not change.
        #expect(before.bodies["HK-LAB-2"] == nil)
    }

    /// Folding registry entries all at once (payloads parsed on all cores first, as a replay does)
    /// gives the same registry as folding them one by one (as the audit does), for every kind of fact.
    @Test func foldingAllAtOnceEqualsFoldingOneByOne() throws {
        let b = try Bay()
        try b.world.append(TraceKind.keyRevocation, RegistryPayload.keyRevocation(key: b.inspector.publicKey, effective: time("2026-06-05")), by: b.world.hk)
        try b.world.append(TraceKind.policy, RegistryPayload.policy(region: .GD, laterSuspension: .invalidate, effective: time("2026-01-01")), by: b.world.gd)
        try b.world.append(TraceKind.status, RegistryPayload.status(body: "HK-LAB", status: .suspended, effective: time("2026-05-01")), by: b.world.hk)
        let reader = TraceReader(ledger: b.world.ledger)
        let entries = try reader.entries(Registry.term)
        #expect(Set(entries.map(\.statement.kind)) == [TraceKind.body, TraceKind.status, TraceKind.keyBinding, TraceKind.keyRevocation,
                                                       TraceKind.agreement, TraceKind.policy])
        var oneByOne = Registry(genesis: b.world.ledger.genesis)
        for e in entries { oneByOne.apply(e) }
        var all = Registry(genesis: b.world.ledger.genesis)
        all.apply(all: entries)
        #expect(all == oneByOne)
        #expect(all.bindings(of: b.inspector.publicKey).allSatisfy { $0.revoked != nil })
        #expect(all.policy(of: .GD, at: time("2026-06-01")) == .invalidate)
        let bodies = Set(all.bodies.keys), keys = Set(all.bindings.map(\.key))
        #expect(all.entryIndexes(bodies: bodies, keys: keys) == oneByOne.entryIndexes(bodies: bodies, keys: keys))
        #expect(all.entryIndexes(bodies: bodies, keys: keys) == entries.map(\.index))
        #expect(all == (try reader.registry()))
    }

    /// A bundle carries the registry entries about the bodies and keys its verdicts and signer names
    /// depend on, and every agreement and policy — not the facts about unrelated bodies and keys.
    @Test func aBundleCarriesTheRegistryEntriesItsVerdictsNeedAndNoOthers() throws {
        let (w, b) = try BundleTests.world()
        try w.setStatus("MO-LAB", .MO, .suspended, effective: "2026-05-01")
        try w.setStatus("HK-LAB", .HK, .active, scope: Bay.food, effective: "2026-05-01")
        try w.ledger.checkpoint(signer: try NoteSigner(name: "trace.suyuan.example/ledger", key: w.op))
        let (_, bundle) = try ProductVerifier.verify(try ProductCode(parsing: item), in: w.ledger, now: w.now)
        let carried = Set(try #require(bundle).material.entries.keys)

        // Classify every registry entry by what its payload names.
        var needed = Set<UInt64>(), unrelated = Set<UInt64>()
        let relatedBodies: Set = ["HK-LAB", "HKAS"], relatedKeys = [DIDKey.encode(b.inspector.publicKey)]
        for e in try TraceReader(ledger: w.ledger).entries(Registry.term) {
            let p = e.statement.payload.objectValue ?? [:]
            let related: Bool
            switch e.statement.kind {
            case TraceKind.body: related = relatedBodies.contains(p["id"]!.stringValue!)
            case TraceKind.status: related = relatedBodies.contains(p["body"]!.stringValue!)
            case TraceKind.keyBinding: related = relatedKeys.contains(p["key"]!.stringValue!)
            default: related = true  // agreements and policies concern every verdict
            }
            if related { needed.insert(e.index) } else { unrelated.insert(e.index) }
        }
        #expect(needed.count == 6)  // HKAS, HK-LAB, two agreements, the inspector's binding, HK-LAB's status change
        #expect(needed.isSubset(of: carried), "missing \(needed.subtracting(carried).sorted())")
        #expect(unrelated.isDisjoint(with: carried), "unrelated \(unrelated.intersection(carried).sorted())")
        // And the bundle still verifies offline with the same verdicts.
        let offline = try ProductBundle(parsing: try bundle!.json.canonical()).verify(trusting: [BundleTests.operatorKey], now: w.now)
        #expect(offline.verified, "\(offline.problems)")
    }
}

/// The subject terms of registry entries (`Specs/registry.md` §4): how a product's verification reads
/// only the registry facts it needs, and how a ledger indexed before them is read and upgraded.
@Suite struct RegistrySubjectTermTests {
    /// A world on `rules` with the standard journey, an HK attestation, a suspension of an unrelated
    /// lab and the revocation of an unrelated inspector's key.
    static func world(rules: RuleBook = .suyuan) throws -> (World, Bay) {
        let (w, b) = try BundleTests.world(rules: rules)
        try w.setStatus("MO-LAB", .MO, .suspended, effective: "2026-05-01")
        try w.append(TraceKind.keyRevocation, RegistryPayload.keyRevocation(key: b.macaoInspector.publicKey, effective: time("2026-05-02")), by: w.mo)
        try w.ledger.checkpoint(signer: try NoteSigner(name: "trace.suyuan.example/ledger", key: w.op))
        return (w, b)
    }

    /// The facts about some keys and bodies, read by their terms, are those of the whole registry, with
    /// the bodies their bindings name and those bodies' accreditation bodies; nothing else but the
    /// agreements and policies. An entry a source hands back under a term its statement does not
    /// derive is left out.
    @Test func theFactsAboutSomeKeysAreThoseOfTheWholeRegistry() throws {
        let (w, b) = try Self.world()
        let reader = TraceReader(ledger: w.ledger)
        let full = try reader.registry()
        let inspector = b.inspector.publicKey
        let some = try #require(try reader.registry(about: [inspector], bodies: []))
        #expect(some.bindings(of: inspector) == full.bindings(of: inspector))
        #expect(some.bodies.keys.sorted() == ["HK-LAB", "HKAS"])
        #expect(some.bodies["HK-LAB"] == full.bodies["HK-LAB"] && some.bodies["HKAS"] == full.bodies["HKAS"])
        #expect(some.agreements == full.agreements)
        #expect(some.bindings(of: b.macaoInspector.publicKey).isEmpty)
        let bodies: Set = ["MO-LAB"]
        let mo = try #require(try reader.registry(about: [b.macaoInspector.publicKey], bodies: bodies))
        #expect(mo.bodies["MO-LAB"] == full.bodies["MO-LAB"] && mo.bodies["MO-LAB"]?.history.count == 1)
        #expect(mo.bodies["CNAS"] == full.bodies["CNAS"])
        #expect(mo.bindings(of: b.macaoInspector.publicKey) == full.bindings(of: b.macaoInspector.publicKey))
        #expect(mo.bindings(of: b.macaoInspector.publicKey).allSatisfy { $0.revoked != nil })
        #expect(mo.entryIndexes(bodies: ["MO-LAB", "CNAS"], keys: [b.macaoInspector.publicKey])
                == full.entryIndexes(bodies: ["MO-LAB", "CNAS"], keys: [b.macaoInspector.publicKey]))
        // A source that slips MO-LAB's registration in under the inspector's term.
        let moLab = try #require(try reader.entries(Registry.term(body: "MO-LAB")).first)
        #expect(moLab.statement.kind == TraceKind.body)
        let lying: EntrySource = { term in try reader.entries(term) + (term == Registry.term(key: inspector) ? [moLab] : []) }
        let misled = try #require(try reader.registry(about: [inspector], bodies: [], source: lying))
        #expect(misled == some && misled.bodies["MO-LAB"] == nil)
    }

    /// A ledger whose index was written by rules of version 1 (registry entries under `registry` only)
    /// audits clean against those terms and verifies products from the whole registry. A refused
    /// append leaves it at version 1; the next accepted append upgrades it in its own transaction:
    /// every registry entry then has its subject term, it audits clean against today's terms, and a
    /// product verifies the same, with the same entries in its bundle.
    @Test func aLedgerIndexedBeforeSubjectTermsIsReadInFullUntilAnAppendUpgradesIt() throws {
        let (w, _) = try Self.world(rules: RuleBook.suyuan.derivingTerms(ofVersion: 1))
        let store = try SQLiteLedgerStore(path: w.dir + "/ledger.db")
        #expect(try store.termIndexVersion() == 1)
        let registryEntries = try store.indexes(withTerm: Registry.term)
        #expect(registryEntries.count == 10)
        for i in registryEntries { #expect(try store.termRows(in: i..<(i + 1)).map(\.term) == [Registry.term]) }

        let ledger = try Ledger(opening: store, rules: .suyuan, clock: { w.now })
        var auditor = Auditor()
        auditor.rules = .suyuan
        let oldAudit = try auditor.run(store)
        #expect(oldAudit.ok, "\(oldAudit.findings)")
        let reader = TraceReader(ledger: ledger)
        #expect(try reader.registry(about: [], bodies: []) == nil)
        let code = try ProductCode(parsing: item)
        let (before, beforeBundle) = try ProductVerifier.verify(code, in: ledger, now: w.now)
        #expect(before.verified, "\(before.problems)")

        func notice(by key: SecretKey) throws -> SignedStatement {
            try Statement(kind: Notice.kind, payload: try Notice(level: "notice", title: "Routine notice", text: "Nothing found.").payload,
                          signer: key.publicKey, time: w.now).sign(with: key)
        }
        let rows = try store.termRows(in: 0..<1_000).count
        #expect(throws: LedgerError.self) { try ledger.appendAll([try notice(by: w.gd), try notice(by: w.newKey())]) }
        #expect(try store.termIndexVersion() == 1 && store.termRows(in: 0..<1_000).count == rows)
        _ = try ledger.appendAll([try notice(by: w.gd)])
        #expect(try store.termIndexVersion() == 2)
        for e in try reader.entries(Registry.term) {
            let rows = try store.termRows(in: e.index..<(e.index + 1)).map(\.term)
            #expect(rows.count == 2 && Set(rows) == Set(RuleBook.suyuan.terms(e.statement)))
        }
        let newAudit = try auditor.run(store)
        #expect(newAudit.ok, "\(newAudit.findings)")
        #expect(try reader.registry(about: [], bodies: []) != nil)
        let (after, afterBundle) = try ProductVerifier.verify(code, in: ledger, now: w.now)
        #expect(after.json == before.json)
        #expect(afterBundle?.material.entries.keys.sorted() == beforeBundle?.material.entries.keys.sorted())
    }

    /// An append that upgrades the index while an audit reads the ledger does not show as tampering:
    /// the audit sees the version change and audits again.
    @Test func anUpgradeDuringAnAuditIsNoFinding() throws {
        let (w, _) = try Self.world(rules: RuleBook.suyuan.derivingTerms(ofVersion: 1))
        let store = try SQLiteLedgerStore(path: w.dir + "/ledger.db")
        let ledger = try Ledger(opening: store, rules: .suyuan, clock: { w.now })
        let upgraded = Mutex(false)
        var auditor = Auditor()
        auditor.rules = .suyuan
        auditor.chunkSize = 4
        auditor.progress = { _, _ in
            guard upgraded.withLock({ let was = $0; $0 = true; return !was }) else { return }
            try? ledger.upgradeTermIndex()  // after the first chunk, as another process's append would
        }
        let report = try auditor.run(store)
        #expect(try upgraded.withLock { $0 } && store.termIndexVersion() == 2)
        #expect(report.ok, "\(report.findings)")
    }

    /// A ledger whose index a newer version wrote (here: the version-2 index audited with the
    /// version-1 rules) is reported once, as such, instead of every newer term as tampering; the
    /// chain, signatures and tree are still audited.
    @Test func anIndexFromANewerVersionIsOneFindingNotTampering() throws {
        let (w, _) = try Self.world(rules: .suyuan)
        let store = try SQLiteLedgerStore(path: w.dir + "/ledger.db")
        #expect(try store.termIndexVersion() == 2)
        var auditor = Auditor()
        auditor.rules = .suyuan
        #expect(try auditor.run(store).ok)
        auditor.rules = RuleBook.suyuan.derivingTerms(ofVersion: 1)
        let report = try auditor.run(store)
        #expect(report.findings.map(\.kind) == ["index-version"], "\(report.findings)")
        #expect(report.findings.first?.found.contains("version 2, written by a newer version of Suyuan") == true)
        #expect(report.entries == (try w.ledger.size()))
    }
}

/// Term bundles: what a remote reader uses instead of the ledger's index.
@Suite struct TermBundleTests {
    @Test func aTermBundleVerifiesAndHoldsEveryEntryUnderTheTerm() throws {
        let (w, _) = try BundleTests.world()
        let reader = TraceReader(ledger: w.ledger)
        let bundle = try TermBundle(parsing: try TermBundle.build(Registry.term, in: w.ledger).json.canonical())
        let (cp, entries) = try bundle.verify(trusting: [BundleTests.operatorKey])
        #expect(cp.checkpoint.size == (try w.ledger.size()))
        #expect(entries.map(\.index) == (try reader.entries(Registry.term)).map(\.index))
        #expect(reader.registry(replaying: entries) == (try reader.registry()))

        let attestation = try #require(try reader.attestations(for: try ProductCode(parsing: "https://id.gs1.org/01/09506000134352/10/LOT1")).first)
        let one = try TermBundle.build("attestation:\(attestation.attestation.id)", in: w.ledger)
        #expect(try one.verify(trusting: [BundleTests.operatorKey]).1.map(\.index) == [attestation.index])
    }

    @Test func aTermBundleWithAnEntryFromElsewhereOrTheWrongKeyIsRefused() throws {
        let (w, _) = try BundleTests.world()
        let registry = try TermBundle.build(Registry.term, in: w.ledger)
        // An event entry (validly proved) slipped into the registry's bundle.
        let events = try TermBundle.build("product:\(item)", in: w.ledger)
        let (eventIndex, eventBytes) = try #require(events.material.entries.first { $0.key > 0 })
        var material = registry.material
        material.entries[eventIndex] = eventBytes
        material.proofs[eventIndex] = events.material.proofs[eventIndex]
        #expect(throws: LedgerError.self) { _ = try TermBundle(term: Registry.term, material: material).verify(trusting: [BundleTests.operatorKey]) }
        // Another operator key.
        let other = try VerifierKey(name: "trace.suyuan.example/ledger", publicKey: w.newKey().publicKey)
        #expect(throws: LedgerError.self) { _ = try registry.verify(trusting: [other]) }
    }
}

import Foundation
import Synchronization
import Testing
import SuyuanAudit
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

@Suite struct AuditSmokeTests {
    @Test func cleanMemoryLedgerPasses() throws {
        let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
        let regs = (2...4).map { SecretKey(seed: [UInt8](repeating: UInt8($0), count: 32))! }
        let origin = "audit.example/ledger"
        let g = try Genesis(origin: origin, operatorKey: VerifierKey(name: origin, publicKey: op.publicKey),
                            regulators: [.GD: VerifierKey(name: "gd", publicKey: regs[0].publicKey),
                                         .HK: VerifierKey(name: "hk", publicKey: regs[1].publicKey),
                                         .MO: VerifierKey(name: "mo", publicKey: regs[2].publicKey)])
        let now = Timestamp(parsing: "2026-11-28T10:00:00.000Z")!
        let store = MemoryLedgerStore()
        let l = try Ledger.create(in: store, genesis: try Statement(kind: Genesis.kind, payload: g.payload, signer: op.publicKey, time: now).sign(with: op), clock: { now })
        for i in 0..<100 {
            let n = try Notice(level: "notice", title: "n\(i)", text: "t\(i)")
            _ = try l.appendAll([try Statement(kind: Notice.kind, payload: n.payload, signer: regs[i % 3].publicKey, time: now).sign(with: regs[i % 3])])
            if i % 30 == 0 { try l.checkpoint(signer: NoteSigner(name: origin, key: op)) }
        }
        var a = Auditor()
        a.chunkSize = 16
        let r = try a.run(store)
        #expect(r.ok, "\(r.findings)")
        #expect(r.entries == 101)
        #expect(r.checkpointsChecked == 4)
        #expect(r.root == (try l.root(size: 101)))
    }
}

/// A notice rule that indexes each notice under `notice:<title>`, so appends write index rows.
private struct IndexedNoticeRule: StatementRule {
    let base = NoticeRule()
    var kind: String { base.kind }
    func validate(_ statement: Statement) throws(LedgerError) { try base.validate(statement) }
    func authorize(_ statement: Statement, signer: PublicKey, context: AppendContext) throws(LedgerError) {
        try base.authorize(statement, signer: signer, context: context)
    }
    func terms(_ statement: Statement) -> [String] { ["notice:\(statement.payload["title"]?.stringValue ?? "")"] }
}

/// A store that lets `landing` append once, just before the audit's last read of the term index
/// (the one past every entry it has read): an append to a live ledger landing at that moment.
private final class LiveStore: LedgerStore {
    let base = MemoryLedgerStore()
    let landing = Mutex<(() throws -> Void)?>(nil)

    func termRows(in range: Range<UInt64>) throws -> [(index: UInt64, term: String)] {
        if range.upperBound == UInt64(Int64.max), let land = landing.withLock({ l in defer { l = nil }; return l }) { try land() }
        return try base.termRows(in: range)
    }
    func tail() throws -> LedgerTail { try base.tail() }
    func entries(from index: UInt64, count: Int) throws -> [StoredEntry] { try base.entries(from: index, count: count) }
    func hashes(for ids: [NodeID]) throws -> [Hash] { try base.hashes(for: ids) }
    func append(_ build: (any AppendTransaction) throws -> [NewEntry]) throws -> [StoredEntry] { try base.append(build) }
    func latestCheckpoint() throws -> (size: UInt64, note: [UInt8])? { try base.latestCheckpoint() }
    func checkpoints() throws -> [(size: UInt64, note: [UInt8])] { try base.checkpoints() }
    func saveCheckpoint(size: UInt64, note: [UInt8]) throws { try base.saveCheckpoint(size: size, note: note) }
    func setting(_ key: String) throws -> String? { try base.setting(key) }
    func setSetting(_ key: String, _ value: String) throws { try base.setSetting(key, value) }
    func indexes(withTerm term: String) throws -> [UInt64] { try base.indexes(withTerm: term) }
}

@Suite struct LiveAuditTests {
    /// Appends keep landing while a regulator audits a live ledger: one whose entries the audit has
    /// not read is no finding (its index rows, read at the end, are past the entries it read).
    @Test func anAppendLandingAtTheEndOfAnAuditIsNoFinding() throws {
        let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
        let reg = SecretKey(seed: [UInt8](repeating: 2, count: 32))!
        let origin = "audit.example/ledger"
        let g = try Genesis(origin: origin, operatorKey: VerifierKey(name: origin, publicKey: op.publicKey),
                            regulators: [.GD: VerifierKey(name: "gd", publicKey: reg.publicKey), .HK: VerifierKey(name: "hk", publicKey: SecretKey(seed: [UInt8](repeating: 3, count: 32))!.publicKey),
                                         .MO: VerifierKey(name: "mo", publicKey: SecretKey(seed: [UInt8](repeating: 4, count: 32))!.publicKey)])
        let now = Timestamp(parsing: "2026-11-28T10:00:00.000Z")!
        let rules = RuleBook([GenesisRule(), IndexedNoticeRule()])
        let store = LiveStore()
        let l = try Ledger.create(in: store, genesis: try Statement(kind: Genesis.kind, payload: g.payload, signer: op.publicKey, time: now).sign(with: op),
                                  rules: rules, clock: { now })
        func notice(_ i: Int) throws -> SignedStatement {
            try Statement(kind: Notice.kind, payload: try Notice(level: "notice", title: "n\(i)", text: "t\(i)").payload, signer: reg.publicKey, time: now).sign(with: reg)
        }
        _ = try l.appendAll(try (0..<20).map(notice))
        try l.checkpoint(signer: NoteSigner(name: origin, key: op))
        store.landing.withLock { $0 = { _ = try l.appendAll([try notice(20)]) } }
        var a = Auditor()
        a.rules = rules
        a.chunkSize = 8
        let r = try a.run(store)
        #expect(store.landing.withLock { $0 == nil }, "the append landed during the audit")
        #expect(try store.tail().size == 22)
        #expect(r.ok, "\(r.findings)")
        #expect(r.entries == 21)
    }
}

import Foundation
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

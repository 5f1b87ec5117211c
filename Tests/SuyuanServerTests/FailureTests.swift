import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanServer
import Testing

/// A store whose appends fail with `failure` while it is set (reads keep working).
final class FailingStore: LedgerStore {
    struct Failure: Error, CustomStringConvertible { let description: String }
    let base = MemoryLedgerStore()
    let failure = Mutex<Failure?>(nil)

    func tail() throws -> LedgerTail { try base.tail() }
    func entries(from index: UInt64, count: Int) throws -> [StoredEntry] { try base.entries(from: index, count: count) }
    func hashes(for ids: [NodeID]) throws -> [Hash] { try base.hashes(for: ids) }
    func append(_ build: (any AppendTransaction) throws -> [NewEntry]) throws -> [StoredEntry] {
        if let f = failure.withLock({ $0 }) { throw f }
        return try base.append(build)
    }
    func latestCheckpoint() throws -> (size: UInt64, note: [UInt8])? { try base.latestCheckpoint() }
    func checkpoints() throws -> [(size: UInt64, note: [UInt8])] { try base.checkpoints() }
    func saveCheckpoint(size: UInt64, note: [UInt8]) throws { try base.saveCheckpoint(size: size, note: note) }
    func setting(_ key: String) throws -> String? { try base.setting(key) }
    func setSetting(_ key: String, _ value: String) throws { try base.setSetting(key, value) }
    func indexes(withTerm term: String) throws -> [UInt64] { try base.indexes(withTerm: term) }
    func termRows(in range: Range<UInt64>) throws -> [(index: UInt64, term: String)] { try base.termRows(in: range) }
}

@Suite("Storage failures and limits")
struct FailureTests {
    @Test("a failed commit answers every submitter of the batch with the store's classified status; nothing is appended")
    func storageFailures() async throws {
        let clock = TestClock()
        let store = FailingStore()
        let g = try Statement(kind: Genesis.kind, payload: Fixture.genesis.payload, signer: Fixture.op.publicKey, time: clock.current).sign(with: Fixture.op)
        let ledger = try Ledger.create(in: store, genesis: g, clock: clock.clock)
        let config = ServerConfiguration(ledger: ledger, operatorSigner: Fixture.signer, clock: clock.clock, classifyStorageError: { e in
            switch "\(e)" {
            case "locked": return (.busy, "database is locked")
            case "full": return (.diskFull, "database or disk is full")
            case "ro": return (.readOnly, "attempt to write a readonly database")
            default: return nil
            }
        })
        let app = buildApplication(config)
        try await app.test(.router) { client in
            for (failure, status, fragment) in [("locked", 503, "locked by another process"), ("full", 507, "disk full"),
                                                ("ro", 503, "read-only"), ("other", 500, "internal error")] {
                store.failure.withLock { $0 = FailingStore.Failure(description: failure) }
                let r = try await client.post("/api/v1/statements", Fixture.envelope(Fixture.notice(1, at: clock.current)))
                #expect(r.status.code == status, "\(failure): \(r.text)")
                #expect(r.json["error"]?.stringValue?.contains(fragment) == true, "\(failure): \(r.text)")
                if failure == "locked" { #expect(r.headers[.retryAfter] == "1") }
            }
            #expect(try ledger.size() == 1)
            // Once the store recovers, the same statement goes in.
            store.failure.withLock { $0 = nil }
            let ok = try await client.post("/api/v1/statements", Fixture.envelope(Fixture.notice(1, at: clock.current)))
            #expect(ok.status == .created)
        }
    }

    @Test("an entry too large for a bundle's uint16 length is refused by name; its tile hashes still serve")
    func oversizeBundleEntry() async throws {
        let t = try TestLedger(sqlite: false)
        // A notice whose statement fits the 65,536-byte limit but whose entry does not fit 65,535 bytes.
        var categories: [String] = []
        var signed: SignedStatement?
        while true {
            categories.append("category-\(categories.count)-" + String(repeating: "x", count: 60))
            let notice = try Notice(level: "notice", title: "Big", text: "A notice of many categories.", categories: categories)
            let s = try Statement(kind: Notice.kind, payload: notice.payload, signer: Fixture.gd.publicKey, time: t.clock.current)
            guard let next = try? s.sign(with: Fixture.gd) else { break }
            signed = next
        }
        let big = try #require(signed)
        #expect(big.canonical.count > 65_000)
        let app = buildApplication(t.configuration())
        try await app.test(.router) { client in
            let r = try await client.post("/api/v1/statements", Fixture.envelope(big))
            #expect(r.status == .created, "\(r.text)")
            let entry = try #require(try t.ledger.store.entry(at: 1))
            #expect(entry.bytes.count > 65_535)
            let bundle = try await client.get("/tile/entries/000.p/2")
            #expect(bundle.status == .internalServerError)
            #expect(bundle.json["error"]?.stringValue?.contains("/api/v1/entries/1") == true)
            #expect(try await client.get("/tile/entries/000.p/1").status == .ok)
            #expect(try await client.get("/tile/0/000.p/2").status == .ok)
            #expect(try await client.get("/api/v1/entries/1").status == .ok)
        }
    }
}

import Foundation
import GRDB
import Testing
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore

@Suite struct SQLiteStoreTests {
    let fx = Fixture()

    @Test func updatesAndDeletesAreRejectedByTriggers() throws {
        let dir = TempDir()
        let path = dir.file("l.db")
        let clock = TestClock()
        let l = try Ledger.create(in: try SQLiteLedgerStore(path: path, create: true), genesis: fx.genesisStatement(at: clock.current), clock: clock.clock)
        _ = try l.appendAll((0..<20).map { fx.notice($0, at: clock.current) })  // ≥ 16: a stored node exists
        try l.checkpoint(signer: fx.signer)
        let q = try DatabaseQueue(path: path)
        for sql in [
            "UPDATE entries SET body = x'00' WHERE idx = 1", "DELETE FROM entries WHERE idx = 4",
            "UPDATE nodes SET hash = x'00'", "DELETE FROM nodes", "DELETE FROM checkpoints", "UPDATE checkpoints SET size = 9",
            "UPDATE leaf_blocks SET nodes = x'00'", "DELETE FROM leaf_blocks",
        ] {
            #expect(throws: DatabaseError.self, "\(sql)") { try q.write { try $0.execute(sql: sql) } }
        }
        try q.close()
        #expect(try SQLiteLedgerStore(path: path).tail().size == 21)
    }

    /// A ledger file in `dir` holding genesis and 40 notices (two complete blocks of 16 leaves).
    private func ledgerOf40Notices(in dir: TempDir) throws -> (String, Ledger) {
        let path = dir.file("l.db")
        let clock = TestClock()
        let l = try Ledger.create(in: try SQLiteLedgerStore(path: path, create: true), genesis: fx.genesisStatement(at: clock.current), clock: clock.clock)
        _ = try l.appendAll((0..<40).map { fx.notice($0, at: clock.current) })
        return (path, l)
    }

    /// The page cache is 64 MiB unless the opener asks for another size (verify asks for 2 MiB); a
    /// smaller cache reads the same answers.
    @Test func thePageCacheIsTheSizeAskedFor() throws {
        let dir = TempDir()
        let (path, _) = try ledgerOf40Notices(in: dir)
        let big = try SQLiteLedgerStore(path: path), small = try SQLiteLedgerStore(path: path, pageCacheKiB: SQLiteLedgerStore.singleReadPageCacheKiB)
        #expect(try big.pageCacheKiB() == 65_536)
        #expect(try small.pageCacheKiB() == 2_048)
        let ids = (0..<41).map { NodeID(level: 0, index: UInt64($0)) } + [NodeID(level: 4, index: 1), NodeID(level: 5, index: 0)]
        #expect(try small.hashes(for: ids) == big.hashes(for: ids))
        #expect(try small.entries(from: 0, count: 41).map(\.bytes) == big.entries(from: 0, count: 41).map(\.bytes))
    }

    /// Each complete block of 16 leaves is one `leaf_blocks` row: its leaves, then its level-1, -2
    /// and -3 nodes (30 hashes); the incomplete last block has none. Every node below level 4 reads
    /// as the hash of its leaves.
    @Test func completeBlocksAreKeptAsOneRowOfTheirThirtyHashes() throws {
        let dir = TempDir()
        let (path, l) = try ledgerOf40Notices(in: dir)  // 41 entries: blocks 0 and 1 complete
        let leaves = try (0..<41).map { try l.store.entry(at: $0)!.leafHash }
        let q = try DatabaseQueue(path: path)
        let rows = try q.read { try Row.fetchAll($0, sql: "SELECT block, nodes FROM leaf_blocks ORDER BY block") }
        try q.close()
        #expect(rows.map { $0[0] as Int64 } == [0, 1])
        for row in rows {
            let b = Int(row[0] as Int64), bytes = [UInt8](row[1] as Data)
            #expect(bytes.count == 30 * 32)
            var expected: [Hash] = []
            for level in 0..<4 {
                let width = 1 << level
                expected += stride(from: 16 * b, to: 16 * b + 16, by: width).map { RFC6962.root(leafHashes: leaves[$0..<($0 + width)]) }
            }
            #expect(bytes == expected.flatMap(\.bytes), "block \(b)")
        }
        let store = try SQLiteLedgerStore(path: path)
        #expect(store.storesNode(NodeID(level: 0, index: 31), size: 41) && store.storesNode(NodeID(level: 3, index: 3), size: 41))
        #expect(!store.storesNode(NodeID(level: 0, index: 32), size: 41) && !store.storesNode(NodeID(level: 3, index: 4), size: 41))
        #expect(store.storesNode(NodeID(level: 4, index: 1), size: 41))
        for level in 0..<4 {
            let width = 1 << level
            let ids = (0..<(41 / width)).map { NodeID(level: level, index: UInt64($0)) }
            #expect(try store.hashes(for: ids) == ids.map { RFC6962.root(leafHashes: leaves[Int($0.index) * width..<(Int($0.index) + 1) * width]) }, "level \(level)")
        }
    }

    /// Proof hashes below the stored levels come from a block's `leaf_blocks` row, or from the leaf
    /// hashes of the incomplete last block (or of a block whose row is missing, with the same
    /// answer): a damaged row, a row missing from the last block, or a leaf hash of the wrong length,
    /// is reported as corruption naming the block or entry, never taken as another hash.
    @Test func aDamagedLeafBlockIsCorruptionNotAnotherHash() throws {
        let dir = TempDir()
        let (path, l) = try ledgerOf40Notices(in: dir)
        let sound = try SQLiteLedgerStore(path: path).hashes(for: [NodeID(level: 2, index: 4), NodeID(level: 0, index: 35), NodeID(level: 1, index: 16)])
        #expect(sound == [RFC6962.root(leafHashes: try (16..<20).map { try l.store.entry(at: $0)!.leafHash }), try l.store.entry(at: 35)!.leafHash,
                          RFC6962.root(leafHashes: try (32..<34).map { try l.store.entry(at: $0)!.leafHash })])
        let q = try DatabaseQueue(path: path)
        try q.write { db in
            try db.execute(sql: "DROP TRIGGER entries_no_delete; DROP TRIGGER entries_no_update")
            try db.execute(sql: "DROP TRIGGER leaf_blocks_no_delete; DROP TRIGGER leaf_blocks_no_update")
            try db.execute(sql: "DELETE FROM entries WHERE idx = 33")
            try db.execute(sql: "UPDATE entries SET leaf_hash = x'00' WHERE idx = 34")
            try db.execute(sql: "DELETE FROM leaf_blocks WHERE block = 0")
            try db.execute(sql: "UPDATE leaf_blocks SET nodes = substr(nodes, 1, 959) WHERE block = 1")
        }
        try q.close()
        let store = try SQLiteLedgerStore(path: path)
        #expect { _ = try store.hashes(for: [NodeID(level: 1, index: 16)]) } throws: { "\($0)".contains("entry 33 is missing") }
        #expect { _ = try store.hashes(for: [NodeID(level: 0, index: 35)]) } throws: { "\($0)".contains("entry 33 is missing") }
        #expect(try store.hashes(for: [NodeID(level: 0, index: 3), NodeID(level: 3, index: 1)])
                == [try l.store.entry(at: 3)!.leafHash, RFC6962.root(leafHashes: try (8..<16).map { try l.store.entry(at: $0)!.leafHash })])
        #expect { _ = try store.hashes(for: [NodeID(level: 2, index: 4)]) } throws: { "\($0)".contains("leaf block 1 (entries 16…) holds 959 bytes, not 960") }
        try DatabaseQueue(path: path).write { try $0.execute(sql: "UPDATE entries SET leaf_hash = x'00' WHERE idx = 32") }
        #expect { _ = try store.hashes(for: [NodeID(level: 0, index: 32)]) } throws: { "\($0)".contains("entry 32 has a leaf hash of 1 bytes") }
    }

    @Test func notALedger() throws {
        let dir = TempDir()
        #expect { _ = try SQLiteLedgerStore(path: dir.file("missing.db")) } throws: {
            ($0 as? SQLiteLedgerStore.OpenError) == .missing(dir.file("missing.db"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("missing.db")))
        let text = dir.file("text.txt")
        try Data("hello, this is not a database\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect { _ = try SQLiteLedgerStore(path: text) } throws: { "\($0)".contains("not an SQLite database") }
        let empty = dir.file("empty")
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect { _ = try SQLiteLedgerStore(path: empty) } throws: { "\($0)".contains("empty") }
        #expect(try Data(contentsOf: URL(fileURLWithPath: empty)).isEmpty)
        let other = dir.file("other.db")
        let q = try DatabaseQueue(path: other)
        try q.write { try $0.execute(sql: "CREATE TABLE t(x)") }
        try q.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: other))
        #expect { _ = try SQLiteLedgerStore(path: other) } throws: { "\($0)".contains("another application") }
        // Creating a ledger over another application's database is refused too, without touching it.
        #expect { _ = try SQLiteLedgerStore(path: other, create: true) } throws: { "\($0)".contains("another application") }
        #expect(try Data(contentsOf: URL(fileURLWithPath: other)) == bytes)
    }

    /// Two store instances on one file behave like two processes: each append sees the other's.
    @Test func twoWritersOnOneFileInterleave() throws {
        let dir = TempDir()
        let path = dir.file("l.db")
        let clock = TestClock()
        _ = try Ledger.create(in: try SQLiteLedgerStore(path: path, create: true), genesis: fx.genesisStatement(at: clock.current), clock: clock.clock)
        let a = try Ledger(opening: try SQLiteLedgerStore(path: path), clock: clock.clock)
        let b = try Ledger(opening: try SQLiteLedgerStore(path: path), clock: clock.clock)
        var n = 0
        for round in 0..<10 {
            let l = round % 2 == 0 ? a : b
            _ = try l.appendAll((0..<(round + 1)).map { _ in n += 1; return fx.notice(n, at: clock.current) })
        }
        try checkChain(path, expectedSize: UInt64(1 + n))
    }

    /// Concurrent appends from several threads through separate connections: no fork, no gap.
    /// `head()` reads through its own connection: it sees what another connection (here another
    /// store on the same file, as another process would be) commits after it was first read.
    @Test func headSeesCommitsOfOtherConnections() throws {
        let dir = TempDir()
        let path = dir.file("l.db")
        let clock = TestClock()
        let writer = try Ledger.create(in: try SQLiteLedgerStore(path: path, create: true), genesis: fx.genesisStatement(at: clock.current), clock: clock.clock)
        let reader = try SQLiteLedgerStore(path: path, readOnly: true)
        #expect(try reader.head() == LedgerHead(size: 1, checkpointSize: nil))
        _ = try writer.appendAll((0..<40).map { fx.notice($0, at: clock.current) })
        #expect(try reader.head() == LedgerHead(size: 41, checkpointSize: nil))
        try writer.checkpoint(signer: fx.signer)
        _ = try writer.appendAll([fx.notice(99, at: clock.current)])
        #expect(try reader.head() == LedgerHead(size: 42, checkpointSize: 41))
    }

    @Test func concurrentWritersNeverForkTheChain() async throws {
        let dir = TempDir()
        let path = dir.file("l.db")
        let clock = TestClock()
        _ = try Ledger.create(in: try SQLiteLedgerStore(path: path, create: true), genesis: fx.genesisStatement(at: clock.current), clock: clock.clock)
        let fx = self.fx
        let writers = 4, batches = 10, perBatch = 5
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    let l = try Ledger(opening: try SQLiteLedgerStore(path: path), clock: clock.clock)
                    for b in 0..<batches {
                        let stmts = (0..<perBatch).map { fx.notice(10_000 * w + 100 * b + $0, at: clock.current) }
                        let r = try l.appendAll(stmts)
                        // A batch is contiguous.
                        #expect(r.map(\.index) == (0..<UInt64(perBatch)).map { r[0].index + $0 })
                    }
                }
            }
            try await group.waitForAll()
        }
        try checkChain(path, expectedSize: UInt64(1 + writers * batches * perBatch))
    }

    /// A version-4 file whose `leaf_blocks` table is gone is damaged, not read as version 3.
    @Test func aVersion4FileWithoutItsLeafBlocksSaysSo() throws {
        let dir = TempDir()
        let (path, _) = try ledgerOf40Notices(in: dir)
        try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "DROP TABLE leaf_blocks") }
        let store = try SQLiteLedgerStore(path: path)
        #expect { _ = try store.hashes(for: [NodeID(level: 0, index: 3)]) } throws: { "\($0)".contains("no such table: leaf_blocks") }
    }

    /// A version-3 file (no leaf blocks) proves the same read-only, from the leaf hashes, and is
    /// upgraded when opened for writing: a row for each complete block, as appends would have written.
    @Test func version3FilesAreUpgradedToLeafBlocks() throws {
        let dir = TempDir()
        let path = dir.file("l.db")
        let clock = TestClock()
        let l = try Ledger.create(in: try SQLiteLedgerStore(path: path, create: true), genesis: fx.genesisStatement(at: clock.current), clock: clock.clock)
        _ = try l.appendAll((0..<50).map { fx.notice($0, at: clock.current) })
        let proofs = try (0..<51).map { try l.inclusionProof(index: $0, size: 51) }
        func state() throws -> (version: Int, blocks: [[UInt8]]?) {
            let q = try DatabaseQueue(path: path)
            defer { try? q.close() }
            return try q.read { db in
                let has = try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'leaf_blocks'") ?? false
                return (try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
                        has ? try Row.fetchAll(db, sql: "SELECT nodes FROM leaf_blocks ORDER BY block").map { [UInt8]($0[0] as Data) } : nil)
            }
        }
        let written = try state()
        #expect(written.version == 4 && written.blocks?.count == 3)
        let q = try DatabaseQueue(path: path)
        try q.writeWithoutTransaction {
            try $0.execute(sql: "DROP TABLE leaf_blocks; DELETE FROM grdb_migrations WHERE identifier LIKE 'v4:%'; PRAGMA user_version = 3")
        }
        try q.close()
        let readOnly = try Ledger(opening: try SQLiteLedgerStore(path: path, readOnly: true), clock: clock.clock)
        #expect(!readOnly.store.storesNode(NodeID(level: 0, index: 0), size: 51) && readOnly.store.storesNode(NodeID(level: 4, index: 0), size: 51))
        #expect(try (0..<51).map { try readOnly.inclusionProof(index: $0, size: 51) } == proofs)
        #expect(try state().version == 3 && state().blocks == nil)
        let upgraded = try Ledger(opening: try SQLiteLedgerStore(path: path), clock: clock.clock)
        #expect(try state().version == 4 && state().blocks == written.blocks)
        #expect(try (0..<51).map { try upgraded.inclusionProof(index: $0, size: 51) } == proofs)
        // Appends after the upgrade complete the last block as before.
        _ = try upgraded.appendAll((50..<70).map { fx.notice($0, at: clock.current) })
        #expect(try state().blocks?.count == 4)
        try checkChain(path, expectedSize: 71)
    }

    /// A version-2 file (no leaf hash index) proves the same read-only, and is upgraded when opened
    /// for writing; the proofs' range reads then use the index.
    @Test func version2FilesAreUpgradedToTheLeafHashIndex() throws {
        let dir = TempDir()
        let path = dir.file("l.db")
        let clock = TestClock()
        let l = try Ledger.create(in: try SQLiteLedgerStore(path: path, create: true), genesis: fx.genesisStatement(at: clock.current), clock: clock.clock)
        _ = try l.appendAll((0..<40).map { fx.notice($0, at: clock.current) })
        let proofs = try (0..<41).map { try l.inclusionProof(index: $0, size: 41) }
        let plan = "EXPLAIN QUERY PLAN SELECT leaf_hash FROM entries WHERE idx >= 16 AND idx < 32 ORDER BY idx"
        func state() throws -> (version: Int, index: Bool, plan: String) {
            let q = try DatabaseQueue(path: path)
            defer { try? q.close() }
            return try q.read { db in
                (try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
                 try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'entries_leaves'") ?? false,
                 try Row.fetchAll(db, sql: plan).map { $0["detail"] as String }.joined(separator: "; "))
            }
        }
        #expect(try state().version == 4 && state().index && state().plan.contains("COVERING INDEX entries_leaves"))
        // Make it a version-2 file, as the migrator left one.
        let q = try DatabaseQueue(path: path)
        try q.writeWithoutTransaction {
            try $0.execute(sql: """
                DROP INDEX entries_leaves; DROP TABLE leaf_blocks; DELETE FROM grdb_migrations WHERE identifier LIKE 'v3:%' OR identifier LIKE 'v4:%';
                PRAGMA user_version = 2
                """)
        }
        try q.close()
        let readOnly = try Ledger(opening: try SQLiteLedgerStore(path: path, readOnly: true), clock: clock.clock)
        #expect(try (0..<41).map { try readOnly.inclusionProof(index: $0, size: 41) } == proofs)
        #expect(try state().version == 2 && !state().index)
        let upgraded = try Ledger(opening: try SQLiteLedgerStore(path: path), clock: clock.clock)
        #expect(try state().version == 4 && state().index)
        #expect(try (0..<41).map { try upgraded.inclusionProof(index: $0, size: 41) } == proofs)
        try checkChain(path, expectedSize: 41)
    }

    @Test func backupIsAConsistentCopy() throws {
        let dir = TempDir()
        let path = dir.file("l.db")
        let clock = TestClock()
        let store = try SQLiteLedgerStore(path: path, create: true)
        let l = try Ledger.create(in: store, genesis: fx.genesisStatement(at: clock.current), clock: clock.clock)
        _ = try l.appendAll((0..<20).map { fx.notice($0, at: clock.current) })
        try l.checkpoint(signer: fx.signer)
        try store.backup(to: dir.file("copy.db"))
        let copy = try Ledger(opening: try SQLiteLedgerStore(path: dir.file("copy.db")), clock: clock.clock)
        #expect(try copy.size() == 21)
        #expect(try copy.latestVerifiedCheckpoint()?.checkpoint.root == (try l.root(size: 21)))
        try checkChain(dir.file("copy.db"), expectedSize: 21)
    }

    /// Reads the file afresh and checks indexes, the hash chain, stored leaf hashes and stored nodes.
    func checkChain(_ path: String, expectedSize: UInt64) throws {
        let store = try SQLiteLedgerStore(path: path)
        let entries = try store.entries(from: 0, count: Int(expectedSize) + 10)
        #expect(UInt64(entries.count) == expectedSize)
        var prev = Hash.zero
        var leaves: [Hash] = []
        for (i, s) in entries.enumerated() {
            let e = try Entry(parsing: s.bytes)
            #expect(e.index == UInt64(i))
            #expect(e.prev == prev)
            #expect(s.leafHash == e.leafHash)
            prev = s.leafHash
            leaves.append(s.leafHash)
        }
        #expect(try RFC6962.root(size: expectedSize, reader: store) == RFC6962.root(leafHashes: leaves))
    }
}

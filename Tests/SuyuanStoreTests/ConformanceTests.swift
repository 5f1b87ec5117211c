import Foundation
import Testing
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore

/// One conformance suite for every LedgerStore: the ledger behaves the same on each.
@Suite struct StoreConformanceTests {
    let fx = Fixture()

    func makeLedger(_ kind: StoreKind, clock: TestClock) throws -> (StoreHandle, Ledger) {
        let h = StoreHandle(kind)
        let l = try Ledger.create(in: h.store, genesis: fx.genesisStatement(at: clock.current), clock: clock.clock)
        return (h, l)
    }

    @Test(arguments: StoreKind.allCases)
    func genesisAndChain(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        #expect(l.genesis == fx.genesis)
        var leafHashes = [try h.store.entry(at: 0)!.leafHash]
        for batch in 0..<5 {
            clock.advance(seconds: 1)
            let stmts = (0..<7).map { fx.notice(batch * 7 + $0, at: clock.current) }
            let results = try l.appendAll(stmts)
            #expect(results.map(\.index) == (0..<7).map { UInt64(1 + batch * 7 + $0) })
            leafHashes += results.map(\.leafHash)
        }
        let size = try l.size()
        #expect(size == 36)
        let stored = try h.store.entries(from: 0, count: 1000)
        #expect(stored.count == 36)
        let page = try h.store.sizeAndEntries(from: 30, count: 100)
        #expect(page.size == 36 && page.entries.map(\.index) == Array(30..<36))
        #expect(try h.store.sizeAndEntries(from: 36, count: 5).entries.isEmpty)
        var prev = Hash.zero
        var lastTime = Timestamp(nanoseconds: 0)
        for (i, s) in stored.enumerated() {
            let e = try Entry(parsing: s.bytes)
            #expect(e.index == UInt64(i))
            #expect(e.prev == prev)
            #expect(s.leafHash == RFC6962.leafHash(s.bytes))
            #expect(s.leafHash == leafHashes[i])
            #expect(e.recordedAt >= lastTime)
            try e.signed.verifySignature()
            prev = s.leafHash
            lastTime = e.recordedAt
        }
        // Every root and proof from stored nodes agrees with an independent in-memory computation.
        for n in 1...size {
            let root = try l.root(size: n)
            #expect(root == RFC6962.root(leafHashes: Array(leafHashes[0..<Int(n)])))
            for i in 0..<n {
                try RFC6962.verifyInclusion(leafHash: leafHashes[Int(i)], index: i, size: n, proof: try l.inclusionProof(index: i, size: n), root: root)
            }
            for m in 1...n {
                try RFC6962.verifyConsistency(oldSize: m, newSize: n, oldRoot: try l.root(size: m), newRoot: root,
                                              proof: try l.consistencyProof(from: m, to: n))
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func refusalsLeaveTheLedgerUnchanged(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        _ = try l.appendAll([fx.notice(1, at: clock.current)])
        let before = try h.store.entries(from: 0, count: 100)

        func refused(_ s: SignedStatement, _ check: (LedgerError) -> Bool) throws {
            #expect {
                _ = try l.appendAll([s])
            } throws: { e in (e as? LedgerError).map(check) ?? false }
        }
        // Signed by a key not named in genesis.
        try refused(fx.notice(2, by: fx.stranger, at: clock.current)) { if case .unauthorized = $0 { true } else { false } }
        // Signed by the operator, who is not a regulator.
        try refused(fx.notice(3, by: fx.op, at: clock.current)) { if case .unauthorized = $0 { true } else { false } }
        // A second genesis.
        try refused(fx.genesisStatement(at: clock.current.adding(seconds: 1))) { if case .unauthorized = $0 { true } else { false } }
        // A bad signature.
        let good = fx.notice(4, at: clock.current)
        var sig = good.signature
        sig[10] ^= 1
        try refused(try SignedStatement(canonical: good.canonical, signature: sig)) { if case .badSignature = $0 { true } else { false } }
        // A statement changed after signing.
        let other = fx.notice(5, at: clock.current)
        try refused(try SignedStatement(canonical: other.canonical, signature: good.signature)) { if case .badSignature = $0 { true } else { false } }
        // Unknown kind.
        let odd = try Statement(kind: "odd", payload: ["a": 1], signer: fx.gd.publicKey, time: clock.current).sign(with: fx.gd)
        try refused(odd) { $0 == .unknownKind("odd") }
        // Malformed notice payload.
        let bad = try Statement(kind: "notice", payload: ["title": "x"], signer: fx.gd.publicKey, time: clock.current).sign(with: fx.gd)
        try refused(bad) { if case .malformed = $0 { true } else { false } }
        // Too far in the future, too far in the past.
        try refused(fx.notice(6, at: clock.current.adding(seconds: 601))) { if case .timeOutOfWindow = $0 { true } else { false } }
        try refused(fx.notice(7, at: clock.current.adding(seconds: -31 * 86400))) { if case .timeOutOfWindow = $0 { true } else { false } }
        // Duplicate of an appended statement.
        try refused(fx.notice(1, at: clock.current)) { $0 == .duplicate(index: 1) }
        // An atomic batch with one bad statement appends nothing, and names the position.
        #expect {
            _ = try l.appendAll([fx.notice(8, at: clock.current), fx.notice(9, by: fx.stranger, at: clock.current)])
        } throws: { e in "\(e)".contains("statement 2 of 2") }

        #expect(try h.store.entries(from: 0, count: 100) == before)
        #expect(try l.size() == 2)
    }

    @Test(arguments: StoreKind.allCases)
    func perStatementResultsInABatch(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (_, l) = try makeLedger(kind, clock: clock)
        let a = fx.notice(1, at: clock.current)
        let results = try l.append([a, fx.notice(2, by: fx.stranger, at: clock.current), a, fx.notice(3, by: fx.hk, at: clock.current)])
        #expect(try results[0].get().index == 1)
        #expect(throws: LedgerError.self) { try results[1].get() }
        #expect(throws: LedgerError.duplicate(index: 1)) { try results[2].get() }
        #expect(try results[3].get().index == 2)
        #expect(try l.size() == 3)
    }

    /// A store writes an append given in parts as one: the parts' entries in order, numbered on from
    /// part to part, and nothing at all when a later part throws.
    @Test(arguments: StoreKind.allCases)
    func anAppendInPartsIsOneTransaction(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        let before = try h.store.entries(from: 0, count: 100)
        let statements = (1...6).map { fx.notice($0, at: clock.current) }
        /// Entries for `statements[range]`, chained on from `prev`.
        func entries(_ range: Range<Int>, from start: UInt64, prev: inout Hash) -> [NewEntry] {
            range.enumerated().map { k, i in
                let e = NewEntry(entry: Entry(index: start + UInt64(k), prev: prev, recordedAt: clock.current, signed: statements[i]))
                prev = e.leafHash
                return e
            }
        }
        struct Refused: Error {}
        var prev = Hash.zero
        #expect(throws: Refused.self) {
            _ = try h.store.append(parts: 3) { tx, p in
                if p == 0 { prev = tx.tail.lastLeafHash; return entries(0..<2, from: tx.tail.size, prev: &prev) }
                if p == 1 { return entries(2..<4, from: tx.tail.size + 2, prev: &prev) }
                throw Refused()
            }
        }
        #expect(try h.store.entries(from: 0, count: 100) == before)
        let stored = try h.store.append(parts: 3) { tx, p in
            if p == 0 { prev = tx.tail.lastLeafHash }
            let range = [0..<2, 2..<2, 2..<6][p]  // an empty part in the middle
            return entries(range, from: tx.tail.size + UInt64(range.lowerBound), prev: &prev)
        }
        #expect(stored.map(\.index) == Array(1...6))
        #expect(try h.store.entries(from: 1, count: 10).map(\.bytes) == stored.map(\.bytes))
        try expectChainAndTree(h, l)
    }

    /// A term index upgrade (rows for committed entries, and the new version) is written with its
    /// append's entries, or not at all.
    @Test(arguments: StoreKind.allCases)
    func aTermIndexUpgradeIsWrittenWithItsAppend(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        #expect(try h.store.termIndexVersion() == 1)
        var prev = try h.store.entry(at: 0)!.leafHash
        func entry(_ i: Int, _ terms: [String]) -> NewEntry {
            let e = NewEntry(entry: Entry(index: UInt64(i), prev: prev, recordedAt: clock.current, signed: fx.notice(i, at: clock.current)), terms: terms)
            prev = e.leafHash
            return e
        }
        _ = try h.store.append { _ in (1...3).map { entry($0, ["old"]) } }
        func rows() throws -> [String] { try h.store.termRows(in: 0..<10).map { "\($0.index) \($0.term)" } }
        let before = try rows()
        #expect(before == ["1 old", "2 old", "3 old"])
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            _ = try h.store.append { tx in
                try tx.upgradeTermIndex(to: 2, adding: [(1, "new:a"), (3, "new:b")])
                throw Refused()
            }
        }
        #expect(try h.store.termIndexVersion() == 1 && rows() == before)
        let fourth = entry(4, ["new:a", "old"])
        _ = try h.store.append { tx in
            #expect(tx.termIndexVersion == 1)
            try tx.upgradeTermIndex(to: 2, adding: [(1, "new:a"), (3, "new:b"), (2, "old")])
            return [fourth]
        }
        #expect(try h.store.termIndexVersion() == 2)
        #expect(try rows() == ["1 new:a", "1 old", "2 old", "3 new:b", "3 old", "4 new:a", "4 old"])
        #expect(try h.store.indexes(withTerm: "new:a") == [1, 4])
        #expect(try h.store.entries(withTerm: "new:b").map(\.index) == [3])
        _ = try h.store.append { tx in
            #expect(tx.termIndexVersion == 2)
            return []
        }
        // These rules write version 1: a ledger a newer version indexed is not theirs to append to.
        clock.advance(seconds: 1)
        #expect {
            _ = try l.appendAll([fx.notice(5, at: clock.current)])
        } throws: { e in "\(e)".contains("newer version") }
        #expect(try h.store.tail().size == 5 && rows().count == 7)
        try expectChainAndTree(h, l)
    }

    /// Every stored entry chains to the one before, and the stored tree's root is the root of the
    /// leaf hashes.
    func expectChainAndTree(_ h: StoreHandle, _ l: Ledger) throws {
        let stored = try h.store.entries(from: 0, count: 100_000)
        var prev = Hash.zero
        for s in stored {
            let e = try Entry(parsing: s.bytes)
            #expect(e.index == s.index && e.prev == prev && s.leafHash == e.leafHash)
            prev = s.leafHash
        }
        #expect(try l.root(size: UInt64(stored.count)) == RFC6962.root(leafHashes: stored.map(\.leafHash)))
    }

    /// A batch of several parts (checked on the cores while the part before is written) gives the
    /// same per-statement results, and an atomic one refused in its last part appends nothing.
    @Test(arguments: StoreKind.allCases)
    func batchesOfSeveralParts(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        let n = 3 * Ledger.statementsPerPart + 5
        let parts = Ledger.parts(of: n)
        #expect(parts.count >= 3)
        let unauthorised = parts[1].lowerBound + 1, repeated = parts[2].lowerBound + 7
        var batch = (0..<n).map { fx.notice($0, at: clock.current) }
        let good = batch[n - 2]
        var sig = good.signature
        sig[3] ^= 1
        batch[n - 2] = try SignedStatement(canonical: good.canonical, signature: sig)  // in the last part
        batch[unauthorised] = fx.notice(9_999, by: fx.stranger, at: clock.current)  // in the second
        batch[repeated] = batch[4]  // a repeat, in the third
        #expect {
            _ = try l.appendAll(batch)
        } throws: { e in "\(e)".contains("statement \(unauthorised + 1) of \(n)") }
        #expect(try l.size() == 1)
        let results = try l.append(batch)
        var expected: UInt64 = 1
        for (i, r) in results.enumerated() {
            switch i {
            case n - 2: #expect(throws: LedgerError.self) { try r.get() }
            case unauthorised: #expect(throws: LedgerError.self) { try r.get() }
            case repeated: #expect(throws: LedgerError.duplicate(index: 5)) { try r.get() }
            default:
                #expect(try r.get().index == expected)
                expected += 1
            }
        }
        #expect(try l.size() == UInt64(n - 3 + 1))
        try expectChainAndTree(h, l)
    }

    /// A statement already in the ledger, in a later batch, is refused alone: the store refuses the
    /// whole write (`StatementAlreadyStored`, nothing written) and the ledger builds the batch again
    /// without it.
    @Test(arguments: StoreKind.allCases)
    func aStatementAlreadyStoredIsRefusedByTheStoreAndAloneInABatch(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        let old = fx.notice(1, at: clock.current)
        _ = try l.appendAll([old, fx.notice(2, at: clock.current)])
        let before = try h.store.entries(from: 0, count: 100)
        // The store itself: an entry carrying the stored statement again.
        #expect {
            _ = try h.store.append { tx in
                [NewEntry(entry: Entry(index: tx.tail.size, prev: tx.tail.lastLeafHash, recordedAt: clock.current, signed: old))]
            }
        } throws: { e in (e as? StatementAlreadyStored).map { $0.index == 3 && $0.existing == 1 } ?? false }
        #expect(try h.store.entries(from: 0, count: 100) == before)
        // The ledger: the repeated statement is refused, the others around it are appended.
        let results = try l.append([fx.notice(3, at: clock.current), old, fx.notice(4, at: clock.current)])
        #expect(try results[0].get().index == 3)
        #expect(throws: LedgerError.duplicate(index: 1)) { try results[1].get() }
        #expect(try results[2].get().index == 4)
        #expect(try l.size() == 5)
        #expect(try h.store.entries(from: 0, count: 3) == before)
    }

    /// Duplicates are found by statement bytes, even among many statements of the same millisecond.
    @Test(arguments: StoreKind.allCases)
    func duplicatesAmongStatementsOfTheSameTime(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (_, l) = try makeLedger(kind, clock: clock)
        let same = (0..<50).map { fx.notice($0, at: clock.current) }
        let first = try l.appendAll(same)
        #expect(first.map(\.index) == (1...50).map { UInt64($0) })
        for (i, s) in same.enumerated() where i % 7 == 0 {
            #expect(throws: LedgerError.duplicate(index: UInt64(i + 1))) { _ = try l.appendAll([s]) }
        }
        // Same content signed by another regulator is a different statement.
        let other = try Statement(kind: Notice.kind, payload: same[3].statement.payload, signer: fx.hk.publicKey, time: clock.current).sign(with: fx.hk)
        #expect(try l.appendAll([other])[0].index == 51)
    }

    @Test(arguments: StoreKind.allCases)
    func checkpointsAreSignedStoredAndVerified(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        let first = try l.checkpoint(signer: fx.signer)
        #expect(first.isNew && first.size == 1)
        #expect(try l.checkpoint(signer: fx.signer).isNew == false)
        _ = try l.appendAll((0..<5).map { fx.notice($0, at: clock.current) })
        let second = try l.checkpoint(signer: fx.signer)
        #expect(second.isNew && second.size == 6)
        let v = try Checkpoint.verify(second.note, trusting: [fx.genesis.operatorKey])
        #expect(v.checkpoint.origin == fx.origin)
        #expect(v.checkpoint.root == (try l.root(size: 6)))
        #expect(try l.latestVerifiedCheckpoint()?.checkpoint.size == 6)
        #expect(try h.store.checkpoints().map(\.size) == [1, 6])
        // Only the operator key may sign checkpoints.
        #expect(throws: LedgerError.self) { try l.checkpoint(signer: try NoteSigner(name: "gd.example", key: fx.gd)) }
    }

    @Test(arguments: StoreKind.allCases)
    func headFollowsEntriesAndCheckpoints(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        #expect(try h.store.head() == LedgerHead(size: 1, checkpointSize: nil))
        try l.checkpoint(signer: fx.signer)
        _ = try l.appendAll((0..<3).map { fx.notice($0, at: clock.current) })
        #expect(try h.store.head() == LedgerHead(size: 4, checkpointSize: 1))
        try l.checkpoint(signer: fx.signer)
        #expect(try h.store.head() == LedgerHead(size: 4, checkpointSize: 4))
    }

    /// Many proofs at once over a tree big enough to have stored levels with gaps between the nodes
    /// wanted (the SQLite store reads neighbouring nodes in one range scan): each equals the proof
    /// computed alone and verifies against the root.
    @Test(arguments: StoreKind.allCases)
    func batchedProofsOverALargerTree(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (_, l) = try makeLedger(kind, clock: clock)
        _ = try l.appendAll((0..<3000).map { fx.notice($0, at: clock.current) })
        let n = try l.size(), root = try l.root(size: n)
        // Sparse, medium and dense sets of leaves, at irregular steps.
        for step in [997, 71, 4] as [UInt64] {
            let indexes = Array(stride(from: step / 3, to: n, by: Int(step)))
            let batch = try RFC6962.inclusionProofs(indexes: indexes, size: n, reader: l.store)
            for (i, proof) in zip(indexes, batch) {
                #expect(proof == (try l.inclusionProof(index: i, size: n)))
                let leaf = try #require(try l.store.entry(at: i)).leafHash
                try RFC6962.verifyInclusion(leafHash: leaf, index: i, size: n, proof: proof, root: root)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func reopenReadsGenesis(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        _ = try l.appendAll([fx.notice(1, at: clock.current)])
        let again = try Ledger(opening: h.store, clock: clock.clock)
        #expect(again.genesis == fx.genesis)
        #expect(try again.size() == 2)
        // Creating twice is refused.
        #expect(throws: LedgerError.self) { _ = try Ledger.create(in: h.store, genesis: fx.genesisStatement(at: clock.current), clock: clock.clock) }
        // Opening an empty store is refused.
        #expect(throws: LedgerError.self) { _ = try Ledger(opening: StoreHandle(kind).store) }
    }

    @Test(arguments: StoreKind.allCases)
    func recordedAtNeverGoesBackwards(_ kind: StoreKind) throws {
        let clock = TestClock()
        let (h, l) = try makeLedger(kind, clock: clock)
        _ = try l.appendAll([fx.notice(1, at: clock.current)])
        clock.advance(seconds: -100)  // the clock steps back
        _ = try l.appendAll([fx.notice(2, at: clock.current)])
        let e1 = try Entry(parsing: try h.store.entry(at: 1)!.bytes)
        let e2 = try Entry(parsing: try h.store.entry(at: 2)!.bytes)
        #expect(e2.recordedAt >= e1.recordedAt)
    }
}


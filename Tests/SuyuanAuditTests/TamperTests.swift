import Foundation
import GRDB
import Testing
import SuyuanAudit
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore

// The audit tamper corpus. Each test builds a real SQLite ledger (genesis + 30 regulator notices =
// 31 entries, operator checkpoints at sizes 8, 16, 24 and 31), closes it, edits the file directly
// as an attacker with the sqlite3 shell would (after dropping the append-only triggers), reopens it
// with `SQLiteLedgerStore` and checks the exact findings of `Auditor().run`.
//
// Two kinds of attacker appear:
// - "naive": edits rows and fixes the `leaf_hash` column, but leaves the stored Merkle nodes as they were;
// - "thorough": also recomputes every leaf hash and Merkle node, and re-numbers and re-chains the
//   entries (index and prev are not signed); only statement signatures and checkpoints cannot be redone.

/// The entry tampered with in most cases.
private let k: UInt64 = 10
/// Entry i carries notice i−1 (entry 0 is genesis); entry k's notice is signed by GD.
private let kNotice = Int(k) - 1
/// Checkpoint roots that change when anything at or before entry 10 changes (sizes 16, 24, 31).
private let rootsAfterK = ["checkpoint-root@15", "checkpoint-root@23", "checkpoint-root@30"]

@Suite("Audit tamper corpus") struct TamperTests {

    // MARK: 14. A clean ledger

    @Test("14. a clean ledger with checkpoints passes, also with trusted checkpoints")
    func cleanLedger() throws {
        let l = try buildLedger()
        #expect(l.size == 31)
        #expect(l.checkpoints.keys.sorted() == [8, 16, 24, 31])
        let r = try audit(l.path)
        #expect(r.ok, "\(r.dump)")
        #expect(r.firstBadIndex == nil)
        #expect(r.entries == 31)
        #expect(r.checkpointsChecked == 4)
        #expect(r.origin == TK.origin)
        let latest = try Checkpoint.verify(l.checkpoint(31), trusting: [TK.operatorVerifier]).checkpoint
        #expect(r.root == latest.root)

        let t = try audit(l.path, trusted: [l.checkpoint(8)], trustedOperator: TK.operatorVerifier)
        #expect(t.ok, "\(t.dump)")
        #expect(t.trustedCheckpointsChecked == 1)
        let all = try audit(l.path, trusted: [l.checkpoint(8), l.checkpoint(16), l.checkpoint(31)], chunkSize: 3)
        #expect(all.ok, "\(all.dump)")
        #expect(all.trustedCheckpointsChecked == 3)
        #expect(all.checkpointsChecked == 4)
    }

    @Test("the tamper helper really needs to drop the append-only triggers")
    func triggersExist() throws {
        let l = try buildLedger(notices: 16, checkpointEvery: 0)  // 17 entries: one stored node (leaves 0…15)
        let q = try DatabaseQueue(path: l.path)
        defer { try? q.close() }
        let names = try q.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name") }
        #expect(names == appendOnlyTriggers.sorted())
        #expect(throws: DatabaseError.self) { try q.write { try $0.execute(sql: "UPDATE entries SET body = x'00' WHERE idx = 1") } }
        #expect(throws: DatabaseError.self) { try q.write { try $0.execute(sql: "DELETE FROM nodes") } }
        #expect(throws: DatabaseError.self) { try q.write { try $0.execute(sql: "DELETE FROM checkpoints") } }
    }

    // MARK: 1. A changed payload byte

    /// Entry k's notice text with one byte changed ("Text" → "Hext"): still canonical, same length.
    private func payloadChanged(_ original: [UInt8]) throws -> [UInt8] {
        let changed = replacing("\"text\":\"Text of notice \(kNotice)\"", with: "\"text\":\"Hext of notice \(kNotice)\"", in: original)
        #expect(changed.count == original.count)
        #expect(zip(changed, original).filter { $0 != $1 }.count == 1)
        // The edit only breaks the signature: the bytes still parse as a canonical entry.
        let e = try Entry(parsing: changed)
        #expect(e.index == k)
        return changed
    }

    @Test("1. a changed payload byte (naive: leaf_hash fixed, nodes stale)")
    func payloadByteNaive() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in try setBody(db, k, try payloadChanged(try body(db, k))) }
        let r = try audit(l.path)
        #expect(r.findings.first?.tag == "signature@\(k)", "\(r.dump)")
        #expect(r.entryTags == ["signature@\(k)", "chain@\(k + 1)"], "\(r.dump)")
        #expect(r.checkpointTags == rootsAfterK, "\(r.dump)")
        #expect(!r.storedNodeFindings.isEmpty, "the stale stored nodes disagree with the recomputed tree")
        #expect(!r.findings.contains { $0.kind == "stored-leaf-hash" })
        // The first entry where integrity breaks is k: entries 0…k−1 are untouched.
        #expect(r.firstBadIndex == k, "\(r.dump)")
    }

    @Test("1b. a changed payload byte (thorough: re-chained, leaf hashes and nodes recomputed)")
    func payloadByteThorough() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let changed = try Entry(parsing: try payloadChanged(try body(db, k)))
            try rewriteHistory(db) { items in items[Int(k)].signed = changed.signed }
        }
        let r = try audit(l.path)
        #expect(r.tags == ["signature@\(k)"] + rootsAfterK, "\(r.dump)")
        #expect(r.firstBadIndex == k)
        #expect(r.findings[0].expected.contains(DIDKey.encode(TK.regulators[kNotice % 3].publicKey)))
    }

    // MARK: 2. A changed signature

    /// Entry k with one bit of its signature flipped, re-encoded canonically.
    private func signatureChanged(_ original: [UInt8]) throws -> [UInt8] {
        let e = try Entry(parsing: original)
        var sig = e.signed.signature
        sig[5] ^= 0x01
        let forged = try SignedStatement(canonical: e.signed.canonical, signature: sig)
        let bytes = Entry(index: e.index, prev: e.prev, recordedAt: e.recordedAt, signed: forged).bytes
        #expect(bytes != original)
        #expect(bytes.count == original.count)
        return bytes
    }

    @Test("2. a changed signature (naive: base64 in body changed, leaf_hash fixed)")
    func signatureNaive() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in try setBody(db, k, try signatureChanged(try body(db, k))) }
        let r = try audit(l.path)
        #expect(r.findings.first?.tag == "signature@\(k)", "\(r.dump)")
        #expect(r.entryTags == ["signature@\(k)", "chain@\(k + 1)"], "\(r.dump)")
        #expect(r.checkpointTags == rootsAfterK, "\(r.dump)")
        #expect(r.firstBadIndex == k, "\(r.dump)")
    }

    @Test("2b. a changed signature (thorough)")
    func signatureThorough() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let forged = try Entry(parsing: try signatureChanged(try body(db, k)))
            try rewriteHistory(db) { items in items[Int(k)].signed = forged.signed }
        }
        let r = try audit(l.path)
        #expect(r.tags == ["signature@\(k)"] + rootsAfterK, "\(r.dump)")
        #expect(r.firstBadIndex == k)
    }

    // MARK: 3. A deleted middle entry

    enum Deletion: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// `DELETE FROM entries WHERE idx = k`: a gap in idx.
        case gap
        /// The row deleted and the later rows moved down one idx (bodies untouched).
        case renumberedRows
        var testDescription: String { rawValue }
    }

    @Test("3. a deleted middle entry (naive)", arguments: Deletion.allCases)
    func deletedEntryNaive(_ how: Deletion) throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            try db.execute(sql: "DELETE FROM entries WHERE idx = ?", arguments: [Int64(k)])
            if how == .renumberedRows { try shiftRows(db, from: Int64(k) + 1, by: -1) }
        }
        let r = try audit(l.path)
        // With the gap, the auditor at e820f68 reads its next chunk from the count of entries seen
        // (`entries(from: position)`) rather than past the last idx read: row 30 is audited twice
        // (entries 31, a phantom chain@30 and duplicate@30, and checkpoint-root@30 instead of
        // checkpoint-beyond-end@30).
        #expect(r.entries == 30)
        #expect(r.findings.first?.tag == "index@\(k)", "\(r.dump)")
        #expect(r.entryTags.contains("chain@\(k)"), "\(r.dump)")
        #expect(!r.entryTags.contains { $0.hasPrefix("chain@") && $0 != "chain@\(k)" }, "only entry k's prev is broken")
        // Every later entry carries the wrong index.
        for i in k..<30 { #expect(r.entryTags.contains("index@\(i)"), "entry \(i)") }
        #expect(r.checkpointTags == ["checkpoint-root@15", "checkpoint-root@23", "checkpoint-beyond-end@30"], "\(r.dump)")
        #expect(r.firstBadIndex == k, "\(r.dump)")
    }

    @Test("3c. the last entry moved to a far idx (a gap of 2000)")
    func entryMovedFar() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in try db.execute(sql: "UPDATE entries SET idx = 2030 WHERE idx = 30") }
        let r = try audit(l.path)
        // Fails at e820f68: the row at idx 2030 is re-read for every position 30…2030 (2031 entries audited).
        // 31 rows, bodies untouched: the only thing wrong is the stored idx of the last row.
        #expect(r.entries == 31, "each row is audited once")
        #expect(r.tags == ["index@30"], "\(r.findings.prefix(8).map(\.description).joined(separator: "\n"))")
        #expect(r.firstBadIndex == 30)
    }

    @Test("3b. a deleted middle entry (thorough: renumbered, re-chained): only checkpoints catch it")
    func deletedEntryThorough() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in try rewriteHistory(db) { items in items.remove(at: Int(k)) } }
        let r = try audit(l.path)
        #expect(r.tags == ["checkpoint-root@15", "checkpoint-root@23", "checkpoint-beyond-end@30"], "\(r.dump)")
        #expect(r.firstBadIndex == 15)

        // The attacker also deletes the checkpoints that cover the edit: internally consistent again...
        try tamper(l.path, again: true) { db in try db.execute(sql: "DELETE FROM checkpoints WHERE size > ?", arguments: [Int64(k)]) }
        let clean = try audit(l.path)
        #expect(clean.ok, "\(clean.dump)")
        #expect(clean.checkpointsChecked == 1)
        // ...so only a checkpoint the regulator saved earlier shows the rewrite.
        let t = try audit(l.path, trusted: [l.checkpoint(16)])
        #expect(t.tags == ["trusted-checkpoint@15"], "\(t.dump)")
        #expect(t.firstBadIndex == 15)
        let t31 = try audit(l.path, trusted: [l.checkpoint(8), l.checkpoint(31)])
        #expect(t31.tags == ["trusted-checkpoint@30"], "\(t31.dump)")
        #expect(t31.trustedCheckpointsChecked == 2)
    }

    // MARK: 4. Two entries swapped

    @Test("4. two entries swapped (bodies and leaf hashes of k and k+1)")
    func swappedEntries() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let a = try rawRows(db, from: Int64(k))[0], b = try rawRows(db, from: Int64(k) + 1)[0]
            for (row, src) in [(a.idx, b), (b.idx, a)] {
                try db.execute(sql: "UPDATE entries SET body = ?, leaf_hash = ? WHERE idx = ?",
                               arguments: [Data(src.body), Data(src.leafHash), row])
            }
        }
        let r = try audit(l.path)
        #expect(r.findings.first?.tag == "index@\(k)", "\(r.dump)")
        #expect(r.entryTags == ["index@\(k)", "chain@\(k)", "index@\(k + 1)", "chain@\(k + 1)", "recorded-at@\(k + 1)", "chain@\(k + 2)"],
                "\(r.dump)")
        #expect(r.checkpointTags == rootsAfterK, "\(r.dump)")
        #expect(!r.findings.contains { $0.kind == "signature" || $0.kind == "stored-leaf-hash" })
        #expect(r.firstBadIndex == k, "\(r.dump)")
    }

    // MARK: 5. An entry inserted in the middle

    /// A valid notice from a valid regulator, dated between entries k−1 and k.
    private func insertedStatement(after previous: Entry) -> (SignedStatement, Timestamp) {
        let at = previous.recordedAt.adding(seconds: 30)
        return (TK.notice(900, text: "Inserted later", by: TK.hk, at: at), at)
    }

    @Test("5. an entry inserted in the middle (naive: correct prev, later rows shifted, not re-chained)")
    func insertedEntryNaive() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let previous = try entry(db, k - 1)
            let (s, at) = insertedStatement(after: previous)
            try shiftRows(db, from: Int64(k), by: 1)
            try insertRaw(db, honestRow(Entry(index: k, prev: previous.leafHash, recordedAt: at, signed: s)))
        }
        let r = try audit(l.path)
        #expect(r.entries == 32)
        // The inserted entry itself is valid; the break shows at the entry after it.
        #expect(r.entryTags.first == "index@\(k + 1)", "\(r.dump)")
        #expect(r.entryTags.contains("chain@\(k + 1)"), "\(r.dump)")
        #expect(!r.findings.contains { $0.kind == "signature" || $0.kind == "unauthorized" || $0.kind == "time" })
        #expect(r.checkpointTags == rootsAfterK, "\(r.dump)")
        let first = try #require(r.firstBadIndex, "\(r.dump)")
        #expect((k...(k + 1)).contains(first), "\(r.dump)")
    }

    @Test("5b. an entry inserted in the middle (thorough): only checkpoints catch it")
    func insertedEntryThorough() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let (s, at) = insertedStatement(after: try entry(db, k - 1))
            try rewriteHistory(db) { items in items.insert(HistoryItem(signed: s, recordedAt: at), at: Int(k)) }
        }
        let r = try audit(l.path)
        #expect(r.entries == 32)
        #expect(r.tags == rootsAfterK, "\(r.dump)")
        #expect(r.firstBadIndex == 15)
    }

    // MARK: 6. The tail truncated after a checkpoint

    @Test("6. the tail truncated after a checkpoint was published")
    func truncatedTail() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in try db.execute(sql: "DELETE FROM entries WHERE idx >= 25") }
        let r = try audit(l.path)
        #expect(r.entries == 25)
        #expect(r.tags == ["checkpoint-beyond-end@25"], "\(r.dump)")
        #expect(r.firstBadIndex == 25)
        #expect(r.findings[0].expected.contains("31"))
    }

    @Test("6b. the tail and its checkpoint removed: caught by a trusted checkpoint only")
    func truncatedTailAndCheckpoint() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            try db.execute(sql: "DELETE FROM entries WHERE idx >= 25")
            try db.execute(sql: "DELETE FROM checkpoints WHERE size > 25")
        }
        let alone = try audit(l.path)
        #expect(alone.ok, "a consistent prefix is a valid ledger on its own: \(alone.dump)")
        #expect(alone.checkpointsChecked == 3)
        let r = try audit(l.path, trusted: [l.checkpoint(31)])
        #expect(r.tags == ["trusted-checkpoint@25"], "\(r.dump)")
        #expect(r.firstBadIndex == 25)
        #expect(r.trustedCheckpointsChecked == 1)
        let older = try audit(l.path, trusted: [l.checkpoint(24)])
        #expect(older.ok, "\(older.dump)")
        #expect(older.trustedCheckpointsChecked == 1)
    }

    @Test("6c. truncated exactly at a checkpoint size, later checkpoints removed")
    func truncatedAtCheckpoint() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            try db.execute(sql: "DELETE FROM entries WHERE idx >= 24")
            try db.execute(sql: "DELETE FROM checkpoints WHERE size > 24")
        }
        #expect(try audit(l.path).ok)
        let r = try audit(l.path, trusted: [l.checkpoint(24), l.checkpoint(31)])
        #expect(r.tags == ["trusted-checkpoint@24"], "\(r.dump)")
    }

    // MARK: 7. Forged checkpoints

    enum Forgery: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Re-signed by a fresh key of the same name, same (true) root.
        case freshKeySameRoot
        /// Re-signed by a fresh key of the same name, a made-up root.
        case freshKeyOtherRoot
        /// The root line edited; the operator's original signature line kept.
        case editedBodyOriginalSignature
        /// A new row at a size that had no checkpoint, signed by a fresh key.
        case freshKeyNewSize
        var testDescription: String { rawValue }
    }

    @Test("7. a forged checkpoint", arguments: Forgery.allCases)
    func forgedCheckpoint(_ how: Forgery) throws {
        let l = try buildLedger()
        let original = try Note.parse(l.checkpoint(16))
        let cp = try Checkpoint.parse(body: original.text)
        let forger = try NoteSigner(name: TK.origin, key: TK.forger)
        #expect(forger.verifierKey.name == TK.operatorVerifier.name)
        #expect(forger.verifierKey.keyID != TK.operatorVerifier.keyID)
        let evilRoot = SHA256.hash(Array("another history".utf8))
        try tamper(l.path) { db in
            let note: String
            var size: Int64 = 16
            switch how {
            case .freshKeySameRoot:
                note = try cp.sign(with: forger).encoded
            case .freshKeyOtherRoot:
                note = try Checkpoint(origin: TK.origin, size: 16, root: evilRoot).sign(with: forger).encoded
            case .editedBodyOriginalSignature:
                note = try Note(text: Checkpoint(origin: TK.origin, size: 16, root: evilRoot).body, signatures: original.signatures).encoded
            case .freshKeyNewSize:
                size = 20
                note = try Checkpoint(origin: TK.origin, size: 20, root: evilRoot).sign(with: forger).encoded
            }
            if how == .freshKeyNewSize {
                try db.execute(sql: "INSERT INTO checkpoints (size, note) VALUES (?, ?)", arguments: [size, Data(note.utf8)])
            } else {
                try db.execute(sql: "UPDATE checkpoints SET note = ? WHERE size = ?", arguments: [Data(note.utf8), size])
                #expect(db.changesCount == 1)
            }
        }
        let r = try audit(l.path)
        #expect(r.tags == ["checkpoint-signature@-"], "\(r.dump)")
        #expect(!r.ok)
        #expect(r.firstBadIndex == nil)
        #expect(r.checkpointsChecked == (how == .freshKeyNewSize ? 4 : 3))
    }

    // MARK: 8. A forked history with the same keys

    @Test("8. a forked history signed with the same keys: only a trusted checkpoint of the first shows it")
    func forkedHistory() throws {
        let a = try buildLedger()
        // Same keys, same clock: entries 0…10 are byte-identical, from notice 10 on the texts differ.
        let b = try buildLedger { $0 < 10 ? TK.defaultText($0) : "Forked text \($0)" }
        #expect(a.checkpoint(8) == b.checkpoint(8))
        #expect(a.checkpoint(16) != b.checkpoint(16))

        let alone = try audit(b.path)
        #expect(alone.ok, "the fork is internally valid: \(alone.dump)")
        #expect(alone.checkpointsChecked == 4)

        let r = try audit(b.path, trusted: [a.checkpoint(16)])
        #expect(r.tags == ["trusted-checkpoint@15"], "\(r.dump)")
        #expect(r.firstBadIndex == 15)
        #expect(r.findings[0].found.contains("fork"))

        let shared = try audit(b.path, trusted: [a.checkpoint(8)])
        #expect(shared.ok, "the shared prefix matches: \(shared.dump)")

        let latest = try audit(b.path, trusted: [a.checkpoint(8), a.checkpoint(31)])
        #expect(latest.tags == ["trusted-checkpoint@30"], "\(latest.dump)")

        // A fork from the very first notice.
        let c = try buildLedger { "Other text \($0)" }
        let early = try audit(c.path, trusted: [a.checkpoint(8)])
        #expect(early.tags == ["trusted-checkpoint@7"], "\(early.dump)")
    }

    @Test("8b. a substituted genesis (attacker's own operator key): caught with a trusted operator key")
    func substitutedOperator() throws {
        let real = try buildLedger()
        let rogue = try buildLedger(operator: TK.rogueOperator)
        // Self-consistent: without an external trust anchor the audit cannot tell.
        #expect(try audit(rogue.path).ok)
        let r = try audit(rogue.path, trustedOperator: TK.operatorVerifier)
        #expect(r.tags == ["genesis@0"] + Array(repeating: "checkpoint-signature@-", count: 4), "\(r.dump)")
        #expect(r.firstBadIndex == 0)
        let t = try audit(rogue.path, trusted: [real.checkpoint(8)])
        #expect(t.tags == ["trusted-checkpoint@-"], "the real operator's checkpoint does not verify against the rogue genesis key: \(t.dump)")
    }

    // MARK: 9. A stored Merkle node changed

    @Test("9. a stored Merkle node changed",
          arguments: [(minStoredNodeLevel, UInt64(0)), (minStoredNodeLevel, UInt64(2)), (minStoredNodeLevel + 1, UInt64(1)), (minStoredNodeLevel + 2, UInt64(0))])
    func storedNodeChanged(level: Int, index: UInt64) throws {
        let l = try buildLedger(notices: 70)  // 71 entries: stored nodes over 0…15, 16…31, 32…47, 48…63, 0…31, 32…63, 0…63
        try tamper(l.path) { db in
            try db.execute(sql: "UPDATE nodes SET hash = ? WHERE id = ?",
                           arguments: [Data(SHA256.hash(Array("forged node".utf8)).bytes), nodeKey(level: level, index: index)])
            #expect(db.changesCount == 1)
        }
        let r = try audit(l.path)
        let first = index << UInt64(level), last = (index + 1) << UInt64(level) - 1
        #expect(r.tags == ["stored-node@-"], "\(r.dump)")
        #expect(r.findings.first?.expected.contains("level \(level) index \(index) (entries \(first)…\(last))") == true, "\(r.dump)")
        #expect(r.findings.first?.found == SHA256.hash(Array("forged node".utf8)).hex)
        #expect(r.checkpointsChecked == l.checkpoints.count)
    }

    @Test("9b. a deleted stored Merkle node does not hide a changed one")
    func missingNodeDoesNotMaskChangedNode() throws {
        let l = try buildLedger(notices: 70)
        try tamper(l.path) { db in
            try db.execute(sql: "DELETE FROM nodes WHERE id = ?", arguments: [nodeKey(level: minStoredNodeLevel, index: 1)])  // leaves 16…31
            try db.execute(sql: "UPDATE nodes SET hash = ? WHERE id = ?",
                           arguments: [Data(SHA256.hash(Array("forged node".utf8)).bytes), nodeKey(level: minStoredNodeLevel, index: 3)])  // 48…63
            #expect(db.changesCount == 1)
        }
        let r = try audit(l.path)
        // Fails at e820f68: one missing node makes `store.hashes(for:)` throw for the whole chunk's
        // nodes, so no other node of that chunk (8,192 entries by default) is compared.
        #expect(!r.ok)
        #expect(r.findings.allSatisfy { $0.kind == "stored-node" }, "\(r.dump)")
        #expect(r.findings.contains { $0.description.contains("level 4 index 1") }, "the missing node is reported: \(r.dump)")
        #expect(r.findings.contains { $0.expected.contains("level 4 index 3") },
                "the changed node (level 4 index 3, entries 48…63) is reported too: \(r.dump)")
    }

    @Test("9c. a hash in a stored leaf block changed", arguments: [(0, UInt64(5)), (0, UInt64(63)), (1, UInt64(9)), (2, UInt64(2)), (3, UInt64(7))])
    func leafBlockHashChanged(level: Int, index: UInt64) throws {
        let l = try buildLedger(notices: 70)  // 71 entries: leaf blocks 0…3 (entries 0…63)
        let forged = SHA256.hash(Array("forged node".utf8))
        let (block, offset) = leafBlockPosition(level: level, index: index)
        try tamper(l.path) { db in
            var row = try #require(try Data.fetchOne(db, sql: "SELECT nodes FROM leaf_blocks WHERE block = ?", arguments: [block]))
            #expect(row.count == 960)
            row.replaceSubrange(offset..<(offset + 32), with: forged.bytes)
            try db.execute(sql: "UPDATE leaf_blocks SET nodes = ? WHERE block = ?", arguments: [row, block])
            #expect(db.changesCount == 1)
        }
        let r = try audit(l.path)
        let first = index << UInt64(level), last = (index + 1) << UInt64(level) - 1
        #expect(r.tags == ["stored-node@-"], "\(r.dump)")
        #expect(r.findings.first?.expected.contains("level \(level) index \(index) (entries \(first)…\(last))") == true, "\(r.dump)")
        #expect(r.findings.first?.found == forged.hex)
    }

    @Test("9d. a deleted stored leaf block is reported once; proofs read its leaves instead")
    func leafBlockDeleted() throws {
        let l = try buildLedger(notices: 70)
        let store = try SQLiteLedgerStore(path: l.path)
        let ids = (0..<4).flatMap { level in (0..<(16 >> level)).map { NodeID(level: level, index: UInt64((16 >> level) + $0)) } }  // block 1's 30 nodes
        let before = try store.hashes(for: ids)
        try tamper(l.path) { db in try db.execute(sql: "DELETE FROM leaf_blocks WHERE block = 1") }  // entries 16…31
        let r = try audit(l.path)
        #expect(r.tags == ["stored-node@-"], "\(r.dump)")
        #expect(r.findings.first?.found == "no leaf_blocks row 1 (entries 16…31)", "\(r.dump)")
        #expect(try SQLiteLedgerStore(path: l.path).hashes(for: ids) == before)
    }

    @Test("9e. derived rows inserted for a subtree the entries do not complete")
    func strayDerivedRows() throws {
        let l = try buildLedger(notices: 70)  // 71 entries: block 4 (entries 64…79) is incomplete
        let forged = Data(repeating: 0xAB, count: 960)
        // Plain inserts: the append-only triggers do not stop them.
        let q = try DatabaseQueue(path: l.path)
        try q.write { db in
            try db.execute(sql: "INSERT INTO leaf_blocks (block, nodes) VALUES (4, ?)", arguments: [forged])
            try db.execute(sql: "INSERT INTO nodes (id, hash) VALUES (?, ?)", arguments: [nodeKey(level: 5, index: 2), Data(forged.prefix(32))])
        }
        try q.close()
        let r = try audit(l.path)
        #expect(r.tags == ["stored-node@-", "stored-node@-"], "\(r.dump)")
        #expect(r.findings.map(\.found) == ["nodes row level 5 index 2 (entries 64…95), past the 71 entries",
                                             "leaf_blocks row 4 (entries 64…79), past the 71 entries"], "\(r.dump)")
        #expect(r.findings.allSatisfy { $0.expected == "a stored row for each complete subtree and none past the last entry" })
        // Nothing builds on them: reading the last block's nodes, or the root, names the row.
        let store = try SQLiteLedgerStore(path: l.path)
        #expect { _ = try store.hashes(for: [NodeID(level: 0, index: 70)]) } throws: { "\($0)".contains("leaf block 4 (entries 64…) is stored, but the ledger has 71 entries") }
        #expect { _ = try store.root(size: 71) } throws: { "\($0)".contains("leaf block 4") }
    }

    @Test("9f. a changed stored node over an entry stored at another index is still reported")
    func changedNodeOverMovedEntry() throws {
        let l = try buildLedger(notices: 63)  // 64 entries: nodes over 0…15, …, 48…63, 0…31, 32…63, 0…63
        let forged = SHA256.hash(Array("forged node".utf8))
        try tamper(l.path) { db in
            try db.execute(sql: "UPDATE entries SET idx = 64 WHERE idx = 63")  // same order, another index
            try db.execute(sql: "UPDATE nodes SET hash = ? WHERE id = ?", arguments: [Data(forged.bytes), nodeKey(level: 4, index: 3)])
        }
        let r = try audit(l.path)
        #expect(r.entryTags.contains("index@63"), "\(r.dump)")
        #expect(r.findings.contains { $0.kind == "stored-node" && $0.expected.contains("level 4 index 3 (entries 48…63)") && $0.found == forged.hex }, "\(r.dump)")
    }

    @Test("9g. an entry moved to a higher index within the last block: no stored node is taken as missing",
          arguments: [UInt64(47), UInt64(1000)])
    func entryMovedWithinLastBlock(to index: UInt64) throws {
        let l = try buildLedger(notices: 39)  // 40 entries: block 2 (entries 32…47) incomplete
        try tamper(l.path) { db in try db.execute(sql: "UPDATE entries SET idx = ? WHERE idx = 33", arguments: [Int64(index)]) }
        let r = try audit(l.path)
        #expect(!r.tags.contains("stored-node@-"), "\(r.dump)")
        #expect(r.entryTags.contains("index@33"), "\(r.dump)")
    }

    @Test("9h. an index row for an entry that does not exist")
    func termRowPastTheEnd() throws {
        let l = try buildLedger()  // 31 entries
        let q = try DatabaseQueue(path: l.path)
        try q.write { try $0.execute(sql: "INSERT INTO terms (term, idx) VALUES ('product:forged', 500), ('attestation:x', 500)") }
        try q.close()
        let r = try audit(l.path)
        #expect(r.tags == ["index-term@500"], "\(r.dump)")
        #expect(r.findings.first?.expected == "no index terms" && r.findings.first?.found == "attestation:x, product:forged", "\(r.dump)")
    }

    // MARK: 10. A stored leaf hash changed

    @Test("10. a stored leaf_hash changed, body intact", arguments: [UInt64(1), k, 30])
    func storedLeafHashChanged(at i: UInt64) throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            try db.execute(sql: "UPDATE entries SET leaf_hash = ? WHERE idx = ?",
                           arguments: [Data(SHA256.hash(Array("forged leaf".utf8)).bytes), Int64(i)])
            #expect(db.changesCount == 1)
        }
        let r = try audit(l.path)
        #expect(r.tags == ["stored-leaf-hash@\(i)"], "\(r.dump)")
        #expect(r.firstBadIndex == i)
        #expect(r.checkpointsChecked == 4)
    }

    @Test("10b. a stored leaf_hash that is not 32 bytes stops the audit with an error naming the entry", arguments: [k, 30])
    func storedLeafHashMalformed(at i: UInt64) throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            try db.execute(sql: "UPDATE entries SET leaf_hash = x'00' WHERE idx = ?", arguments: [Int64(i)])
            #expect(db.changesCount == 1)
        }
        // The store refuses to hand out a malformed row, so the audit cannot go on past it; it must
        // say where the file is corrupt (the CLI exits 1 with this message).
        #expect { _ = try audit(l.path) } throws: { "\($0)".contains("entry \(i) has a leaf hash of 1 bytes") }
    }

    // MARK: 11–13. Entries appended by hand

    enum TimeCase: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case fortyDaysBefore, elevenMinutesAfter
        var testDescription: String { rawValue }
    }

    @Test("11. a statement outside the time window, appended by hand", arguments: TimeCase.allCases)
    func outsideTimeWindow(_ which: TimeCase) throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let recordedAt = try entry(db, 30).recordedAt.adding(seconds: 60)
            let time = which == .fortyDaysBefore ? recordedAt.adding(seconds: -40 * 86400) : recordedAt.adding(seconds: 11 * 60)
            #expect(appendByHandChecked(db, TK.notice(500, by: TK.mo, at: time), recordedAt: recordedAt) == 31)
            try recomputeDerived(db)
        }
        let r = try audit(l.path)
        #expect(r.tags == ["time@31"], "\(r.dump)")
        #expect(r.firstBadIndex == 31)
        #expect(r.entries == 32)
    }

    enum Unauthorized: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// A notice signed by the operator key, which is not a regulator key.
        case noticeByOperator
        /// A notice signed by a key genesis does not name.
        case noticeByStranger
        /// A second genesis statement.
        case secondGenesis
        /// A kind the rule book does not know, signed by a regulator.
        case unknownKind
        /// A notice whose payload breaks the notice rules, signed by a regulator.
        case malformedNotice
        var testDescription: String { rawValue }
    }

    @Test("12. a statement its signer may not make, appended by hand", arguments: Unauthorized.allCases)
    func unauthorizedStatement(_ which: Unauthorized) throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let t = try entry(db, 30).recordedAt.adding(seconds: 60)
            let s: SignedStatement
            switch which {
            case .noticeByOperator: s = TK.notice(501, by: TK.op, at: t)
            case .noticeByStranger: s = TK.notice(502, by: TK.stranger, at: t)
            case .secondGenesis: s = TK.genesisStatement(at: t)
            case .unknownKind:
                s = TK.statement(kind: "recall", payload: .object(["product": .string("x")]), by: TK.gd, at: t)
            case .malformedNotice:
                s = TK.statement(kind: Notice.kind, payload: .object(["level": .string("urgent"), "title": .string("t"), "text": .string("x")]),
                                 by: TK.gd, at: t)
            }
            #expect(appendByHandChecked(db, s) == 31)
            try recomputeDerived(db)
        }
        let r = try audit(l.path)
        #expect(r.tags == ["unauthorized@31"], "\(r.dump)")
        #expect(r.firstBadIndex == 31)
    }

    enum DuplicateCase: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// The unique (statement_time, statement_hash) index dropped first.
        case indexDropped
        /// The stored statement_hash column lies, so the unique index does not object.
        case hashColumnForged
        var testDescription: String { rawValue }
    }

    @Test("13. a duplicate statement appended by hand", arguments: DuplicateCase.allCases, [UInt64(1), 10, 30])
    func duplicateStatement(_ how: DuplicateCase, of original: UInt64) throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let e = try entry(db, original)
            switch how {
            case .indexDropped:
                try db.execute(sql: "DROP INDEX entries_by_statement")
                #expect(appendByHandChecked(db, e.signed) == 31)
            case .hashColumnForged:
                #expect(appendByHandChecked(db, e.signed, statementHashColumn: SHA256.hash(Array("not it".utf8)).bytes) == 31)
            }
            try recomputeDerived(db)
        }
        for chunk in [8192, 3] {
            let r = try audit(l.path, chunkSize: chunk)
            #expect(r.tags == ["duplicate@31"], "chunk \(chunk): \(r.dump)")
            #expect(r.firstBadIndex == 31)
            #expect(r.findings.first?.found.hasSuffix("entry \(original)") == true, "\(r.dump)")
        }
    }

    // MARK: More rules

    @Test("a recordedAt earlier than the previous entry's, appended by hand")
    func recordedAtGoesBack() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let at = try entry(db, 30).recordedAt.adding(seconds: -3600)
            #expect(appendByHandChecked(db, TK.notice(503, by: TK.hk, at: at), recordedAt: at) == 31)
            try recomputeDerived(db)
        }
        let r = try audit(l.path)
        #expect(r.tags == ["recorded-at@31"], "\(r.dump)")
        #expect(r.firstBadIndex == 31)
    }

    @Test("a body rewritten in a non-canonical encoding (same JSON value)")
    func nonCanonicalBody() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            let b = try body(db, k)
            try setBody(db, k, [UInt8]("{ ".utf8) + b.dropFirst())
            try recomputeDerived(db)
        }
        let r = try audit(l.path)
        #expect(r.tags == ["encoding@\(k)", "chain@\(k + 1)"] + rootsAfterK, "\(r.dump)")
        #expect(r.firstBadIndex == k)
    }

    @Test("a stored checkpoint row moved to another size")
    func checkpointRowMoved() throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            try db.execute(sql: "UPDATE checkpoints SET size = 20 WHERE size = 16")
            #expect(db.changesCount == 1)
        }
        let r = try audit(l.path)
        // Fails at e820f68: roots are collected for the stored size column (20), not the note's size
        // (16), so a spurious checkpoint-root@15 "root ? … history differs (fork or rewrite)" appears.
        // The note itself is genuine and matches the tree at its own size 16: only the row's size lies.
        #expect(r.tags == ["checkpoint-size@-"], "\(r.dump)")
    }

    // MARK: Streaming

    enum Scenario: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case payloadNaive, deletedGap, swapped, insertedNaive, leafHash, nodeChanged
        var testDescription: String { rawValue }
    }

    // deletedGap and insertedNaive fail at e820f68: the gap re-read happens at every chunk boundary,
    // and a missing stored node hides the stale ones in its chunk only.
    @Test("findings do not depend on the audit's chunk size", arguments: Scenario.allCases)
    func chunkSizeInvariance(_ s: Scenario) throws {
        let l = try buildLedger()
        try tamper(l.path) { db in
            switch s {
            case .payloadNaive: try setBody(db, k, try payloadChanged(try body(db, k)))
            case .deletedGap: try db.execute(sql: "DELETE FROM entries WHERE idx = ?", arguments: [Int64(k)])
            case .swapped:
                let a = try rawRows(db, from: Int64(k))[0], b = try rawRows(db, from: Int64(k) + 1)[0]
                for (row, src) in [(a.idx, b), (b.idx, a)] {
                    try db.execute(sql: "UPDATE entries SET body = ?, leaf_hash = ? WHERE idx = ?", arguments: [Data(src.body), Data(src.leafHash), row])
                }
            case .insertedNaive:
                let previous = try entry(db, k - 1)
                let (st, at) = insertedStatement(after: previous)
                try shiftRows(db, from: Int64(k), by: 1)
                try insertRaw(db, honestRow(Entry(index: k, prev: previous.leafHash, recordedAt: at, signed: st)))
            case .leafHash:
                try db.execute(sql: "UPDATE entries SET leaf_hash = ? WHERE idx = ?", arguments: [Data(Hash.zero.bytes), Int64(k)])
            case .nodeChanged:
                try db.execute(sql: "UPDATE nodes SET hash = ? WHERE id = ?", arguments: [Data(Hash.zero.bytes), nodeKey(level: minStoredNodeLevel, index: 0)])
            }
        }
        let whole = try audit(l.path)
        #expect(!whole.ok)
        for chunk in [1, 3, 7, 16] {
            let r = try audit(l.path, chunkSize: chunk)
            #expect(r.findings.map(\.description).sorted() == whole.findings.map(\.description).sorted(),
                    "chunk \(chunk):\n\(r.dump)\n--- whole:\n\(whole.dump)")
            #expect(r.firstBadIndex == whole.firstBadIndex)
        }
    }

    // MARK: Scale

    @Test("timing: an audit of a few thousand entries")
    func auditTiming() throws {
        let started = Date()
        let l = try buildLedger(notices: 4000, batch: 200, checkpointEvery: 1000)
        let built = Date().timeIntervalSince(started)
        let r = try audit(l.path, trusted: [l.checkpoint(1001)])
        #expect(r.ok, "\(r.dump)")
        #expect(r.entries == 4001)
        #expect(r.checkpointsChecked == l.checkpoints.count)
        print("audit timing: \(r.entries) entries, \(r.checkpointsChecked) checkpoints, audit \(String(format: "%.3f", r.seconds)) s "
              + "(\(Int(Double(r.entries) / Swift.max(r.seconds, 1e-9))) entries/s); building the ledger took \(String(format: "%.1f", built)) s")
    }
}

/// `appendByHand`, returning the new index (or -1 on error, so the caller's `#expect` fails).
private func appendByHandChecked(_ db: Database, _ s: SignedStatement, recordedAt: Timestamp? = nil, statementHashColumn: [UInt8]? = nil) -> Int64 {
    do { return Int64(try appendByHand(db, s, recordedAt: recordedAt, statementHashColumn: statementHashColumn)) } catch {
        Issue.record("append by hand failed: \(error)")
        return -1
    }
}

import Foundation
import GRDB
import Synchronization
import Testing
import SuyuanAudit
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore

// Fixtures for the tamper corpus (TamperTests.swift): real SQLite ledger files built through the
// public API, then edited directly the way an attacker with the sqlite3 shell would.

/// Deterministic keys and statements.
enum TK {
    static let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
    static let gd = SecretKey(seed: [UInt8](repeating: 2, count: 32))!
    static let hk = SecretKey(seed: [UInt8](repeating: 3, count: 32))!
    static let mo = SecretKey(seed: [UInt8](repeating: 4, count: 32))!
    /// A key nobody named in genesis.
    static let stranger = SecretKey(seed: [UInt8](repeating: 9, count: 32))!
    /// A fresh key an attacker uses to forge checkpoints under the operator's key name.
    static let forger = SecretKey(seed: [UInt8](repeating: 0x77, count: 32))!
    /// An attacker's own operator key (for a substituted genesis).
    static let rogueOperator = SecretKey(seed: [UInt8](repeating: 0x66, count: 32))!
    static let regulators = [gd, hk, mo]
    static let origin = "tamper.suyuan.example/ledger"
    /// The time of genesis; notice `i` is signed and recorded at `t0 + 60·(i+1)` seconds.
    static let t0 = Timestamp(parsing: "2026-11-28T10:00:00.000Z")!

    static func genesis(operator key: SecretKey = op) -> Genesis {
        try! Genesis(
            origin: origin, operatorKey: try! VerifierKey(name: origin, publicKey: key.publicKey),
            regulators: [
                .GD: try! VerifierKey(name: "gd.example", publicKey: gd.publicKey),
                .HK: try! VerifierKey(name: "hk.example", publicKey: hk.publicKey),
                .MO: try! VerifierKey(name: "mo.example", publicKey: mo.publicKey),
            ])
    }

    static func genesisStatement(operator key: SecretKey = op, at time: Timestamp) -> SignedStatement {
        try! Statement(kind: Genesis.kind, payload: genesis(operator: key).payload, signer: key.publicKey, time: time).sign(with: key)
    }

    static func defaultText(_ n: Int) -> String { "Text of notice \(n)" }

    static func notice(_ n: Int, text: String? = nil, by key: SecretKey, at time: Timestamp) -> SignedStatement {
        let notice = try! Notice(level: n % 5 == 0 ? "warning" : "notice", title: "Notice \(n)",
                                 text: text ?? defaultText(n), categories: ["cat-\(n % 7)"])
        return try! Statement(kind: Notice.kind, payload: notice.payload, signer: key.publicKey, time: time).sign(with: key)
    }

    /// Any statement, signed by `key`.
    static func statement(kind: String, payload: JSONValue, by key: SecretKey, at time: Timestamp) -> SignedStatement {
        try! Statement(kind: kind, payload: payload, signer: key.publicKey, time: time).sign(with: key)
    }

    static var operatorVerifier: VerifierKey { try! VerifierKey(name: origin, publicKey: op.publicKey) }
}

/// A controllable clock.
final class TamperClock: Sendable {
    private let now: Mutex<Timestamp>
    init(_ start: Timestamp) { now = Mutex(start) }
    var clock: Clock { { self.now.withLock { $0 } } }
    var current: Timestamp { now.withLock { $0 } }
    func advance(seconds: Int64) { now.withLock { $0 = $0.adding(seconds: seconds) } }
}

/// A temporary directory removed at deinit.
final class ScratchDir: Sendable {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "suyuan-tamper-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// A ledger file built through the public API and closed again.
struct BuiltLedger {
    let dir: ScratchDir
    let path: String
    /// Number of entries (genesis included).
    let size: UInt64
    /// The signed checkpoint notes the operator published, by size.
    let checkpoints: [UInt64: [UInt8]]

    func checkpoint(_ size: UInt64) -> [UInt8] {
        guard let n = checkpoints[size] else { fatalError("no checkpoint at size \(size); have \(checkpoints.keys.sorted())") }
        return n
    }
}

/// Builds a ledger: genesis, then `notices` regulator notices (rotating GD, HK, MO) appended `batch`
/// at a time one minute apart, a checkpoint each time the size passes a multiple of
/// `checkpointEvery`, and a final checkpoint. With the defaults: 31 entries, checkpoints at 8, 16, 24, 31.
func buildLedger(notices: Int = 30, batch: Int = 1, checkpointEvery: UInt64 = 8, operator opKey: SecretKey = TK.op,
                 text: (Int) -> String = TK.defaultText) throws -> BuiltLedger {
    let dir = ScratchDir()
    let path = dir.file("ledger.db")
    let clock = TamperClock(TK.t0)
    var size: UInt64 = 0
    var notes: [UInt64: [UInt8]] = [:]
    do {
        let store = try SQLiteLedgerStore(path: path, create: true)
        let ledger = try Ledger.create(in: store, genesis: TK.genesisStatement(operator: opKey, at: TK.t0), clock: clock.clock)
        let signer = try NoteSigner(name: TK.origin, key: opKey)
        var i = 0
        var lastCheckpointBucket: UInt64 = 0
        while i < notices {
            clock.advance(seconds: 60)
            let n = Swift.min(batch, notices - i)
            let statements = (i..<(i + n)).map { TK.notice($0, text: text($0), by: TK.regulators[$0 % 3], at: clock.current) }
            _ = try ledger.appendAll(statements)
            i += n
            let s = try ledger.size()
            if checkpointEvery > 0, s / checkpointEvery > lastCheckpointBucket {
                lastCheckpointBucket = s / checkpointEvery
                try ledger.checkpoint(signer: signer)
            }
        }
        try ledger.checkpoint(signer: signer)
        size = try ledger.size()
        for (s, note) in try store.checkpoints() { notes[s] = note }
    }  // store and ledger released here: the file is closed
    return BuiltLedger(dir: dir, path: path, size: size, checkpoints: notes)
}

// MARK: Direct edits, as with the sqlite3 shell

/// The append-only triggers the schema installs.
let appendOnlyTriggers = ["entries_no_update", "entries_no_delete", "nodes_no_update", "nodes_no_delete",
                          "checkpoints_no_update", "checkpoints_no_delete", "terms_no_update", "terms_no_delete",
                          "leaf_blocks_no_update", "leaf_blocks_no_delete"]

/// Opens the file with plain GRDB, drops the append-only triggers (they must exist, unless `again`:
/// a second edit of the same file), runs `edit` in one transaction and closes the file.
func tamper(_ path: String, again: Bool = false, _ edit: (Database) throws -> Void) throws {
    let q = try DatabaseQueue(path: path)
    try q.write { db in
        for t in appendOnlyTriggers { try db.execute(sql: "DROP TRIGGER \(again ? "IF EXISTS " : "")\(t)") }
        try edit(db)
    }
    try q.close()
}

/// One raw row of `entries`.
struct RawRow {
    var idx: Int64
    var leafHash: [UInt8]
    var statementHash: [UInt8]
    var statementTime: Int64
    var recordedAt: Int64
    var body: [UInt8]
}

func rawRows(_ db: Database, from idx: Int64 = 0) throws -> [RawRow] {
    try Row.fetchAll(db, sql: "SELECT idx, leaf_hash, statement_hash, statement_time, recorded_at, body FROM entries WHERE idx >= ? ORDER BY idx",
                     arguments: [idx]).map {
        RawRow(idx: $0[0], leafHash: [UInt8]($0[1] as Data), statementHash: [UInt8]($0[2] as Data),
               statementTime: $0[3], recordedAt: $0[4], body: [UInt8]($0[5] as Data))
    }
}

func insertRaw(_ db: Database, _ r: RawRow) throws {
    try db.execute(sql: "INSERT INTO entries (idx, leaf_hash, statement_hash, statement_time, recorded_at, body) VALUES (?, ?, ?, ?, ?, ?)",
                   arguments: [r.idx, Data(r.leafHash), Data(r.statementHash), r.statementTime, r.recordedAt, Data(r.body)])
}

/// The row an honest store would write for `entry` at `idx` (every derived column consistent).
func honestRow(_ entry: Entry, idx: Int64? = nil) -> RawRow {
    RawRow(idx: idx ?? Int64(entry.index), leafHash: entry.leafHash.bytes, statementHash: entry.signed.statementHash.bytes,
           statementTime: entry.statement.time.milliseconds, recordedAt: entry.recordedAt.milliseconds, body: entry.bytes)
}

func body(_ db: Database, _ idx: UInt64) throws -> [UInt8] {
    guard let d = try Data.fetchOne(db, sql: "SELECT body FROM entries WHERE idx = ?", arguments: [Int64(idx)]) else {
        fatalError("no entry \(idx)")
    }
    return [UInt8](d)
}

func entry(_ db: Database, _ idx: UInt64) throws -> Entry { try Entry(parsing: try body(db, idx)) }

/// Replaces entry `idx`'s body; by default also sets `leaf_hash` to the new body's leaf hash, as an
/// attacker who knows the schema would.
func setBody(_ db: Database, _ idx: UInt64, _ bytes: [UInt8], fixLeafHash: Bool = true) throws {
    if fixLeafHash {
        try db.execute(sql: "UPDATE entries SET body = ?, leaf_hash = ? WHERE idx = ?",
                       arguments: [Data(bytes), Data(RFC6962.leafHash(bytes).bytes), Int64(idx)])
    } else {
        try db.execute(sql: "UPDATE entries SET body = ? WHERE idx = ?", arguments: [Data(bytes), Int64(idx)])
    }
    #expect(db.changesCount == 1)
}

/// Moves every row with `idx >= from` by `delta` (no body is touched).
func shiftRows(_ db: Database, from: Int64, by delta: Int64) throws {
    let rows = try rawRows(db, from: from)
    try db.execute(sql: "DELETE FROM entries WHERE idx >= ?", arguments: [from])
    for var r in rows { r.idx += delta; try insertRaw(db, r) }
}

/// Appends `signed` as a new last entry, correctly chained (prev = leaf hash of the last body),
/// recorded one minute after the last entry unless `recordedAt` is given. `statementHashColumn`
/// overrides the stored `statement_hash` (the body is unaffected).
@discardableResult
func appendByHand(_ db: Database, _ signed: SignedStatement, recordedAt: Timestamp? = nil,
                  statementHashColumn: [UInt8]? = nil) throws -> UInt64 {
    guard let last = try Row.fetchOne(db, sql: "SELECT idx, body FROM entries ORDER BY idx DESC LIMIT 1") else { fatalError("empty") }
    let lastBody = [UInt8](last[1] as Data)
    let lastEntry = try Entry(parsing: lastBody)
    let idx = UInt64(last[0] as Int64) + 1
    let e = Entry(index: idx, prev: RFC6962.leafHash(lastBody), recordedAt: recordedAt ?? lastEntry.recordedAt.adding(seconds: 60), signed: signed)
    var row = honestRow(e)
    if let h = statementHashColumn { row.statementHash = h }
    try insertRaw(db, row)
    return idx
}

/// The key of an interior Merkle node row (`level << 56 | index`).
func nodeKey(level: Int, index: UInt64) -> Int64 { Int64(level) << 56 | Int64(index) }

/// The store keeps complete subtrees of 2^4 leaves and more in `nodes`, and the smaller ones of each
/// complete block of 16 leaves in a `leaf_blocks` row (Specs/storage.md).
let minStoredNodeLevel = 4

/// Where node (level, index) below `minStoredNodeLevel` lies: its block, and its hash's byte offset in
/// the block's `leaf_blocks` row (16 leaves, then 8, 4 and 2 nodes).
func leafBlockPosition(level: Int, index: UInt64) -> (block: Int64, offset: Int) {
    let perBlock = 16 >> level
    return (Int64(index) / Int64(perBlock), ([0, 16, 24, 28][level] + Int(index % UInt64(perBlock))) * 32)
}

/// Recomputes every `leaf_hash` from the bodies and rebuilds the whole `nodes` and `leaf_blocks`
/// tables from them, in row order, as the store would have written them: the stored tree then agrees
/// with the bodies.
func recomputeDerived(_ db: Database) throws {
    try db.execute(sql: "DELETE FROM nodes")
    try db.execute(sql: "DELETE FROM leaf_blocks")
    var f = MerkleFrontier()
    var block: [Hash] = []
    for r in try rawRows(db) {
        let leaf = RFC6962.leafHash(r.body)
        try db.execute(sql: "UPDATE entries SET leaf_hash = ? WHERE idx = ?", arguments: [Data(leaf.bytes), r.idx])
        for (id, h) in f.append(leafHash: leaf) where id.level >= minStoredNodeLevel {
            try db.execute(sql: "INSERT INTO nodes (id, hash) VALUES (?, ?)", arguments: [nodeKey(level: id.level, index: id.index), Data(h.bytes)])
        }
        block.append(leaf)
        if block.count == 16 {
            // The block's 30 hashes, level by level, recomputed from its leaves.
            var level = block, row = Data()
            while level.count > 1 {
                for h in level { row.append(contentsOf: h.bytes) }
                level = stride(from: 0, to: level.count, by: 2).map { RFC6962.nodeHash(level[$0], level[$0 + 1]) }
            }
            try db.execute(sql: "INSERT INTO leaf_blocks (block, nodes) VALUES (?, ?)", arguments: [Int64(r.idx) / 16, row])
            block = []
        }
    }
}

/// What an attacker without any key can rewrite: the list of (signed statement, recordedAt). Every
/// entry is then renumbered and re-chained (index and prev are not signed), and every derived
/// column and Merkle node recomputed. Only signatures and checkpoints cannot be redone.
struct HistoryItem {
    var signed: SignedStatement
    var recordedAt: Timestamp
}

func rewriteHistory(_ db: Database, _ edit: (inout [HistoryItem]) throws -> Void) throws {
    var items = try rawRows(db).map { r -> HistoryItem in
        let e = try Entry(parsing: r.body)
        return HistoryItem(signed: e.signed, recordedAt: e.recordedAt)
    }
    try edit(&items)
    try db.execute(sql: "DELETE FROM entries")
    var prev = Hash.zero
    for (i, it) in items.enumerated() {
        let e = Entry(index: UInt64(i), prev: prev, recordedAt: it.recordedAt, signed: it.signed)
        try insertRaw(db, honestRow(e))
        prev = e.leafHash
    }
    try recomputeDerived(db)
}

/// Replaces the first occurrence of `old` in `bytes` with `new` (same length not required).
func replacing(_ old: String, with new: String, in bytes: [UInt8]) -> [UInt8] {
    let o = Array(old.utf8), n = Array(new.utf8)
    guard let r = bytes.firstRange(of: o) else { fatalError("\(old) not found in \(String(decoding: bytes, as: UTF8.self))") }
    var out = bytes
    out.replaceSubrange(r, with: n)
    return out
}

// MARK: Auditing

/// Reopens the file with the ledger's own store and audits it.
func audit(_ path: String, trusted: [[UInt8]] = [], trustedOperator: VerifierKey? = nil, chunkSize: Int? = nil) throws -> AuditReport {
    let store = try SQLiteLedgerStore(path: path)
    var a = Auditor()
    a.trustedCheckpoints = trusted
    a.trustedOperator = trustedOperator
    if let c = chunkSize { a.chunkSize = c }
    return try a.run(store)
}

extension Finding {
    /// `kind@index` (`-` for no index), for compact assertions.
    var tag: String { "\(kind)@\(index.map { String($0) } ?? "-")" }
}

extension AuditReport {
    var tags: [String] { findings.map(\.tag) }
    /// Findings about entries (not stored nodes, not checkpoints), in order.
    var entryTags: [String] {
        findings.filter { $0.kind != "stored-node" && !$0.kind.contains("checkpoint") }.map(\.tag)
    }
    /// Findings about checkpoints (stored or trusted), in order.
    var checkpointTags: [String] { findings.filter { $0.kind.contains("checkpoint") }.map(\.tag) }
    var storedNodeFindings: [Finding] { findings.filter { $0.kind == "stored-node" } }
    var dump: String { findings.map(\.description).joined(separator: "\n") }
}

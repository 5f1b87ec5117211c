import Foundation
import GRDB
import GRDBSQLite
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// The embedded default store: one SQLite file in WAL mode (see `Specs/storage.md`).
///
/// Entries, Merkle nodes and checkpoints are append-only: triggers reject UPDATE and DELETE. Each
/// append is one `BEGIN IMMEDIATE` transaction, so concurrent writers (threads or processes) are
/// serialised by SQLite's write lock and never fork the chain.
public final class SQLiteLedgerStore: LedgerStore {
    /// SQLite's page cache per connection unless told otherwise: 64 MiB.
    public static let defaultPageCacheKiB = 65_536
    /// The page cache for one read of a product (`suyuan verify`): 2 MiB, SQLite's own default.
    public static let singleReadPageCacheKiB = 2_048

    /// `PRAGMA application_id` of a Suyuan ledger file ("SUYN").
    public static let applicationID: Int32 = 0x5355_594E
    /// The schema version in `PRAGMA user_version`.
    public static let schemaVersion = 4

    /// Errors opening a ledger file.
    public enum OpenError: Error, CustomStringConvertible, Equatable {
        case missing(String)
        case notALedger(String, String)
        case newerSchema(String, Int)

        public var description: String {
            switch self {
            case .missing(let p): return "no ledger at \(p); create one with `suyuan init` or pass --ledger PATH"
            case .notALedger(let p, let why): return "\(p) is not a Suyuan ledger (\(why)); check --ledger"
            case .newerSchema(let p, let v): return "\(p) has ledger schema version \(v), newer than this suyuan understands (\(SQLiteLedgerStore.schemaVersion)); upgrade suyuan"
            }
        }
    }

    /// The file path.
    public let path: String
    private let pool: DatabaseQueue
    private let frontier = Mutex<MerkleFrontier?>(nil)
    /// A second, read-only connection for `head()`: WAL readers never wait for the writer, and one
    /// prepared statement costs microseconds, where a GRDB read transaction costs tens.
    private let headReader: HeadReader
    /// Whether the file keeps `leaf_blocks` (schema version 4; a version-3 file opened read-only does
    /// not). Set once, at open.
    private let leafBlocks = Atomic<Bool>(false)
    private var hasLeafBlocks: Bool { leafBlocks.load(ordering: .relaxed) }

    /// Opens an existing ledger file (`create: false`) or creates a new one (`create: true`).
    ///
    /// One connection is used, and opening never writes to an existing file, so a refused command
    /// leaves it byte for byte. (GRDB's `DatabasePool` writes on open to keep the WAL non-empty.)
    ///
    /// A writer waits up to `lockTimeout` seconds for another process's write lock before failing with a
    /// `.busy` `StorageError`. `pageCacheKiB` bounds SQLite's page cache: the default suits appends and
    /// a server; one verification reads each page about once, and a small cache then spares it the
    /// fresh memory of every page it reads (`Specs/storage.md`).
    public init(path: String, create: Bool = false, readOnly: Bool = false, lockTimeout: Double = 30,
                pageCacheKiB: Int = SQLiteLedgerStore.defaultPageCacheKiB) throws {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists && !create { throw OpenError.missing(path) }
        if exists { try SQLiteLedgerStore.checkHeader(path, allowEmpty: create) }
        var config = Configuration()
        config.busyMode = .timeout(lockTimeout)
        config.readonly = readOnly
        precondition(pageCacheKiB > 0, "a page cache of \(pageCacheKiB) KiB")
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -\(pageCacheKiB)")  // negative: KiB, not pages
        }
        do { pool = try DatabaseQueue(path: path, configuration: config) } catch let e as DatabaseError {
            // Only "not a database" means not a ledger: a full disk, a read-only file system or a lock
            // must say so (and exit 74/75), not send the user looking for another file.
            if e.resultCode == .SQLITE_NOTADB { throw OpenError.notALedger(path, e.message ?? "\(e)") }
            throw StorageError(e, path: path)
        }
        headReader = HeadReader(path: path, lockTimeout: lockTimeout)
        let (app, version, tables) = try guarded { try pool.read { db in
            (try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
             try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0)
        } }
        if create && app == 0 && tables == 0 {
            // WAL is a persistent property of the file: set once, at creation, outside any transaction.
            try guarded { try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") } }
        } else {
            guard app == SQLiteLedgerStore.applicationID else { throw OpenError.notALedger(path, "an SQLite database of another application") }
            guard version <= SQLiteLedgerStore.schemaVersion else { throw OpenError.newerSchema(path, version) }
        }
        let migrates = create || (version < SQLiteLedgerStore.schemaVersion && !readOnly)
        if migrates { try guarded { try migrate() } }
        // By the schema version, not by the table: a version-4 file without it is damaged, and says so.
        leafBlocks.store(migrates || version >= 4, ordering: .relaxed)
    }

    /// Runs `body`, turning SQLite errors into `StorageError`s that say what happened to this file.
    private func guarded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as DatabaseError { throw StorageError(e, path: path) }
    }

    /// Refuses files that are not SQLite databases before SQLite touches them.
    private static func checkHeader(_ path: String, allowEmpty: Bool) throws {
        guard let h = FileHandle(forReadingAtPath: path) else { throw OpenError.notALedger(path, "cannot be read") }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 100)) ?? Data()
        if head.isEmpty {
            if allowEmpty { return }
            throw OpenError.notALedger(path, "the file is empty")
        }
        guard head.count == 100, head.prefix(16) == Data("SQLite format 3\0".utf8) else {
            throw OpenError.notALedger(path, "not an SQLite database")
        }
        // The application id is checked through SQLite after opening: in WAL mode the newest header
        // may still be in the -wal file.
    }

    private func migrate() throws {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                PRAGMA application_id = \(SQLiteLedgerStore.applicationID);
                PRAGMA user_version = 1;
                CREATE TABLE entries (
                    idx INTEGER PRIMARY KEY,
                    leaf_hash BLOB NOT NULL,
                    statement_hash BLOB NOT NULL,
                    statement_time INTEGER NOT NULL,
                    recorded_at INTEGER NOT NULL,
                    body BLOB NOT NULL
                );
                CREATE UNIQUE INDEX entries_by_statement ON entries(statement_time, statement_hash);
                CREATE TABLE nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
                CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);
                CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                """)
            for t in ["entries", "nodes", "checkpoints"] {
                try db.execute(sql: """
                    CREATE TRIGGER \(t)_no_update BEFORE UPDATE ON \(t) BEGIN SELECT RAISE(ABORT, '\(t) are append-only'); END;
                    CREATE TRIGGER \(t)_no_delete BEFORE DELETE ON \(t) BEGIN SELECT RAISE(ABORT, '\(t) are append-only'); END;
                    """)
            }
        }
        m.registerMigration("v2: term index") { db in
            // Lookup keys derived from each entry's statement (product codes, registry, attestation ids).
            // Rebuildable from the entries, and checked against them by the audit.
            try db.execute(sql: """
                CREATE TABLE terms (term TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (term, idx)) WITHOUT ROWID;
                CREATE INDEX terms_by_entry ON terms(idx);
                CREATE TRIGGER terms_no_update BEFORE UPDATE ON terms BEGIN SELECT RAISE(ABORT, 'terms are append-only'); END;
                CREATE TRIGGER terms_no_delete BEFORE DELETE ON terms BEGIN SELECT RAISE(ABORT, 'terms are append-only'); END;
                PRAGMA user_version = 2;
                """)
        }
        m.registerMigration("v3: leaf hash index") { db in
            // The leaf hashes alone, 32 bytes a row where an entry row is about a kilobyte: the hashes of
            // a proof's lowest subtrees come from here (a product's 10k proofs read 160k of them).
            try db.execute(sql: """
                CREATE INDEX entries_leaves ON entries(idx, leaf_hash);
                PRAGMA user_version = 3;
                """)
        }
        m.registerMigration("v4: leaf blocks") { db in
            // Each complete block of 16 leaves as one row holding its 30 hashes below the stored level:
            // a proof's lowest siblings are one row read, not a 16-row range scan and 11 hashes.
            try db.execute(sql: """
                CREATE TABLE leaf_blocks (block INTEGER PRIMARY KEY, nodes BLOB NOT NULL);
                CREATE TRIGGER leaf_blocks_no_update BEFORE UPDATE ON leaf_blocks BEGIN SELECT RAISE(ABORT, 'leaf_blocks are append-only'); END;
                CREATE TRIGGER leaf_blocks_no_delete BEFORE DELETE ON leaf_blocks BEGIN SELECT RAISE(ABORT, 'leaf_blocks are append-only'); END;
                """)
            // Existing complete blocks, from the stored leaf hashes in one pass over the index.
            let insert = try FastStatement(db, "INSERT INTO leaf_blocks (block, nodes) VALUES (?, ?)")
            var leaves: [Hash] = []
            leaves.reserveCapacity(Self.blockSize)
            var next: Int64 = 0
            try FastStatement(db, "SELECT idx, leaf_hash FROM entries ORDER BY idx").rows(db, []) { row in
                let idx = row.int(0), leaf = row.blob(1)
                guard idx == next else { throw LedgerError.corrupt("entry \(next) is missing") }
                guard let h = Hash(bytes: leaf) else { throw LedgerError.corrupt("entry \(idx) has a leaf hash of \(leaf.count) bytes") }
                next += 1
                leaves.append(h)
                if leaves.count == Self.blockSize {
                    try insert.execute(db, [.int(idx / Int64(Self.blockSize)), .blob(Self.blockNodes(leaves))])
                    leaves.removeAll(keepingCapacity: true)
                }
            }
            try db.execute(sql: "PRAGMA user_version = 4")
        }
        try m.migrate(pool)
    }

    /// Complete subtrees of at least 2^4 leaves are stored in `nodes`, keyed by `level << 56 | index`.
    /// The smaller ones of each complete block of 16 leaves are one `leaf_blocks` row; those of the
    /// incomplete last block are hashed on demand from its leaf hashes in `entries`.
    static let minStoredLevel = 4
    /// The leaves of a block: 2^minStoredLevel.
    static let blockSize = 1 << minStoredLevel
    /// Where each level's hashes start in a `leaf_blocks` row: 16 leaves, then 8, 4 and 2 nodes.
    static let blockLevelStart = [0, 16, 24, 28]
    /// The hashes of a `leaf_blocks` row: 30.
    static let blockNodeCount = 30

    /// Every node of a complete block is kept (its leaves and small subtrees in `leaf_blocks`, its
    /// root in `nodes`); below level 4, none of the incomplete last block's, nor any in a version-3
    /// file opened read-only.
    public func storesNode(_ id: NodeID, size: UInt64) -> Bool {
        if id.level >= Self.minStoredLevel { return true }
        let block = (id.index << UInt64(id.level)) >> UInt64(Self.minStoredLevel)
        return hasLeafBlocks && (block + 1) << UInt64(Self.minStoredLevel) <= size
    }

    public func derivedRowProblems(entries read: UInt64) throws -> [String] {
        try guarded { try pool.read { db in
            let size = try Self.readTail(db).size
            var out: [String] = []
            // A complete block without its row: read from its leaves, but not as the file should be.
            let complete = Int64(min(read, size) >> UInt64(Self.minStoredLevel))
            if hasLeafBlocks, try Int64.fetchOne(db, sql: "SELECT count(*) FROM leaf_blocks WHERE block < ?", arguments: [complete]) != complete {
                var expected: Int64 = 0
                func missing(upTo end: Int64) {
                    for b in expected..<end { out.append("no leaf_blocks row \(b) (entries \(b << Int64(Self.minStoredLevel))…\((b + 1) << Int64(Self.minStoredLevel) - 1))") }
                }
                for b in try Int64.fetchAll(db, sql: "SELECT block FROM leaf_blocks WHERE block < ? ORDER BY block", arguments: [complete]) {
                    missing(upTo: b)
                    expected = b + 1
                }
                missing(upTo: complete)
            }
            // Level ≥ 4: the rows of each level from the first index past `size`.
            for level in Self.minStoredLevel..<64 {
                let first = size >> UInt64(level), levelEnd = Int64(level + 1) << 56
                guard Self.nodeKey(NodeID(level: level, index: first)) < levelEnd else { continue }
                for id in try Int64.fetchAll(db, sql: "SELECT id FROM nodes WHERE id >= ? AND id < ? ORDER BY id",
                                             arguments: [Self.nodeKey(NodeID(level: level, index: first)), levelEnd]) {
                    let index = UInt64(id & 0x00FF_FFFF_FFFF_FFFF)
                    out.append("nodes row level \(level) index \(index) (entries \(index << UInt64(level))…\((index + 1) << UInt64(level) - 1)), past the \(size) entries")
                }
            }
            if hasLeafBlocks {
                for b in try Int64.fetchAll(db, sql: "SELECT block FROM leaf_blocks WHERE block >= ? ORDER BY block",
                                            arguments: [Int64(size >> UInt64(Self.minStoredLevel))]) {
                    out.append("leaf_blocks row \(b) (entries \(b << Int64(Self.minStoredLevel))…\((b + 1) << Int64(Self.minStoredLevel) - 1)), past the \(size) entries")
                }
            }
            return out
        } }
    }

    /// A `leaf_blocks` row for 16 leaf hashes: the leaves, then the level-1, -2 and -3 nodes, each
    /// level left to right, 30 × 32 bytes.
    static func blockNodes(_ leaves: [Hash]) -> [UInt8] {
        precondition(leaves.count == blockSize)
        var level = leaves, out: [UInt8] = []
        out.reserveCapacity(blockNodeCount * Hash.byteCount)
        while level.count > 1 {
            for h in level { h.withUnsafeBytes { out.append(contentsOf: $0) } }
            level = stride(from: 0, to: level.count, by: 2).map { RFC6962.nodeHash(level[$0], level[$0 + 1]) }
        }
        return out
    }
    static func nodeKey(_ id: NodeID) -> Int64 { Int64(id.level) << 56 | Int64(id.index) }

    /// The page cache its connection uses, in KiB (`PRAGMA cache_size`, set at open).
    public func pageCacheKiB() throws -> Int {
        try guarded { try pool.read { db in -(try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? 0) } }
    }

    // MARK: LedgerStore

    public func tail() throws -> LedgerTail { try guarded { try pool.read { try Self.readTail($0) } } }

    private static func readTail(_ db: Database) throws -> LedgerTail {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT idx, leaf_hash, recorded_at FROM entries ORDER BY idx DESC LIMIT 1")) else {
            return LedgerTail(size: 0, lastLeafHash: .zero, lastRecordedAt: nil)
        }
        let idx: Int64 = row[0]
        let leaf: [UInt8] = [UInt8](row[1] as Data)
        let ms: Int64 = row[2]
        guard let h = Hash(bytes: leaf) else { throw LedgerError.corrupt("entry \(idx) has a leaf hash of \(leaf.count) bytes") }
        // Checked, not trapping: the column comes from the file, which someone may have edited.
        let (ns, overflow) = ms.multipliedReportingOverflow(by: 1_000_000)
        guard !overflow, ms >= 0, idx >= 0 else { throw LedgerError.corrupt("entry \(idx) has a recorded_at of \(ms) ms, out of range") }
        return LedgerTail(size: UInt64(idx) + 1, lastLeafHash: h, lastRecordedAt: Timestamp(nanoseconds: ns))
    }

    public func entries(from index: UInt64, count: Int) throws -> [StoredEntry] {
        guard count > 0, index <= UInt64(Int64.max) else { return [] }
        return try guarded { try pool.read { db in
            try Self.readEntries(db, sql: "SELECT idx, body, leaf_hash FROM entries WHERE idx >= ? ORDER BY idx LIMIT ?", [.int(Int64(index)), .int(Int64(count))])
        } }
    }

    /// Reads (idx, body, leaf_hash) rows as stored entries, each value copied once.
    private static func readEntries(_ db: Database, sql: String, _ arguments: [FastValue]) throws -> [StoredEntry] {
        var out: [StoredEntry] = []
        try FastStatement(db, sql).rows(db, arguments) { row in
            let idx = row.int(0), leaf = row.blob(2)
            guard idx >= 0 else { throw LedgerError.corrupt("an entry has the index \(idx)") }
            guard let h = Hash(bytes: leaf) else { throw LedgerError.corrupt("entry \(idx) has a leaf hash of \(leaf.count) bytes") }
            out.append(StoredEntry(index: UInt64(idx), bytes: [UInt8](row.blob(1)), leafHash: h))
        }
        return out
    }

    public func hashes(for ids: [NodeID]) throws -> [Hash] {
        try guarded { try pool.read { try Self.readHashes(ids, $0, leafBlocks: hasLeafBlocks) } }
    }

    /// `size` is the ledger's (read from the file when nil): a `leaf_blocks` row is used only for a
    /// block below it.
    private static func readHashes(_ ids: [NodeID], _ db: Database, leafBlocks: Bool, size: UInt64? = nil) throws -> [Hash] {
        func missing(_ id: NodeID) -> LedgerError { .corrupt("missing Merkle node level \(id.level) index \(id.index)") }
        let stored = try readStoredNodes(ids.filter { $0.level >= minStoredLevel }.map(nodeKey), db)
        // Nodes below the stored levels lie in one aligned block of 16 leaves. Proofs and walks ask in
        // tree order, so the block last read is kept: the lowest siblings on one leaf's path all lie in
        // its block.
        var reader = try BlockReader(db, leafBlocks: leafBlocks, size: size)
        var out: [Hash] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            guard id.level < minStoredLevel else {
                guard let h = stored[nodeKey(id)] else { throw missing(id) }
                out.append(h)
                continue
            }
            guard let h = try reader.node(id) else { throw missing(id) }
            out.append(h)
        }
        return out
    }

    /// Reads the nodes below the stored levels, a block at a time: a complete block's from its
    /// `leaf_blocks` row, the incomplete last block's (or a block whose row is missing) hashed from its
    /// leaf hashes.
    private struct BlockReader {
        let db: Database
        let leafBlocks: Bool
        /// The ledger's size, read on first use: a `leaf_blocks` row for a block that reaches past it is
        /// corruption.
        var size: UInt64?
        let leafRows: FastStatement
        let blockRow: FastStatement?
        /// The block read last, and its nodes: all 30 of a complete block (`complete`), or the leaf
        /// hashes of an incomplete one.
        var current: UInt64?
        var nodes: [Hash] = []
        var complete = false

        init(_ db: Database, leafBlocks: Bool, size: UInt64? = nil) throws {
            self.db = db
            self.leafBlocks = leafBlocks
            self.size = size
            leafRows = try FastStatement(db, "SELECT idx, leaf_hash FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx")
            blockRow = leafBlocks ? try FastStatement(db, "SELECT nodes FROM leaf_blocks WHERE block = ?") : nil
            nodes.reserveCapacity(blockNodeCount)
        }

        /// The 16 stored leaf hashes of block `b` (read from `entries`: the reader must not use
        /// `leaf_blocks`), for its `leaf_blocks` row.
        mutating func leaves(of b: UInt64) throws -> [Hash] {
            precondition(!leafBlocks)
            try read(b)
            guard nodes.count == blockSize else { throw LedgerError.corrupt("block \(b) has \(nodes.count) leaf hashes") }
            return nodes
        }

        /// The node `id` (below the stored levels), or nil when its leaves are not all in the ledger.
        mutating func node(_ id: NodeID) throws -> Hash? {
            let firstLeaf = id.index << UInt64(id.level)
            let b = firstLeaf >> UInt64(minStoredLevel)
            if current != b { try read(b) }
            let offset = Int(firstLeaf - (b << UInt64(minStoredLevel)))
            if complete { return nodes[blockLevelStart[id.level] + (offset >> id.level)] }
            let count = 1 << id.level
            guard offset + count <= nodes.count else { return nil }
            return RFC6962.root(leafHashes: nodes[offset..<offset + count])
        }

        private mutating func read(_ b: UInt64) throws {
            nodes.removeAll(keepingCapacity: true)
            complete = false
            current = nil
            if let blockRow {
                try blockRow.rows(db, [.int(Int64(b))]) { row in
                    let bytes = row.blob(0)
                    guard bytes.count == blockNodeCount * Hash.byteCount else {
                        throw LedgerError.corrupt("leaf block \(b) (entries \(b << UInt64(minStoredLevel))…) holds \(bytes.count) bytes, not \(blockNodeCount * Hash.byteCount)")
                    }
                    for k in 0..<blockNodeCount { nodes.append(Hash(bytes: UnsafeRawBufferPointer(rebasing: bytes[(k * Hash.byteCount)..<((k + 1) * Hash.byteCount)]))!) }
                }
                complete = !nodes.isEmpty
                // Written only by the append that completes a block: a row for a block the ledger has
                // not completed was put there by other means, and is never used.
                if complete {
                    let size = try self.size ?? SQLiteLedgerStore.readTail(db).size
                    self.size = size
                    if (b + 1) << UInt64(minStoredLevel) > size {
                        throw LedgerError.corrupt("leaf block \(b) (entries \(b << UInt64(minStoredLevel))…) is stored, but the ledger has \(size) entries")
                    }
                }
            }
            if !complete {
                let first = Int64(b << UInt64(minStoredLevel))
                try leafRows.rows(db, [.int(first), .int(first + Int64(blockSize))]) { row in
                    let idx = row.int(0), leaf = row.blob(1)
                    guard idx == first + Int64(nodes.count) else { throw LedgerError.corrupt("entry \(first + Int64(nodes.count)) is missing") }
                    guard let h = Hash(bytes: leaf) else { throw LedgerError.corrupt("entry \(idx) has a leaf hash of \(leaf.count) bytes") }
                    nodes.append(h)
                }
                // A complete block without its row (written by a program that predates them, still
                // appending when the file was upgraded, or deleted) reads from its leaves like the last
                // block: the answer is the same, and the audit reports the missing row.
            }
            current = b
        }
    }

    /// The stored nodes with the given keys (those absent, or not 32 bytes, are left out). Keys close
    /// together are read with one range scan: stepping over a few unwanted rows costs less than
    /// another B-tree descent, and the many proofs of one product share runs of neighbouring nodes.
    private static func readStoredNodes(_ keys: [Int64], _ db: Database) throws -> [Int64: Hash] {
        let sorted = Array(Set(keys)).sorted()
        var found: [Int64: Hash] = Dictionary(minimumCapacity: sorted.count)
        let range = try FastStatement(db, "SELECT id, hash FROM nodes WHERE id >= ? AND id <= ? ORDER BY id")
        let maxGap: Int64 = 24
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count, sorted[j + 1] - sorted[j] <= maxGap { j += 1 }
            var next = i
            try range.rows(db, [.int(sorted[i]), .int(sorted[j])]) { row in
                let id = row.int(0)
                while next <= j, sorted[next] < id { next += 1 }
                if next <= j, sorted[next] == id, let h = Hash(bytes: row.blob(1)) { found[id] = h }
            }
            i = j + 1
        }
        return found
    }

    private struct Tx: AppendTransaction {
        let tail: LedgerTail
        let db: Database
        /// Keyed by time first, the index grows at its right edge like the table itself, unlike an
        /// index of random hashes; the hash makes the key unique even for statements of one millisecond.
        let lookup: FastStatement
        let termIndexVersion: Int

        init(tail: LedgerTail, db: Database) throws {
            self.tail = tail
            self.db = db
            lookup = try FastStatement(db, "SELECT idx FROM entries WHERE statement_time = ? AND statement_hash = ?")
            termIndexVersion = SuyuanLedger.termIndexVersion(recorded: try String.fetchOne(
                db.cachedStatement(sql: "SELECT value FROM settings WHERE key = ?"), arguments: [termIndexVersionSetting]))
        }

        func index(of statement: SignedStatement) throws -> UInt64? {
            try lookup.int(db, [.int(statement.statement.time.milliseconds), .hash(statement.statementHash)]).map { UInt64($0) }
        }
        func entries(withTerm term: String, from: UInt64) throws -> [StoredEntry] {
            try SQLiteLedgerStore.entries(db, withTerm: term, from: from)
        }
        func upgradeTermIndex(to version: Int, adding rows: [(index: UInt64, term: String)]) throws {
            let insert = try FastStatement(db, "INSERT OR IGNORE INTO terms (term, idx) VALUES (?, ?)")
            for r in rows { try insert.execute(db, [.text(r.term), .int(Int64(r.index))]) }
            try db.execute(sql: "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", arguments: [termIndexVersionSetting, String(version)])
        }
    }

    public func indexes(withTerm term: String) throws -> [UInt64] {
        try pool.read { db in
            try Int64.fetchAll(db.cachedStatement(sql: "SELECT idx FROM terms WHERE term = ? ORDER BY idx"), arguments: [term]).map { UInt64($0) }
        }
    }

    /// One read of the term index joined with the entries, instead of a read per entry.
    public func entries(withTerm term: String, from: UInt64) throws -> [StoredEntry] {
        try pool.read { db in try Self.entries(db, withTerm: term, from: from) }
    }

    fileprivate static func entries(_ db: Database, withTerm term: String, from: UInt64) throws -> [StoredEntry] {
        guard from <= UInt64(Int64.max) else { return [] }
        return try readEntries(db, sql: """
            SELECT e.idx, e.body, e.leaf_hash FROM terms t JOIN entries e ON e.idx = t.idx
            WHERE t.term = ? AND t.idx >= ? ORDER BY t.idx
            """, [.text(term), .int(Int64(from))])
    }

    public func termRows(in range: Range<UInt64>) throws -> [(index: UInt64, term: String)] {
        guard !range.isEmpty, range.upperBound <= UInt64(Int64.max) else { return [] }
        return try pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT idx, term FROM terms WHERE idx >= ? AND idx < ? ORDER BY idx, term"),
                             arguments: [Int64(range.lowerBound), Int64(range.upperBound)])
                .map { (index: UInt64($0[0] as Int64), term: $0[1] as String) }
        }
    }

    public func append(_ build: (any AppendTransaction) throws -> [NewEntry]) throws -> [StoredEntry] {
        try append(parts: 1) { tx, _ in try build(tx) }
    }

    /// Each part is written as soon as it is built, in the one transaction.
    public func append(parts: Int, _ build: (any AppendTransaction, Int) throws -> [NewEntry]) throws -> [StoredEntry] {
        try guarded { try pool.writeWithoutTransaction { db in
            // An acknowledged append must survive power loss, not only a crash: sync the WAL on commit.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            var stored: [StoredEntry] = []
            var newFrontier: MerkleFrontier?
            try db.inTransaction(.immediate) {
                stored = []
                let tail = try Self.readTail(db)
                let tx = try Tx(tail: tail, db: db)
                var f = try self.loadFrontier(db, size: tail.size)
                let insertEntry = try FastStatement(db, "INSERT INTO entries (idx, leaf_hash, statement_hash, statement_time, recorded_at, body) VALUES (?, ?, ?, ?, ?, ?)")
                let insertNode = try FastStatement(db, "INSERT INTO nodes (id, hash) VALUES (?, ?)")
                let insertTerm = try FastStatement(db, "INSERT OR IGNORE INTO terms (term, idx) VALUES (?, ?)")
                let insertBlock = try FastStatement(db, "INSERT INTO leaf_blocks (block, nodes) VALUES (?, ?)")
                var leaves = try BlockReader(db, leafBlocks: false)
                var index = tail.size
                for p in 0..<parts {
                    for n in try build(tx, p) {
                        guard n.entry.index == index else {
                            throw LedgerError.state("append built entry \(n.entry.index) where \(index) was expected")
                        }
                        do {
                            try insertEntry.execute(db, [
                                .int(Int64(index)), .hash(n.leafHash), .hash(n.entry.signed.statementHash),
                                .int(n.entry.statement.time.milliseconds), .int(n.entry.recordedAt.milliseconds), .blob(n.entry.bytes),
                            ])
                        } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
                            // The unique index of statements (time, hash) refused it.
                            if let j = try tx.index(of: n.entry.signed) { throw StatementAlreadyStored(index: index, existing: j) }
                            throw e
                        }
                        for t in n.terms { try insertTerm.execute(db, [.text(t), .int(Int64(index))]) }
                        for (id, h) in f.append(leafHash: n.leafHash) where id.level >= Self.minStoredLevel {
                            try insertNode.execute(db, [.int(Self.nodeKey(id)), .hash(h)])
                            // A block completed: its leaves, some perhaps appended by earlier transactions.
                            if id.level == Self.minStoredLevel { try insertBlock.execute(db, [.int(Int64(id.index)), .blob(Self.blockNodes(try leaves.leaves(of: id.index)))]) }
                        }
                        stored.append(StoredEntry(index: index, bytes: n.entry.bytes, leafHash: n.leafHash))
                        index += 1
                    }
                }
                newFrontier = f
                return .commit
            }
            // Committed: only now is the cached frontier advanced.
            if let f = newFrontier { self.frontier.withLock { $0 = f } }
            return stored
        } }
    }

    /// The right edge of the tree at `size`, from the cache when it is current, else from the nodes table.
    private func loadFrontier(_ db: Database, size: UInt64) throws -> MerkleFrontier {
        if let f = frontier.withLock({ $0 }), f.size == size { return f }
        let ids = MerkleFrontier.nodeIDs(forSize: size)
        return try MerkleFrontier(size: size, hashes: Self.readHashes(ids, db, leafBlocks: hasLeafBlocks, size: size))
    }

    /// At the current end of the tree, from the cached right edge this process keeps (no read).
    public func root(size: UInt64) throws -> Hash {
        if let f = frontier.withLock({ $0 }), f.size == size { return f.root }
        return try RFC6962.root(size: size, reader: self)
    }

    // The read-only head connection closes first, so the writer's connection is the last to close
    // and SQLite checkpoints the WAL into the file and removes the -wal and -shm files.
    deinit { headReader.close() }

    public func head() throws -> LedgerHead {
        try guarded { try headReader.read() }
    }

    public func latestCheckpoint() throws -> (size: UInt64, note: [UInt8])? {
        try guarded { try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
                .map { (UInt64($0[0] as Int64), [UInt8]($0[1] as Data)) }
        } }
    }

    public func checkpoints() throws -> [(size: UInt64, note: [UInt8])] {
        try guarded { try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT size, note FROM checkpoints ORDER BY size").map { (UInt64($0[0] as Int64), [UInt8]($0[1] as Data)) }
        } }
    }

    public func saveCheckpoint(size: UInt64, note: [UInt8]) throws {
        try guarded { try pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO checkpoints (size, note) VALUES (?, ?)", arguments: [Int64(size), Data(note)])
        } }
    }

    public func setting(_ key: String) throws -> String? {
        try guarded { try pool.read { try String.fetchOne($0, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]) } }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try guarded { try pool.write { try $0.execute(sql: "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", arguments: [key, value]) } }
    }

    /// Writes a consistent copy of the whole database to `destination` (SQLite online backup).
    public func backup(to destination: String) throws {
        let target = try DatabaseQueue(path: destination)
        try pool.backup(to: target)
    }
}

/// The kinds of storage failure a user can act on.
public enum StorageFailure: Sendable, Equatable {
    case busy, readOnly, diskFull, corrupt, other
    /// A write went past this process's file size limit (`ulimit -f`, RLIMIT_FSIZE).
    case fileSizeLimit
}

/// An SQLite failure on a ledger file, classified with what the file system says (SQLite reports a disk
/// that fills up while it extends its shared-memory file as a plain I/O error, and a read-only file system
/// as "unable to open").
public struct StorageError: Error, CustomStringConvertible {
    public let failure: StorageFailure
    /// SQLite's message.
    public let message: String
    public let path: String

    init(_ e: DatabaseError, path: String) {
        self.path = path
        let msg = e.message ?? "\(e)"
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: failure = .busy
        case .SQLITE_READONLY: failure = .readOnly
        case .SQLITE_FULL: failure = .diskFull
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: failure = .corrupt
        case .SQLITE_IOERR, .SQLITE_CANTOPEN: failure = StorageError.fileSystemState(of: path) ?? .other
        default: failure = .other
        }
        message = msg
    }

    /// `.readOnly` when the ledger's file system is mounted read-only, `.diskFull` when it has less than
    /// 1 MiB free for unprivileged writers, else nil.
    static func fileSystemState(of path: String) -> StorageFailure? {
        let dir = (path as NSString).deletingLastPathComponent
        var st = statvfs()
        guard statvfs(dir.isEmpty ? "." : dir, &st) == 0 else { return nil }
        if st.f_flag & UInt(ST_RDONLY) != 0 { return .readOnly }
        if UInt64(st.f_bavail) * UInt64(st.f_frsize) < 1 << 20 { return .diskFull }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max { return .fileSizeLimit }
        return nil
    }

    public var description: String { "\(path): \(message)" }
}

extension SQLiteLedgerStore {
    /// Classifies an error thrown by the store's SQLite layer, with SQLite's message; nil if it is not one.
    public static func classify(_ error: any Error) -> (StorageFailure, String)? {
        if let s = error as? StorageError { return (s.failure, s.message) }
        guard let e = error as? DatabaseError else { return nil }
        return classify(StorageError(e, path: "."))
    }
}

/// A lazily opened read-only connection with one prepared statement: the last entry's index and the
/// newest checkpoint's size, in one step (one statement, so one consistent snapshot).
private final class HeadReader: Sendable {
    private let path: String
    private let lockTimeout: Double
    /// The connection and statement, opened on first use; guarded by the mutex.
    private let state = Mutex<(db: OpaquePointer, statement: OpaquePointer)?>(nil)

    init(path: String, lockTimeout: Double) { self.path = path; self.lockTimeout = lockTimeout }

    deinit { close() }

    /// Closes the connection (it reopens on the next read).
    func close() {
        state.withLock { s in
            if let open = s { sqlite3_finalize(open.statement); sqlite3_close(open.db) }
            s = nil
        }
    }

    private static let sql = """
        SELECT (SELECT idx FROM entries ORDER BY idx DESC LIMIT 1), (SELECT size FROM checkpoints ORDER BY size DESC LIMIT 1)
        """

    private func error(_ db: OpaquePointer?, _ rc: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: db.map { String(cString: sqlite3_errmsg($0)) }, sql: Self.sql)
    }

    func read() throws -> LedgerHead {
        try state.withLock { s throws -> LedgerHead in
            if s == nil {
                var db: OpaquePointer?
                let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
                guard rc == SQLITE_OK, let db else { let e = error(db, rc); sqlite3_close(db); throw e }
                sqlite3_busy_timeout(db, Int32(lockTimeout * 1000))
                var st: OpaquePointer?
                let prc = sqlite3_prepare_v2(db, Self.sql, -1, &st, nil)
                guard prc == SQLITE_OK, let st else { let e = error(db, prc); sqlite3_close(db); throw e }
                s = (db, st)
            }
            let (db, st) = s!
            defer { sqlite3_reset(st) }
            let rc = sqlite3_step(st)
            guard rc == SQLITE_ROW else { throw error(db, rc) }
            let last: Int64? = sqlite3_column_type(st, 0) == SQLITE_NULL ? nil : sqlite3_column_int64(st, 0)
            let checkpoint: Int64? = sqlite3_column_type(st, 1) == SQLITE_NULL ? nil : sqlite3_column_int64(st, 1)
            // Checked, not trapping: the file may have been edited.
            guard (last ?? 0) >= 0, (last ?? 0) < Int64.max, (checkpoint ?? 0) >= 0 else {
                throw LedgerError.corrupt("the last entry index \(last ?? 0) or checkpoint size \(checkpoint ?? 0) is out of range")
            }
            return LedgerHead(size: last.map { UInt64($0) + 1 } ?? 0, checkpointSize: checkpoint.map { UInt64($0) })
        }
    }
}

import GRDB
import GRDBSQLite
import SuyuanCrypto

/// Binds and steps GRDB's cached prepared statements through the SQLite C API on the hot paths
/// (appends and proof reads), where GRDB's argument boxing would cost more than SQLite itself.
/// Errors become GRDB `DatabaseError`s, like everywhere else.
struct FastStatement {
    private let statement: Statement
    private var handle: OpaquePointer { statement.sqliteStatement }
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ db: Database, _ sql: String) throws { statement = try db.cachedStatement(sql: sql) }

    private func fail(_ db: Database, _ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
    }

    private func bind(_ values: [FastValue]) {
        sqlite3_reset(handle)
        for (i, v) in values.enumerated() {
            let n = Int32(i + 1)
            switch v {
            case .int(let x): sqlite3_bind_int64(handle, n, x)
            case .blob(let b): b.withUnsafeBytes { _ = sqlite3_bind_blob(handle, n, $0.baseAddress, Int32($0.count), FastStatement.transient) }
            case .text(let t): _ = sqlite3_bind_text(handle, n, t, -1, FastStatement.transient)
            }
        }
    }

    /// Runs a statement that returns no rows.
    func execute(_ db: Database, _ values: [FastValue]) throws {
        bind(values)
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard rc == SQLITE_DONE else { throw fail(db, rc) }
    }

    /// Runs a query whose first column holds hashes and returns those that are 32 bytes long.
    func hashes(_ db: Database, _ values: [FastValue]) throws -> [Hash] {
        bind(values)
        defer { sqlite3_reset(handle) }
        var out: [Hash] = []
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return out }
            guard rc == SQLITE_ROW else { throw fail(db, rc) }
            let n = Int(sqlite3_column_bytes(handle, 0))
            if let h = Hash(bytes: UnsafeRawBufferPointer(start: sqlite3_column_blob(handle, 0), count: n)) { out.append(h) }
        }
    }

    /// Runs a query whose rows are (integer, blob) and hands each to `row`, without copying the blob.
    func rows(_ db: Database, _ values: [FastValue], _ row: (Int64, UnsafeRawBufferPointer) throws -> Void) throws {
        bind(values)
        defer { sqlite3_reset(handle) }
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw fail(db, rc) }
            let n = Int(sqlite3_column_bytes(handle, 1))
            try row(sqlite3_column_int64(handle, 0), UnsafeRawBufferPointer(start: sqlite3_column_blob(handle, 1), count: n))
        }
    }

    /// Runs a query and returns the first column of its first row as an integer, or nil if there is no row.
    func int(_ db: Database, _ values: [FastValue]) throws -> Int64? {
        bind(values)
        defer { sqlite3_reset(handle) }
        let rc = sqlite3_step(handle)
        if rc == SQLITE_DONE { return nil }
        guard rc == SQLITE_ROW else { throw fail(db, rc) }
        return sqlite3_column_int64(handle, 0)
    }
}

/// A value bound to a fast statement.
enum FastValue {
    case int(Int64)
    case blob([UInt8])
    case text(String)
}

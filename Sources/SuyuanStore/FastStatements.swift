import GRDB
import GRDBSQLite
import SuyuanCrypto

/// Binds and steps GRDB's cached prepared statements through the SQLite C API on the hot paths
/// (appends and proof reads), where GRDB's argument boxing would cost more than SQLite itself.
/// Errors become GRDB `DatabaseError`s, like everywhere else.
struct FastStatement {
    private let statement: Statement
    private var handle: OpaquePointer { statement.sqliteStatement }

    init(_ db: Database, _ sql: String) throws { statement = try db.cachedStatement(sql: sql) }

    private func fail(_ db: Database, _ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
    }

    /// Binds `values` to parameters `n…` and runs `body` while they are bound. Blobs and text are
    /// bound in place (`SQLITE_STATIC`, no copy): their memory is valid while `body` runs, and `run`
    /// clears the bindings before anything else can step the statement.
    private func withBound<R>(_ db: Database, _ values: ArraySlice<FastValue>, from n: Int32 = 1, _ body: () throws -> R) throws -> R {
        guard let v = values.first else { return try body() }
        let rest = values.dropFirst()
        func bound(_ rc: Int32) throws -> R {
            guard rc == SQLITE_OK else { throw fail(db, rc) }
            return try withBound(db, rest, from: n + 1, body)
        }
        switch v {
        case .int(let x):
            return try bound(sqlite3_bind_int64(handle, n, x))
        case .blob(let b):
            return try b.withUnsafeBytes { p in
                // A null pointer would bind NULL, not an empty blob.
                try bound(sqlite3_bind_blob(handle, n, p.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(p.count), nil))
            }
        case .hash(let h):
            return try h.withUnsafeBytes { p in try bound(sqlite3_bind_blob(handle, n, p.baseAddress, Int32(p.count), nil)) }
        case .text(let t):
            // Up to the first NUL, as GRDB binds strings: a value is looked up as it was stored.
            return try t.withCString { c in try bound(sqlite3_bind_text(handle, n, c, -1, nil)) }
        }
    }

    /// Resets the statement, binds `values`, runs `body`, then (also when binding or `body` fails)
    /// resets it again and drops the bindings, which point into memory only valid during the call.
    /// Neither reads the bound values.
    private func run<R>(_ db: Database, _ values: [FastValue], _ body: () throws -> R) throws -> R {
        sqlite3_reset(handle)
        defer { sqlite3_reset(handle); sqlite3_clear_bindings(handle) }
        return try withBound(db, values[...], body)
    }

    /// Runs a statement that returns no rows.
    func execute(_ db: Database, _ values: [FastValue]) throws {
        let rc = try run(db, values) { sqlite3_step(handle) }
        guard rc == SQLITE_DONE else { throw fail(db, rc) }
    }

    /// Runs a query and hands each row to `row`, whose column values are valid only during the call.
    func rows(_ db: Database, _ values: [FastValue], _ row: (FastRow) throws -> Void) throws {
        try run(db, values) {
            while true {
                let rc = sqlite3_step(handle)
                if rc == SQLITE_DONE { return }
                guard rc == SQLITE_ROW else { throw fail(db, rc) }
                try row(FastRow(handle: handle))
            }
        }
    }

    /// Runs a query and returns the first column of its first row as an integer, or nil if there is no row.
    func int(_ db: Database, _ values: [FastValue]) throws -> Int64? {
        try run(db, values) {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return nil }
            guard rc == SQLITE_ROW else { throw fail(db, rc) }
            return sqlite3_column_int64(handle, 0)
        }
    }
}

/// The current row of a fast statement, read in place.
struct FastRow {
    fileprivate let handle: OpaquePointer

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// The column's bytes, without a copy: valid until the statement steps again.
    func blob(_ column: Int32) -> UnsafeRawBufferPointer {
        let p = sqlite3_column_blob(handle, column)  // before `_bytes`, as SQLite requires
        return UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, column)))
    }
}

/// A value bound to a fast statement.
enum FastValue {
    case int(Int64)
    case blob([UInt8])
    case hash(Hash)
    case text(String)
}

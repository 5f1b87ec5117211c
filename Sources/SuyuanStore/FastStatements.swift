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
    /// bound in place (`SQLITE_STATIC`, no copy): their memory is valid until `body` returns, and
    /// `body` resets the statement and clears the bindings before it does.
    private func withBound<R>(_ values: ArraySlice<FastValue>, from n: Int32 = 1, _ body: () throws -> R) rethrows -> R {
        guard let v = values.first else { return try body() }
        let rest = values.dropFirst()
        switch v {
        case .int(let x):
            sqlite3_bind_int64(handle, n, x)
            return try withBound(rest, from: n + 1, body)
        case .blob(let b):
            return try b.withUnsafeBytes { p in
                // A null pointer would bind NULL, not an empty blob.
                sqlite3_bind_blob(handle, n, p.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(p.count), nil)
                return try withBound(rest, from: n + 1, body)
            }
        case .hash(let h):
            return try h.withUnsafeBytes { p in
                sqlite3_bind_blob(handle, n, p.baseAddress, Int32(p.count), nil)
                return try withBound(rest, from: n + 1, body)
            }
        case .text(var t):
            return try t.withUTF8 { p in
                let start = UnsafeRawPointer(p.baseAddress) ?? UnsafeRawPointer(bitPattern: 1)!  // never read when empty
                sqlite3_bind_text(handle, n, start.assumingMemoryBound(to: CChar.self), Int32(p.count), nil)
                return try withBound(rest, from: n + 1, body)
            }
        }
    }

    /// Binds `values`, runs `body`, then resets the statement and drops the bindings (which point
    /// into memory that is only valid during the call).
    private func run<R>(_ values: [FastValue], _ body: () throws -> R) rethrows -> R {
        try withBound(values[...]) {
            defer { sqlite3_reset(handle); sqlite3_clear_bindings(handle) }
            return try body()
        }
    }

    /// Runs a statement that returns no rows.
    func execute(_ db: Database, _ values: [FastValue]) throws {
        let rc = run(values) { sqlite3_step(handle) }
        guard rc == SQLITE_DONE else { throw fail(db, rc) }
    }

    /// Runs a query whose first column holds hashes and returns those that are 32 bytes long.
    func hashes(_ db: Database, _ values: [FastValue]) throws -> [Hash] {
        try run(values) {
            var out: [Hash] = []
            while true {
                let rc = sqlite3_step(handle)
                if rc == SQLITE_DONE { return out }
                guard rc == SQLITE_ROW else { throw fail(db, rc) }
                let n = Int(sqlite3_column_bytes(handle, 0))
                if let h = Hash(bytes: UnsafeRawBufferPointer(start: sqlite3_column_blob(handle, 0), count: n)) { out.append(h) }
            }
        }
    }

    /// Runs a query whose rows are (integer, blob) and hands each to `row`, without copying the blob.
    func rows(_ db: Database, _ values: [FastValue], _ row: (Int64, UnsafeRawBufferPointer) throws -> Void) throws {
        try run(values) {
            while true {
                let rc = sqlite3_step(handle)
                if rc == SQLITE_DONE { return }
                guard rc == SQLITE_ROW else { throw fail(db, rc) }
                let n = Int(sqlite3_column_bytes(handle, 1))
                try row(sqlite3_column_int64(handle, 0), UnsafeRawBufferPointer(start: sqlite3_column_blob(handle, 1), count: n))
            }
        }
    }

    /// Runs a query and returns the first column of its first row as an integer, or nil if there is no row.
    func int(_ db: Database, _ values: [FastValue]) throws -> Int64? {
        try run(values) {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return nil }
            guard rc == SQLITE_ROW else { throw fail(db, rc) }
            return sqlite3_column_int64(handle, 0)
        }
    }
}

/// A value bound to a fast statement.
enum FastValue {
    case int(Int64)
    case blob([UInt8])
    case hash(Hash)
    case text(String)
}

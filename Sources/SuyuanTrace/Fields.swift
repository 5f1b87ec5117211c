import SuyuanFormats
import SuyuanLedger

/// Reads a statement payload's fields with errors that name the field and the reason.
struct Fields {
    let object: [String: JSONValue]
    let what: String

    /// The fields of `value`, which must be an object whose keys are all in `allowed`.
    init(_ value: JSONValue, _ what: String, allowed: Set<String>) throws(LedgerError) {
        guard let o = value.objectValue else { throw .malformed("\(what) must be a JSON object") }
        if !o.keys.allSatisfy(allowed.contains) {
            let extra = Set(o.keys).subtracting(allowed)
            throw .malformed("\(what) has unknown field(s) \(extra.sorted().joined(separator: ", ")); allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        object = o
        self.what = what
    }

    func optionalString(_ k: String, maxLength: Int = 256) throws(LedgerError) -> String? {
        guard let v = object[k] else { return nil }
        guard let s = v.stringValue, !s.isEmpty, s.utf8.count <= maxLength else {
            throw .malformed("\(what) field \"\(k)\" must be a non-empty string of at most \(maxLength) bytes")
        }
        return s
    }

    func string(_ k: String, maxLength: Int = 256) throws(LedgerError) -> String {
        guard let s = try optionalString(k, maxLength: maxLength) else { throw .malformed("\(what) needs the field \"\(k)\"") }
        return s
    }

    func optionalTime(_ k: String) throws(LedgerError) -> Timestamp? {
        guard let s = try optionalString(k) else { return nil }
        guard let t = Timestamp(parsing: s) else {
            throw .malformed("\(what) field \"\(k)\" is \"\(s)\", not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SS[.fff]Z)")
        }
        return t
    }

    func time(_ k: String) throws(LedgerError) -> Timestamp {
        guard let t = try optionalTime(k) else { throw .malformed("\(what) needs the field \"\(k)\" (an RFC 3339 UTC time)") }
        return t
    }

    func region(_ k: String) throws(LedgerError) -> Region {
        let s = try string(k)
        guard let r = Region(rawValue: s) else { throw .malformed("\(what) field \"\(k)\" is \"\(s)\"; expected GD, HK or MO") }
        return r
    }

    func oneOf<T: RawRepresentable>(_ k: String, _ type: T.Type) throws(LedgerError) -> T where T.RawValue == String, T: CaseIterable {
        let s = try string(k)
        guard let v = T(rawValue: s) else {
            throw .malformed("\(what) field \"\(k)\" is \"\(s)\"; expected one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    func array(_ k: String, required: Bool = true, maxCount: Int = 1000) throws(LedgerError) -> [JSONValue] {
        guard let v = object[k] else {
            if required { throw .malformed("\(what) needs the field \"\(k)\" (an array)") }
            return []
        }
        guard let a = v.arrayValue, a.count <= maxCount else { throw .malformed("\(what) field \"\(k)\" must be an array of at most \(maxCount) items") }
        return a
    }
}

/// A time interval [from, until); `until` nil means open-ended.
public struct Validity: Sendable, Equatable {
    public var from: Timestamp
    public var until: Timestamp?

    public init(from: Timestamp, until: Timestamp? = nil) { self.from = from; self.until = until }

    public func contains(_ t: Timestamp) -> Bool { t >= from && (until.map { t < $0 } ?? true) }

    /// "from … until …" for people.
    public var text: String { "from \(from.millisecondString)" + (until.map { " until \($0.millisecondString)" } ?? "") }
}

// JSON value model, errors, literals and accessors.
// Parsing lives in JSONParser.swift; canonical / pretty serialisation in JCS.swift.
// Specification: Specs/jcs.md.

/// A JSON value. Objects are dictionaries: duplicate keys are rejected at parse time.
///
/// Equality is *exact*: strings (and object keys) compare by their Unicode scalars, not by
/// Swift's canonical equivalence, so `a == b` exactly when `a` and `b` have the same
/// RFC 8785 canonical form (numbers compare as `Double`, so `0 == -0`, and `NaN != NaN`).
///
/// Note: because objects are `[String: JSONValue]`, two member names that are distinct code
/// point sequences but canonically equivalent in Swift (e.g. `"\u00e9"` and `"e\u0301"`)
/// cannot coexist in one object; the parser rejects such input as a duplicate key.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

/// A JSON parse or serialisation error. `message` is specific and, when the error has a
/// position, ends with " at byte N" where N (also in `offset`) is a 0-based byte offset.
public struct JSONError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public let offset: Int?

    public init(message: String, offset: Int? = nil) {
        self.message = message
        self.offset = offset
    }

    /// An error at byte `offset`; the message gets the suffix " at byte N".
    static func at(_ what: String, _ offset: Int) -> JSONError {
        JSONError(message: "\(what) at byte \(offset)", offset: offset)
    }

    public var description: String { message }
}

// MARK: - Exact equality

extension JSONValue {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null):
            return true
        case let (.bool(a), .bool(b)):
            return a == b
        case let (.number(a), .number(b)):
            return a == b
        case let (.string(a), .string(b)):
            return exactlyEqual(a, b)
        case let (.array(a), .array(b)):
            return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let index = b.index(forKey: key) else { return false }
                let (otherKey, otherValue) = b[index]
                guard exactlyEqual(key, otherKey), value == otherValue else { return false }
            }
            return true
        default:
            return false
        }
    }

    /// Scalar-exact string equality (Swift's `==` uses canonical equivalence).
    @inline(__always)
    static func exactlyEqual(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8)
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

extension JSONValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Duplicate keys in a dictionary literal trap (like `Dictionary`'s own literal), mirroring
    /// the parser, which rejects duplicate keys. Keys that are canonically equivalent in Swift
    /// (e.g. precomposed vs decomposed "é") count as duplicates.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object: [String: JSONValue] = [:]
        object.reserveCapacity(elements.count)
        for (key, value) in elements {
            precondition(object.updateValue(value, forKey: key) == nil,
                         "JSONValue dictionary literal has duplicate key \"\(key)\"")
        }
        self = .object(object)
    }
}

// MARK: - Accessors

extension JSONValue {
    /// The member named `key` when this is an object containing it; nil otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self, let index = object.index(forKey: key) else { return nil }
        let (storedKey, value) = object[index]
        // Dictionary lookup uses canonical equivalence; require the exact key.
        return JSONValue.exactlyEqual(storedKey, key) ? value : nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let d) = self { return d }
        return nil
    }

    /// The number as Int64 only if it is an integer exactly representable (|x| <= 2^53).
    /// `-0` gives `0`.
    public var integerValue: Int64? {
        guard case .number(let d) = self, d.isFinite, d.rounded(.towardZero) == d,
              d.magnitude <= 9_007_199_254_740_992 else { return nil }
        return Int64(d)
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

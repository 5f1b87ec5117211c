import SuyuanCrypto
import SuyuanFormats

/// One of the three regions of the Greater Bay Area.
public enum Region: String, CaseIterable, Codable, Sendable, Comparable {
    case GD, HK, MO

    /// The region's name for people.
    public var displayName: String {
        switch self {
        case .GD: return "Guangdong"
        case .HK: return "Hong Kong"
        case .MO: return "Macao"
        }
    }

    public static func < (a: Region, b: Region) -> Bool { a.rawValue < b.rawValue }
}

/// The payload of entry 0: the ledger's origin, its operator key and the three regulator keys.
///
/// ```json
/// {"format":"suyuan/v1","operator":"<vkey>","origin":"<origin>",
///  "regulators":{"GD":"<vkey>","HK":"<vkey>","MO":"<vkey>"}}
/// ```
public struct Genesis: Sendable, Equatable {
    /// The statement kind of the genesis entry.
    public static let kind = "genesis"
    /// The ledger format this genesis declares.
    public static let format = "suyuan/v1"

    /// The checkpoint origin line of this ledger.
    public let origin: String
    /// The operator's verifier key; it signs checkpoints and the genesis statement.
    public let operatorKey: VerifierKey
    /// The regulator verifier key of each region.
    public let regulators: [Region: VerifierKey]

    /// Builds a genesis payload.
    public init(origin: String, operatorKey: VerifierKey, regulators: [Region: VerifierKey]) throws(LedgerError) {
        guard Genesis.isValidOrigin(origin) else {
            throw .malformed("origin \"\(origin)\" must be non-empty printable ASCII without spaces or '+' (e.g. gz.suyuan.example/ledger)")
        }
        guard Set(regulators.keys) == Set(Region.allCases) else {
            let missing = Set(Region.allCases).subtracting(regulators.keys).map(\.rawValue).sorted()
            throw .malformed("genesis needs a regulator key for each of GD, HK and MO (missing \(missing.joined(separator: ", ")))")
        }
        let keys = [operatorKey.publicKey] + Region.allCases.map { regulators[$0]!.publicKey }
        guard Set(keys).count == keys.count else {
            throw .malformed("the operator and the three regulators must each have a distinct key")
        }
        self.origin = origin
        self.operatorKey = operatorKey
        self.regulators = regulators
    }

    static func isValidOrigin(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 256 && s.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "+") }
    }

    /// Parses and validates a genesis payload.
    public init(payload: JSONValue) throws(LedgerError) {
        guard let obj = payload.objectValue, Set(obj.keys) == ["format", "operator", "origin", "regulators"] else {
            throw .malformed("genesis payload must have exactly format, operator, origin, regulators")
        }
        guard obj["format"]?.stringValue == Genesis.format else { throw .malformed("genesis format must be \"\(Genesis.format)\"") }
        guard let origin = obj["origin"]?.stringValue else { throw .malformed("genesis origin must be a string") }
        let op = try Genesis.parseKey(obj["operator"], "operator")
        guard let regs = obj["regulators"]?.objectValue, Set(regs.keys) == Set(Region.allCases.map(\.rawValue)) else {
            throw .malformed("genesis regulators must have exactly GD, HK, MO")
        }
        var map: [Region: VerifierKey] = [:]
        for r in Region.allCases { map[r] = try Genesis.parseKey(regs[r.rawValue], "regulator \(r.rawValue)") }
        try self.init(origin: origin, operatorKey: op, regulators: map)
    }

    private static func parseKey(_ v: JSONValue?, _ what: String) throws(LedgerError) -> VerifierKey {
        guard let s = v?.stringValue else { throw .malformed("genesis \(what) key must be a verifier key string") }
        do {
            let k = try VerifierKey(parsing: s)
            guard k.algorithm == .ed25519 else { throw LedgerError.malformed("genesis \(what) key must be an Ed25519 note key") }
            return k
        } catch let e as LedgerError { throw e } catch {
            throw .malformed("genesis \(what) key \"\(s)\": \(error)")
        }
    }

    /// The payload as JSON.
    public var payload: JSONValue {
        var regs: [String: JSONValue] = [:]
        for (r, k) in regulators { regs[r.rawValue] = .string(k.description) }
        return .object([
            "format": .string(Genesis.format), "origin": .string(origin),
            "operator": .string(operatorKey.description), "regulators": .object(regs),
        ])
    }

    /// The region whose regulator key is `key`, if any.
    public func regulatorRegion(of key: PublicKey) -> Region? {
        regulators.first { $0.value.publicKey == key }?.key
    }
}

/// A public risk warning or notice from a regulator (kind `notice`).
///
/// ```json
/// {"level":"warning","title":"…","text":"…","products":["https://id.gs1.org/01/…"],"categories":["infant-formula"]}
/// ```
/// `products` and `categories` are optional; `level` is `notice` or `warning`.
public struct Notice: Sendable, Equatable {
    /// The statement kind.
    public static let kind = "notice"
    /// Allowed levels.
    public static let levels = ["notice", "warning"]

    public let level: String
    public let title: String
    public let text: String
    public let products: [String]
    public let categories: [String]

    /// Builds a notice, validating every field.
    public init(level: String, title: String, text: String, products: [String] = [], categories: [String] = []) throws(LedgerError) {
        guard Notice.levels.contains(level) else { throw .malformed("notice level \"\(level)\" must be notice or warning") }
        guard Notice.length(of: title, within: 200) else { throw .malformed("notice title must be 1–200 characters") }
        guard Notice.length(of: text, within: 5000) else { throw .malformed("notice text must be 1–5000 characters") }
        guard products.count <= 1000, categories.count <= 1000 else { throw .malformed("a notice names at most 1000 products and 1000 categories") }
        for list in [products, categories] where !list.allSatisfy({ Notice.length(of: $0, within: 256) }) {
            throw .malformed("notice products and categories must be 1–256 characters each")
        }
        self.level = level; self.title = title; self.text = text; self.products = products; self.categories = categories
    }

    /// True when `s` has 1 to `limit` characters. A string has no more characters than UTF-8 bytes,
    /// so characters are only counted when the bytes exceed the limit.
    static func length(of s: String, within limit: Int) -> Bool {
        !s.isEmpty && (s.utf8.count <= limit || s.count <= limit)
    }

    private static let fields: Set<String> = ["level", "title", "text", "products", "categories"]

    /// Parses and validates a notice payload.
    public init(payload: JSONValue) throws(LedgerError) {
        guard let obj = payload.objectValue else { throw .malformed("notice payload must be an object") }
        if !obj.keys.allSatisfy(Notice.fields.contains) {
            let extra = Set(obj.keys).subtracting(Notice.fields)
            throw .malformed("unexpected notice field(s) \(extra.sorted().joined(separator: ", "))")
        }
        guard let level = obj["level"]?.stringValue else { throw .malformed("notice needs a string \"level\" (notice or warning)") }
        guard let title = obj["title"]?.stringValue else { throw .malformed("notice needs a string \"title\"") }
        guard let text = obj["text"]?.stringValue else { throw .malformed("notice needs a string \"text\"") }
        func strings(_ k: String) throws(LedgerError) -> [String] {
            guard let v = obj[k] else { return [] }
            guard let a = v.arrayValue else { throw .malformed("notice \"\(k)\" must be an array of strings") }
            var out: [String] = []
            for e in a {
                guard let s = e.stringValue else { throw .malformed("notice \"\(k)\" must be an array of strings") }
                out.append(s)
            }
            return out
        }
        try self.init(level: level, title: title, text: text, products: try strings("products"), categories: try strings("categories"))
    }

    /// The payload as JSON (empty lists omitted).
    public var payload: JSONValue {
        var o: [String: JSONValue] = ["level": .string(level), "title": .string(title), "text": .string(text)]
        if !products.isEmpty { o["products"] = .array(products.map { .string($0) }) }
        if !categories.isEmpty { o["categories"] = .array(categories.map { .string($0) }) }
        return .object(o)
    }
}

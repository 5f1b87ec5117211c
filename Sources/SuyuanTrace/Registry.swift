import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger

// The accreditation registry: facts recorded as ledger entries signed by the regulator keys named in
// genesis, replayed in ledger order (see Specs/registry.md).

/// What a registered body is.
public enum BodyType: String, CaseIterable, Sendable {
    case accreditationBody = "accreditation-body"
    case lab
    case inspectionBody = "inspection-body"
    case certificationBody = "certification-body"
    case enterprise

    /// Conformity assessment bodies issue attestations.
    public var isConformityAssessmentBody: Bool { self == .lab || self == .inspectionBody || self == .certificationBody }
}

/// The status of a body or of one of its accredited scope items.
public enum BodyStatus: String, CaseIterable, Sendable {
    case active, suspended, withdrawn
}

/// One accredited scope item: a product category tested to a standard, e.g. `cosmetics:GB 4806.7-2016`.
public struct ScopeItem: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let category: String
    public let standard: String

    public init(category: String, standard: String) { self.category = category; self.standard = standard }

    /// Parses `CATEGORY:STANDARD` (the category is 1–64 of `a-z 0-9 -`; the standard any non-empty text).
    public init(parsing text: String) throws(LedgerError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw .malformed("scope \"\(text)\" must be CATEGORY:STANDARD, e.g. cosmetics:GB 4806.7-2016")
        }
        try self.init(checking: String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    init(checking category: String, _ standard: String) throws(LedgerError) {
        guard !category.isEmpty, category.utf8.count <= 64,
              category.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }) else {
            throw .malformed("scope category \"\(category)\" must be 1–64 characters of a-z, 0-9, '-'")
        }
        let s = standard.trimmingSpaces
        guard !s.isEmpty, s.utf8.count <= 128, s == standard else {
            throw .malformed("scope standard \"\(standard)\" must be 1–128 characters without leading or trailing spaces")
        }
        self.category = category; self.standard = standard
    }

    init(json: JSONValue) throws(LedgerError) {
        let f = try Fields(json, "scope item", allowed: ["category", "standard"])
        try self.init(checking: try f.string("category", maxLength: 64), try f.string("standard", maxLength: 128))
    }

    public var json: JSONValue { .object(["category": .string(category), "standard": .string(standard)]) }
    public var description: String { "\(category):\(standard)" }
    public static func < (a: ScopeItem, b: ScopeItem) -> Bool { (a.category, a.standard) < (b.category, b.standard) }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

/// A status change, effective at a time, of a whole body (`scope` nil) or of one scope item.
public struct StatusChange: Sendable, Equatable {
    public let status: BodyStatus
    public let scope: ScopeItem?
    public let effective: Timestamp
    /// The entry that recorded it.
    public let index: UInt64
}

/// A registered body.
public struct Body: Sendable, Equatable {
    public let id: String
    public let name: String
    public let region: Region
    public let type: BodyType
    /// The accreditation body that accredited it (conformity assessment bodies).
    public let accreditedBy: String?
    /// Its accreditation number.
    public let accreditation: String?
    /// Its accredited scope items.
    public let scope: [ScopeItem]
    /// When its registration (accreditation) is valid.
    public let validity: Validity
    /// Status changes in ledger order.
    public var history: [StatusChange]
    /// The entry that registered it.
    public let index: UInt64

    public init(id: String, name: String, region: Region, type: BodyType, accreditedBy: String?, accreditation: String?,
                scope: [ScopeItem], validity: Validity, history: [StatusChange], index: UInt64) {
        self.id = id; self.name = name; self.region = region; self.type = type; self.accreditedBy = accreditedBy
        self.accreditation = accreditation; self.scope = scope; self.validity = validity; self.history = history; self.index = index
    }

    /// The status of the whole body at `t` (the latest change effective at or before `t`).
    public func status(at t: Timestamp) -> (BodyStatus, StatusChange?) {
        Body.latest(history.filter { $0.scope == nil }, at: t)
    }

    /// The status of one scope item at `t` (the item's own changes; the whole body's status is separate).
    public func status(of item: ScopeItem, at t: Timestamp) -> (BodyStatus, StatusChange?) {
        Body.latest(history.filter { $0.scope == item }, at: t)
    }

    /// The first change after `t` up to `now` that stops the body or the item (for the strict policy).
    public func laterStop(of item: ScopeItem?, after t: Timestamp, upTo now: Timestamp) -> StatusChange? {
        history.filter { ($0.scope == nil || $0.scope == item) && $0.status != .active && $0.effective > t && $0.effective <= now }
            .min { $0.effective < $1.effective }
    }

    private static func latest(_ changes: [StatusChange], at t: Timestamp) -> (BodyStatus, StatusChange?) {
        // Ties on the effective time go to the change recorded later.
        let c = changes.enumerated().filter { $0.element.effective <= t }
            .max { ($0.element.effective, $0.offset) < ($1.element.effective, $1.offset) }?.element
        return (c?.status ?? .active, c)
    }
}

/// A key bound to a body.
public struct KeyBinding: Sendable, Equatable {
    public let key: PublicKey
    public let body: String
    public let role: String
    public let validity: Validity
    /// When the binding was revoked, if it was.
    public var revoked: Timestamp?
    public let index: UInt64

    /// Bound, within validity and not yet revoked at `t`.
    public func isValid(at t: Timestamp) -> Bool { validity.contains(t) && (revoked.map { t < $0 } ?? true) }
}

/// A recognition agreement: `region` accepts results accredited in `acceptFrom` for `scope`.
public struct Agreement: Sendable, Equatable {
    public let region: Region
    public let acceptFrom: [Region]
    public let scope: [ScopeItem]
    public let validity: Validity
    public let index: UInt64
}

/// A region's policy for suspensions that take effect after an attestation was issued.
public enum LaterSuspensionPolicy: String, CaseIterable, Sendable {
    /// Decisions are made as of the attestation's time: a later suspension does not affect it.
    case keep
    /// A suspension, withdrawal or revocation effective after the attestation (up to now) invalidates it.
    case invalidate
}

/// The registry as of some point in the ledger: every registry fact, replayed in ledger order.
public struct Registry: LedgerState, Equatable {
    public static let term = "registry"

    public private(set) var bodies: [String: Body] = [:]
    public private(set) var bindings: [KeyBinding] = []
    public private(set) var agreements: [Agreement] = []
    /// Each region's later-suspension policy (default `keep`), with its effective time.
    public private(set) var policies: [Region: [(effective: Timestamp, policy: LaterSuspensionPolicy)]] = [:]
    private var bindingsByKey: [PublicKey: [Int]] = [:]
    /// The entries that recorded facts about each body (registration, status changes) and each key
    /// (bindings, revocations), and those that concern everyone (agreements, policies).
    private var recordedAbout: [Subject: [UInt64]] = [:]
    /// The ledger's genesis: who the regulators are.
    public let genesis: Genesis

    public init(genesis: Genesis) { self.genesis = genesis }

    public static func == (a: Registry, b: Registry) -> Bool {
        a.bodies == b.bodies && a.bindings == b.bindings && a.agreements == b.agreements
    }

    /// The bindings of `key`, in ledger order.
    public func bindings(of key: PublicKey) -> [KeyBinding] { (bindingsByKey[key] ?? []).map { bindings[$0] } }

    /// What a registry entry is about.
    private enum Subject: Hashable {
        case body(String), key(PublicKey), everyone

        /// Its index term (`Specs/registry.md` §4).
        var term: String {
            switch self {
            case .body(let id): return "registry:body:\(id)"
            case .key(let k): return "registry:key:\(DIDKey.encode(k))"
            case .everyone: return "registry:everyone"
            }
        }
    }

    /// The index term of the registry entries about body `id`: its registration and status changes.
    public static func term(body id: String) -> String { Subject.body(id).term }
    /// The index term of the registry entries about `key`: its bindings and revocations.
    public static func term(key: PublicKey) -> String { Subject.key(key).term }
    /// The index term of the registry entries every verdict depends on: agreements and policies.
    public static let everyoneTerm = Subject.everyone.term

    /// The index terms of an accepted registry statement: `registry` and the term of what it is about.
    static func terms(_ statement: Statement) -> [String] {
        [term] + (Fact(statement).map { [$0.subject.term] } ?? [])
    }

    /// The registry entries a verdict about `bodies` and `keys` depends on, in ledger order: each
    /// body's registration and status changes, each key's bindings and revocations, and every
    /// agreement and policy.
    public func entryIndexes(bodies: Set<String>, keys: Set<PublicKey>) -> [UInt64] {
        let subjects = [Subject.everyone] + bodies.map(Subject.body) + keys.map(Subject.key)
        return subjects.flatMap { recordedAbout[$0] ?? [] }.sorted()
    }

    /// The policy of `region` in force at `t`.
    public func policy(of region: Region, at t: Timestamp) -> LaterSuspensionPolicy {
        policies[region]?.last { $0.effective <= t }?.policy ?? .keep
    }

    /// Folds in one registry entry. Entries that do not parse (only possible in a tampered ledger, which
    /// the audit reports) are skipped.
    public mutating func apply(_ entry: Entry) {
        apply(Fact(entry.statement), index: entry.index)
    }

    /// Folds in registry entries in order; their payloads are parsed on all cores first.
    public mutating func apply(all entries: [Entry]) {
        for (e, f) in zip(entries, Parallel.map(entries) { Fact($0.statement) }) { apply(f, index: e.index) }
    }

    /// What one registry entry says, parsed from its payload alone (nil when it does not parse).
    private enum Fact: Sendable {
        case body(BodyPayload), status(StatusPayload), keyBinding(KeyBindingPayload)
        case keyRevocation(KeyRevocationPayload, signer: PublicKey), agreement(AgreementPayload), policy(PolicyPayload)

        init?(_ s: Statement) {
            do throws(LedgerError) {
                switch s.kind {
                case TraceKind.body: self = .body(try BodyPayload(s.payload))
                case TraceKind.status: self = .status(try StatusPayload(s.payload))
                case TraceKind.keyBinding: self = .keyBinding(try KeyBindingPayload(s.payload))
                case TraceKind.keyRevocation: self = .keyRevocation(try KeyRevocationPayload(s.payload), signer: try s.signerKey())
                case TraceKind.agreement: self = .agreement(try AgreementPayload(s.payload))
                case TraceKind.policy: self = .policy(try PolicyPayload(s.payload))
                default: return nil
                }
            } catch { return nil }
        }

        var subject: Subject {
            switch self {
            case .body(let b): return .body(b.id)
            case .status(let c): return .body(c.body)
            case .keyBinding(let b): return .key(b.key)
            case .keyRevocation(let r, _): return .key(r.key)
            case .agreement, .policy: return .everyone
            }
        }
    }

    private mutating func apply(_ fact: Fact?, index: UInt64) {
        guard let fact else { return }
        recordedAbout[fact.subject, default: []].append(index)
        switch fact {
        case .body(let b):
            if bodies[b.id] == nil { bodies[b.id] = b.body(index: index) }
        case .status(let c):
            bodies[c.body]?.history.append(StatusChange(status: c.status, scope: c.scope, effective: c.effective, index: index))
        case .keyBinding(let b):
            bindingsByKey[b.key, default: []].append(bindings.count)
            bindings.append(KeyBinding(key: b.key, body: b.body, role: b.role, validity: b.validity, revoked: nil, index: index))
        case .keyRevocation(let r, let signer):
            guard let region = genesis.regulatorRegion(of: signer) else { return }
            for i in bindingsByKey[r.key] ?? [] where bindings[i].revoked == nil {
                // A revocation ends the key's bindings to bodies of the revoking regulator's region.
                if bodies[bindings[i].body]?.region == region { bindings[i].revoked = r.effective }
            }
        case .agreement(let a):
            agreements.append(Agreement(region: a.region, acceptFrom: a.acceptFrom, scope: a.scope, validity: a.validity, index: index))
        case .policy(let p):
            policies[p.region, default: []].append((p.effective, p.laterSuspension))
            policies[p.region]!.sort { $0.effective < $1.effective }
        }
    }
}

// MARK: Payloads

/// `registry.body`: `{"id","name","region","type",["accreditedBy","accreditation","scope":[{category,standard}]],"validFrom",["validUntil"]}`.
struct BodyPayload {
    static let fields: Set<String> = ["id", "name", "region", "type", "accreditedBy", "accreditation", "scope", "validFrom", "validUntil"]
    let id: String, name: String, region: Region, type: BodyType
    let accreditedBy: String?, accreditation: String?, scope: [ScopeItem], validity: Validity

    init(_ p: JSONValue) throws(LedgerError) {
        let f = try Fields(p, "registry.body payload", allowed: Self.fields)
        id = try f.string("id", maxLength: 64)
        guard id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw .malformed("body id \"\(id)\" must be printable ASCII without spaces") }
        name = try f.string("name")
        region = try f.region("region")
        type = try f.oneOf("type", BodyType.self)
        accreditedBy = try f.optionalString("accreditedBy", maxLength: 64)
        accreditation = try f.optionalString("accreditation")
        var items: [ScopeItem] = []
        for v in try f.array("scope", required: false) { items.append(try ScopeItem(json: v)) }
        scope = items
        validity = Validity(from: try f.time("validFrom"), until: try f.optionalTime("validUntil"))
        if let u = validity.until, u <= validity.from { throw .malformed("registry.body validUntil must be after validFrom") }
        if type.isConformityAssessmentBody {
            guard accreditedBy != nil, accreditation != nil, !scope.isEmpty else {
                throw .malformed("a \(type.rawValue) needs accreditedBy, accreditation and at least one scope item")
            }
        } else if !scope.isEmpty || accreditedBy != nil {
            throw .malformed("only labs, inspection bodies and certification bodies have an accreditation and scope; a \(type.rawValue) does not")
        }
    }

    func body(index: UInt64) -> Body {
        Body(id: id, name: name, region: region, type: type, accreditedBy: accreditedBy, accreditation: accreditation,
             scope: scope, validity: validity, history: [], index: index)
    }
}

/// `registry.status`: `{"body","status",["scope"],"effective"}`.
struct StatusPayload {
    let body: String, status: BodyStatus, scope: ScopeItem?, effective: Timestamp
    init(_ p: JSONValue) throws(LedgerError) {
        let f = try Fields(p, "registry.status payload", allowed: ["body", "status", "scope", "effective"])
        body = try f.string("body", maxLength: 64)
        status = try f.oneOf("status", BodyStatus.self)
        scope = try f.object["scope"].map { v throws(LedgerError) in try ScopeItem(json: v) }
        effective = try f.time("effective")
    }
}

/// `registry.key-binding`: `{"body","key":did:key,"role","validFrom",["validUntil"]}`.
struct KeyBindingPayload {
    let body: String, key: PublicKey, role: String, validity: Validity
    init(_ p: JSONValue) throws(LedgerError) {
        let f = try Fields(p, "registry.key-binding payload", allowed: ["body", "key", "role", "validFrom", "validUntil"])
        body = try f.string("body", maxLength: 64)
        key = try Self.key(try f.string("key"))
        role = try f.optionalString("role", maxLength: 64) ?? "inspector"
        validity = Validity(from: try f.time("validFrom"), until: try f.optionalTime("validUntil"))
        if let u = validity.until, u <= validity.from { throw .malformed("registry.key-binding validUntil must be after validFrom") }
    }

    static func key(_ did: String) throws(LedgerError) -> PublicKey {
        do { return try DIDKey.decode(did) } catch { throw .malformed("key \"\(did)\" is not an Ed25519 did:key") }
    }
}

/// `registry.key-revocation`: `{"key":did:key,"effective"}`.
struct KeyRevocationPayload {
    let key: PublicKey, effective: Timestamp
    init(_ p: JSONValue) throws(LedgerError) {
        let f = try Fields(p, "registry.key-revocation payload", allowed: ["key", "effective"])
        key = try KeyBindingPayload.key(try f.string("key"))
        effective = try f.time("effective")
    }
}

/// `registry.agreement`: `{"region","acceptFrom":[regions],"scope":[items],"from",["until"]}`.
struct AgreementPayload {
    let region: Region, acceptFrom: [Region], scope: [ScopeItem], validity: Validity
    init(_ p: JSONValue) throws(LedgerError) {
        let f = try Fields(p, "registry.agreement payload", allowed: ["region", "acceptFrom", "scope", "from", "until"])
        region = try f.region("region")
        var from: [Region] = []
        for v in try f.array("acceptFrom", maxCount: 3) {
            guard let s = v.stringValue, let r = Region(rawValue: s) else { throw .malformed("registry.agreement acceptFrom must list GD, HK or MO") }
            from.append(r)
        }
        guard !from.isEmpty, Set(from).count == from.count, !from.contains(region) else {
            throw .malformed("registry.agreement acceptFrom must list other regions than \(region.rawValue), each once")
        }
        acceptFrom = from
        var items: [ScopeItem] = []
        for v in try f.array("scope") { items.append(try ScopeItem(json: v)) }
        guard !items.isEmpty else { throw .malformed("registry.agreement needs at least one scope item") }
        scope = items
        validity = Validity(from: try f.time("from"), until: try f.optionalTime("until"))
        if let u = validity.until, u <= validity.from { throw .malformed("registry.agreement until must be after from") }
    }
}

/// `registry.policy`: `{"region","laterSuspension":"keep"|"invalidate","effective"}`.
struct PolicyPayload {
    let region: Region, laterSuspension: LaterSuspensionPolicy, effective: Timestamp
    init(_ p: JSONValue) throws(LedgerError) {
        let f = try Fields(p, "registry.policy payload", allowed: ["region", "laterSuspension", "effective"])
        region = try f.region("region")
        laterSuspension = try f.oneOf("laterSuspension", LaterSuspensionPolicy.self)
        effective = try f.time("effective")
    }
}

// MARK: Building registry statements

/// Payload builders for the registry kinds (the inverse of the parsers above).
public enum RegistryPayload {
    public static func body(
        id: String, name: String, region: Region, type: BodyType, accreditedBy: String? = nil, accreditation: String? = nil,
        scope: [ScopeItem] = [], validity: Validity
    ) throws(LedgerError) -> JSONValue {
        var o: [String: JSONValue] = ["id": .string(id), "name": .string(name), "region": .string(region.rawValue),
                                      "type": .string(type.rawValue), "validFrom": .string(validity.from.millisecondString)]
        if let a = accreditedBy { o["accreditedBy"] = .string(a) }
        if let a = accreditation { o["accreditation"] = .string(a) }
        if !scope.isEmpty { o["scope"] = .array(scope.map(\.json)) }
        if let u = validity.until { o["validUntil"] = .string(u.millisecondString) }
        let v = JSONValue.object(o)
        _ = try BodyPayload(v)
        return v
    }

    public static func status(body: String, status: BodyStatus, scope: ScopeItem? = nil, effective: Timestamp) -> JSONValue {
        var o: [String: JSONValue] = ["body": .string(body), "status": .string(status.rawValue), "effective": .string(effective.millisecondString)]
        if let s = scope { o["scope"] = s.json }
        return .object(o)
    }

    public static func keyBinding(body: String, key: PublicKey, role: String = "inspector", validity: Validity) throws(LedgerError) -> JSONValue {
        var o: [String: JSONValue] = ["body": .string(body), "key": .string(DIDKey.encode(key)), "role": .string(role),
                                      "validFrom": .string(validity.from.millisecondString)]
        if let u = validity.until { o["validUntil"] = .string(u.millisecondString) }
        let v = JSONValue.object(o)
        _ = try KeyBindingPayload(v)
        return v
    }

    public static func keyRevocation(key: PublicKey, effective: Timestamp) -> JSONValue {
        .object(["key": .string(DIDKey.encode(key)), "effective": .string(effective.millisecondString)])
    }

    public static func agreement(region: Region, acceptFrom: [Region], scope: [ScopeItem], validity: Validity) throws(LedgerError) -> JSONValue {
        var o: [String: JSONValue] = ["region": .string(region.rawValue), "acceptFrom": .array(acceptFrom.map { .string($0.rawValue) }),
                                      "scope": .array(scope.map(\.json)), "from": .string(validity.from.millisecondString)]
        if let u = validity.until { o["until"] = .string(u.millisecondString) }
        let v = JSONValue.object(o)
        _ = try AgreementPayload(v)
        return v
    }

    public static func policy(region: Region, laterSuspension: LaterSuspensionPolicy, effective: Timestamp) -> JSONValue {
        .object(["region": .string(region.rawValue), "laterSuspension": .string(laterSuspension.rawValue), "effective": .string(effective.millisecondString)])
    }

    public static func attestationStatus(attestation: String, status: AttestationState, reason: String, effective: Timestamp) -> JSONValue {
        .object(["attestation": .string(attestation), "status": .string(status.rawValue), "reason": .string(reason), "effective": .string(effective.millisecondString)])
    }
}

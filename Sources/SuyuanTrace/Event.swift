import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger

/// The namespace of Suyuan's EPCIS extensions (customs release, bonded zones, allowed ranges).
public enum SuyuanEPCIS {
    public static let namespace = "https://suyuan.example/ns/epcis/"
    public static let prefix = "suyuan"
    /// The JSON-LD `@context` of documents Suyuan writes.
    public static let context: JSONValue = [
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        .object([prefix: .string(namespace), "cbvmda": "urn:epcglobal:cbv:mda:"]),
    ]
    static func key(_ name: String) -> String { prefix + ":" + name }
    /// The extension fields an event is read for, named once (every event is looked up for each).
    static let allowedRangeKey = key("allowedRange"), customsReleaseKey = key("customsRelease"),
               bondedZoneKey = key("bondedZone"), reasonKey = key("reason")
    /// The hash context of events without a document: the EPCIS 2.0 prefixes plus `suyuan`.
    public static let hashContext = EventHash.Context(namespaces: [prefix: namespace], ignoredFields: [])

    /// The `context` member of an event statement's payload: the namespaces and ignored fields that
    /// differ from `hashContext` (nil when none do).
    static func payloadContext(_ c: EventHash.Context) -> JSONValue? {
        let extra = c.namespaces.filter { hashContext.namespaces[$0.key] != $0.value }
        if extra.isEmpty && c.ignoredFields.isEmpty { return nil }
        return .object(["namespaces": .object(extra.mapValues { .string($0) }), "ignoredFields": .array(c.ignoredFields.sorted().map { .string($0) })])
    }

    /// The hash context a payload's `context` member describes.
    static func context(from v: JSONValue?) throws(LedgerError) -> EventHash.Context {
        guard let v else { return hashContext }
        let f = try Fields(v, "event payload context", allowed: ["namespaces", "ignoredFields"])
        var ns: [String: String] = [prefix: namespace]
        for (k, x) in f.object["namespaces"]?.objectValue ?? [:] {
            guard let u = x.stringValue else { throw .malformed("event payload context.namespaces.\(k) must be a string") }
            ns[k] = u
        }
        let ignored = try f.array("ignoredFields", required: false).map { x throws(LedgerError) in
            guard let s = x.stringValue else { throw .malformed("event payload context.ignoredFields must hold strings") }
            return s
        }
        return EventHash.Context(namespaces: ns, ignoredFields: ignored)
    }
}

/// A sensor reading from `sensorElementList`.
public struct SensorReading: Sendable, Equatable {
    /// The measurement type without prefix, e.g. `Temperature`.
    public let type: String
    public let value: Double
    public let uom: String?
}

/// A closed allowed range for a measurement (e.g. 2–8 °C for a cold-chain product).
public struct AllowedRange: Sendable, Equatable {
    public let type: String
    public let min: Double
    public let max: Double
    public let uom: String?

    public func contains(_ v: Double) -> Bool { v >= min && v <= max }
    var json: JSONValue {
        var o: [String: JSONValue] = ["type": .string(type), "minValue": .number(min), "maxValue": .number(max)]
        if let u = uom { o["uom"] = .string(u) }
        return .object(o)
    }
}

/// Customs release of one consumer order (cross-border e-commerce, mode 1210 by default). Carries no
/// personal data: only a hash of the order.
public struct CustomsRelease: Sendable, Equatable {
    public let declaration: String
    public let mode: String
    public let orderHash: String?
}

/// One GS1 EPCIS 2.0 event, parsed and checked (see `Specs/journey.md`). `json` is the event as
/// recorded, with its CBV 2.0 event hash in `eventID`.
public struct EPCISEvent: Sendable, Equatable {
    /// The fields, held once in a box: events travel through dictionaries, tuples, results and sorts
    /// while a journey is built, and a copy is then one reference count instead of one per field.
    private struct Fields: Sendable {
        let json: JSONValue, context: EventHash.Context, type: String, eventID: String, time: Timestamp
        let action: String?, bizStep: String?, disposition: String?, readPoint: String?
        let bizLocation: String?, objects: [String], parent: String?, children: [String]
        let sensorReadings: [SensorReading], allowedRange: AllowedRange?, persistentSet: [String]
        let persistentUnset: [String], isErrorDeclaration: Bool, errorReason: String?
        let customsRelease: CustomsRelease?, bondedZone: String?, lot: String?, countryOfOrigin: String?
        let expiry: String?, reason: String?
    }
    private final class Box: Sendable {
        let f: Fields
        init(_ f: Fields) { self.f = f }
    }
    private let box: Box

    public var json: JSONValue { box.f.json }
    /// The namespaces and ignored fields the hash was computed with (from the event's document).
    public var context: EventHash.Context { box.f.context }
    public var type: String { box.f.type }
    public var eventID: String { box.f.eventID }
    public var time: Timestamp { box.f.time }
    public var action: String? { box.f.action }
    /// The CBV business step's bare name (`shipping`) or, outside CBV, the full URI.
    public var bizStep: String? { box.f.bizStep }
    public var disposition: String? { box.f.disposition }
    public var readPoint: String? { box.f.readPoint }
    public var bizLocation: String? { box.f.bizLocation }
    /// Every object the event names: EPCs and classes, parents, children, inputs and outputs.
    public var objects: [String] { box.f.objects }
    /// AggregationEvent parent and children.
    public var parent: String? { box.f.parent }
    public var children: [String] { box.f.children }
    public var sensorReadings: [SensorReading] { box.f.sensorReadings }
    public var allowedRange: AllowedRange? { box.f.allowedRange }
    public var persistentSet: [String] { box.f.persistentSet }
    public var persistentUnset: [String] { box.f.persistentUnset }
    public var isErrorDeclaration: Bool { box.f.isErrorDeclaration }
    public var errorReason: String? { box.f.errorReason }
    public var customsRelease: CustomsRelease? { box.f.customsRelease }
    public var bondedZone: String? { box.f.bondedZone }
    /// From commissioning `ilmd`.
    public var lot: String? { box.f.lot }
    public var countryOfOrigin: String? { box.f.countryOfOrigin }
    public var expiry: String? { box.f.expiry }
    /// `suyuan:reason` (recalls, holds).
    public var reason: String? { box.f.reason }

    /// Every other field is derived from the recorded event and the hash context.
    public static func == (a: EPCISEvent, b: EPCISEvent) -> Bool {
        a.box === b.box || (a.json == b.json && a.context == b.context)
    }

    static let maxObjects = 10_000

    /// Parses an event object. Adds `eventID` (the CBV 2.0 event hash) when absent; when present it
    /// must be that hash, else the error shows both values.
    public init(_ value: JSONValue, context: EventHash.Context = SuyuanEPCIS.hashContext) throws(LedgerError) {
        try self.init(value, context: context, acceptingRecordedID: false)
    }

    /// As above; with `acceptingRecordedID`, a CBV 2.0 `eventID` (`ni:///…`) present in the event is
    /// taken as is instead of being recomputed. Only for events whose ID a rule already checked.
    init(_ value: JSONValue, context: EventHash.Context, acceptingRecordedID: Bool) throws(LedgerError) {
        guard case .object(var o) = value else { throw .malformed("an EPCIS event must be a JSON object") }
        func bad(_ field: String, _ why: String) -> LedgerError { .malformed("EPCIS event field \"\(field)\": \(why)") }
        /// A required string field: missing and of the wrong JSON type are told apart.
        func text(_ field: String, _ expected: String) throws(LedgerError) -> String {
            guard let v = o[field] else { throw bad(field, "missing; expected \(expected)") }
            guard let s = v.stringValue else { throw bad(field, "must be a string (\(expected))") }
            return s
        }
        let type = try text("type", "ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent")
        guard EventHash.eventTypes.contains(type) else { throw bad("type", "\"\(type)\" is not an EPCIS 2.0 event type") }
        let tt = try text("eventTime", "an ISO 8601 time with offset")
        guard let time = EPCISEvent.parseTime(tt) else { throw bad("eventTime", "\"\(tt)\" is not an ISO 8601 date-time with Z or an offset") }
        let tz = try text("eventTimeZoneOffset", "±HH:MM, e.g. +08:00")
        guard EPCISEvent.isOffset(tz) else { throw bad("eventTimeZoneOffset", "\"\(tz)\" must be ±HH:MM") }
        var action: String?
        if type != "TransformationEvent" {
            let a = try text("action", "ADD, OBSERVE or DELETE")
            guard ["ADD", "OBSERVE", "DELETE"].contains(a) else { throw bad("action", "\"\(a)\" must be ADD, OBSERVE or DELETE") }
            action = a
        }
        let bizStep = try EPCISEvent.cbv(o["bizStep"], "bizStep", Vocabulary.bizStep, "urn:epcglobal:cbv:bizstep:")
        let disposition = try EPCISEvent.cbv(o["disposition"], "disposition", Vocabulary.disposition, "urn:epcglobal:cbv:disp:")

        // Objects.
        var objects: [String] = []
        func ids(_ key: String) throws(LedgerError) -> [String] {
            guard let v = o[key] else { return [] }
            guard let a = v.arrayValue else { throw bad(key, "must be an array of identifiers") }
            var out: [String] = []
            for (i, x) in a.enumerated() {
                guard let s = x.stringValue else { throw bad("\(key)[\(i)]", "must be a string") }
                out.append(try EPCISEvent.identifier(s, "\(key)[\(i)]"))
            }
            return out
        }
        func classes(_ key: String) throws(LedgerError) -> [String] {
            guard let v = o[key] else { return [] }
            guard let a = v.arrayValue else { throw bad(key, "must be an array of {epcClass, quantity, uom}") }
            var out: [String] = []
            for (i, x) in a.enumerated() {
                guard let q = x.objectValue, let c = q["epcClass"]?.stringValue else { throw bad("\(key)[\(i)].epcClass", "missing") }
                if let n = q["quantity"], n.doubleValue == nil { throw bad("\(key)[\(i)].quantity", "must be a number") }
                out.append(try EPCISEvent.identifier(c, "\(key)[\(i)].epcClass"))
            }
            return out
        }
        var parent: String?
        if let p = o["parentID"] {
            guard let s = p.stringValue else { throw bad("parentID", "must be a string") }
            parent = try EPCISEvent.identifier(s, "parentID")
        }
        let children = try ids("childEPCs")
        for k in ["epcList", "inputEPCList", "outputEPCList"] { objects += try ids(k) }
        for k in ["quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"] { objects += try classes(k) }
        objects += children
        if let p = parent { objects.append(p) }
        if type == "AggregationEvent" || type == "AssociationEvent" {
            guard parent != nil || action == "OBSERVE" else { throw bad("parentID", "an \(type) with action \(action ?? "") needs a parentID") }
        }
        guard !objects.isEmpty else {
            throw .malformed("the EPCIS event identifies no object: give epcList, childEPCs, parentID, quantityList, inputEPCList or outputEPCList")
        }
        guard objects.count <= EPCISEvent.maxObjects else { throw bad("epcList", "more than \(EPCISEvent.maxObjects) objects in one event") }

        func location(_ key: String) throws(LedgerError) -> String? {
            guard let v = o[key] else { return nil }
            guard let s = v.objectValue?["id"]?.stringValue else { throw bad("\(key).id", "missing") }
            return try EPCISEvent.identifier(s, "\(key).id")
        }
        let readPoint = try location("readPoint"), bizLocation = try location("bizLocation")

        // Sensor readings.
        var readings: [SensorReading] = []
        if let sel = o["sensorElementList"] {
            guard let list = sel.arrayValue else { throw bad("sensorElementList", "must be an array") }
            for (i, el) in list.enumerated() {
                guard let reports = el.objectValue?["sensorReport"]?.arrayValue else { throw bad("sensorElementList[\(i)].sensorReport", "missing") }
                for (j, r) in reports.enumerated() {
                    guard let ro = r.objectValue else { throw bad("sensorElementList[\(i)].sensorReport[\(j)]", "must be an object") }
                    guard let t = ro["type"]?.stringValue else { continue }
                    guard let v = ro["value"] else { continue }
                    guard let d = v.doubleValue else { throw bad("sensorElementList[\(i)].sensorReport[\(j)].value", "must be a number") }
                    readings.append(SensorReading(type: EPCISEvent.bareMeasurement(t), value: d, uom: ro["uom"]?.stringValue))
                }
            }
        }
        var range: AllowedRange?
        if let r = o[SuyuanEPCIS.allowedRangeKey] {
            guard let ro = r.objectValue, let t = ro["type"]?.stringValue, let lo = ro["minValue"]?.doubleValue, let hi = ro["maxValue"]?.doubleValue, lo <= hi else {
                throw bad("suyuan:allowedRange", "must be {type, minValue, maxValue[, uom]} with minValue ≤ maxValue")
            }
            range = AllowedRange(type: EPCISEvent.bareMeasurement(t), min: lo, max: hi, uom: ro["uom"]?.stringValue)
        }
        var set: [String] = [], unset: [String] = []
        if let pd = o["persistentDisposition"] {
            guard let po = pd.objectValue else { throw bad("persistentDisposition", "must be an object with set and/or unset") }
            for (k, dest) in [("set", 0), ("unset", 1)] {
                for (i, x) in (po[k]?.arrayValue ?? []).enumerated() {
                    guard let v = try EPCISEvent.cbv(x, "persistentDisposition.\(k)[\(i)]", Vocabulary.disposition, "urn:epcglobal:cbv:disp:") else { continue }
                    if dest == 0 { set.append(v) } else { unset.append(v) }
                }
            }
        }
        var isError = false, errorReason: String?
        if let ed = o["errorDeclaration"] {
            guard let eo = ed.objectValue, let dt = eo["declarationTime"]?.stringValue, EPCISEvent.parseTime(dt) != nil else {
                throw bad("errorDeclaration.declarationTime", "missing or not an ISO 8601 date-time")
            }
            isError = true
            errorReason = eo["reason"]?.stringValue
        }
        var customs: CustomsRelease?
        if let c = o[SuyuanEPCIS.customsReleaseKey] {
            guard let co = c.objectValue, let d = co["declarationNumber"]?.stringValue, !d.isEmpty, d.utf8.count <= 64 else {
                throw bad("suyuan:customsRelease.declarationNumber", "missing (1–64 characters)")
            }
            let mode = co["mode"]?.stringValue ?? "1210"
            let h = co["orderHash"]?.stringValue
            if let h, h.utf8.count != 64 || Hex.decode(h) == nil || h != h.lowercased() {
                throw bad("suyuan:customsRelease.orderHash", "must be 64 lowercase hex digits (SHA-256 of the order); never the order itself")
            }
            let allowed: Set<String> = ["declarationNumber", "mode", "orderHash"]
            if let extra = Set(co.keys).subtracting(allowed).first {
                throw bad("suyuan:customsRelease.\(extra)", "not allowed: a customs release records only the declaration number, the mode and an order hash (no personal data)")
            }
            customs = CustomsRelease(declaration: d, mode: mode, orderHash: h)
        }
        var zone: String?
        if let z = o[SuyuanEPCIS.bondedZoneKey] {
            guard let s = z.stringValue, BondedZone(rawValue: s) != nil else {
                throw bad("suyuan:bondedZone", "must be one of \(BondedZone.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            zone = s
        }
        let ilmd = o["ilmd"]?.objectValue
        func ilmdString(_ k: String) -> String? { ilmd?["cbvmda:" + k]?.stringValue ?? ilmd?[k]?.stringValue }

        // Event ID: the CBV 2.0 hash.
        let computed: String
        if acceptingRecordedID, let recorded = o["eventID"]?.stringValue, recorded.hasPrefix("ni:///") {
            computed = recorded
        } else {
            do { computed = try EventHash.eventID(of: value, context: context) } catch { throw .malformed("EPCIS event: \(error)") }
        }
        if let given = o["eventID"] {
            guard let s = given.stringValue else { throw bad("eventID", "must be a string") }
            if s.hasPrefix("ni:///") {
                guard s == computed else {
                    throw .malformed("EPCIS event eventID \(s) does not match the event's CBV 2.0 hash \(computed); the event was changed or hashed differently")
                }
            }
            // Another kind of ID (e.g. urn:uuid) is replaced: the CBV hash is the ledger's event ID.
        }
        let json: JSONValue
        if o["eventID"]?.stringValue == computed {
            json = value  // already carries its ID: no copy of the object
        } else {
            o["eventID"] = .string(computed)
            json = .object(o)
        }
        box = Box(Fields(json: json, context: context, type: type, eventID: computed, time: time, action: action,
                        bizStep: bizStep, disposition: disposition, readPoint: readPoint, bizLocation: bizLocation,
                        objects: Array(Set(objects)).sorted(), parent: parent, children: children,
                        sensorReadings: readings, allowedRange: range, persistentSet: set, persistentUnset: unset,
                        isErrorDeclaration: isError, errorReason: errorReason, customsRelease: customs, bondedZone: zone,
                        lot: ilmdString("lotNumber"), countryOfOrigin: ilmdString("countryOfOrigin"), expiry: ilmdString("itemExpirationDate"),
                        reason: o[SuyuanEPCIS.reasonKey]?.stringValue))
    }

    /// The event an `event` statement records.
    public init(statement: Statement) throws(LedgerError) { self = try EventRule.parse(statement) }

    /// Index terms: `product:<id>` for every object and `event:<eventID>`.
    var terms: [String] { objects.map { "product:\($0)" } + ["event:\(eventID)"] }

    // MARK: Value checks

    /// A CBV value: a bare CBV 2.0 term, its `https://ref.gs1.org/cbv/…` URI or `urn:epcglobal:cbv:…`
    /// URN (all returned as the bare term), or a URI in another namespace (returned as is).
    static func cbv(_ v: JSONValue?, _ field: String, _ vocabulary: Vocabulary, _ urn: String) throws(LedgerError) -> String? {
        guard let v else { return nil }
        guard let s = v.stringValue, !s.isEmpty else { throw .malformed("EPCIS event field \"\(field)\": must be a non-empty string") }
        if vocabulary.terms.contains(s) { return s }
        if s.hasPrefix(vocabulary.prefix), vocabulary.terms.contains(String(s.dropFirst(vocabulary.prefix.count))) { return String(s.dropFirst(vocabulary.prefix.count)) }
        if s.lowercased().hasPrefix(urn), vocabulary.terms.contains(String(s.dropFirst(urn.count))) { return String(s.dropFirst(urn.count)) }
        if s.hasPrefix(vocabulary.prefix) || s.lowercased().hasPrefix(urn) || !s.contains(":") {
            throw .malformed("EPCIS event field \"\(field)\": \"\(s)\" is not a CBV 2.0 value; use a CBV term or a URI in your own namespace (e.g. https://example.com/voc/\(s))")
        }
        return s
    }

    /// An object or location identifier: GS1 codes become their canonical Digital Link URI; other
    /// URIs are kept as given. A malformed GS1 code is an error naming the field.
    static func identifier(_ s: String, _ field: String) throws(LedgerError) -> String {
        // A journey parses the same few codes thousands of times (a case's every sensor reading).
        if let known = canonicalCodes.withLock({ $0[s] }) { return known }
        do {
            let canonical = try ProductCode(parsing: s).canonical
            canonicalCodes.withLock { cache in
                if cache.count >= 4096 { cache.removeAll(keepingCapacity: true) }
                cache[s] = canonical
            }
            return canonical
        } catch {
            let lower = s.lowercased()
            // Codes of the kinds Suyuan resolves must be valid; other identifiers (GRAI, GIAI, other
            // Digital Link keys, any URI) are kept as given.
            let gs1 = ["urn:epc:id:sgtin:", "urn:epc:id:sscc:", "urn:epc:id:sgln:", "urn:epc:class:lgtin:",
                       "https://id.gs1.org/01/", "https://id.gs1.org/00/", "https://id.gs1.org/414/", "("]
            if gs1.contains(where: { lower.hasPrefix($0) }) || s.first?.isNumber == true {
                throw .malformed("EPCIS event field \"\(field)\": \(error)")
            }
            guard s.utf8.count <= 512, let colon = s.firstIndex(of: ":"), colon != s.startIndex,
                  s.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw .malformed("EPCIS event field \"\(field)\": \"\(s)\" is not a GS1 code or a URI")
            }
            return s
        }
    }

    /// Accepted GS1 codes and their canonical forms (bounded: cleared at 4,096).
    private static let canonicalCodes = Mutex<[String: String]>([:])

    static func bareMeasurement(_ t: String) -> String {
        for p in ["gs1:", "https://gs1.org/voc/", "https://ref.gs1.org/voc/"] where t.hasPrefix(p) { return String(t.dropFirst(p.count)) }
        return t
    }

    static func isOffset(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "+") || u[0] == UInt8(ascii: "-"), u[3] == UInt8(ascii: ":") else { return false }
        return [1, 2, 4, 5].allSatisfy { u[$0] >= 0x30 && u[$0] <= 0x39 }
    }

    /// ISO 8601 date-time with `Z` or `±HH:MM`, any number of fraction digits, converted to UTC.
    static func parseTime(_ s: String) -> Timestamp? {
        if let t = Timestamp(parsing: s) { return t }
        guard s.utf8.count >= 25 else { return nil }
        let offset = String(s.suffix(6))
        guard isOffset(offset), let t = Timestamp(parsing: String(s.dropLast(6)) + "Z") else { return nil }
        let u = Array(offset.utf8)
        let h = Int64(u[1] - 0x30) * 10 + Int64(u[2] - 0x30), m = Int64(u[4] - 0x30) * 10 + Int64(u[5] - 0x30)
        let seconds = (h * 60 + m) * 60
        return t.adding(seconds: u[0] == UInt8(ascii: "+") ? -seconds : seconds)
    }
}

/// The bonded zones goods enter in Guangzhou.
public enum BondedZone: String, CaseIterable, Sendable {
    case nansha, baiyun, guangzhou

    public var name: String {
        switch self {
        case .nansha: return "Nansha Bonded Port Area"
        case .baiyun: return "Baiyun Airport Comprehensive Bonded Zone"
        case .guangzhou: return "Guangzhou Bonded Zone"
        }
    }

    public var chineseName: String {
        switch self {
        case .nansha: return "南沙保税港区"
        case .baiyun: return "白云机场综合保税区"
        case .guangzhou: return "广州保税区"
        }
    }

    /// The zone's location identifier (a GLN used as bizLocation).
    public var location: String {
        let base: String
        switch self {
        case .nansha: base = "695000000001"
        case .baiyun: base = "695000000002"
        case .guangzhou: base = "695000000003"
        }
        return ProductCode.canonicalPrefix + "/414/" + base + String(GS1.checkDigit(base))
    }
}

/// `event`: `{"event": <EPCIS 2.0 event>}`, signed by the operator or by a key bound to a registered
/// enterprise or conformity assessment body.
struct EventRule: StatementRule {
    var kind: String { TraceKind.event }

    static func parse(_ s: Statement) throws(LedgerError) -> EPCISEvent { try parse(s, accepted: false) }

    private static let payloadFields: Set<String> = ["event", "context"]

    /// Parses the event of a statement that passed this rule when it was appended (or, in a bundle,
    /// when the bundle was checked): its eventID was then checked against the event's CBV 2.0 hash,
    /// so it is taken as recorded instead of being hashed again (the costly part of reading events).
    static func parseAccepted(_ s: Statement) throws(LedgerError) -> EPCISEvent { try parse(s, accepted: true) }

    private static func parse(_ s: Statement, accepted: Bool) throws(LedgerError) -> EPCISEvent {
        let f = try Fields(s.payload, "event payload", allowed: payloadFields)
        guard let e = f.object["event"] else { throw .malformed("event payload needs the field \"event\" (an EPCIS 2.0 event)") }
        let parsed = try EPCISEvent(e, context: try SuyuanEPCIS.context(from: f.object["context"]), acceptingRecordedID: accepted)
        guard parsed.eventID == e["eventID"]?.stringValue else {
            throw .malformed("the recorded event must carry its CBV 2.0 eventID \(parsed.eventID)")
        }
        return parsed
    }

    func validate(_ statement: Statement) throws(LedgerError) { _ = try Self.parse(statement) }

    // Terms and authorisation are asked only of statements `validate` accepted (the `StatementRule`
    // contract), so the event ID it checked against the CBV 2.0 hash is not hashed again.
    func terms(_ statement: Statement) -> [String] { (try? Self.parseAccepted(statement).terms) ?? [] }

    func authorize(_ statement: Statement, signer: PublicKey, context: AppendContext) throws(LedgerError) {
        guard let registry = context.state as? Registry else { throw .state("the registry is not available to authorise events") }
        if signer != registry.genesis.operatorKey.publicKey {
            let live = registry.bindings(of: signer).filter { b in
                guard b.isValid(at: context.recordedAt), let body = registry.bodies[b.body] else { return false }
                return (body.type == .enterprise || body.type.isConformityAssessmentBody) && body.status(at: context.recordedAt).0 == .active
            }
            guard !live.isEmpty else {
                throw .unauthorized("\(statement.signer) may not record events: it is neither the operator key nor bound now to an active registered enterprise or inspection body")
            }
        }
        let e = try Self.parseAccepted(statement)
        let earlier = try context.entries(indexedBy: "event:\(e.eventID)").filter { $0.statement.kind == TraceKind.event }
        if e.isErrorDeclaration {
            guard earlier.contains(where: { (try? Self.parseAccepted($0.statement))?.isErrorDeclaration == false }) else {
                throw .unauthorized("the error declaration names event \(e.eventID), which is not in the ledger")
            }
            if let d = earlier.first(where: { (try? Self.parseAccepted($0.statement))?.isErrorDeclaration == true }) {
                throw .unauthorized("event \(e.eventID) was already declared in error at entry \(d.index)")
            }
        } else if let first = earlier.first {
            throw .unauthorized("duplicate event: \(e.eventID) is already in the ledger at entry \(first.index)")
        }
    }
}

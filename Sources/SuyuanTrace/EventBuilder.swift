import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger

/// The journey steps `suyuan event STEP` records, and the EPCIS 2.0 event each one builds
/// (the mapping is in `Specs/journey.md`).
public enum JourneyStepKind: String, CaseIterable, Sendable {
    case commission, pack, unpack, ship, receive, transport
    case enterBonded = "enter-bonded"
    case hold, inspect, sample, release, deliver, sensor, recall
    case `return`, destroy
}

/// What a step needs besides the product, time and place.
public struct StepDetails: Sendable {
    public var originCountry: String?
    public var lot: String?
    public var expiry: String?
    public var parent: String?
    public var children: [String] = []
    public var zone: BondedZone?
    public var declaration: String?
    public var orderHash: String?
    public var temperature: Double?
    public var allowedMin: Double?
    public var allowedMax: Double?
    public var reason: String?

    public init() {}
}

public enum EventBuilder {
    /// Builds and checks the EPCIS event for `step` on `product` (a product code, or for pack/unpack
    /// the children are in `details`). Errors name the missing or wrong flag.
    public static func build(_ step: JourneyStepKind, product: String?, time: Timestamp, timeZoneOffset: String = "+00:00",
                             location: String? = nil, details d: StepDetails) throws(LedgerError) -> EPCISEvent {
        func need<T>(_ v: T?, _ flag: String) throws(LedgerError) -> T {
            guard let v else { throw .malformed("`event \(step.rawValue)` needs \(flag)") }
            return v
        }
        func code(_ s: String, _ flag: String) throws(LedgerError) -> String {
            do { return try ProductCode(parsing: s).canonical } catch { throw .malformed("\(flag) \"\(s)\": \(error)") }
        }
        var o: [String: JSONValue] = [
            "type": "ObjectEvent", "action": "OBSERVE",
            "eventTime": .string(time.millisecondString), "eventTimeZoneOffset": .string(timeZoneOffset),
        ]
        let needsProduct = step != .pack && step != .unpack
        if needsProduct { o["epcList"] = [.string(try code(try need(product, "--product CODE"), "--product"))] }
        if let l = location { o["readPoint"] = .object(["id": .string(try EPCISEvent.identifier(l, "--location"))]) }
        func set(_ bizStep: String, _ disposition: String?) {
            o["bizStep"] = .string(bizStep)
            if let d = disposition { o["disposition"] = .string(d) }
        }
        switch step {
        case .commission:
            o["action"] = "ADD"
            set("commissioning", "active")
            let country = try need(d.originCountry, "--origin-country CC")
            guard country.count == 2, country.allSatisfy({ $0.isUppercase && $0.isASCII }) else {
                throw .malformed("--origin-country \"\(country)\" must be an ISO 3166-1 alpha-2 code such as NZ or FR")
            }
            var ilmd: [String: JSONValue] = ["cbvmda:countryOfOrigin": .string(country), "cbvmda:lotNumber": .string(try need(d.lot, "--lot LOT"))]
            if let x = d.expiry {
                guard Timestamp(parsing: x + "T00:00:00Z") != nil else { throw .malformed("--expiry \"\(x)\" must be a date YYYY-MM-DD") }
                ilmd["cbvmda:itemExpirationDate"] = .string(x)
            }
            o["ilmd"] = .object(ilmd)
        case .pack, .unpack:
            o["type"] = "AggregationEvent"
            o["action"] = step == .pack ? "ADD" : "DELETE"
            set(step == .pack ? "packing" : "unpacking", step == .pack ? "in_progress" : nil)
            o["parentID"] = .string(try code(try need(d.parent, "--parent SSCC"), "--parent"))
            var children = d.children
            if children.isEmpty, let p = product { children = [p] }
            if step == .pack && children.isEmpty { throw .malformed("`event pack` needs at least one --child CODE") }
            if !children.isEmpty { o["childEPCs"] = .array(try children.map { c throws(LedgerError) in .string(try code(c, "--child")) }) }
        case .ship: set("shipping", "in_transit")
        case .receive: set("receiving", "in_progress")
        case .transport: set("transporting", "in_transit")
        case .enterBonded:
            let zone = try need(d.zone, "--zone nansha|baiyun|guangzhou")
            set("receiving", "in_progress")
            o["bizLocation"] = .object(["id": .string(zone.location)])
            o[SuyuanEPCIS.key("bondedZone")] = .string(zone.rawValue)
        case .hold: set("holding", "non_sellable_other")
        case .inspect: set("inspecting", nil)
        case .sample: set("sampling", nil)
        case .release:
            set("entering_exiting", "in_transit")
            var c: [String: JSONValue] = ["declarationNumber": .string(try need(d.declaration, "--declaration NO")), "mode": "1210"]
            if let h = d.orderHash { c["orderHash"] = .string(h) }
            o[SuyuanEPCIS.key("customsRelease")] = .object(c)
        case .deliver: set("retail_selling", "retail_sold")
        case .sensor:
            set("sensor_reporting", nil)
            let t = try need(d.temperature, "--temperature C")
            o["sensorElementList"] = [.object(["sensorReport": [.object(["type": "gs1:Temperature", "value": .number(t), "uom": "CEL"])]])]
        case .recall:
            set("holding", "recalled")
            o["persistentDisposition"] = .object(["set": ["recalled"]])
            o[SuyuanEPCIS.key("reason")] = .string(try need(d.reason, "--reason TEXT"))
        case .return: set("receiving", "returned")
        case .destroy:
            o["action"] = "DELETE"
            set("destroying", "destroyed")
        }
        if let r = d.reason, step != .recall { o[SuyuanEPCIS.key("reason")] = .string(r) }
        if d.allowedMin != nil || d.allowedMax != nil {
            guard let lo = d.allowedMin, let hi = d.allowedMax, lo <= hi else { throw .malformed("--min and --max go together, with min ≤ max") }
            o[SuyuanEPCIS.key("allowedRange")] = AllowedRange(type: "Temperature", min: lo, max: hi, uom: "CEL").json
        }
        return try EPCISEvent(.object(o))
    }

    /// The statement payload recording `event`.
    public static func payload(_ event: EPCISEvent) -> JSONValue {
        var o: [String: JSONValue] = ["event": event.json]
        if let c = SuyuanEPCIS.payloadContext(event.context) { o["context"] = c }
        return .object(o)
    }

    /// An EPCIS 2.0 document holding `events`. Its `@context` declares the namespace prefixes the events
    /// were hashed with (those of the documents they were imported from) and its `ignoreFields` the fields
    /// their hashes leave out, so the document re-imports to the same event IDs. Events hashed in
    /// conflicting contexts (one prefix for two namespaces, different ignored fields) cannot share one
    /// document: the first event's namespace for a prefix is kept, and every ignored field is listed.
    public static func document(_ events: [EPCISEvent], created: Timestamp) -> JSONValue {
        var prefixes: [String: String] = [:]
        for e in events {
            for (p, uri) in e.context.namespaces where EventHash.Context.standardNamespaces[p] != uri && prefixes[p] == nil { prefixes[p] = uri }
        }
        // Suyuan's own prefixes, unless the events' documents gave them other namespaces.
        var declared = SuyuanEPCIS.context.arrayValue?.last?.objectValue ?? [:]
        for (p, uri) in prefixes { declared[p] = .string(uri) }
        var doc: [String: JSONValue] = [
            "@context": .array([SuyuanEPCIS.context.arrayValue?.first ?? "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                                .object(declared)]),
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": .string(created.millisecondString),
            "epcisBody": .object(["eventList": .array(events.map(\.json))]),
        ]
        // Ignored fields are kept expanded (`{namespace}local`); written back as `prefix:local` with a prefix
        // of this document when one names that namespace, else as they are (which expand to themselves).
        let ignored = Set(events.flatMap(\.context.ignoredFields))
        if !ignored.isEmpty {
            let all = EventHash.Context(namespaces: declared.compactMapValues(\.stringValue), ignoredFields: []).namespaces
            let byURI = Dictionary(all.filter { !$0.key.contains(":") }.map { ($0.value, $0.key) }, uniquingKeysWith: { min($0, $1) })
            doc["ignoreFields"] = .array(ignored.sorted().map { name in
                guard name.hasPrefix("{"), let close = name.firstIndex(of: "}"),
                      let p = byURI[String(name[name.index(after: name.startIndex)..<close])] else { return .string(name) }
                return .string(p + ":" + name[name.index(after: close)...])
            })
        }
        return .object(doc)
    }

    /// The events of an EPCIS 2.0 document (or query document), each parsed and checked with the
    /// document's context; the first bad event stops it, naming its position.
    public static func events(inDocument bytes: [UInt8]) throws(LedgerError) -> [EPCISEvent] {
        let doc: JSONValue
        do { doc = try JSONValue.parse(bytes) } catch { throw .malformed("the EPCIS document is not valid JSON: \(error)") }
        guard let type = doc.objectValue?["type"]?.stringValue, type == "EPCISDocument" || type == "EPCISQueryDocument" else {
            throw .malformed("not an EPCIS 2.0 document: \"type\" must be EPCISDocument or EPCISQueryDocument")
        }
        let context: EventHash.Context, raw: [JSONValue]
        do {
            let c = try EventHash.Context(document: doc)
            context = EventHash.Context(namespaces: [SuyuanEPCIS.prefix: SuyuanEPCIS.namespace].merging(c.namespaces) { $1 }, ignoredFields: Array(c.ignoredFields))
            raw = try EventHash.events(inDocument: doc)
        } catch { throw .malformed("EPCIS document: \(error)") }
        guard !raw.isEmpty else { throw .malformed("the EPCIS document holds no events") }
        var out: [EPCISEvent] = []
        var seen: [String: Int] = [:]
        for (i, e) in raw.enumerated() {
            let parsed: EPCISEvent
            do { parsed = try EPCISEvent(e, context: context) } catch {
                throw .malformed("event \(i + 1) of \(raw.count): \(error.detail)")
            }
            if let j = seen[parsed.eventID], !parsed.isErrorDeclaration {
                throw .malformed("event \(i + 1) of \(raw.count) is a duplicate of event \(j + 1) (same event hash \(parsed.eventID))")
            }
            seen[parsed.eventID] = i
            out.append(parsed)
        }
        return out
    }
}

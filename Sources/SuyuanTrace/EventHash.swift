// GS1 CBV 2.0 event hash IDs (`ni:///sha-256;…?ver=CBV2.0`) for EPCIS 2.0 JSON(-LD) events.
// Normative description: Specs/event-hash.md. Pure: no I/O, no Foundation.

import SuyuanCrypto
import SuyuanFormats

/// Why an event or document cannot be hashed. `path` names the field, e.g. `eventTime` or
/// `sensorElementList[0].sensorReport[1].time`.
public enum EventHashError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The event (or a value that must be an object) is not a JSON object.
    case notAnObject(path: String)
    /// A required field is absent.
    case missingField(path: String)
    /// `type` is not one of the five EPCIS 2.0 event types.
    case unknownEventType(String)
    /// A time field does not hold an XML Schema `dateTime` with a time zone, at or after 1970 in UTC.
    case invalidTimestamp(path: String, value: String)
    /// A field holds a value of the wrong shape.
    case invalidValue(path: String, reason: String)
    /// The document has no event list where EPCIS 2.0 puts one.
    case notAnEPCISDocument(reason: String)

    public var description: String {
        switch self {
        case .notAnObject(let path): return "\(path): not a JSON object"
        case .missingField(let path): return "\(path): required field missing"
        case .unknownEventType(let type):
            return "type: unknown event type \"\(type)\" (expected one of \(EventHash.eventTypes.sorted().joined(separator: ", ")))"
        case .invalidTimestamp(let path, let value):
            return "\(path): \"\(value)\" is not a date-time with a time zone (YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm), 1970 or later)"
        case .invalidValue(let path, let reason): return "\(path): \(reason)"
        case .notAnEPCISDocument(let reason): return "not an EPCIS 2.0 document: \(reason)"
        }
    }
}

/// The CBV 2.0 event hash: a canonical pre-hash string per event and its SHA-256 `ni` URI.
public enum EventHash {
    /// The EPCIS 2.0 event types.
    public static let eventTypes: Set<String> = [
        "ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent",
    ]

    /// What an event needs from its document: the JSON-LD namespace prefixes (for user extension
    /// names and CURIE values) and the fields the document asks to leave out of the hash.
    public struct Context: Equatable, Sendable {
        /// Prefix → namespace URI, e.g. `"example": "https://ns.example.com/epcis/"`.
        public let namespaces: [String: String]
        /// Expanded names (`{namespace}local`) of event fields left out of the hash.
        public let ignoredFields: Set<String>
        /// `EventHash.excludedFields` and `ignoredFields`: every field name the hash leaves out.
        let excluded: Set<String>

        /// The prefixes the EPCIS 2.0 JSON-LD context defines.
        public static let standardNamespaces: [String: String] = [
            "epcis": "https://ref.gs1.org/epcis/",
            "cbv": "https://ref.gs1.org/cbv/",
            "cbvmda": "urn:epcglobal:cbv:mda:",
            "gs1": "https://gs1.org/voc/",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
            "owl": "http://www.w3.org/2002/07/owl#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
            "dcterms": "http://purl.org/dc/terms/",
        ]

        /// The standard prefixes only, nothing ignored: for an event without its document.
        public static let standard = Context(namespaces: [:], ignoredFields: [])

        /// The standard prefixes overridden by `namespaces`; `ignoredFields` are field names
        /// (`prefix:local` or plain), expanded with those prefixes.
        public init(namespaces: [String: String], ignoredFields: [String]) {
            let all = Context.standardNamespaces.merging(namespaces) { _, document in document }
            self.namespaces = all
            self.ignoredFields = Set(ignoredFields.map { Context.expandName($0, all) })
            excluded = EventHash.excludedFields.union(self.ignoredFields)
        }

        /// The context of an EPCIS document or query document: the prefixes of the object
        /// entries of its `@context`, and the names listed in an `ignoreFields` member (under any
        /// prefix, e.g. `"repository-x:ignoreFields"`) of the document or of its `queryResults`.
        public init(document: JSONValue) throws(EventHashError) {
            guard case .object(let root) = document else { throw .notAnEPCISDocument(reason: "not a JSON object") }
            let scopes = [root, document["epcisBody"]?["queryResults"]?.objectValue].compactMap { $0 }
            var ignored: [String] = []
            for scope in scopes {
                for (key, value) in scope where key == "ignoreFields" || key.hasSuffix(":ignoreFields") {
                    ignored += try Context.names(value, path: key)
                }
            }
            self.init(namespaces: Context.prefixes(root["@context"]), ignoredFields: ignored)
        }

        /// The string-valued entries of the object(s) in a JSON-LD `@context`.
        private static func prefixes(_ context: JSONValue?) -> [String: String] {
            let entries: [JSONValue] = context?.arrayValue ?? context.map { [$0] } ?? []
            var prefixes: [String: String] = [:]
            for case .object(let object) in entries {
                for (prefix, value) in object {
                    if let uri = value.stringValue { prefixes[prefix] = uri }
                }
            }
            return prefixes
        }

        private static func names(_ value: JSONValue, path: String) throws(EventHashError) -> [String] {
            let items = value.arrayValue ?? [value]
            var names: [String] = []
            for item in items {
                guard let name = item.stringValue else { throw .invalidValue(path: path, reason: "expected field names (strings)") }
                names.append(name)
            }
            return names
        }

        /// `prefix:local` with a known prefix as `{namespace}local`; any other name unchanged.
        func expandName(_ name: String) -> String { Context.expandName(name, namespaces) }

        private static func expandName(_ name: String, _ namespaces: [String: String]) -> String {
            guard let (prefix, rest) = split(name), let uri = namespaces[prefix] else { return name }
            return "{\(uri)}" + rest
        }

        /// The text before and after the first `:` character; nil without one. Searched by bytes: a
        /// `:` byte with only ASCII before it and ASCII (or nothing) after it is a character of its
        /// own, and the first; otherwise (a combining mark may follow it) by characters.
        private static func split(_ text: String) -> (String, Substring)? {
            enum Scan { case none, at(Int), characters }
            func scan(_ u: UnsafeBufferPointer<UInt8>) -> Scan {
                guard let c = u.firstIndex(of: UInt8(ascii: ":")) else { return .none }
                guard u[..<c].allSatisfy({ $0 < 0x80 }), c + 1 == u.count || u[c + 1] < 0x80 else { return .characters }
                return .at(c)
            }
            switch text.utf8.withContiguousStorageIfAvailable(scan) ?? .characters {
            case .none: return nil
            case .at(let c):
                let colon = text.utf8.index(text.utf8.startIndex, offsetBy: c)
                return (String(text[..<colon]), text[text.utf8.index(after: colon)...])
            case .characters:
                guard let colon = text.firstIndex(of: ":") else { return nil }
                return (String(text[..<colon]), text[text.index(after: colon)...])
            }
        }

        /// A CURIE value whose prefix names a GS1 vocabulary namespace (`https://ref.gs1.org/…`,
        /// `https://gs1.org/…`) expanded to a URI; any other value unchanged.
        func expandValue(_ value: String) -> String {
            guard let (prefix, rest) = Context.split(value), let uri = namespaces[prefix],
                  uri.hasPrefix("https://ref.gs1.org") || uri.hasPrefix("https://gs1.org") else { return value }
            return uri + rest
        }
    }

    /// The canonical pre-hash string of one EPCIS 2.0 event (a JSON object), per CBV 2.0:
    /// `eventType=…` followed by the standard fields in CBV order and then, sorted, every other
    /// field (business transactions, sources, destinations, ILMD, user extensions).
    public static func preHashString(of event: JSONValue, context: Context = .standard) throws(EventHashError) -> String {
        // Field paths only serve error messages: built only when there is an error to tell.
        do { return try preHashString(event, context, paths: false) } catch {
            return try preHashString(event, context, paths: true)
        }
    }

    private static func preHashString(_ event: JSONValue, _ context: Context, paths: Bool) throws(EventHashError) -> String {
        guard case .object(let object) = event else { throw .notAnObject(path: "event") }
        let type = try eventType(object)
        try requireHeader(object)
        let fields = try HashTree.members(object, parent: "event", path: paths ? "" : nil, context: context)
            .filter { !context.excluded.contains($0.name) }
        var out = "eventType=" + type
        try Serialiser.standard(fields, order: standardOrder, positions: standardPositions, nested: false, into: &out)
        out += Serialiser.sortedJoined(fields.filter { standardPositions[$0.name] == nil }.map(Serialiser.generic))
        return out
    }

    /// The event's hash ID: `ni:///sha-256;<64 lowercase hex>?ver=CBV2.0`, the SHA-256 of the
    /// UTF-8 pre-hash string.
    public static func eventID(of event: JSONValue, context: Context = .standard) throws(EventHashError) -> String {
        let preHash = try preHashString(of: event, context: context)
        return "ni:///sha-256;" + SHA256.hash(preHash.utf8).hex + "?ver=CBV2.0"
    }

    /// All events of an EPCIS document (`epcisBody.eventList` or `epcisBody.event`) or query
    /// document (`epcisBody.queryResults.resultsBody.eventList`), in document order.
    public static func events(inDocument document: JSONValue) throws(EventHashError) -> [JSONValue] {
        guard case .object = document else { throw .notAnEPCISDocument(reason: "not a JSON object") }
        guard let body = document["epcisBody"], case .object = body else {
            throw .notAnEPCISDocument(reason: "no epcisBody object")
        }
        if let list = body["eventList"] ?? body["queryResults"]?["resultsBody"]?["eventList"] {
            guard let events = list.arrayValue else { throw .notAnEPCISDocument(reason: "eventList is not an array") }
            return events
        }
        if let event = body["event"] { return [event] }
        throw .notAnEPCISDocument(reason: "no epcisBody.eventList, epcisBody.event or epcisBody.queryResults.resultsBody.eventList")
    }

    /// The hash IDs of all events of a document, in document order, each hashed in the
    /// document's `Context`.
    public static func eventIDs(inDocument document: JSONValue) throws(EventHashError) -> [String] {
        let context = try Context(document: document)
        var ids: [String] = []
        for event in try events(inDocument: document) {
            ids.append(try eventID(of: event, context: context))
        }
        return ids
    }

    // MARK: Event checks

    /// Fields never hashed: the type (it leads the string), the ID, the record time, an error declaration.
    static let excludedFields: Set<String> = ["type", "eventID", "recordTime", "errorDeclaration"]

    private static func eventType(_ event: [String: JSONValue]) throws(EventHashError) -> String {
        guard let value = event["type"] else { throw .missingField(path: "type") }
        guard let type = value.stringValue else { throw .invalidValue(path: "type", reason: "expected a string") }
        guard eventTypes.contains(type) else { throw .unknownEventType(type) }
        return type
    }

    /// `eventTime` and `eventTimeZoneOffset` are required; the offset must be `±hh:mm`.
    private static func requireHeader(_ event: [String: JSONValue]) throws(EventHashError) {
        guard let time = event["eventTime"] else { throw .missingField(path: "eventTime") }
        guard time.stringValue != nil else { throw .invalidValue(path: "eventTime", reason: "expected a string") }
        guard let offset = event["eventTimeZoneOffset"] else { throw .missingField(path: "eventTimeZoneOffset") }
        guard let text = offset.stringValue, EventHashValues.isZoneOffset(EventHashValues.trimmed(text)) else {
            throw .invalidValue(path: "eventTimeZoneOffset", reason: "expected a time zone offset ±hh:mm")
        }
    }

    // MARK: Property order

    /// A field of the CBV property order; `children` is the order inside it (nil for a plain value).
    struct Field: Sendable {
        let name: String
        let children: [Field]?
        /// Each child's position in `children` by its name.
        let childPositions: [String: Int]
        /// Whether its values are timestamps (`EventHashValues.isTimeField`).
        let isTime: Bool

        init(_ name: String, _ children: [Field]? = nil) {
            self.name = name
            self.children = children
            childPositions = Dictionary(uniqueKeysWithValues: (children ?? []).enumerated().map { ($1.name, $0) })
            isTime = EventHashValues.isTimeField(name)
        }
    }

    private static let quantityElement = Field("quantityElement", [Field("epcClass"), Field("quantity"), Field("uom")])

    /// The CBV 2.0 property order of the standard event fields.
    static let standardOrder: [Field] = [
        Field("eventTime"), Field("eventTimeZoneOffset"), Field("certificationInfo"), Field("parentID"),
        Field("epcList", [Field("epc")]), Field("inputEPCList", [Field("epc")]), Field("childEPCs", [Field("epc")]),
        Field("quantityList", [quantityElement]), Field("childQuantityList", [quantityElement]),
        Field("inputQuantityList", [quantityElement]), Field("outputEPCList", [Field("epc")]),
        Field("outputQuantityList", [quantityElement]), Field("action"), Field("transformationID"),
        Field("bizStep"), Field("disposition"), Field("persistentDisposition", [Field("set"), Field("unset")]),
        Field("readPoint", [Field("id")]), Field("bizLocation", [Field("id")]),
        Field("sensorElementList", [Field("sensorElement", [
            Field("sensorMetadata", ["time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
                                     "dataProcessingMethod", "bizRules"].map { Field($0) }),
            Field("sensorReport", ["type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
                                   "time", "microorganism", "chemicalSubstance", "value", "component", "stringValue",
                                   "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue",
                                   "sDev", "percRank", "percValue", "uom", "coordinateReferenceSystem"].map { Field($0) }),
        ])]),
    ]
    /// The position of each field of `standardOrder` by its name.
    static let standardPositions = Dictionary(uniqueKeysWithValues: standardOrder.enumerated().map { ($1.name, $0) })
}

// MARK: - The event as a tree

/// One field of an event after JSON-to-tree conversion: an expanded name, a (vocabulary- and
/// CURIE-expanded) text value, and child fields. Arrays become repeated fields of the same name.
struct HashNode {
    let name: String
    let value: String
    let children: [HashNode]
    /// Where the field came from, for error messages (nil when not tracked).
    let path: String?
}

enum HashTree {
    /// Names of list members whose items are named differently from the list minus `List`.
    private static let itemNames: [String: String] = [
        "epcList": "epc", "inputEPCList": "epc", "outputEPCList": "epc", "childEPCs": "epc",
        "quantityList": "quantityElement", "childQuantityList": "quantityElement",
        "inputQuantityList": "quantityElement", "outputQuantityList": "quantityElement",
    ]

    /// List elements whose own value is the member of the same name (`{"type": …, "source": …}`).
    static let typedElements: Set<String> = ["bizTransaction", "source", "destination"]

    /// The fields of a JSON object, leaving out JSON-LD keywords (`@…`) and comments.
    /// `path` is where `object` is (nil: paths are not tracked).
    static func members(_ object: [String: JSONValue], parent: String, path: String?,
                        context: EventHash.Context) throws(EventHashError) -> [HashNode] {
        var nodes: [HashNode] = []
        nodes.reserveCapacity(object.count)
        for (key, value) in object where !key.hasPrefix("@") && key != "comment" && key != "rdfs:comment" {
            let fieldPath = path.map { $0.isEmpty ? key : $0 + "." + key }
            try field(context.expandName(key), value, parent: parent, path: fieldPath, context: context, into: &nodes)
        }
        return nodes
    }

    /// A member as fields, added to `nodes`: a list (`…List`, `childEPCs`) is one field holding its
    /// items (a single value as its only item); another array is one field per element.
    private static func field(_ name: String, _ value: JSONValue, parent: String, path: String?,
                              context: EventHash.Context, into nodes: inout [HashNode]) throws(EventHashError) {
        if name.hasSuffix("List") || name == "childEPCs" {
            let itemName = itemNames[name] ?? String(name.dropLast(4))
            var children: [HashNode] = []
            if let items = value.arrayValue {
                for (index, item) in items.enumerated() {
                    try element(itemName, item, parent: name, path: path.map { "\($0)[\(index)]" }, context: context, into: &children)
                }
            } else {
                try element(itemName, value, parent: name, path: path.map { "\($0)[0]" }, context: context, into: &children)
            }
            nodes.append(HashNode(name: name, value: "", children: children, path: path))
            return
        }
        try element(name, value, parent: parent, path: path, context: context, into: &nodes)
    }

    /// A value as fields of `name`, added to `nodes`: an array gives one per element.
    private static func element(_ name: String, _ value: JSONValue, parent: String, path: String?,
                                context: EventHash.Context, into nodes: inout [HashNode]) throws(EventHashError) {
        switch value {
        case .object(let object):
            var children = try members(object, parent: name, path: path, context: context)
            guard typedElements.contains(name), let own = children.firstIndex(where: { $0.name == name }) else {
                nodes.append(HashNode(name: name, value: "", children: children, path: path))
                return
            }
            let id = children.remove(at: own)
            nodes.append(HashNode(name: name, value: id.value, children: children, path: path))
        case .array(let array):
            for (index, item) in array.enumerated() {
                try element(name, item, parent: parent, path: path.map { "\($0)[\(index)]" }, context: context, into: &nodes)
            }
        default:
            let text = try scalarText(value, path: path)
            let term = Vocabulary.of(key: name, parent: parent)?.expand(text) ?? text
            nodes.append(HashNode(name: name, value: context.expandValue(term), children: [], path: path))
        }
    }

    /// A scalar's text: strings as they are, numbers in shortest round-trip form, `true`/`false`,
    /// `null` as empty (an absent value).
    private static func scalarText(_ value: JSONValue, path: String?) throws(EventHashError) -> String {
        switch value {
        case .string(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number):
            guard let text = EventHashValues.numberText(number) else {
                throw .invalidValue(path: path ?? "", reason: "integer of magnitude 2^53 or more cannot be hashed exactly from a JSON number; write it as a string")
            }
            return text
        default: return ""
        }
    }
}

// MARK: - Serialisation

enum Serialiser {
    /// Appends the fields named in `order`, in that order; fields of one name sorted among
    /// themselves. Inside a standard field (`nested`), the fields not in the order follow, sorted.
    /// `positions` gives each name's position in `order`.
    static func standard(_ nodes: [HashNode], order: [EventHash.Field], positions: [String: Int], nested: Bool,
                                 into out: inout String) throws(EventHashError) {
        // Each node's position in the order (nodes of one name in their own order), then the runs of one name.
        var placed: [(position: Int, node: Int)] = []
        var others: [Int] = []
        for i in nodes.indices {
            if let p = positions[nodes[i].name] { placed.append((p, i)) } else if nested { others.append(i) }
        }
        placed.sort { ($0.position, $0.node) < ($1.position, $1.node) }
        var k = 0
        while k < placed.count {
            let p = placed[k].position
            var end = k + 1
            while end < placed.count, placed[end].position == p { end += 1 }
            if end == k + 1 {
                try standardField(nodes[placed[k].node], order[p], into: &out)
            } else {
                var parts: [String] = []
                for j in k..<end {
                    var part = ""
                    try standardField(nodes[placed[j].node], order[p], into: &part)
                    if !part.isEmpty { parts.append(part) }
                }
                out += sortedJoined(parts)
            }
            k = end
        }
        if !others.isEmpty { out += sortedJoined(others.map { generic(nodes[$0]) }) }
    }

    /// `name[=value]` followed by the children in the field's order, appended to `out`; nothing if
    /// there is neither a value nor a child.
    private static func standardField(_ node: HashNode, _ field: EventHash.Field, into out: inout String) throws(EventHashError) {
        let raw = EventHashValues.trimmed(node.value)
        var value: String?
        if !raw.isEmpty {
            if field.isTime {
                guard let utc = EventHashValues.utcMilliseconds(raw) else { throw .invalidTimestamp(path: node.path ?? "", value: raw) }
                value = utc
            } else {
                value = EventHashValues.canonical(raw)
            }
        }
        guard let order = field.children else {
            guard node.children.isEmpty else { throw .invalidValue(path: node.path ?? "", reason: "expected a single value, not an object") }
            if let value { out += node.name; out += "="; out += value }
            return
        }
        var inner = ""
        try standard(node.children, order: order, positions: field.childPositions, nested: true, into: &inner)
        guard value != nil || !inner.isEmpty else { return }
        out += node.name
        if let value { out += "="; out += value }
        out += inner
    }

    /// A field outside the standard order: `name[=value]` then its children, each serialised the
    /// same way and sorted. Business transactions, sources and destinations put `type` first.
    static func generic(_ node: HashNode) -> String {
        let value = EventHashValues.trimmed(node.value)
        let own = node.name + (value.isEmpty ? "" : "=" + EventHashValues.canonical(value))
        guard HashTree.typedElements.contains(node.name) else {
            return own + sortedJoined(node.children.map(generic))
        }
        let types = node.children.filter { $0.name == "type" }.map(generic)
        let others = node.children.filter { $0.name != "type" }.map(generic)
        return sortedJoined(types) + own + sortedJoined(others)
    }

    /// The strings sorted by Unicode code point, concatenated.
    static func sortedJoined(_ parts: [String]) -> String {
        if parts.count < 2 { return parts.first ?? "" }
        return parts.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.joined()
    }
}

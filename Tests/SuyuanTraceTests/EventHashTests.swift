import Foundation
import Testing
import SuyuanCrypto
import SuyuanFormats
@testable import SuyuanTrace

/// The published CBV 2.0 event hash examples (Specs/vectors/published/epcis-event-hash).
enum EventHashVectors {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Specs/vectors/published/epcis-event-hash")

    static func names(withExtension ext: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix("." + ext) }.map { String($0.dropLast(ext.count + 1)) }.sorted()
    }

    /// Every EPCIS JSON-LD document of the folder.
    static let documents = names(withExtension: "jsonld")

    /// Expected results without a JSON-LD document: the upstream XML-only cases (Specs/event-hash.md).
    static let xmlOnly = [
        "SensorDataExamples", "epcisDocHavingTooManyUserExtensions", "epcisDocWith2DifferentTransformationEvents",
        "epcisDocWithTransformationEventWithExtension", "epcisDocWithTransformationEventWithMultipleExtensions",
        "epcisXmlDocHavingEventWithIgnoreFields", "epcisXmlQueryDocHavingEventWithIgnoreFields",
    ]

    /// Pre-hash lines (file, 1-based line) whose SHA-256 is not the published hash of that event:
    /// upstream left them stale or garbled (Specs/event-hash.md, "Published vectors"). For these
    /// events only the hash is checked.
    static let stalePreHashLines: Set<String> = [
        "epcisDocWithAllGS1Keys:1", "epcisDocWithCustomSchemaInContext:2", "epcisDocWithDefaultSchemaInContext:2",
    ]

    static func lines(_ name: String, _ ext: String) -> [String]? {
        guard let text = try? String(contentsOf: folder.appendingPathComponent("\(name).\(ext)"), encoding: .utf8) else {
            return nil
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }

    static func document(_ name: String) throws -> JSONValue {
        let data = try Data(contentsOf: folder.appendingPathComponent("\(name).jsonld"))
        return try JSONValue.parse([UInt8](data))
    }

    static func sha256ID(_ preHash: String) -> String {
        "ni:///sha-256;" + SHA256.hash(Array(preHash.utf8)).hex + "?ver=CBV2.0"
    }
}

@Suite struct EventHashVectorTests {
    @Test func folderHasTheExpectedFiles() {
        #expect(EventHashVectors.documents.count >= 20)
        let expectations = Set(EventHashVectors.names(withExtension: "hashes") + EventHashVectors.names(withExtension: "prehashes"))
        let withoutDocument = expectations.subtracting(EventHashVectors.documents).sorted()
        #expect(withoutDocument == EventHashVectors.xmlOnly.sorted())
    }

    /// Exactly the documented pre-hash lines disagree with their own published hash.
    @Test func stalePreHashLinesAreExactlyTheDocumentedOnes() {
        var stale: Set<String> = []
        for name in EventHashVectors.documents {
            guard let pre = EventHashVectors.lines(name, "prehashes"), let ids = EventHashVectors.lines(name, "hashes") else { continue }
            for (index, line) in pre.enumerated() where index >= ids.count || EventHashVectors.sha256ID(line) != ids[index] {
                stale.insert("\(name):\(index + 1)")
            }
        }
        #expect(stale == EventHashVectors.stalePreHashLines)
    }

    @Test(arguments: EventHashVectors.documents)
    func reproducesPublishedHashesAndPreHashes(_ name: String) throws {
        let document = try EventHashVectors.document(name)
        let context = try EventHash.Context(document: document)
        let events = try EventHash.events(inDocument: document)
        let expectedIDs = try #require(EventHashVectors.lines(name, "hashes"), "\(name).hashes missing")
        #expect(try EventHash.eventIDs(inDocument: document) == expectedIDs)
        guard let expectedPre = EventHashVectors.lines(name, "prehashes") else { return }
        #expect(expectedPre.count == events.count)
        for (index, event) in events.enumerated() where index < expectedPre.count {
            let preHash = try EventHash.preHashString(of: event, context: context)
            if EventHashVectors.stalePreHashLines.contains("\(name):\(index + 1)") {
                #expect(EventHashVectors.sha256ID(preHash) == expectedIDs[index])
            } else {
                #expect(preHash == expectedPre[index], "\(name) event \(index + 1)")
            }
        }
    }
}

@Suite struct EventHashBehaviourTests {
    static let event = """
    {"type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30.000+01:00", "eventTimeZoneOffset": "+01:00",
     "epcList": ["urn:epc:id:sscc:4012345.0000000333", "urn:epc:id:sscc:4012345.0000000111"],
     "example:note": "x", "action": "OBSERVE", "bizStep": "departing", "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"},
     "sensorElementList": [{"sensorMetadata": {"time": "2020-03-04T10:00:00Z"},
                            "sensorReport": [{"type": "Temperature", "value": 26.1, "uom": "CEL"}]}]}
    """

    static func id(_ text: String, _ context: EventHash.Context = .standard) throws -> String {
        try EventHash.eventID(of: JSONValue.parse(text), context: context)
    }

    static func error(_ text: String) -> EventHashError? {
        do {
            _ = try EventHash.preHashString(of: JSONValue.parse(text))
            return nil
        } catch let error as EventHashError {
            return error
        } catch {
            return nil
        }
    }

    @Test func idHasTheNIForm() throws {
        let id = try Self.id(Self.event)
        #expect(id.hasPrefix("ni:///sha-256;") && id.hasSuffix("?ver=CBV2.0"))
        let hex = id.dropFirst("ni:///sha-256;".count).dropLast("?ver=CBV2.0".count)
        #expect(hex.count == 64 && hex.allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test(arguments: [
        ("2020-03-04T11:00:30.000+01:00", "2020-03-04T11:00:30.001+01:00"),
        ("urn:epc:id:sscc:4012345.0000000111", "urn:epc:id:sscc:4012345.0000000112"),
        ("\"departing\"", "\"arriving\""),
        ("26.1", "26.2"),
        ("\"CEL\"", "\"FAH\""),
        ("\"example:note\": \"x\"", "\"example:note\": \"y\""),
        ("\"example:note\"", "\"example:other\""),
        ("\"action\": \"OBSERVE\"", "\"action\": \"ADD\""),
    ])
    func changingAFieldChangesTheHash(_ change: (String, String)) throws {
        let changed = Self.event.replacingOccurrences(of: change.0, with: change.1)
        #expect(changed != Self.event)
        #expect(try Self.id(changed) != Self.id(Self.event))
    }

    @Test func addingOrRemovingAFieldChangesTheHash() throws {
        let added = Self.event.replacingOccurrences(of: "\"action\"", with: "\"disposition\": \"in_transit\", \"action\"")
        let removed = Self.event.replacingOccurrences(of: "\"example:note\": \"x\", ", with: "")
        #expect(Set([try Self.id(Self.event), try Self.id(added), try Self.id(removed)]).count == 3)
    }

    @Test func memberOrderWhitespaceAndListOrderDoNotMatter() throws {
        let reordered = """
        {  "example:note":"x","sensorElementList":[{"sensorReport":[{"uom":"CEL","value":26.10,"type":"Temperature"}],
           "sensorMetadata":{"time":"2020-03-04T11:00:00+01:00"}}],
          "readPoint":{"id":"urn:epc:id:sgln:4012345.00011.987"},"bizStep":"urn:epcglobal:cbv:bizstep:departing",
          "action":"OBSERVE","epcList":["urn:epc:id:sscc:4012345.0000000111","urn:epc:id:sscc:4012345.0000000333"],
          "eventTimeZoneOffset":"+01:00","eventTime":"2020-03-04T10:00:30Z","type":"ObjectEvent" }
        """
        #expect(try Self.id(reordered) == Self.id(Self.event))
    }

    @Test func excludedFieldsDoNotMatter() throws {
        let extra = Self.event.replacingOccurrences(of: "\"action\"", with: """
        "eventID": "urn:uuid:1", "recordTime": "2021-01-01T00:00:00Z", "rdfs:comment": "hi",
        "errorDeclaration": {"declarationTime": "2021-01-01T00:00:00Z", "reason": "incorrect_data"}, "action"
        """)
        #expect(try Self.id(extra) == Self.id(Self.event))
    }

    @Test func documentIgnoreFieldsAreLeftOut() throws {
        let context = EventHash.Context(namespaces: ["example": "https://ns.example.com/"], ignoredFields: ["example:note"])
        let without = Self.event.replacingOccurrences(of: "\"example:note\": \"x\", ", with: "")
        #expect(try Self.id(Self.event, context) == Self.id(without, context))
        #expect(try Self.id(Self.event) != Self.id(without))
    }

    @Test func userExtensionNamesUseTheirNamespace() throws {
        let context = EventHash.Context(namespaces: ["example": "https://ns.example.com/"], ignoredFields: [])
        let pre = try EventHash.preHashString(of: JSONValue.parse(Self.event), context: context)
        #expect(pre.hasSuffix("{https://ns.example.com/}note=x"))
    }

    @Test func malformedEventsGiveSpecificErrors() {
        let noTime = Self.event.replacingOccurrences(of: "\"eventTime\": \"2020-03-04T11:00:30.000+01:00\",", with: "")
        #expect(Self.error(noTime) == .missingField(path: "eventTime"))
        let noOffset = Self.event.replacingOccurrences(of: "\"eventTimeZoneOffset\": \"+01:00\",", with: "")
        #expect(Self.error(noOffset) == .missingField(path: "eventTimeZoneOffset"))
        let badOffset = Self.event.replacingOccurrences(of: "\"+01:00\"", with: "\"CET\"")
        #expect(Self.error(badOffset) == .invalidValue(path: "eventTimeZoneOffset", reason: "expected a time zone offset ±hh:mm"))
        let noType = Self.event.replacingOccurrences(of: "\"type\": \"ObjectEvent\",", with: "")
        #expect(Self.error(noType) == .missingField(path: "type"))
        let unknownType = Self.event.replacingOccurrences(of: "ObjectEvent", with: "ShipmentEvent")
        #expect(Self.error(unknownType) == .unknownEventType("ShipmentEvent"))
        let badTime = Self.event.replacingOccurrences(of: "2020-03-04T11:00:30.000+01:00", with: "2020-03-04 11:00")
        #expect(Self.error(badTime) == .invalidTimestamp(path: "eventTime", value: "2020-03-04 11:00"))
        let badSensorTime = Self.event.replacingOccurrences(of: "2020-03-04T10:00:00Z", with: "2020-03-04T10:00:00")
        #expect(Self.error(badSensorTime) == .invalidTimestamp(path: "sensorElementList[0].sensorMetadata.time",
                                                                value: "2020-03-04T10:00:00"))
        let objectAction = Self.event.replacingOccurrences(of: "\"OBSERVE\"", with: "{\"a\": 1}")
        #expect(Self.error(objectAction) == .invalidValue(path: "action", reason: "expected a single value, not an object"))
        let hugeNumber = Self.event.replacingOccurrences(of: "26.1", with: "12345678901234567890")
        #expect(Self.error(hugeNumber) == .invalidValue(path: "sensorElementList[0].sensorReport[0].value",
            reason: "integer of magnitude 2^53 or more cannot be hashed exactly from a JSON number; write it as a string"))
        #expect(Self.error("[1]") == .notAnObject(path: "event"))
    }

    @Test func documentsWithoutEventsAreRejected() throws {
        #expect(throws: EventHashError.notAnEPCISDocument(reason: "no epcisBody object")) {
            try EventHash.events(inDocument: JSONValue.parse("{\"type\": \"EPCISDocument\"}"))
        }
        #expect(throws: EventHashError.notAnEPCISDocument(reason: "eventList is not an array")) {
            try EventHash.events(inDocument: JSONValue.parse("{\"epcisBody\": {\"eventList\": {}}}"))
        }
        let single = try JSONValue.parse("{\"epcisBody\": {\"event\": \(Self.event)}}")
        #expect(try EventHash.eventIDs(inDocument: single) == [Self.id(Self.event)])
    }
}

@Suite struct EventHashValueTests {
    @Test(arguments: [
        ("0", "0"), ("-0.0", "0"), ("007", "7"), ("+5", "5"), ("12.10", "12.1"), ("452.0", "452"), (".5", "0.5"),
        ("5.", "5"), ("1e-05", "0.00001"), ("1.5E+3", "1500"), ("-2.50e1", "-25"), ("123456789012345678901", "123456789012345678901"),
    ])
    func numbersTakeTheirPlainDecimalForm(_ pair: (String, String)) {
        #expect(EventHashValues.plainDecimal(pair.0) == pair.1)
    }

    @Test(arguments: ["", "-", ".", "1e", "1.2.3", "0x10", "inf", "NaN", "1 2", "2023-10-09", "1e999"])
    func nonNumbersAreLeftAlone(_ text: String) {
        #expect(EventHashValues.plainDecimal(text) == nil)
    }

    @Test(arguments: [
        ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
        ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
        ("2023-12-31T23:59:59.9995Z", "2024-01-01T00:00:00.000Z"),
        ("2005-04-03T20:33:31.116000-06:00", "2005-04-04T02:33:31.116Z"),
        ("2020-03-04T11:00:30+01:00", "2020-03-04T10:00:30.000Z"),
        ("2022-02-17T11:30:47.0Z", "2022-02-17T11:30:47.000Z"),
    ])
    func timestampsBecomeUTCMilliseconds(_ pair: (String, String)) {
        #expect(EventHashValues.utcMilliseconds(pair.0) == pair.1)
    }

    @Test(arguments: ["2020-03-04T11:00:30", "2020-03-04T11:00:30.Z", "2020-02-30T00:00:00Z", "1969-12-31T23:00:00Z",
                      "2020-03-04T11:00:30+1:00", "yesterday"])
    func invalidTimestampsAreRejected(_ text: String) {
        #expect(EventHashValues.utcMilliseconds(text) == nil)
    }

    @Test(arguments: [
        ("urn:epc:id:sgtin:4012345.011111.9876", "https://id.gs1.org/01/04012345111118/21/9876"),
        ("urn:epc:id:sgln:4012345.00005.0", "https://id.gs1.org/414/4012345000054"),
        ("https://id.gs1.org/01/04012345111118/10/LOT/21/9876", "https://id.gs1.org/01/04012345111118/21/9876"),
        ("https://example.com/01/04012345111118/22/2A?x=1", "https://id.gs1.org/01/04012345111118"),
        ("https://id.gs1.org/01/4012345111118", "https://id.gs1.org/01/04012345111118"),
    ])
    func identifiersBecomeCanonicalDigitalLinks(_ pair: (String, String)) {
        #expect(EPCNormaliser.normalise(pair.0) == pair.1)
    }

    @Test(arguments: ["urn:epc:id:sgtin:4012345.011111", "urn:epc:id:sscc:4012345.1", "https://example.com/po/12345678",
                      "geo:47.506694,11.104301", "https://id.gs1.org/01/04012345111118/21/a%20b"])
    func otherIdentifiersAreLeftAlone(_ text: String) {
        #expect(EPCNormaliser.normalise(text) == nil)
    }

    /// Time fields are those whose lowercased name contains `time` and not `offset`: the byte test for
    /// ASCII names answers as the Unicode definition does.
    @Test func timeFieldsAreThoseNamedSo() {
        let names = ["eventTime", "time", "startTime", "TIME", "eventTimeZoneOffset", "OFFSETTIME", "quantity", "tim", "timE",
                     "recordTime", "declarationTime", "bizTransaction", "t\u{130}me", "Zeit", "sensorTimeOffsetX", ""]
        for name in names {
            let lower = name.lowercased()
            #expect(EventHashValues.isTimeField(name) == (lower.contains("time") && !lower.contains("offset")), "\(name)")
        }
        #expect(EventHashValues.isTimeField("eventTime") && !EventHashValues.isTimeField("eventTimeZoneOffset"))
    }

    /// Values are trimmed of Unicode white space: the ASCII fast path (ends that are ASCII and not
    /// white space) answers as the Unicode definition does, for every ASCII character at either end.
    @Test func valuesAreTrimmedOfUnicodeWhiteSpace() {
        func byDefinition(_ s: String) -> String {
            let u = s.unicodeScalars
            guard let a = u.firstIndex(where: { !$0.properties.isWhitespace }), let b = u.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
            return String(u[a...b])
        }
        var texts = ["", " ", "a", " a ", "\u{A0}a\u{2003}", "\u{85}x", "x\u{3000}", "é", " é\t"]
        for c in (0..<128).map({ String(UnicodeScalar(UInt8($0))) }) { texts += [c + "id" + c, c, "id" + c, c + "id"] }
        for t in texts { #expect(EventHashValues.trimmed(t) == byDefinition(t), "\(Array(t.unicodeScalars))") }
    }

    /// A name or value is split at its first `:` character: in ASCII text by bytes, in other text by
    /// characters, where a `:` with a combining mark is not a `:`.
    @Test func prefixedNamesAndValuesExpandAtTheFirstColon() {
        let c = EventHash.Context(namespaces: ["ex": "https://ns.example.com/", "ex\u{301}": "https://accent.example.com/", "gs1x": "https://gs1.org/x/"],
                                  ignoredFields: [])
        #expect(c.expandName("ex:a:b") == "{https://ns.example.com/}a:b")
        #expect(c.expandName("ex\u{301}:a") == "{https://accent.example.com/}a")
        #expect(c.expandName("ex:\u{301}a") == "ex:\u{301}a")  // the first ":" carries an accent: no prefix
        #expect(c.expandName("plain") == "plain" && c.expandName("other:x") == "other:x" && c.expandName(":x") == ":x")
        #expect(c.expandName("ex:ab\u{301}:c") == "{https://ns.example.com/}ab\u{301}:c" && c.expandName("ex:") == "{https://ns.example.com/}")
        #expect(c.expandName("日本:x") == "日本:x" && c.expandName("ex:x\u{301}") == "{https://ns.example.com/}x\u{301}")
        #expect(c.expandValue("gs1x:Thing") == "https://gs1.org/x/Thing" && c.expandValue("ex:Thing") == "ex:Thing")
        #expect(c.expandValue("gs1x:\u{301}") == "gs1x:\u{301}" && c.expandValue("gs1x:é") == "https://gs1.org/x/é")
    }

    /// Memoised answers are those computed anew: asked again, after the memo filled and was
    /// cleared, concurrently, and for non-ASCII texts that Swift compares as equal but whose bytes
    /// differ (which are never memoised).
    @Test func memoisedIdentifiersAreNormalisedAsAnew() {
        let known = ["urn:epc:id:sgtin:4012345.011111.9876", "urn:epc:id:sscc:4012345.1", "https://example.com/01/04012345111118/22/2A?x=1",
                     "https://id.gs1.org/01/4012345111118", "geo:47.506694,11.104301", "https://id.gs1.org/00/095060000000000015"]
        let many = (0..<(EPCNormaliser.memoLimit + 100)).map { "https://example.com/01/0950600013435\($0 % 10)/21/S\($0)" }
        for text in known + many + known + known {
            #expect(EPCNormaliser.normalise(text) == EPCNormaliser.normaliseAnew(text), "\(text)")
        }
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            for text in many.shuffled() + known where EPCNormaliser.normalise(text) != EPCNormaliser.normaliseAnew(text) {
                Issue.record("worker \(k): \(text)")
            }
        }
        let composed = "https://id.gs1.org/01/04012345111118/21/caf\u{E9}", decomposed = "https://id.gs1.org/01/04012345111118/21/cafe\u{301}"
        #expect(composed == decomposed && Array(composed.utf8) != Array(decomposed.utf8))
        for text in [composed, decomposed, composed] { #expect(EPCNormaliser.normalise(text) == EPCNormaliser.normaliseAnew(text)) }
    }
}

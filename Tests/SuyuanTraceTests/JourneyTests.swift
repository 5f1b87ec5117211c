import Foundation
import Testing
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanTrace

let item = "https://id.gs1.org/01/09506000134352/21/SN001"
let case1 = "https://id.gs1.org/00/095060001343520000"

extension World {
    /// Records one step (signed by the operator unless `by` is given) at `at`.
    @discardableResult
    func event(_ step: JourneyStepKind, _ product: String? = item, at: String, by key: SecretKey? = nil,
               _ configure: (inout StepDetails) -> Void = { _ in }) throws -> (Appended, EPCISEvent) {
        var d = StepDetails()
        configure(&d)
        let e = try EventBuilder.build(step, product: product, time: time(at), details: d)
        let k = key ?? op
        let s = try Statement(kind: TraceKind.event, payload: EventBuilder.payload(e), signer: k.publicKey, time: now).sign(with: k)
        return (try ledger.appendAll([s])[0], e)
    }

    func journey(_ code: String = item) throws -> ProductJourney {
        let reader = TraceReader(ledger: ledger)
        return try ProductJourney.build(try ProductCode(parsing: code), source: { try reader.entries($0) }, registry: try registry())
    }

    /// commission (NZ, LOT1, 2–8 °C) → pack into case1 → ship case → bonded Nansha → unpack → release → deliver.
    func standardJourney() throws {
        try event(.commission, at: "2026-05-01T00:00:00Z") { $0.originCountry = "NZ"; $0.lot = "LOT1"; $0.allowedMin = 2; $0.allowedMax = 8 }
        try event(.pack, nil, at: "2026-05-02T00:00:00Z") { $0.parent = case1; $0.children = [item] }
        try event(.ship, case1, at: "2026-05-03T00:00:00Z")
        try event(.enterBonded, case1, at: "2026-05-10T00:00:00Z") { $0.zone = .nansha }
        try event(.sensor, case1, at: "2026-05-10T06:00:00Z") { $0.temperature = 4.5 }
        try event(.unpack, nil, at: "2026-05-12T00:00:00Z") { $0.parent = case1 }
        try event(.release, at: "2026-05-20T00:00:00Z") { $0.declaration = "530120260520001"; $0.orderHash = String(repeating: "ab", count: 32) }
        try event(.deliver, at: "2026-05-22T00:00:00Z")
    }
}

@Suite struct JourneyTests {
    @Test func aCleanJourneyFollowsTheCaseAndHasNoFindings() throws {
        let w = World()
        try w.standardJourney()
        // An event on the case after it was unpacked does not apply to the item.
        try w.event(.sensor, case1, at: "2026-05-13T00:00:00Z") { $0.temperature = 30 }
        let j = try w.journey()
        #expect(j.steps.map(\.step) == ["commission", "pack", "ship", "enter-bonded", "sensor", "release", "deliver"])
        #expect(j.steps.filter { $0.via == case1 }.map(\.step) == ["ship", "enter-bonded", "sensor"])
        #expect(j.findings.isEmpty, "\(j.findings)")
        #expect(j.coldChain == "ok")
        #expect(j.lot?.canonical == "https://id.gs1.org/01/09506000134352/10/LOT1")
        #expect(!j.recalled)
        #expect(j.steps.first { $0.step == "enter-bonded" }?.place == "Nansha Bonded Port Area")
    }

    /// Each journey rule, broken once.
    @Test(arguments: [
        ("release-before-bonded-receipt", 6),
        ("delivery-before-release", 7),
        ("after-destruction", 8),
        ("second-commissioning", 9),
        ("after-retail-sold", 10),
        ("unclosed-recall", 11),
        ("cold-chain-excursion", 12),
    ])
    func aBrokenRuleIsReported(_ kind: String, _ seed: Int) throws {
        let w = World()
        switch kind {
        case "release-before-bonded-receipt":
            try w.event(.commission, at: "2026-05-01T00:00:00Z") { $0.originCountry = "FR"; $0.lot = "L" }
            try w.event(.release, at: "2026-05-02T00:00:00Z") { $0.declaration = "D1" }
            try w.event(.enterBonded, at: "2026-05-03T00:00:00Z") { $0.zone = .baiyun }
        case "delivery-before-release":
            try w.event(.enterBonded, at: "2026-05-01T00:00:00Z") { $0.zone = .guangzhou }
            try w.event(.deliver, at: "2026-05-02T00:00:00Z")
            try w.event(.release, at: "2026-05-03T00:00:00Z") { $0.declaration = "D1" }
        case "after-destruction":
            try w.event(.destroy, at: "2026-05-01T00:00:00Z")
            try w.event(.ship, at: "2026-05-02T00:00:00Z")
        case "second-commissioning":
            try w.event(.commission, at: "2026-05-01T00:00:00Z") { $0.originCountry = "NZ"; $0.lot = "A" }
            try w.event(.commission, at: "2026-05-02T00:00:00Z") { $0.originCountry = "NZ"; $0.lot = "B" }
        case "after-retail-sold":
            try w.event(.deliver, at: "2026-05-01T00:00:00Z")
            try w.event(.ship, at: "2026-05-02T00:00:00Z")
        case "unclosed-recall":
            try w.event(.recall, at: "2026-05-01T00:00:00Z") { $0.reason = "melamine found in lot" }
        default:
            try w.event(.commission, at: "2026-05-01T00:00:00Z") { $0.originCountry = "NZ"; $0.lot = "A"; $0.allowedMin = 2; $0.allowedMax = 8 }
            try w.event(.sensor, at: "2026-05-02T00:00:00Z") { $0.temperature = 9.5 }
        }
        let j = try w.journey()
        // A release after delivery is also activity after the sale.
        let expected = kind == "delivery-before-release" ? [kind, "after-retail-sold"] : [kind]
        #expect(j.findings.map(\.kind) == expected, "\(j.findings)")
        #expect(j.findings[0].index != nil)
        if kind == "unclosed-recall" { #expect(j.recalled && j.recallReason == "melamine found in lot") }
        if kind == "cold-chain-excursion" { #expect(j.coldChain == "excursion" && j.findings[0].message.contains("9.5")) }
    }

    @Test func aRecallOfTheLotAppliesToTheItemAndIsClosedByDestruction() throws {
        let w = World()
        try w.standardJourney()
        try w.event(.recall, "https://id.gs1.org/01/09506000134352/10/LOT1", at: "2026-05-25T00:00:00Z") { $0.reason = "labelling error" }
        var j = try w.journey()
        #expect(j.recalled)
        #expect(j.findings.map(\.kind) == ["unclosed-recall"])
        try w.event(.destroy, at: "2026-05-28T00:00:00Z")
        j = try w.journey()
        #expect(!j.recalled)
        #expect(j.findings.isEmpty, "\(j.findings)")
    }

    @Test func anErrorDeclarationRetractsTheEventItNames() throws {
        let w = World()
        try w.event(.commission, at: "2026-05-01T00:00:00Z") { $0.originCountry = "NZ"; $0.lot = "A"; $0.allowedMin = 2; $0.allowedMax = 8 }
        let (_, bad) = try w.event(.sensor, at: "2026-05-02T00:00:00Z") { $0.temperature = 25 }
        #expect(try w.journey().coldChain == "excursion")
        // The correction: the same event with an errorDeclaration (same hash), never an edit.
        guard case .object(var o) = bad.json else { Issue.record("shape"); return }
        o["errorDeclaration"] = .object(["declarationTime": "2026-05-03T00:00:00Z", "reason": "urn:epcglobal:cbv:er:incorrect_data"])
        let correction = try EPCISEvent(.object(o))
        #expect(correction.eventID == bad.eventID)
        _ = try w.ledger.appendAll([try Statement(kind: TraceKind.event, payload: EventBuilder.payload(correction), signer: w.op.publicKey, time: w.now).sign(with: w.op)])
        let j = try w.journey()
        #expect(j.steps.first { $0.event.eventID == bad.eventID && !$0.event.isErrorDeclaration }?.retracted == true)
        #expect(j.coldChain == "not-monitored")
        #expect(j.findings.isEmpty)
        // A second declaration of the same event, and one for an unknown event, are refused.
        #expect(throws: LedgerError.self) {
            try w.ledger.appendAll([try Statement(kind: TraceKind.event, payload: EventBuilder.payload(correction), signer: w.op.publicKey, time: w.now.adding(seconds: 1)).sign(with: w.op)])
        }
    }

    @Test func whoMayRecordEvents() throws {
        let b = try Bay()
        let w = b.world
        // Not the operator and bound to nothing: refused.
        let stranger = w.newKey()
        #expect {
            try w.event(.ship, at: "2026-05-01T00:00:00Z", by: stranger)
        } throws: { e in
            guard case LedgerError.unauthorized(let m) = e else { return false }
            return m.contains("may not record events")
        }
        // A key bound to a registered enterprise: accepted. So is an inspection body's inspector.
        try w.append(TraceKind.body, try RegistryPayload.body(id: "GZ-WH-1", name: "Nansha Warehouse", region: .GD, type: .enterprise,
                                                             validity: Validity(from: time("2026-01-01"))), by: w.gd)
        let warehouse = w.newKey()
        try w.bind(warehouse, to: "GZ-WH-1", region: .GD, from: "2026-01-01", role: "bonded-warehouse")
        try w.event(.enterBonded, at: "2026-05-01T00:00:00Z", by: warehouse) { $0.zone = .nansha }
        try w.event(.sample, at: "2026-05-02T00:00:00Z", by: b.inspector)
        let j = try w.journey()
        #expect(j.steps.map(\.signerName) == ["Nansha Warehouse (GZ-WH-1)", "HK-LAB laboratory (HK-LAB)"])
        // The same event twice (signed again, so a different statement): refused with the first entry named.
        w.now = w.now.adding(seconds: 1)
        #expect {
            try w.event(.sample, at: "2026-05-02T00:00:00Z", by: b.inspector)
        } throws: { e in
            guard case LedgerError.unauthorized(let m) = e else { return false }
            return m.contains("duplicate event") && m.contains("at entry")
        }
    }

    @Test(arguments: [
        (#"{"type":"ObjectEvent","action":"OBSERVE","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"]}"#, "eventTime"),
        (#"{"type":"ObjectEvent","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"]}"#, "action"),
        (#"{"type":"Thing","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"]}"#, "type"),
        (#"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":"urn:epc:id:sgtin:0614141.107346.2017"}"#, "epcList"),
        (#"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"bizStep":"smuggling"}"#, "bizStep"),
        (#"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"disposition":"https://ref.gs1.org/cbv/Disp-lost"}"#, "disposition"),
        (#"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00"}"#, "identifies no object"),
        (#"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["(01)09506000134353(21)1"]}"#, "check digit"),
        (#"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+0800","epcList":["urn:epc:id:sgtin:0614141.107346.2017"]}"#, "eventTimeZoneOffset"),
        (#"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"suyuan:customsRelease":{"declarationNumber":"1","buyerName":"Li Lei"}}"#, "no personal data"),
        (#"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"eventID":"ni:///sha-256;0000000000000000000000000000000000000000000000000000000000000000?ver=CBV2.0"}"#, "does not match"),
    ])
    func malformedEventsAreRefusedNamingTheField(_ json: String, _ says: String) throws {
        let v = try JSONValue.parse(Array(json.utf8))
        #expect {
            _ = try EPCISEvent(v)
        } throws: { e in
            "\(e)".contains(says)
        }
    }
}

import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger

/// Where entries come from: the ledger's term index, or the entries of an offline bundle.
public typealias EntrySource = (String) throws -> [Entry]

/// One event as it applies to a product.
public struct JourneyStep: Sendable, Equatable {
    /// The ledger entry that records the event.
    public let index: UInt64
    public let event: EPCISEvent
    public let signer: PublicKey
    /// Who signed it, for people: a registered body's name, or "operator".
    public internal(set) var signerName: String
    /// The container (case, pallet, container) the event applied through, if not the product itself.
    public let via: String?
    /// Declared in error by a later error declaration (shown, never used by the rules).
    public var retracted: Bool
    /// The step name (`commission`, `pack`, `ship`, `enter-bonded`, `release`, `deliver`, `recall`, …).
    public let step: String

    /// Where it happened, for people.
    public var place: String? {
        if let z = event.bondedZone.flatMap(BondedZone.init(rawValue:)) { return z.name }
        return event.bizLocation ?? event.readPoint
    }
}

/// A rule broken by a product's history.
public struct JourneyFinding: Sendable, Equatable {
    /// `second-commissioning`, `release-before-bonded-receipt`, `delivery-before-release`,
    /// `after-destruction`, `after-retail-sold`, `unclosed-recall`, `cold-chain-excursion`.
    public let kind: String
    /// The entry where it shows.
    public let index: UInt64?
    public let message: String
}

/// A product's journey: its events (followed through aggregation and its lot), attestations and the
/// findings of the journey rules (see `Specs/journey.md`).
public struct ProductJourney: Sendable {
    public let code: ProductCode
    /// The product's lot code, from the code itself or its commissioning event.
    public let lot: ProductCode?
    public let steps: [JourneyStep]
    public let attestations: [RecordedAttestation]
    public let findings: [JourneyFinding]
    /// Recalled and not closed by a later return, destruction or unset persistent disposition.
    public let recalled: Bool
    public let recallReason: String?
    /// `ok`, `excursion` or `not-monitored`.
    public let coldChain: String
    /// Every entry the journey was built from (events, attestations and their status changes).
    public let entryIndexes: [UInt64]

    static let maxDepth = 4

    /// Builds the journey of `code` from `source`; `registry` names the signers. The entries are those
    /// of a ledger or of a bundle, checked by the rules (at append, or by `ProductBundle.verify`): the
    /// event IDs they record are not recomputed. `events` are events the caller already parsed from
    /// the entries with those indexes, which are not parsed again.
    public static func build(_ code: ProductCode, source: EntrySource, registry: Registry,
                             events: [UInt64: EPCISEvent] = [:]) throws -> ProductJourney {
        try build(code, source: source, events: events) { _, _ in registry }
    }

    /// As `build(_:source:registry:)`, asking for the registry once the journey's entries are read:
    /// `registry(keys, bodies)` must hold at least the facts about those keys (every signer and
    /// attestation issuer) and bodies (the attestations' bodies).
    public static func build(_ code: ProductCode, source: EntrySource, events known: [UInt64: EPCISEvent] = [:],
                             registry about: (_ keys: Set<PublicKey>, _ bodies: Set<String>) throws -> Registry) throws -> ProductJourney {
        var steps: [UInt64: JourneyStep] = [:]
        var attestationEntries: [Entry] = []
        var visited = Set<String>()
        // A container's entries are read both to find where the product left it and to collect its
        // events: read and parse each term's entries once per build.
        var read: [String: [Entry]] = [:]
        var parsed = known
        func entries(_ id: String) throws -> [Entry] {
            if let r = read[id] { return r }
            let r = try source("product:\(id)")
            read[id] = r
            // Parse the new events on all cores; `event(_:)` below then finds them parsed.
            let new = r.filter { $0.statement.kind == TraceKind.event && parsed[$0.index] == nil }
            for (e, p) in zip(new, Parallel.map(new) { e in Result { () throws(LedgerError) in try EventRule.parseAccepted(e.statement) } }) {
                parsed[e.index] = try p.get()
            }
            return r
        }
        func event(_ e: Entry) throws -> EPCISEvent {
            if let p = parsed[e.index] { return p }
            // Entries come from a ledger (checked by the rules at append) or a bundle (checked before
            // its journey is built), so the recorded event IDs are not hashed again.
            let p = try EventRule.parseAccepted(e.statement)
            parsed[e.index] = p
            return p
        }

        let signers = SignerKeyCache()
        /// When each step's statement was signed: what its signer's name is looked up at.
        var signedAt: [UInt64: Timestamp] = [:]
        // The events of `id` in [from, until), and, recursively, those of the containers it was packed in.
        func collect(_ id: String, from: Timestamp?, until: Timestamp?, depth: Int, via: String?) throws {
            let key = "\(id)|\(from?.nanoseconds ?? 0)|\(until?.nanoseconds ?? 0)"
            guard depth <= maxDepth, visited.insert(key).inserted else { return }
            var events: [(Entry, EPCISEvent)] = []
            for e in try entries(id) {
                switch e.statement.kind {
                case TraceKind.event: events.append((e, try event(e)))
                case TraceKind.attestation where depth == 0: attestationEntries.append(e)
                default: break
                }
            }
            for (e, ev) in events {
                if let f = from, ev.time < f { continue }
                if let u = until, ev.time >= u { continue }
                // A container's own aggregation events concern its other contents, not this product.
                if depth > 0, ev.type == "AggregationEvent", ev.parent == id { continue }
                guard steps.index(forKey: e.index) == nil else { continue }
                let signer = try signers.key(of: e.statement)
                steps[e.index] = JourneyStep(index: e.index, event: ev, signer: signer, signerName: "", via: via, retracted: false, step: stepName(ev))
                signedAt[e.index] = e.statement.time
            }
            // Containers: ADD aggregation with this id as a child, until the parent is unpacked.
            for (_, ev) in events where ev.type == "AggregationEvent" && ev.action == "ADD" && ev.children.contains(id) && !ev.isErrorDeclaration {
                guard let parent = ev.parent else { continue }
                if let u = until, ev.time >= u { continue }
                let parentEvents = try entries(parent).filter { $0.statement.kind == TraceKind.event }.compactMap { try? event($0) }
                let end = parentEvents.filter { $0.type == "AggregationEvent" && $0.action == "DELETE" && $0.parent == parent && $0.time > ev.time
                    && ($0.children.isEmpty || $0.children.contains(id)) && !$0.isErrorDeclaration }.map(\.time).min()
                let start = from.map { Swift.max($0, ev.time) } ?? ev.time
                let stop = [end, until].compactMap { $0 }.min()
                try collect(parent, from: start, until: stop, depth: depth + 1, via: parent)
            }
        }

        try collect(code.canonical, from: nil, until: nil, depth: 0, via: nil)
        // The lot: from the code, else from the commissioning event.
        var lot: ProductCode?
        if code.kind == .lot { lot = code } else if let k = code.lotKey { lot = try? ProductCode(parsing: k) }
        if lot == nil, let gtin = code.gtin,
           let l = steps.values.filter({ $0.via == nil && $0.event.bizStep == "commissioning" }).compactMap(\.event.lot).first {
            lot = try? ProductCode(parsing: "(01)\(gtin)(10)\(l)")
        }
        if let lot, lot != code {
            try collect(lot.canonical, from: nil, until: nil, depth: 0, via: lot.canonical)
        }

        // Corrections: an error declaration retracts the event with the same ID.
        var ordered = steps.values.sorted { ($0.event.time, $0.index) < ($1.event.time, $1.index) }
        let declared = Set(ordered.filter(\.event.isErrorDeclaration).map(\.event.eventID))
        for i in ordered.indices where !ordered[i].event.isErrorDeclaration && declared.contains(ordered[i].event.eventID) {
            ordered[i].retracted = true
        }
        // Attestations with their status changes.
        var recorded: [RecordedAttestation] = []
        var seen = Set<String>()
        for e in attestationEntries {
            let a = try AttestationRule.parse(e.statement)
            guard seen.insert(a.id).inserted else { continue }
            recorded += try TraceReader.recorded(from: try source("attestation:\(a.id)"))
        }
        recorded.sort { $0.index < $1.index }
        // The signers' names, from the registry's facts about them.
        let registry = try about(Set(ordered.map(\.signer)).union(recorded.map(\.attestation.issuer)), Set(recorded.map(\.attestation.body)))
        // Names that do not depend on the time (all but those of keys bound more than once), by key.
        var fixedNames: [PublicKey: String] = [:]
        func name(_ key: PublicKey, at t: Timestamp) -> String {
            if let n = fixedNames[key] { return n }
            let n: String, bound = registry.bindings(of: key)
            if key == registry.genesis.operatorKey.publicKey { n = "operator (\(registry.genesis.operatorKey.name))" }
            else if let r = registry.genesis.regulatorRegion(of: key) { n = "\(r.displayName) regulator" }
            else if let b = bound.first(where: { $0.isValid(at: t) }) ?? bound.first, let body = registry.bodies[b.body] { n = "\(body.name) (\(body.id))" }
            else { n = DIDKey.encode(key) }
            if bound.count <= 1 { fixedNames[key] = n }
            return n
        }
        for i in ordered.indices { ordered[i].signerName = name(ordered[i].signer, at: signedAt[ordered[i].index]!) }

        let rules = JourneyRules(steps: ordered.filter { !$0.retracted && !$0.event.isErrorDeclaration }, code: code)
        var indexes = Set(ordered.map(\.index))
        for r in recorded { indexes.insert(r.index); r.statusChanges.forEach { indexes.insert($0.index) } }
        return ProductJourney(code: code, lot: lot, steps: ordered, attestations: recorded, findings: rules.findings,
                              recalled: rules.recall != nil, recallReason: rules.recall?.event.reason, coldChain: rules.coldChain,
                              entryIndexes: indexes.sorted())
    }

    /// The step name of an event.
    static func stepName(_ e: EPCISEvent) -> String {
        if e.isErrorDeclaration { return "correction" }
        if e.customsRelease != nil { return "release" }
        if e.bondedZone != nil { return "enter-bonded" }
        if e.disposition == "recalled" || e.persistentSet.contains("recalled") { return "recall" }
        if e.disposition == "retail_sold" { return "deliver" }
        if e.disposition == "returned" { return "return" }
        switch e.bizStep {
        case "commissioning": return "commission"
        case "packing": return "pack"
        case "unpacking": return "unpack"
        case "shipping", "departing": return "ship"
        case "receiving", "arriving": return "receive"
        case "transporting", "loading", "unloading": return "transport"
        case "holding", "storing": return "hold"
        case "inspecting": return "inspect"
        case "sampling": return "sample"
        case "retail_selling": return "deliver"
        case "sensor_reporting": return "sensor"
        case "destroying", "decommissioning": return "destroy"
        case let s?: return s
        case nil: return e.sensorReadings.isEmpty ? e.type : "sensor"
        }
    }
}

/// The journey rules over a product's effective (not retracted) steps, in time order.
struct JourneyRules {
    var findings: [JourneyFinding] = []
    var recall: JourneyStep?
    var coldChain = "not-monitored"

    init(steps: [JourneyStep], code: ProductCode) {
        func add(_ kind: String, _ s: JourneyStep?, _ m: String) { findings.append(JourneyFinding(kind: kind, index: s?.index, message: m)) }
        let t = { (s: JourneyStep) in s.event.time.millisecondString }

        let commissions = steps.filter { $0.step == "commission" && $0.via == nil && $0.event.action == "ADD" }
        for s in commissions.dropFirst() {
            add("second-commissioning", s, "\(code.canonical) was commissioned again at \(t(s)) (first at \(t(commissions[0])), entry \(commissions[0].index)): a duplicated or cloned code")
        }
        let bonded = steps.first { $0.step == "enter-bonded" }
        let release = steps.first { $0.step == "release" }
        if let r = release {
            if let b = bonded, b.event.time > r.event.time {
                add("release-before-bonded-receipt", r, "customs release at \(t(r)) comes before the bonded-zone receipt at \(t(b))")
            } else if bonded == nil {
                add("release-before-bonded-receipt", r, "customs release at \(t(r)) without any bonded-zone receipt before it")
            }
        }
        if let d = steps.first(where: { $0.step == "deliver" }) {
            if let r = release, r.event.time > d.event.time {
                add("delivery-before-release", d, "delivered to the consumer at \(t(d)), before customs release at \(t(r))")
            } else if release == nil, bonded != nil {
                add("delivery-before-release", d, "delivered to the consumer at \(t(d)) without a customs release")
            }
        }
        if let x = steps.first(where: { $0.step == "destroy" }) {
            for s in steps where s.event.time > x.event.time {
                add("after-destruction", s, "\(s.step) at \(t(s)) after the product was destroyed at \(t(x))")
            }
        }
        if let sold = steps.first(where: { $0.step == "deliver" }) {
            for s in steps where s.event.time > sold.event.time && !["return", "recall", "destroy"].contains(s.step) {
                add("after-retail-sold", s, "\(s.step) at \(t(s)) after the product was sold to a consumer at \(t(sold)): possible cloned code")
            }
        }
        // Recall: open until returned, destroyed or the persistent disposition is unset.
        for s in steps {
            if s.step == "recall" { recall = recall ?? s }
            else if recall != nil && (s.step == "return" || s.step == "destroy" || s.event.persistentUnset.contains("recalled")) { recall = nil }
        }
        if let r = recall {
            add("unclosed-recall", r, "recalled at \(t(r))\(r.event.reason.map { " (\($0))" } ?? "") and not yet returned or destroyed")
        }
        // Cold chain: each reading against the allowed range in force (the latest given before it).
        var range: AllowedRange?
        for s in steps {
            if let r = s.event.allowedRange { range = r }
            for reading in s.event.sensorReadings {
                guard let r = range, r.type == reading.type else { continue }
                if coldChain == "not-monitored" { coldChain = "ok" }
                if !r.contains(reading.value) {
                    coldChain = "excursion"
                    add("cold-chain-excursion", s, "\(reading.type) \(Self.number(reading.value))\(reading.uom.map { " \($0)" } ?? "") at \(t(s)) is outside the allowed \(Self.number(r.min))–\(Self.number(r.max))\(r.uom.map { " \($0)" } ?? "")")
                }
            }
        }
    }

    static func number(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }
}

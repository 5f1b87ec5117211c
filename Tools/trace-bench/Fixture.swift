import Foundation
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanStore
import SuyuanTrace

// The fixtures of the supply-chain benchmarks: a Suyuan ledger in a SQLite file, a registry of the
// size a bay-area deployment would reach, attestations and product journeys. Everything is
// deterministic (seeded), so two runs build byte-identical payloads.

/// The evaluation time of every verdict, and the ledger's clock while fixtures are built.
let benchNow = Timestamp(parsing: "2026-06-01T00:00:00Z")!

func day(_ s: String) -> Timestamp { Timestamp(parsing: s.count == 10 ? s + "T00:00:00Z" : s)! }

/// A small, fast, seeded generator (SplitMix64), so the fixture is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A deterministic key: `n` spread over the seed, tagged so it never equals an operator or regulator seed.
func benchKey(_ n: Int, tag: UInt8) -> SecretKey {
    var seed = [UInt8](repeating: tag, count: 32)
    withUnsafeBytes(of: UInt64(n).littleEndian) { for (i, b) in $0.enumerated() { seed[i] = b } }
    return SecretKey(seed: seed)!
}

/// A statement to be signed: its kind, payload, signing key and time.
struct Draft: Sendable {
    let kind: String
    let payload: JSONValue
    let key: SecretKey
    let time: Timestamp
}

/// A Suyuan ledger (the `.suyuan` rule book) in a fresh SQLite file, with the clock fixed at `benchNow`.
final class BenchLedger {
    static let origin = "bench.suyuan.example/ledger"
    let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
    let regulators: [Region: SecretKey] = [
        .GD: SecretKey(seed: [UInt8](repeating: 2, count: 32))!,
        .HK: SecretKey(seed: [UInt8](repeating: 3, count: 32))!,
        .MO: SecretKey(seed: [UInt8](repeating: 4, count: 32))!,
    ]
    let path: String
    let ledger: Ledger
    /// The next statement time: statements are dated one millisecond apart, starting 29 days before
    /// `benchNow` (inside the ledger's 30-day window), as a steady stream of submissions would be.
    private var nextTime = benchNow.adding(seconds: -29 * 86400)

    /// Opens the ledger a previous run kept at `path` (`--keep`), for timing reads again without refilling.
    init(reopening path: String) throws {
        self.path = path
        ledger = try Ledger(opening: try SQLiteLedgerStore(path: path), rules: .suyuan, clock: { benchNow })
    }

    init(path: String) throws {
        self.path = path
        try? FileManager.default.removeItem(atPath: path)
        let store = try SQLiteLedgerStore(path: path, create: true)
        let genesis = try Genesis(
            origin: Self.origin, operatorKey: try VerifierKey(name: Self.origin, publicKey: op.publicKey),
            regulators: [.GD: try VerifierKey(name: "gd", publicKey: regulators[.GD]!.publicKey),
                         .HK: try VerifierKey(name: "hk", publicKey: regulators[.HK]!.publicKey),
                         .MO: try VerifierKey(name: "mo", publicKey: regulators[.MO]!.publicKey)])
        let g = try Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: benchNow).sign(with: op)
        ledger = try Ledger.create(in: store, genesis: g, rules: .suyuan, clock: { benchNow })
    }

    func regulator(_ r: Region) -> SecretKey { regulators[r]! }

    /// A draft dated at the next statement time.
    func draft(_ kind: String, _ payload: JSONValue, by key: SecretKey) -> Draft {
        defer { nextTime = nextTime.adding(milliseconds: 1) }
        return Draft(kind: kind, payload: payload, key: key, time: nextTime)
    }

    /// Reserves `n` consecutive statement times (for statements signed elsewhere); returns the first.
    func reserveTimes(_ n: Int) -> Timestamp {
        defer { nextTime = nextTime.adding(milliseconds: Int64(n)) }
        return nextTime
    }

    /// Signs drafts on all cores, keeping their order.
    func sign(_ drafts: [Draft]) -> [SignedStatement] {
        Parallel.map(drafts) { d in try! Statement(kind: d.kind, payload: d.payload, signer: d.key.publicKey, time: d.time).sign(with: d.key) }
    }

    /// Appends signed statements in order, in atomic batches.
    func append(_ statements: [SignedStatement], batch: Int = 2_000) throws {
        for start in stride(from: 0, to: statements.count, by: batch) {
            _ = try ledger.appendAll(Array(statements[start..<min(start + batch, statements.count)]))
        }
    }

    func signAndAppend(_ drafts: [Draft]) throws { try append(sign(drafts)) }

    /// Signs a checkpoint over the whole ledger (what `ProductVerifier.verify` proves against).
    func checkpoint() throws { try ledger.checkpoint(signer: try NoteSigner(name: Self.origin, key: op)) }

    func registry() throws -> Registry { try TraceReader(ledger: ledger).registry() }
}

extension Timestamp {
    func adding(milliseconds ms: Int64) -> Timestamp { Timestamp(nanoseconds: nanoseconds + ms * 1_000_000) }
}

// MARK: The registry

/// The registered world the benchmarks run against, with the keys the fixture signs with.
struct RegistryFixture {
    /// A conformity assessment body with its accredited scope and its lead inspector (bound from
    /// 2024 on, never revoked: the key attestations are signed with).
    struct CAB {
        let id: String
        let region: Region
        let scope: [ScopeItem]
        let inspector: SecretKey
        /// Ends withdrawn: cannot attest.
        let withdrawn: Bool
    }

    /// An enterprise of the supply chain with the key it records events with.
    struct Enterprise {
        let id: String
        let region: Region
        let key: SecretKey
    }

    var cabs: [CAB] = []
    var enterprises: [Enterprise] = []
    var counts: [String: Int] = [:]

    /// The scope items accredited somewhere: 10 categories × 3 standards.
    static let scopePool: [ScopeItem] = {
        let categories = ["cosmetics", "food", "infant-formula", "toys", "textiles", "electrical", "medical-devices", "seafood", "wine", "tea"]
        return categories.enumerated().flatMap { c, name in
            (0..<3).map { k in ScopeItem(category: name, standard: "GB \(4806 + 100 * c + k).\(k + 1)-20\(18 + k * 2)") }
        }
    }()

    /// Records a registry of `bodies` bodies (8 accreditation bodies in GD and HK, 9 % enterprises, the
    /// rest labs, inspection bodies and certification bodies in all three regions with 3–8 scope items
    /// each), `bindings` key bindings, on average `statusPerBody` status changes per body (suspensions
    /// and restorations of whole bodies and of scope items), recognition agreements between the
    /// regions (some re-recorded), the regions' policies and a few key revocations.
    static func record(on bl: BenchLedger, bodies: Int = 1_000, bindings: Int = 10_000, statusPerBody: Int = 20,
                       rng: inout SplitMix64) throws -> RegistryFixture {
        var f = RegistryFixture()
        var drafts: [Draft] = []
        func count(_ what: String, _ d: Draft) { drafts.append(d); f.counts[what, default: 0] += 1 }
        let since = Validity(from: day("2020-01-01"))

        // Accreditation bodies: four in GD (CNAS first), four in HK (HKAS first). Macao has none.
        var accreditors: [Region: [String]] = [.GD: ["CNAS", "GD-AB-2", "GD-AB-3", "GD-AB-4"], .HK: ["HKAS", "HK-AB-2", "HK-AB-3", "HK-AB-4"]]
        var allBodies: [(id: String, region: Region, scope: [ScopeItem])] = []
        for (region, ids) in accreditors.sorted(by: { $0.key < $1.key }) {
            for id in ids {
                count("registry.body", bl.draft(TraceKind.body, try RegistryPayload.body(
                    id: id, name: "\(id) accreditation service", region: region, type: .accreditationBody, validity: since), by: bl.regulator(region)))
                allBodies.append((id, region, []))
            }
        }
        accreditors[.MO] = accreditors[.GD]! + accreditors[.HK]!  // a Macao CAB is accredited in GD or HK

        // Enterprises (importers, carriers, bonded warehouses), each with one event-recording key.
        let enterpriseCount = bodies * 9 / 100
        let roles = ["importer", "carrier", "bonded-warehouse", "overseas-warehouse", "platform"]
        for i in 0..<enterpriseCount {
            let region = Region.allCases[i % 3]
            let id = "\(region.rawValue)-ENT-\(String(format: "%04d", i))"
            count("registry.body", bl.draft(TraceKind.body, try RegistryPayload.body(
                id: id, name: "Enterprise \(i) Trading Co.", region: region, type: .enterprise, validity: since), by: bl.regulator(region)))
            let key = benchKey(i, tag: 0xE0)
            count("registry.key-binding", bl.draft(TraceKind.keyBinding, try RegistryPayload.keyBinding(
                body: id, key: key.publicKey, role: roles[i % roles.count], validity: Validity(from: day("2024-01-01"))), by: bl.regulator(region)))
            f.enterprises.append(Enterprise(id: id, region: region, key: key))
            allBodies.append((id, region, []))
        }

        // Conformity assessment bodies: GD 45 %, HK 40 %, MO 15 %; labs, inspection and certification bodies.
        let cabCount = bodies - allBodies.count
        let types: [(BodyType, String)] = [(.lab, "LAB"), (.lab, "LAB"), (.lab, "LAB"), (.inspectionBody, "IB"), (.certificationBody, "CB")]
        for i in 0..<cabCount {
            let r = i % 20
            let region: Region = r < 9 ? .GD : r < 17 ? .HK : .MO
            let (type, tag) = types[i % types.count]
            let id = "\(region.rawValue)-\(tag)-\(String(format: "%04d", i))"
            var scope = Set<ScopeItem>()
            let n = Int.random(in: 3...8, using: &rng)
            while scope.count < n { scope.insert(scopePool.randomElement(using: &rng)!) }
            let accreditedBy = accreditors[region]!.randomElement(using: &rng)!
            count("registry.body", bl.draft(TraceKind.body, try RegistryPayload.body(
                id: id, name: "\(region.displayName) \(type.rawValue) \(i)", region: region, type: type, accreditedBy: accreditedBy,
                accreditation: "ACC-\(region.rawValue)-\(10_000 + i)", scope: scope.sorted(), validity: Validity(from: day("2020-06-01"), until: day("2030-06-01"))),
                by: bl.regulator(region)))
            let inspector = benchKey(i, tag: 0xC0)
            count("registry.key-binding", bl.draft(TraceKind.keyBinding, try RegistryPayload.keyBinding(
                body: id, key: inspector.publicKey, validity: Validity(from: day("2024-01-01"))), by: bl.regulator(region)))
            f.cabs.append(CAB(id: id, region: region, scope: scope.sorted(), inspector: inspector, withdrawn: i % 50 == 7))
            allBodies.append((id, region, scope.sorted()))
        }

        // The other key bindings: inspectors and staff across the CABs and enterprises, some with an end
        // date, one in ten a key already bound to another body of the same region. Only public keys are
        // kept (libsodium guards every secret key with its own pages).
        let bindable = allBodies.filter { !$0.id.contains("-AB-") && $0.id != "CNAS" && $0.id != "HKAS" }
        var boundKeys: [(key: PublicKey, region: Region)] = []
        let remaining = bindings - f.counts["registry.key-binding", default: 0]
        for i in 0..<max(0, remaining) {
            let body = bindable[i % bindable.count]
            let key: PublicKey
            if i % 10 == 9, let reuse = boundKeys.last(where: { $0.region == body.region }) { key = reuse.key } else {
                key = benchKey(i, tag: 0xB0).publicKey
                boundKeys.append((key, body.region))
            }
            let from = day("2021-01-01").adding(seconds: Int64.random(in: 0..<(4 * 365 * 86400), using: &rng))
            let until: Timestamp? = i % 5 == 0 ? from.adding(seconds: Int64.random(in: 30...(3 * 365), using: &rng) * 86400) : nil
            count("registry.key-binding", bl.draft(TraceKind.keyBinding, try RegistryPayload.keyBinding(
                body: body.id, key: key, role: i % 7 == 0 ? "sampler" : "inspector", validity: Validity(from: from, until: until)),
                by: bl.regulator(body.region)))
        }

        // Status histories: pairs of suspension (whole body, or one scope item) and restoration between
        // 2021 and April 2026, so every body is active again by the time attestations are made; one CAB
        // in fifty is withdrawn at the end.
        let start = day("2021-01-01"), end = day("2026-04-01")
        let span = (end.nanoseconds - start.nanoseconds) / 1_000_000_000
        let withdrawn = Set(f.cabs.filter(\.withdrawn).map(\.id))
        for b in allBodies {
            let pairs = Int.random(in: (statusPerBody / 2 - 5)...(statusPerBody / 2 + 5), using: &rng)
            let times = (0..<(2 * pairs)).map { _ in Int64.random(in: 0..<span, using: &rng) }.sorted()
            for p in 0..<pairs {
                let item = !b.scope.isEmpty && p % 3 == 2 ? b.scope.randomElement(using: &rng) : nil
                count("registry.status", bl.draft(TraceKind.status, RegistryPayload.status(
                    body: b.id, status: .suspended, scope: item, effective: start.adding(seconds: times[2 * p])), by: bl.regulator(b.region)))
                count("registry.status", bl.draft(TraceKind.status, RegistryPayload.status(
                    body: b.id, status: .active, scope: item, effective: start.adding(seconds: times[2 * p + 1])), by: bl.regulator(b.region)))
            }
            if withdrawn.contains(b.id) {
                count("registry.status", bl.draft(TraceKind.status, RegistryPayload.status(
                    body: b.id, status: .withdrawn, effective: day("2026-04-15")), by: bl.regulator(b.region)))
            }
        }

        // Key revocations: one bound key in thirty, by its region's regulator.
        for (i, k) in boundKeys.enumerated() where i % 30 == 11 {
            count("registry.key-revocation", bl.draft(TraceKind.keyRevocation, RegistryPayload.keyRevocation(
                key: k.key, effective: day("2025-01-01").adding(seconds: Int64(i) * 3600)), by: bl.regulator(k.region)))
        }

        // Agreements, in chunks of five scope items: GD and MO accept HK-accredited results for all,
        // MO accepts GD-accredited ones, HK accepts GD-accredited results for half of them. Some are
        // re-recorded later (the latest entry is the one in force): one GD chunk ended in March 2026.
        let chunks = stride(from: 0, to: scopePool.count, by: 5).map { Array(scopePool[$0..<min($0 + 5, scopePool.count)]) }
        let open = Validity(from: day("2024-01-01"))
        for (n, chunk) in chunks.enumerated() {
            for (region, from) in [(Region.GD, Region.HK), (.MO, .HK), (.MO, .GD)] + (n % 2 == 0 ? [(Region.HK, Region.GD)] : []) {
                count("registry.agreement", bl.draft(TraceKind.agreement, try RegistryPayload.agreement(
                    region: region, acceptFrom: [from], scope: chunk, validity: open), by: bl.regulator(region)))
            }
        }
        for (n, chunk) in chunks.enumerated() where n % 2 == 1 {
            let until = n == 1 ? day("2026-03-01") : day("2028-01-01")
            count("registry.agreement", bl.draft(TraceKind.agreement, try RegistryPayload.agreement(
                region: .GD, acceptFrom: [.HK], scope: chunk, validity: Validity(from: day("2024-01-01"), until: until)), by: bl.regulator(.GD)))
            count("registry.agreement", bl.draft(TraceKind.agreement, try RegistryPayload.agreement(
                region: .MO, acceptFrom: [.HK, .GD], scope: chunk, validity: Validity(from: day("2025-01-01"))), by: bl.regulator(.MO)))
        }

        // Policies: GD invalidates results on later suspensions from 2026; MO records that it keeps them.
        count("registry.policy", bl.draft(TraceKind.policy, RegistryPayload.policy(region: .GD, laterSuspension: .invalidate, effective: day("2026-01-01")), by: bl.regulator(.GD)))
        count("registry.policy", bl.draft(TraceKind.policy, RegistryPayload.policy(region: .MO, laterSuspension: .keep, effective: day("2025-01-01")), by: bl.regulator(.MO)))

        try bl.signAndAppend(drafts)
        return f
    }

    /// A summary line of what was recorded.
    var summary: String {
        ["registry.body", "registry.key-binding", "registry.status", "registry.key-revocation", "registry.agreement", "registry.policy"]
            .map { "\(counts[$0, default: 0]) \($0.dropFirst(9))" }.joined(separator: ", ")
    }
}

// MARK: Attestations and journeys

/// A GS1 SSCC (a case or pallet) as a canonical code, with a valid check digit.
func sscc(_ n: Int) -> String {
    let digits = "09506000" + String(format: "%09d", n)
    return "https://id.gs1.org/00/\(digits)\(GS1.checkDigit(digits))"
}

/// Where the readings are taken: a GLN as a GS1 Digital Link.
let warehouse = "https://id.gs1.org/414/950600013435\(GS1.checkDigit("950600013435"))"

func item(_ serial: String) -> String { "https://id.gs1.org/01/09506000134352/21/\(serial)" }
func lot(_ name: String) -> String { "https://id.gs1.org/01/09506000134352/10/\(name)" }

/// A deterministic attestation id (`urn:uuid:` + a version-4-shaped UUID).
func attestationID(_ rng: inout SplitMix64) -> String {
    let a = rng.next(), b = rng.next()
    return String(format: "urn:uuid:%08x-%04x-4%03x-8%03x-%012llx", UInt32(truncatingIfNeeded: a >> 32), UInt16(truncatingIfNeeded: a >> 16),
                  UInt16(truncatingIfNeeded: a) & 0xfff, UInt16(truncatingIfNeeded: b >> 48) & 0xfff, b & 0xffff_ffff_ffff)
}

/// Issues `count` attestations for `product` from CABs spread over the registry (about `bodies`
/// distinct ones), each signed by the body's lead inspector for one of its scope items, dated in May
/// 2026. Returns the drafts (statement time = the credential's `validFrom`) and the bodies used.
func attestationDrafts(for product: String, count: Int, bodies: Int, fixture: RegistryFixture, registry: Registry,
                       rng: inout SplitMix64) throws -> (drafts: [Draft], issuers: [RegistryFixture.CAB]) {
    let candidates = fixture.cabs.filter { !$0.withdrawn }
    let chosen = (0..<bodies).map { candidates[($0 * 7919) % candidates.count] }
    var drafts: [Draft] = [], issuers: [RegistryFixture.CAB] = []
    let code = try ProductCode(parsing: product)
    for i in 0..<count {
        let cab = chosen[i % chosen.count]
        let t = benchNow.adding(seconds: -Int64.random(in: 86400...(25 * 86400), using: &rng))
        let a = try Attestation.issue(
            id: attestationID(&rng), key: cab.inspector, body: registry.bodies[cab.id]!, product: code,
            scope: cab.scope.randomElement(using: &rng)!, result: .pass,
            values: [try MeasuredValue(metric: "lead", value: "0.0\(i % 10)", unit: "mg/kg"), try MeasuredValue(metric: "ph", value: "5.\(i % 10)", unit: nil)],
            reportHash: Hex.encode(SHA256.hash(Array("report \(i) \(product)".utf8)).bytes), validFrom: t, validUntil: day("2027-06-01"))
        drafts.append(Draft(kind: TraceKind.attestation, payload: .object(["credential": a.credential]), key: cab.inspector, time: t))
        issuers.append(cab)
    }
    return (drafts, issuers)
}

/// The events of one product's journey: commissioned in its lot (2–8 °C), packed into a case, the
/// case shipped, `readings` temperature readings on the case a minute apart, the case received in
/// the Nansha bonded zone and unpacked, the product released by customs and sold. Every reading is
/// in range, so the journey has no findings.
func journeyEvents(item code: String, lot: String, case container: String, readings: Int, start: Timestamp) throws -> [EPCISEvent] {
    var events: [EPCISEvent] = []
    func add(_ step: JourneyStepKind, _ product: String?, at t: Timestamp, _ configure: (inout StepDetails) -> Void = { _ in }) throws {
        var d = StepDetails()
        configure(&d)
        events.append(try EventBuilder.build(step, product: product, time: t, location: warehouse, details: d))
    }
    try add(.commission, code, at: start) { $0.originCountry = "NZ"; $0.lot = lot; $0.allowedMin = 2; $0.allowedMax = 8 }
    try add(.pack, nil, at: start.adding(seconds: 3600)) { $0.parent = container; $0.children = [code] }
    try add(.ship, container, at: start.adding(seconds: 7200))
    let first = start.adding(seconds: 10_800)
    for i in 0..<readings {
        try add(.sensor, container, at: first.adding(seconds: Int64(i) * 60)) { $0.temperature = 3 + Double(i % 40) / 10 }
    }
    let arrive = first.adding(seconds: Int64(readings) * 60 + 3600)
    try add(.enterBonded, container, at: arrive) { $0.zone = .nansha }
    try add(.unpack, nil, at: arrive.adding(seconds: 86400)) { $0.parent = container; $0.children = [code] }
    try add(.release, code, at: arrive.adding(seconds: 2 * 86400)) { $0.declaration = "530120260520\(readings)" }
    try add(.deliver, code, at: arrive.adding(seconds: 3 * 86400))
    return events
}

extension BenchLedger {
    func eventDraft(_ e: EPCISEvent, by key: SecretKey) -> Draft { draft(TraceKind.event, EventBuilder.payload(e), by: key) }
}

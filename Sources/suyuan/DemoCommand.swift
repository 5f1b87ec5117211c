import ArgumentParser
import Foundation
import SuyuanAudit
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore
import SuyuanTrace

/// `suyuan demo [--dir DIR]`: builds a realistic sample ledger in DIR with the library (the same story as
/// `Tools/main-job.sh`) and prints what the operator, the regulators, an inspector and consumers each see.
struct DemoCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a realistic sample ledger in DIR and show what the operator, regulators, inspectors and consumers each see.",
        discussion: """
            DIR (default ./suyuan-demo) must not exist or be empty (exit 73 otherwise). It receives the key files \
            of every party, the SQLite ledger suyuan.ledger, the first signed checkpoint, a lab report and an \
            offline bundle.

            The key files are sealed with the public demo passphrase "\(DemoScenario.passphrase)" at a low \
            Argon2id cost (1 pass over 1 MiB), since that passphrase protects nothing: never use these keys for \
            real goods.

            The story: infant formula from New Zealand through the Nansha bonded zone, tested in Hong Kong and \
            recognised in GD, HK and MO; wine from France through the Baiyun cold store with a temperature \
            excursion, tested in Guangdong and not recognised in HK; a recalled lot.

            Exit 0 when every verdict came out as the story intends; 1, naming the difference, when one did not.
            """)

    @Option(help: "Where to create the sample ledger and its files (must not exist, or be empty).") var dir = "suyuan-demo"

    func execute() throws {
        let path = try DemoScenario.prepareDirectory(dir)
        let scenario = try DemoScenario(dir: path)
        try scenario.buildStory()
        var report = DemoReport(scenario)
        let failures = try report.show()
        guard failures.isEmpty else {
            throw CLIError(code: CLIError.verification,
                           message: "the demo did not come out as designed: \(failures.joined(separator: "; ")) (the sample is left in \(path))")
        }
    }
}

// MARK: - The scenario

/// The demo's parties, their keys and the ledger they write to, and the story they record: registry,
/// bindings, agreements, two journeys, attestations, a recall and a cold-chain excursion.
final class DemoScenario {
    /// The passphrase of every demo key file. Public by design; printed in the output.
    static let passphrase = "demo-passphrase-not-for-production"
    /// Argon2id cost of the demo key files: the format's cheapest useful setting (the passphrase is public anyway).
    static let kdfOpsLimit: UInt64 = 1
    static let kdfMemLimit: UInt64 = 1 << 20
    static let origin = "gz.suyuan.example/ledger"

    /// One party: the file holding its sealed key, its key name and the key itself.
    struct Party {
        let file: String
        let name: String
        let role: String
        let key: SecretKey
        var vkey: VerifierKey { try! VerifierKey(name: name, publicKey: key.publicKey) }
    }

    // Product codes (GS1 element strings), as in Tools/main-job.sh.
    static let milk = "(01)09421902960055(21)MP-000731"        // infant formula from a dairy in New Zealand
    static let milkLot = "(01)09421902960055(10)NZ-2026-204"
    static let recalled = "(01)09421902960055(21)MP-000999"    // from lot NZ-2026-118, recalled
    static let recalledLot = "(01)09421902960055(10)NZ-2026-118"
    static let milkCase = "(00)094219029600000000"
    static let wine = "(01)03760123450003(21)BDX-2019-0042"    // a Bordeaux from a château in France
    static let wineCase = "(00)037601234500000003"
    static let recallReason = "melamine above limit in lot NZ-2026-118"

    let dir: String
    var ledgerPath: String { dir + "/suyuan.ledger" }
    /// When the demo runs; the story's events happen in the 28 days before.
    let now: Timestamp
    let op, gd, hk, mo, hkLab, gdLab, nansha, baiyun, importer: Party
    private(set) var ledger: Ledger!
    private var opSigner: NoteSigner!

    // What the story recorded, for the report.
    private(set) var milkAttestation = ""
    private(set) var wineAttestation = ""
    private(set) var checkpointSizes: [UInt64] = []
    private(set) var chapters: [(title: String, first: UInt64, last: UInt64)] = []

    init(dir: String) throws {
        self.dir = dir
        now = Timestamp(nanoseconds: systemClock().seconds * 1_000_000_000)
        func party(_ file: String, _ name: String, _ role: String) throws -> Party {
            let p = Party(file: file, name: name, role: role, key: SecretKey.generate())
            let sealed = try KeyFile.seal(p.key, name: name, passphrase: Array(Self.passphrase.utf8),
                                          opslimit: Self.kdfOpsLimit, memlimit: Self.kdfMemLimit)
            try IO.write(sealed.encoded(), to: dir + "/" + file, mode: 0o600, overwrite: false)
            return p
        }
        op = try party("operator.key", Self.origin, "ledger operator")
        gd = try party("gd.key", "gd.samr.example/regulator", "Guangdong regulator")
        hk = try party("hk.key", "hk.cedb.example/regulator", "Hong Kong regulator")
        mo = try party("mo.key", "mo.ae.example/regulator", "Macao regulator")
        hkLab = try party("hk-lab-inspector.key", "hk-lab-inspector", "inspector, Kowloon Food Testing Laboratory (HK)")
        gdLab = try party("gd-lab-inspector.key", "gd-lab-inspector", "inspector, Nansha Customs Technology Centre (GD)")
        nansha = try party("nansha-warehouse.key", "nansha-warehouse", "Nansha bonded warehouse")
        baiyun = try party("baiyun-warehouse.key", "baiyun-warehouse", "Baiyun airport bonded cold store")
        importer = try party("importer.key", "importer", "cross-border importer")
    }

    var parties: [Party] { [op, gd, hk, mo, hkLab, gdLab, nansha, baiyun, importer] }

    /// Creates DIR, or accepts it when it exists and is empty; returns its absolute path.
    static func prepareDirectory(_ path: String) throws -> String {
        let fm = FileManager.default
        let abs = URL(fileURLWithPath: path).standardizedFileURL.path
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: abs, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw CLIError(code: CLIError.cannotCreate, message: "\(path) exists and is not a directory; choose another --dir")
            }
            let contents: [String]
            do { contents = try fm.contentsOfDirectory(atPath: abs) } catch {
                throw CLIError(code: CLIError.cannotCreate, message: "cannot read directory \(path): \(error.localizedDescription)")
            }
            guard contents.isEmpty else {
                throw CLIError(code: CLIError.cannotCreate,
                               message: "\(path) is not empty; the demo only writes into a new or empty directory (choose another --dir or remove it first)")
            }
        } else {
            do { try fm.createDirectory(atPath: abs, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
                throw CLIError(code: CLIError.cannotCreate, message: "cannot create directory \(path): \(error.localizedDescription)")
            }
        }
        return abs
    }

    // MARK: Recording

    /// `days` days and `hours` hours before the demo runs.
    func ago(_ days: Int64, _ hours: Int64 = 0) -> Timestamp { now.adding(seconds: -(days * 86400 + hours * 3600)) }

    /// A fixed date (midnight UTC).
    static func date(_ s: String) -> Timestamp { Timestamp(parsing: s + "T00:00:00Z")! }

    /// Signs `payload` as `kind` by `party` at `time` (default: now) and appends it.
    @discardableResult
    func append(_ kind: String, _ payload: JSONValue, by party: Party, at time: Timestamp? = nil) throws -> Appended {
        let s = try Statement(kind: kind, payload: payload, signer: party.key.publicKey, time: time ?? systemClock().truncatedToMilliseconds)
            .sign(with: party.key)
        return try ledger.appendAll([s])[0]
    }

    /// Records one journey event, signed by `party` when it happened (as a warehouse scanner or an
    /// importer's system would), in the local time zone `zone`.
    @discardableResult
    func event(_ step: JourneyStepKind, by party: Party, _ product: String?, at t: Timestamp, zone: String = "+08:00",
               location: String? = nil, _ details: (inout StepDetails) -> Void = { _ in }) throws -> EPCISEvent {
        var d = StepDetails()
        details(&d)
        let e = try EventBuilder.build(step, product: product, time: t, timeZoneOffset: zone, location: location, details: d)
        try append(TraceKind.event, EventBuilder.payload(e), by: party, at: t)
        return e
    }

    /// Issues a passing attestation by `party` for the body it is bound to, and appends it; returns its id.
    func attest(by party: Party, body id: String, product: String, scope: String, values: [String], reportHash: String? = nil,
                at t: Timestamp, relatedEvents: [String] = []) throws -> String {
        guard let body = try TraceReader(ledger: ledger).registry().bodies[id] else {
            throw CLIError(code: CLIError.data, message: "demo: no body \(id) in the registry")
        }
        let a = try Attestation.issue(
            id: "urn:uuid:" + UUID().uuidString.lowercased(), key: party.key, body: body, product: try ProductCode(parsing: product),
            scope: try ScopeItem(parsing: scope), result: .pass, values: try values.map { try MeasuredValue(parsing: $0) },
            reportHash: reportHash, validFrom: t, relatedEvents: relatedEvents)
        try append(TraceKind.attestation, .object(["credential": a.credential]), by: party, at: t)
        return a.id
    }

    /// Signs a checkpoint over the whole ledger with the operator key.
    @discardableResult
    func checkpoint() throws -> [UInt8] {
        let cp = try ledger.checkpoint(signer: opSigner)
        if cp.isNew { checkpointSizes.append(cp.size) }
        return cp.note
    }

    /// Runs `body` and records which entries it appended under `title`.
    private func chapter(_ title: String, _ body: () throws -> Void) throws {
        let first = try ledger.size()
        try body()
        let last = try ledger.size()
        if last > first { chapters.append((title, first, last - 1)) }
    }

    // MARK: The story

    /// Creates the ledger and records the whole story, signing checkpoints along the way.
    func buildStory() throws {
        try createLedger()
        try chapter("regulators: a risk warning, 7 bodies, 5 key bindings, 2 recognition agreements") { try registry() }
        try checkpoint()
        try chapter("milk powder: New Zealand → Nansha bonded zone → tested in Hong Kong → released → delivered") { try milkJourney() }
        try checkpoint()
        try chapter("wine: France → Baiyun bonded cold store (one excursion) → tested in Nansha → released") { try wineJourney() }
        try checkpoint()
        try chapter("recall: lot NZ-2026-118") { try recall() }
        try checkpoint()
    }

    /// Entry 0 (genesis) names the origin, the operator key and the GD, HK and MO regulator keys; a first
    /// checkpoint is signed and saved, as a consumer would keep it.
    private func createLedger() throws {
        opSigner = try NoteSigner(name: op.name, key: op.key)
        let genesis = try Genesis(origin: Self.origin, operatorKey: op.vkey, regulators: [.GD: gd.vkey, .HK: hk.vkey, .MO: mo.vkey])
        let signed = try Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.key.publicKey, time: systemClock()).sign(with: op.key)
        try IO.createExclusively(ledgerPath)
        let store = try SQLiteLedgerStore(path: ledgerPath, create: true)
        ledger = try Ledger.create(in: store, genesis: signed, rules: .suyuan)
        // Later `suyuan` commands against this ledger sign checkpoints with this key file.
        try store.setSetting("operator_key_path", dir + "/" + op.file)
        chapters.append(("genesis: origin, operator key, GD/HK/MO regulator keys", 0, 0))
        try IO.write(try checkpoint(), to: dir + "/checkpoint-1.txt")
    }

    private func registry() throws {
        try append(Notice.kind, try Notice(
            level: "warning", title: "进口婴幼儿配方奶粉风险警示 / Risk warning: imported infant formula",
            text: "Lot NZ-2026-118 is under investigation for melamine contamination. Do not use until further notice.",
            products: ["https://id.gs1.org/01/09421902960055/10/NZ-2026-118"], categories: ["infant-formula"]).payload, by: gd)

        func body(_ by: Party, _ id: String, _ name: String, _ region: Region, _ type: BodyType, accreditedBy: String? = nil,
                  accreditation: String? = nil, scope: [String] = [], from: String) throws {
            try append(TraceKind.body, try RegistryPayload.body(
                id: id, name: name, region: region, type: type, accreditedBy: accreditedBy, accreditation: accreditation,
                scope: try scope.map { try ScopeItem(parsing: $0) }, validity: Validity(from: Self.date(from))), by: by)
        }
        try body(gd, "CNAS", "China National Accreditation Service", .GD, .accreditationBody, from: "2020-01-01")
        try body(hk, "HKAS", "Hong Kong Accreditation Service", .HK, .accreditationBody, from: "2020-01-01")
        try body(hk, "HOKLAS-118", "Kowloon Food Testing Laboratory", .HK, .lab, accreditedBy: "HKAS", accreditation: "HOKLAS 118",
                 scope: ["infant-formula:GB 10765-2021", "infant-formula:GB 2761-2017"], from: "2024-01-01")
        try body(gd, "CNAS-L0901", "Nansha Customs Technology Centre", .GD, .lab, accreditedBy: "CNAS", accreditation: "CNAS L0901",
                 scope: ["wine:GB 2758-2012", "infant-formula:GB 10765-2021"], from: "2024-01-01")
        try body(gd, "GZ-NANSHA-WH", "Nansha Bonded Logistics Warehouse", .GD, .enterprise, from: "2024-01-01")
        try body(gd, "GZ-BAIYUN-WH", "Baiyun Airport Bonded Cold Store", .GD, .enterprise, from: "2024-01-01")
        try body(gd, "GZ-IMPORTER-1", "Lingnan Cross-border Trading Co.", .GD, .enterprise, from: "2024-01-01")

        func bind(_ by: Party, _ bodyID: String, _ who: Party, role: String) throws {
            try append(TraceKind.keyBinding, try RegistryPayload.keyBinding(
                body: bodyID, key: who.key.publicKey, role: role, validity: Validity(from: Self.date("2025-01-01"))), by: by)
        }
        try bind(hk, "HOKLAS-118", hkLab, role: "inspector")
        try bind(gd, "CNAS-L0901", gdLab, role: "inspector")
        try bind(gd, "GZ-NANSHA-WH", nansha, role: "bonded-warehouse")
        try bind(gd, "GZ-BAIYUN-WH", baiyun, role: "bonded-warehouse")
        try bind(gd, "GZ-IMPORTER-1", importer, role: "importer")

        // GD accepts HK-accredited infant-formula results; MO accepts HK and GD results for infant formula and
        // wine; HK accepts no GD-accredited wine results, so the wine's GD test is not recognised in HK.
        try append(TraceKind.agreement, try RegistryPayload.agreement(
            region: .GD, acceptFrom: [.HK], scope: [try ScopeItem(parsing: "infant-formula:GB 10765-2021")],
            validity: Validity(from: Self.date("2025-01-01"))), by: gd)
        try append(TraceKind.agreement, try RegistryPayload.agreement(
            region: .MO, acceptFrom: [.HK, .GD],
            scope: [try ScopeItem(parsing: "infant-formula:GB 10765-2021"), try ScopeItem(parsing: "wine:GB 2758-2012")],
            validity: Validity(from: Self.date("2025-01-01"))), by: mo)
    }

    private func milkJourney() throws {
        let dairy = "urn:epc:id:sgln:9421902.00001.0"
        try event(.commission, by: importer, Self.milk, at: ago(25, 6), zone: "+12:00", location: dairy) {
            $0.originCountry = "NZ"; $0.lot = "NZ-2026-204"; $0.expiry = self.dateString(self.now.adding(seconds: 2 * 365 * 86400))
        }
        try event(.pack, by: importer, nil, at: ago(24, 5), zone: "+12:00", location: dairy) { $0.parent = Self.milkCase; $0.children = [Self.milk] }
        try event(.ship, by: importer, Self.milkCase, at: ago(23, 2), zone: "+12:00", location: dairy)
        try event(.receive, by: importer, Self.milkCase, at: ago(22, 4), zone: "+12:00", location: "urn:epc:id:sgln:9421902.00002.0")
        try event(.transport, by: importer, Self.milkCase, at: ago(20, 1), zone: "+12:00")
        try event(.enterBonded, by: nansha, Self.milkCase, at: ago(8, 3)) { $0.zone = .nansha }
        let sample = try event(.sample, by: hkLab, Self.milkLot, at: ago(7, 5))
        let report = """
            Kowloon Food Testing Laboratory (HOKLAS 118) — test report KFTL-2026-11-0731 (sample, for the Suyuan demo)
            Sample: infant formula, lot NZ-2026-204, GTIN 09421902960055, drawn at the Nansha bonded warehouse
            Standard: GB 10765-2021; contaminants per GB 2761-2017
            Protein 2.05 g/100 kJ (limit 1.88–2.93): pass
            Melamine 0.05 mg/kg (limit 1 mg/kg): pass
            Conclusion: conforms.

            """
        try IO.write(Array(report.utf8), to: dir + "/milk-test-report.txt")
        milkAttestation = try attest(by: hkLab, body: "HOKLAS-118", product: Self.milkLot, scope: "infant-formula:GB 10765-2021",
                                     values: ["protein=2.05g/100kJ", "melamine=0.05mg/kg"], reportHash: SHA256.hash(Array(report.utf8)).hex,
                                     at: ago(6, 2), relatedEvents: [sample.eventID])
        try event(.unpack, by: nansha, nil, at: ago(5, 4)) { $0.parent = Self.milkCase }
        try event(.release, by: importer, Self.milk, at: ago(4, 6)) {
            $0.declaration = "530120261124000731"; $0.orderHash = SHA256.hash(Array("order 4407".utf8)).hex
        }
        try event(.deliver, by: importer, Self.milk, at: ago(2, 3))
    }

    private func wineJourney() throws {
        try event(.commission, by: importer, Self.wine, at: ago(20, 7), zone: "+01:00") {
            $0.originCountry = "FR"; $0.lot = "BDX-2019"; $0.allowedMin = 10; $0.allowedMax = 18
        }
        try event(.pack, by: importer, nil, at: ago(19, 6), zone: "+01:00") { $0.parent = Self.wineCase; $0.children = [Self.wine] }
        try event(.ship, by: importer, Self.wineCase, at: ago(18, 2), zone: "+01:00")
        try event(.enterBonded, by: baiyun, Self.wineCase, at: ago(15, 5)) { $0.zone = .baiyun }
        try event(.sensor, by: baiyun, Self.wineCase, at: ago(14, 1)) { $0.temperature = 14.5 }
        try event(.sensor, by: baiyun, Self.wineCase, at: ago(13, 8)) { $0.temperature = 24.0 }
        try event(.unpack, by: baiyun, nil, at: ago(10, 2)) { $0.parent = Self.wineCase }
        wineAttestation = try attest(by: gdLab, body: "CNAS-L0901", product: Self.wine, scope: "wine:GB 2758-2012",
                                     values: ["methanol=120mg/L"], at: ago(9, 4))
        try event(.release, by: importer, Self.wine, at: ago(3, 5)) { $0.declaration = "530120261124000802" }
    }

    private func recall() throws {
        try event(.commission, by: importer, Self.recalled, at: ago(28), zone: "+12:00") { $0.originCountry = "NZ"; $0.lot = "NZ-2026-118" }
        try event(.recall, by: importer, Self.recalledLot, at: ago(1, 2)) { $0.reason = Self.recallReason }
    }

    private func dateString(_ t: Timestamp) -> String { String(t.secondString.prefix(10)) }
}

// MARK: - What each user sees

/// Prints the demo section by section and checks that every verdict came out as the story intends;
/// returns the differences (empty when all is as designed).
struct DemoReport {
    let s: DemoScenario
    private var failures: [String] = []

    init(_ scenario: DemoScenario) { s = scenario }

    private func heading(_ title: String) { IO.print("\n== \(title)") }

    private mutating func expect(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok { failures.append(what()) }
    }

    mutating func show() throws -> [String] {
        let ledger = s.ledger!
        let reader = TraceReader(ledger: ledger)
        let registry = try reader.registry()
        let now = systemClock()
        let opVkey = s.op.vkey

        IO.print("Suyuan demo: a sample ledger in \(s.dir)")
        IO.print("Demo passphrase (public, for this sample only — not for production): \(DemoScenario.passphrase)")
        IO.print("(every key file below is sealed with it at a low Argon2id cost, 1 pass over 1 MiB; never use these keys for real goods)")

        heading("Building the sample ledger")
        IO.print("Key files (Ed25519, passphrase-sealed, mode 0600):")
        for p in s.parties { IO.print("  \(pad(p.file, 22)) \(pad(p.role, 50)) \(p.vkey)") }
        IO.print("Entries recorded:")
        for c in s.chapters { IO.print(pad("  " + (c.first == c.last ? "\(c.first)" : "\(c.first)–\(c.last)"), 10) + c.title) }
        IO.print("Checkpoints signed by the operator at sizes \(s.checkpointSizes.map(String.init).joined(separator: ", ")); the first is saved as checkpoint-1.txt")
        IO.print("(lines starting with $ below are the equivalent suyuan commands, run inside \(s.dir))")

        // Operator.
        heading("Operator: the ledger and its latest signed checkpoint")
        let size = try ledger.size()
        var kinds: [String: Int] = [:]
        for e in try ledger.store.entries(from: 0, count: Int(size)) {
            let kind = try Entry(parsing: e.bytes).statement.kind
            kinds[kind.hasPrefix("registry.") ? "registry" : kind, default: 0] += 1
        }
        let order = ["genesis", "notice", "registry", "event", "attestation", "attestation.status"]
        let breakdown = (order.filter { kinds[$0] != nil } + kinds.keys.filter { !order.contains($0) }.sorted()).map { "\(kinds[$0]!) \($0)" }
        IO.print("Ledger \(s.ledgerPath): \(size) entries (\(breakdown.joined(separator: ", "))), \(try ledger.store.checkpoints().count) signed checkpoints")
        guard let (cpSize, note) = try ledger.store.latestCheckpoint() else { throw CLIError(code: CLIError.data, message: "demo: no checkpoint was signed") }
        expect(cpSize == size, "the latest checkpoint covers \(cpSize) of \(size) entries")
        IO.print("Latest signed checkpoint (C2SP signed note; anyone checks it with the operator key \(opVkey)):")
        IO.print(String(decoding: note, as: UTF8.self))

        // Regulators.
        heading("Regulators (GD, HK, MO): the registry and an audit of the whole ledger")
        IO.print(RegistryView(registry: registry, at: now).text)
        var auditor = Auditor()
        auditor.rules = .suyuan
        let firstCheckpoint = try IO.read(s.dir + "/checkpoint-1.txt", limit: 1 << 20)
        auditor.trustedCheckpoints = [firstCheckpoint]
        let audit = try auditor.run(ledger.store)
        IO.print("")
        IO.print("Audit (chain, signatures, time rules, registry rules, Merkle tree, every checkpoint and the saved checkpoint-1.txt):")
        IO.print("  ok: \(audit.ok)   entries checked: \(audit.entries)   findings: \(audit.findings.count + audit.findingsTruncated)")
        for f in audit.findings.prefix(5) { IO.print("  - \(f)") }
        expect(audit.ok, "the audit found \(audit.findings.count) finding(s)")
        expect(audit.entries == size, "the audit checked \(audit.entries) of \(size) entries")

        // Inspector.
        heading("Inspector: attestations and the trust path of two verdicts")
        IO.print("Milk powder test, lot NZ-2026-204, Kowloon Food Testing Laboratory (HK): \(s.milkAttestation)")
        IO.print("Wine test, \(DemoScenario.wine), Nansha Customs Technology Centre (GD):  \(s.wineAttestation)")
        let recognition = RecognitionVerifier(registry: registry, now: now)
        for (id, region, expected) in [(s.milkAttestation, Region.MO, Verdict.recognised), (s.wineAttestation, Region.HK, Verdict.notRecognised)] {
            guard let recorded = try reader.attestation(id: id) else { throw CLIError(code: CLIError.data, message: "demo: attestation \(id) is not in the ledger") }
            let v = recognition.verdict(recorded, region: region)
            IO.print("")
            IO.print("$ suyuan explain --attestation \(id) --region \(region.rawValue)")
            IO.print(v.text)
            expect(v.verdict == expected, "attestation \(id) is \(v.verdict.rawValue) in \(region.rawValue), expected \(expected.rawValue)")
        }

        // Consumers.
        heading("Consumer: what a phone shows after scanning each product")
        let products: [(label: String, title: String, code: String)] = [
            ("milk powder", "Infant formula from New Zealand, bought through the Nansha bonded zone", DemoScenario.milk),
            ("wine", "Bordeaux wine from France, through the Baiyun bonded cold store", DemoScenario.wine),
            ("recalled item", "Infant formula from the recalled lot NZ-2026-118", DemoScenario.recalled),
        ]
        var results: [String: ProductVerification] = [:]
        var milkBundle: ProductBundle?
        for p in products {
            let (v, b) = try ProductVerifier.verify(try ProductCode(parsing: p.code), in: ledger, trusting: [opVkey],
                                                   trustedCheckpoints: [firstCheckpoint], now: now, bundle: p.code == DemoScenario.milk)
            results[p.label] = v
            if p.code == DemoScenario.milk { milkBundle = b }
            IO.print("")
            IO.print("--- \(p.title)")
            IO.print("$ suyuan verify '\(p.code)' --trusted-checkpoint checkpoint-1.txt")
            IO.print(v.text)
        }
        let milk = results["milk powder"]!, wine = results["wine"]!, recalled = results["recalled item"]!
        expect(milk.verified, "the milk powder did not verify: \(milk.problems.joined(separator: " "))")
        for r in Region.allCases {
            expect(milk.verdicts[r]?.verdict == .recognised, "the milk powder is \(milk.verdicts[r]?.verdict.rawValue ?? "?") in \(r.rawValue), expected recognised")
        }
        expect(!wine.verified, "the wine verified, expected a cold-chain excursion and no recognition in HK")
        expect(wine.journey.coldChain == "excursion", "the wine's cold chain is \(wine.journey.coldChain), expected excursion")
        expect(wine.verdicts[.HK]?.verdict == .notRecognised, "the wine is \(wine.verdicts[.HK]?.verdict.rawValue ?? "?") in HK, expected not-recognised")
        expect(wine.verdicts[.GD]?.verdict == .recognised && wine.verdicts[.MO]?.verdict == .recognised, "the wine is not recognised in GD and MO")
        expect(wine.integrityFailures.isEmpty, "the wine's entries did not all verify: \(wine.integrityFailures.joined(separator: " "))")
        expect(recalled.journey.recalled && !recalled.verified, "the item of lot NZ-2026-118 is not shown as recalled")
        expect(recalled.integrityFailures.isEmpty, "the recalled item's entries did not all verify: \(recalled.integrityFailures.joined(separator: " "))")

        // The offline bundle, as `suyuan verify CODE --bundle FILE` writes it, checked again from the file alone.
        IO.print("")
        IO.print("--- Offline: the milk powder's bundle, checked on a phone with no ledger, only the operator key")
        guard let bundle = milkBundle else { throw CLIError(code: CLIError.data, message: "demo: no bundle was made for the milk powder") }
        let bundlePath = s.dir + "/milk-bundle.json"
        try IO.write(Array((bundle.json(report: milk).prettyPrinted() + "\n").utf8), to: bundlePath)
        let bytes = try IO.read(bundlePath, limit: ProductBundle.maxBytes)
        let offline = try ProductBundle(parsing: bytes).verify(trusting: [opVkey], now: now)
        IO.print("$ suyuan verify --bundle milk-bundle.json --trust '\(opVkey)'")
        IO.print("wrote milk-bundle.json (\(bundle.material.entries.count) entries with inclusion proofs, \(bytes.count / 1024) KiB); checked offline: "
                 + (offline.verified ? "VERIFIED" : "NOT VERIFIED (\(offline.problems.joined(separator: " ")))")
                 + ", recognition " + Region.allCases.map { "\($0.rawValue) \(offline.verdicts[$0]?.verdict.rawValue ?? "?")" }.joined(separator: ", "))
        expect(offline.verified, "the offline bundle did not verify: \(offline.problems.joined(separator: " "))")
        expect(offline.verdicts == milk.verdicts, "the offline bundle's verdicts differ from the ledger's")
        // One entry altered (the bonded zone changed): the bundle no longer verifies.
        let tampered = try tamper(bundle)
        let t = try tampered.verify(trusting: [opVkey], now: now)
        IO.print("the same bundle with the milk's bonded zone changed from nansha to baiyun in one entry: "
                 + (t.verified ? "VERIFIED" : "NOT VERIFIED (\(t.integrityFailures.first ?? t.problems.first ?? "?"))"))
        expect(!t.verified, "a tampered bundle verified")

        // Summary: the three verdicts.
        heading("Summary: the three products")
        for p in products {
            let v = results[p.label]!
            IO.print("  \(pad(p.label, 14)) \(pad(p.code, 36)) \(summary(v))")
        }

        heading("Try next (the ledger, keys and files are in \(s.dir))")
        let L = "--ledger " + shellQuote(s.ledgerPath)
        let pass = "SUYUAN_PASSPHRASE=\(shellQuote(DemoScenario.passphrase))"
        let dir = s.dir
        let d = { (f: String) in shellQuote(dir + "/" + f) }
        let commands = [
            "suyuan entries \(L)",
            "suyuan registry show \(L)",
            "suyuan verify \(shellQuote(DemoScenario.milk)) \(L) --trusted-checkpoint \(d("checkpoint-1.txt"))",
            "suyuan verify \(shellQuote(DemoScenario.wine)) \(L) --json        # exit 1: excursion, not recognised in HK",
            "suyuan explain --attestation \(s.wineAttestation) --region MO \(L)",
            "suyuan verify --bundle \(d("milk-bundle.json")) --trust \(shellQuote(opVkey.description))   # offline",
            "suyuan export-epcis --product \(shellQuote(DemoScenario.milk)) \(L)",
            "suyuan prove inclusion --index 1 \(L)",
            "suyuan audit \(L) --trusted-checkpoint \(d("checkpoint-1.txt"))",
            "\(pass) suyuan event deliver --key \(d("importer.key")) --product \(shellQuote(DemoScenario.wine)) \(L)",
            "\(pass) suyuan registry set-status --key \(d("hk.key")) --body HOKLAS-118 --status suspended --effective \(systemClock().secondString) \(L)",
            "    # then verify the milk powder again: HK's policy (keep) judges its test as of the day it was made",
            "\(pass) suyuan checkpoint \(L)",
        ]
        for c in commands { IO.print(c) }
        return failures
    }

    /// One line per product: the verdict and why.
    private func summary(_ v: ProductVerification) -> String {
        if v.verified {
            let recognised = Region.allCases.filter { v.verdicts[$0]?.verdict == .recognised }.map(\.rawValue)
            return "VERIFIED" + (recognised.isEmpty ? "" : ": recognised in \(list(recognised))")
        }
        var why: [String] = []
        if !v.integrityFailures.isEmpty { why.append("integrity failure") }
        if v.journey.recalled { why.append("recalled" + (v.journey.recallReason.map { " (\($0))" } ?? "")) }
        if v.journey.coldChain == "excursion" { why.append("cold-chain excursion") }
        for f in v.journey.findings where f.kind != "cold-chain-excursion" && f.kind != "unclosed-recall" { why.append(f.kind) }
        let notRecognised = v.regions.filter { v.verdicts[$0]?.verdict == .notRecognised }.map(\.rawValue)
        if !notRecognised.isEmpty { why.append("not recognised in \(list(notRecognised))") }
        return "NOT VERIFIED: " + why.joined(separator: "; ")
    }

    private func list(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    /// The bundle with the first entry mentioning "nansha" changed to "baiyun" (its proof left as it was).
    private func tamper(_ b: ProductBundle) throws -> ProductBundle {
        var m = b.material
        for (i, bytes) in m.entries.sorted(by: { $0.key < $1.key }) {
            let text = String(decoding: bytes, as: UTF8.self)
            if text.contains("nansha") {
                m.entries[i] = Array(text.replacingOccurrences(of: "nansha", with: "baiyun").utf8)
                break
            }
        }
        return ProductBundle(code: b.code, createdAt: b.createdAt, material: m)
    }
}

/// `s` followed by spaces up to `n` characters.
private func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }

/// `s` quoted for a POSIX shell when it holds anything but plain path characters.
func shellQuote(_ s: String) -> String {
    let plain = s.unicodeScalars.allSatisfy { c in
        c.isASCII && (CharacterSet.alphanumerics.contains(c) || "/._-+=:,@%".unicodeScalars.contains(c))
    }
    return plain && !s.isEmpty ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

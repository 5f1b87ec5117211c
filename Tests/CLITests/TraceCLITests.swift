import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

// End-to-end tests of the supply-chain commands (registry, attest, explain, event, import-epcis,
// export-epcis, verify) against real ledger files. One realistic ledger is built once with the CLI
// (`TraceWorld`); each test copies it into its own sandbox before changing anything.

/// The product codes, places and scopes the supply-chain tests use.
enum TC {
    static let gtin = "09506000134352"
    /// The item whose journey is clean and whose lot has a recognised cosmetics test.
    static let item = "https://id.gs1.org/01/09506000134352/21/SN001"
    static let itemElementString = "(01)09506000134352(21)SN001"
    static let lot = "https://id.gs1.org/01/09506000134352/10/LOT1"
    static let case1 = "https://id.gs1.org/00/095060001343520000"
    /// Recalled (commission, transport, receive, hold, inspect, sample, recall).
    static let recalled = "https://id.gs1.org/01/09506000134352/21/SN002"
    /// A temperature reading outside its allowed range.
    static let warm = "https://id.gs1.org/01/09506000134352/21/SN003"
    /// Delivered from a bonded zone without a customs release.
    static let smuggled = "https://id.gs1.org/01/09506000134352/21/SN004"
    /// Tested (food, HK-accredited) only: not recognised in GD or MO.
    static let foodItem = "https://id.gs1.org/01/09506000134352/21/SN005"
    static let gln = "https://id.gs1.org/414/9506000134352"
    static let cosmetics = "cosmetics:GB 4806.7-2016"
    static let food = "food:GB 2762-2022"
    static let orderHash = String(repeating: "ab", count: 32)
    static let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Specs/vectors/published/epcis-event-hash")
}

extension Sandbox {
    /// A fresh key file sealed like the fixture's (cheap Argon2id), at `dir/file`.
    func makeKey(_ file: String, name: String, in dir: URL? = nil) throws -> KeyInfo {
        let sk = SecretKey.generate()
        let kf = try KeyFile.seal(sk, name: name, passphrase: Array(Fixture.passphrase.utf8), opslimit: 1, memlimit: 1 << 20)
        let path = (dir ?? self.dir).appendingPathComponent(file).path
        guard FileManager.default.createFile(atPath: path, contents: Data(kf.encoded()), attributes: [.posixPermissions: 0o600]) else {
            throw HarnessError("cannot write key \(path)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return KeyInfo(name: name, path: path, vkey: try VerifierKey(name: name, publicKey: sk.publicKey).description)
    }

    /// `event STEP --ledger L --key K --product P --time T [extra] --json`, exit 0 required; returns the event ID.
    @discardableResult
    func event(_ ledger: String, _ step: String, key: KeyInfo, product: String?, time: String, _ extra: [String] = [],
               checkpoint: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        var args = ["event", step, "--ledger", ledger, "--key", key.path, "--time", time, "--json"]
        if let product { args += ["--product", product] }
        let r = try await ok(args + extra, env: checkpoint ? [:] : noCheckpoint, sourceLocation: sourceLocation)
        let j = try r.json()
        guard let id = j["eventID"]?.stringValue else { throw HarnessError("no eventID in \(r)") }
        #expect(id.wholeMatch(of: #/ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0/#) != nil, sourceLocation: sourceLocation)
        #expect(j["index"]?.int != nil && isHex64(j["leafHash"]?.stringValue), "\(r)", sourceLocation: sourceLocation)
        return id
    }
}

/// The shared ledger: a registry (accreditation bodies, labs, an importer, key bindings, agreements,
/// a policy), journeys that use every step but return and destroy, and attestations; built once per
/// test run with the CLI in the fixture's directory.
struct TraceWorld: Sendable {
    /// The finished ledger (with a signed checkpoint covering every entry); copy it, never change it.
    let ledger: String
    let hkInspector: KeyInfo
    let moInspector: KeyInfo
    let importer: KeyInfo
    /// An HK-LAB-001 cosmetics pass on `TC.lot`.
    let attestation: String
    /// An HK-LAB-001 food pass on `TC.foodItem`.
    let foodAttestation: String
    /// The event ID recorded for each step (by step name; the clean journey's steps where there are several).
    let eventIDs: [String: String]
    /// Every event ID recorded, in ledger order.
    let allEventIDs: [String]
    /// Outputs of building commands, checked by the happy-path tests.
    let outputs: [String: RunResult]
    /// The final checkpoint note, as `checkpoint` printed it.
    let checkpoint: String
    let size: Int

    private static let shared = Task<TraceWorld, any Error> { try await TraceWorld.build() }
    static func get() async throws -> TraceWorld { try await shared.value }

    /// A copy of the world's ledger in `sb`.
    func copy(into sb: Sandbox, as name: String = "trace.ledger") throws -> String {
        let p = sb.path(name)
        try FileManager.default.copyItem(atPath: ledger, toPath: p)
        return p
    }

    private static func build() async throws -> TraceWorld {
        let sb = try Sandbox()
        let f = sb.fixture
        let dir = f.dir.appendingPathComponent("trace-world", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ledger = dir.appendingPathComponent("trace.ledger").path
        try FileManager.default.copyItem(atPath: f.baseLedger, toPath: ledger)
        let hkInspector = try sb.makeKey("hk-inspector.key", name: "inspector.kowloon-lab.example", in: dir)
        let moInspector = try sb.makeKey("mo-inspector.key", name: "inspector.macau-lab.example", in: dir)
        let importer = try sb.makeKey("importer.key", name: "importer.example", in: dir)
        var outputs: [String: RunResult] = [:]

        func reg(_ name: String, _ args: [String], key: KeyInfo, checkpoint: Bool = false) async throws {
            outputs[name] = try await sb.ok(["registry"] + args + ["--ledger", ledger, "--key", key.path, "--json"],
                                           env: checkpoint ? [:] : noCheckpoint)
        }
        // Registry.
        try await reg("add-body CNAS", ["add-body", "--id", "CNAS", "--name", "China National Accreditation Service", "--region", "GD",
                                        "--type", "accreditation-body", "--valid-from", "2020-01-01"], key: f.gd, checkpoint: true)
        try await reg("add-body HKAS", ["add-body", "--id", "HKAS", "--name", "Hong Kong Accreditation Service", "--region", "HK",
                                        "--type", "accreditation-body", "--valid-from", "2020-01-01T00:00:00Z"], key: f.hk)
        try await reg("add-body HK-LAB-001", ["add-body", "--id", "HK-LAB-001", "--name", "Kowloon Testing Laboratory", "--region", "HK",
                                              "--type", "lab", "--accredited-by", "HKAS", "--accreditation", "HOKLAS 001",
                                              "--scope", TC.cosmetics, "--scope", TC.food, "--valid-from", "2024-01-01"], key: f.hk)
        try await reg("add-body MO-LAB-001", ["add-body", "--id", "MO-LAB-001", "--name", "Macao Testing Laboratory", "--region", "MO",
                                              "--type", "lab", "--accredited-by", "CNAS", "--accreditation", "CNAS L0001",
                                              "--scope", TC.cosmetics, "--valid-from", "2024-01-01", "--valid-until", "2030-01-01"], key: f.mo)
        try await reg("add-body GD-IMP-001", ["add-body", "--id", "GD-IMP-001", "--name", "Nansha Cross-border Importer", "--region", "GD",
                                              "--type", "enterprise", "--valid-from", "2024-01-01"], key: f.gd)
        try await reg("bind-key hk", ["bind-key", "--body", "HK-LAB-001", "--inspector", hkInspector.vkey, "--valid-from", "2025-01-01"], key: f.hk)
        try await reg("bind-key mo", ["bind-key", "--body", "MO-LAB-001", "--inspector", moInspector.path, "--valid-from", "2025-01-01"], key: f.mo)
        try await reg("bind-key importer", ["bind-key", "--body", "GD-IMP-001", "--inspector", importer.vkey, "--role", "importer",
                                            "--valid-from", "2025-01-01", "--valid-until", "2036-01-01"], key: f.gd)
        try await reg("recognise GD", ["recognise", "--accept-from", "HK", "--scope", TC.cosmetics, "--from", "2025-01-01"], key: f.gd)
        try await reg("recognise MO", ["recognise", "--accept-from", "HK,GD", "--scope", TC.cosmetics, "--from", "2025-01-01"], key: f.mo)
        try await reg("set-policy GD", ["set-policy", "--later-suspension", "keep", "--effective", "2025-01-01"], key: f.gd)

        // The clean journey of TC.item: the lot is commissioned by the importer, packed into a case that
        // ships, enters the Nansha bonded zone and is read by a sensor; unpacked, released, delivered.
        var ids: [String: String] = [:]
        var all: [String] = []
        func ev(_ step: String, _ key: KeyInfo, _ product: String?, _ time: String, _ extra: [String] = [], record: Bool = true) async throws {
            let id = try await sb.event(ledger, step, key: key, product: product, time: time, extra)
            if record && ids[step] == nil { ids[step] = id }
            all.append(id)
        }
        try await ev("commission", importer, TC.itemElementString, "2026-09-01T00:00:00Z",
                     ["--origin-country", "NZ", "--lot", "LOT1", "--expiry", "2028-09-01", "--min", "2", "--max", "8", "--location", TC.gln])
        try await ev("pack", importer, nil, "2026-09-02T00:00:00Z", ["--parent", TC.case1, "--child", TC.item, "--location", TC.gln])
        try await ev("ship", importer, TC.case1, "2026-09-03T00:00:00Z", ["--time-zone", "+12:00"])
        try await ev("enter-bonded", f.op, TC.case1, "2026-09-10T00:00:00Z", ["--zone", "nansha"])
        try await ev("sensor", f.op, TC.case1, "2026-09-10T06:00:00Z", ["--temperature", "4.5"])
        try await ev("unpack", f.op, nil, "2026-09-12T00:00:00Z", ["--parent", TC.case1])
        try await ev("release", importer, TC.item, "2026-09-20T00:00:00Z", ["--declaration", "530120260920001", "--order-hash", TC.orderHash])
        try await ev("deliver", importer, TC.item, "2026-09-22T00:00:00Z")
        // TC.recalled: the steps of a product held and inspected, then recalled.
        try await ev("commission", f.op, TC.recalled, "2026-09-01T00:00:00Z", ["--origin-country", "FR", "--lot", "LOT2"], record: false)
        try await ev("transport", f.op, TC.recalled, "2026-09-02T00:00:00Z")
        try await ev("receive", f.op, TC.recalled, "2026-09-03T00:00:00Z", ["--location", TC.gln])
        try await ev("hold", f.op, TC.recalled, "2026-09-04T00:00:00Z", ["--reason", "awaiting inspection"])
        try await ev("inspect", f.op, TC.recalled, "2026-09-05T00:00:00Z")
        try await ev("sample", f.op, TC.recalled, "2026-09-06T00:00:00Z")
        try await ev("recall", f.op, TC.recalled, "2026-09-07T00:00:00Z", ["--reason", "labelling error"])
        // TC.warm: 12 °C where 2–8 °C is allowed.
        try await ev("commission", f.op, TC.warm, "2026-09-01T00:00:00Z", ["--origin-country", "NZ", "--lot", "LOT3", "--min", "2", "--max", "8"], record: false)
        try await ev("sensor", f.op, TC.warm, "2026-09-02T00:00:00Z", ["--temperature", "12"], record: false)
        // TC.smuggled: out of the bonded zone to a consumer without a customs release.
        try await ev("enter-bonded", f.op, TC.smuggled, "2026-09-01T00:00:00Z", ["--zone", "baiyun"], record: false)
        try await ev("deliver", f.op, TC.smuggled, "2026-09-02T00:00:00Z", record: false)

        // Attestations (time: now, which the registry allows).
        let report = try sb.write("report.pdf", "Kowloon Testing Laboratory report 2026-0042")
        let a = try await sb.ok(["attest", "--ledger", ledger, "--key", hkInspector.path, "--product", TC.lot, "--category", "cosmetics",
                                 "--standard", "GB 4806.7-2016", "--result", "pass", "--value", "lead=0.05mg/kg", "--value", "arsenic=0.01mg/kg",
                                 "--report", report, "--valid-until", "2036-01-01"], env: noCheckpoint)
        outputs["attest"] = a
        let food = try await sb.ok(["attest", "--ledger", ledger, "--key", hkInspector.path, "--product", TC.foodItem, "--category", "food",
                                    "--standard", "GB 2762-2022", "--result", "pass", "--json"], env: noCheckpoint)
        outputs["attest food"] = food
        let cp = try await sb.ok(["checkpoint", "--ledger", ledger])
        let size = try ParsedCheckpoint(cp.stdout).size
        return TraceWorld(ledger: ledger, hkInspector: hkInspector, moInspector: moInspector, importer: importer,
                          attestation: a.lines.first ?? "", foodAttestation: try food.json()["attestation"]?.stringValue ?? "",
                          eventIDs: ids, allEventIDs: all, outputs: outputs, checkpoint: cp.stdout, size: size)
    }
}

// MARK: - registry

/// The supply-chain commands end to end (`swift test --filter TraceCLITests`).
@Suite struct TraceCLITests {}

extension TraceCLITests {
@Suite("supply chain: registry")
struct Registry {
    @Test func registryCommandsAppendAndShow() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        // Every registry command printed {"index","leafHash"} (and the checkpoint when the operator key was at hand).
        var indexes: [Int] = []
        for name in ["add-body CNAS", "add-body HKAS", "add-body HK-LAB-001", "add-body MO-LAB-001", "add-body GD-IMP-001",
                     "bind-key hk", "bind-key mo", "bind-key importer", "recognise GD", "recognise MO", "set-policy GD"] {
            let j = try #require(try w.outputs[name]?.json(), "\(name)")
            #expect(isHex64(j["leafHash"]?.stringValue), "\(name)")
            indexes.append(try #require(j["index"]?.int))
        }
        #expect(indexes == Array(1...11))
        let first = try #require(try w.outputs["add-body CNAS"]?.json())
        let note = try ParsedCheckpoint(try #require(first["checkpoint"]?.stringValue))
        #expect(note.origin == Fixture.origin && note.size == 2)
        #expect(try w.outputs["add-body HKAS"]?.json()["checkpoint"] == nil)

        let ledger = try w.copy(into: sb)
        let show = try await sb.ok(["registry", "show", "--ledger", ledger, "--json"]).json()
        let bodies = try #require(show["bodies"]?.arrayValue)
        let byID = Dictionary(uniqueKeysWithValues: bodies.compactMap { b in b["id"]?.stringValue.map { ($0, b) } })
        #expect(Set(byID.keys) == ["CNAS", "HKAS", "HK-LAB-001", "MO-LAB-001", "GD-IMP-001"])
        let lab = try #require(byID["HK-LAB-001"])
        #expect(lab["region"]?.stringValue == "HK" && lab["type"]?.stringValue == "lab" && lab["status"]?.stringValue == "active")
        #expect(lab["accreditedBy"]?.stringValue == "HKAS" && lab["accreditation"]?.stringValue == "HOKLAS 001")
        #expect(lab["name"]?.stringValue == "Kowloon Testing Laboratory")
        #expect(lab["scope"]?.arrayValue?.compactMap { $0["standard"]?.stringValue }.sorted() == ["GB 2762-2022", "GB 4806.7-2016"])
        #expect(byID["MO-LAB-001"]?["validUntil"]?.stringValue == "2030-01-01T00:00:00.000Z")
        #expect(byID["GD-IMP-001"]?["type"]?.stringValue == "enterprise")
        let keys = try #require(show["keys"]?.arrayValue)
        #expect(keys.count == 3 && keys.allSatisfy { $0["valid"]?.boolValue == true })
        #expect(keys.first { $0["body"]?.stringValue == "GD-IMP-001" }?["role"]?.stringValue == "importer")
        let agreements = try #require(show["agreements"]?.arrayValue)
        #expect(agreements.count == 2 && agreements.allSatisfy { $0["inForce"]?.boolValue == true })
        #expect(agreements.first { $0["region"]?.stringValue == "MO" }?["acceptFrom"]?.arrayValue?.compactMap(\.stringValue) == ["HK", "GD"])
        #expect(show["laterSuspensionPolicy"]?["GD"]?.stringValue == "keep")

        // As of a time before anything was valid.
        let past = try await sb.ok(["registry", "show", "--ledger", ledger, "--at", "2019-06-01", "--json"]).json()
        #expect(past["at"]?.stringValue == "2019-06-01T00:00:00.000Z")
        #expect(past["bodies"]?.arrayValue?.allSatisfy { $0["status"]?.stringValue == "not-yet-valid" } == true)
        #expect(past["keys"]?.arrayValue?.allSatisfy { $0["valid"]?.boolValue == false } == true)
        #expect(past["agreements"]?.arrayValue?.allSatisfy { $0["inForce"]?.boolValue == false } == true)
        // For people.
        let text = try await sb.ok(["registry", "show", "--ledger", ledger]).stdout
        #expect(text.contains("HK  HK-LAB-001  lab  active  Kowloon Testing Laboratory"), "\(text)")
        #expect(text.contains("GD accepts HK for \(TC.cosmetics)"))
    }

    @Test func statusChangesBindingRevocationsAndPolicy() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try w.copy(into: sb)
        // Suspend one scope item, then the whole lab, retroactively.
        let s1 = try await sb.ok(["registry", "set-status", "--ledger", ledger, "--key", f.hk.path, "--body", "HK-LAB-001",
                                  "--scope", TC.food, "--status", "suspended", "--effective", "2026-01-01"], env: noCheckpoint)
        #expect(s1.stdout.hasPrefix("appended entry \(w.size) (registry.status), leaf hash "), "\(s1)")
        try await sb.ok(["registry", "set-status", "--ledger", ledger, "--key", f.hk.path, "--body", "HK-LAB-001",
                         "--status", "suspended", "--effective", "2026-02-01T00:00:00Z", "--json"], env: noCheckpoint)
        var show = try await sb.ok(["registry", "show", "--ledger", ledger, "--json"]).json()
        var lab = try #require(show["bodies"]?.arrayValue?.first { $0["id"]?.stringValue == "HK-LAB-001" })
        #expect(lab["status"]?.stringValue == "suspended")
        #expect(lab["scope"]?.arrayValue?.first { $0["category"]?.stringValue == "food" }?["status"]?.stringValue == "suspended")
        #expect(lab["history"]?.arrayValue?.count == 2)
        let before = try await sb.ok(["registry", "show", "--ledger", ledger, "--at", "2025-12-31", "--json"]).json()
        #expect(before["bodies"]?.arrayValue?.first { $0["id"]?.stringValue == "HK-LAB-001" }?["status"]?.stringValue == "active")
        // The attestation (made after the effective time) is no longer recognised: the body link fails.
        let ex = try await sb.run(["explain", "--ledger", ledger, "--attestation", w.attestation, "--region", "HK", "--json"])
        #expect(ex.status == 1, "\(ex)")
        let path = try ex.json()["path"]?.arrayValue ?? []
        #expect(path.first { $0["step"]?.stringValue == "body" }?["state"]?.stringValue == "failed", "\(ex)")
        // Restored.
        try await sb.ok(["registry", "set-status", "--ledger", ledger, "--key", f.hk.path, "--body", "HK-LAB-001",
                         "--status", "active", "--effective", "2026-03-01"], env: noCheckpoint)
        show = try await sb.ok(["registry", "show", "--ledger", ledger, "--json"]).json()
        lab = try #require(show["bodies"]?.arrayValue?.first { $0["id"]?.stringValue == "HK-LAB-001" })
        #expect(lab["status"]?.stringValue == "active")

        // The HK regulator revokes the inspector's key; it can no longer attest.
        let rk = try await sb.ok(["registry", "revoke-key", "--ledger", ledger, "--key", f.hk.path, "--inspector", w.hkInspector.vkey,
                                  "--effective", "2026-04-01", "--json"], env: noCheckpoint).json()
        #expect(rk["index"]?.int == w.size + 3)
        show = try await sb.ok(["registry", "show", "--ledger", ledger, "--json"]).json()
        let binding = try #require(show["keys"]?.arrayValue?.first { $0["body"]?.stringValue == "HK-LAB-001" })
        #expect(binding["valid"]?.boolValue == false && binding["revoked"]?.stringValue == "2026-04-01T00:00:00.000Z")
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await sb.run(["attest", "--ledger", ledger, "--key", w.hkInspector.path, "--product", TC.lot,
                                          "--category", "cosmetics", "--standard", "GB 4806.7-2016", "--result", "pass"]),
                        1, mentions: ["not authorised", "not bound to any body"])
            // Revoked once, there is nothing left to revoke.
            expectError(try await sb.run(["registry", "revoke-key", "--ledger", ledger, "--key", f.hk.path, "--inspector", w.hkInspector.vkey,
                                          "--effective", "2026-05-01"]), 1, mentions: ["no unrevoked binding"])
            // GD cannot revoke an MO binding.
            expectError(try await sb.run(["registry", "revoke-key", "--ledger", ledger, "--key", f.gd.path, "--inspector", w.moInspector.vkey,
                                          "--effective", "2026-05-01"]), 1, mentions: ["not authorised", "GD"])
        }

        // Policy: GD now invalidates earlier results on later suspensions.
        try await sb.ok(["registry", "set-policy", "--ledger", ledger, "--key", f.gd.path, "--later-suspension", "invalidate"], env: noCheckpoint)
        show = try await sb.ok(["registry", "show", "--ledger", ledger, "--json"]).json()
        #expect(show["laterSuspensionPolicy"]?["GD"]?.stringValue == "invalidate")
        #expect(show["laterSuspensionPolicy"]?["HK"]?.stringValue == "keep")
        try await sb.ok(["audit", "--ledger", ledger, "--quiet"])
    }

    @Test func refusedRegistryChangesAppendNothing() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try w.copy(into: sb)
        func reg(_ args: [String], key: KeyInfo) async throws -> RunResult {
            try await sb.run(["registry"] + args + ["--ledger", ledger, "--key", key.path])
        }
        let hkLab = ["add-body", "--id", "HK-LAB-002", "--name", "Shatin Laboratory", "--region", "HK", "--type", "lab",
                     "--accredited-by", "HKAS", "--accreditation", "HOKLAS 002", "--scope", TC.cosmetics]
        try await expectUnchanged(ledger, in: sb) {
            // A GD key registering an HK lab.
            expectError(try await reg(hkLab, key: f.gd), 1, mentions: ["not authorised", "GD", "HK"])
            // Neither the operator nor a stranger is a regulator.
            expectError(try await reg(hkLab, key: f.op), 1, mentions: ["not authorised", "regulator"])
            expectError(try await reg(hkLab, key: f.stranger), 1, mentions: ["not authorised", "regulator"])
            // Unknown type, region, status: usage errors.
            expectUsageError(try await reg(["add-body", "--id", "X", "--name", "X", "--region", "HK", "--type", "laboratory"], key: f.hk),
                             mentions: ["--type", "laboratory"])
            expectUsageError(try await reg(["add-body", "--id", "X", "--name", "X", "--region", "TW", "--type", "lab"], key: f.hk),
                             mentions: ["--region", "TW"])
            expectUsageError(try await reg(["set-status", "--body", "HK-LAB-001", "--status", "paused", "--effective", "2026-01-01"], key: f.hk),
                             mentions: ["--status", "paused"])
            expectUsageError(try await reg(["recognise", "--accept-from", "HK,TW", "--scope", TC.cosmetics, "--from", "2026-01-01"], key: f.gd),
                             mentions: ["--accept-from", "TW"])
            expectUsageError(try await reg(["recognise", "--accept-from", "HK", "--from", "2026-01-01"], key: f.gd), mentions: ["--scope"])
            // Agreements with the region itself, or ending before they start.
            expectError(try await reg(["recognise", "--accept-from", "GD", "--scope", TC.food, "--from", "2026-01-01"], key: f.gd), 65,
                        mentions: ["acceptFrom", "other regions than GD"])
            expectError(try await reg(["recognise", "--accept-from", "HK", "--scope", TC.food, "--from", "2026-01-01", "--until", "2025-01-01"], key: f.gd),
                        65, mentions: ["until must be after from"])
            expectUsageError(try await reg(["set-policy", "--later-suspension", "sometimes"], key: f.gd), mentions: ["keep or invalidate"])
            // A scope without a colon, a bad category.
            expectUsageError(try await reg(Array(hkLab.dropLast(2)) + ["--scope", "cosmetics GB 4806.7-2016"], key: f.hk),
                             mentions: ["--scope", "CATEGORY:STANDARD"])
            expectUsageError(try await reg(["set-status", "--body", "HK-LAB-001", "--scope", "Cosmetics:GB 1", "--status", "suspended",
                                            "--effective", "2026-01-01"], key: f.hk), mentions: ["category"])
            // Bad times.
            expectUsageError(try await reg(hkLab + ["--valid-from", "yesterday"], key: f.hk), mentions: ["--valid-from", "yesterday", "RFC 3339"])
            expectUsageError(try await reg(["set-status", "--body", "HK-LAB-001", "--status", "suspended", "--effective", "2026-13-01"], key: f.hk),
                             mentions: ["--effective", "2026-13-01"])
            expectUsageError(try await reg(["bind-key", "--body", "HK-LAB-001", "--inspector", w.moInspector.vkey, "--valid-from", "soon"], key: f.hk),
                             mentions: ["--valid-from", "soon"])
            expectUsageError(try await reg(["recognise", "--accept-from", "HK", "--scope", TC.food, "--from", "01/02/2026"], key: f.gd),
                             mentions: ["--from"])
            expectUsageError(try await sb.run(["registry", "show", "--ledger", ledger, "--at", "noon"]), mentions: ["--at", "noon"])
            // A status change, or a binding, for a body nobody registered.
            expectError(try await reg(["set-status", "--body", "HK-LAB-999", "--status", "suspended", "--effective", "2026-01-01"], key: f.hk),
                        1, mentions: ["not authorised", "no body \"HK-LAB-999\" is registered", "add-body"])
            expectError(try await reg(["bind-key", "--body", "HK-LAB-999", "--inspector", w.moInspector.vkey, "--valid-from", "2026-01-01"], key: f.hk),
                        1, mentions: ["HK-LAB-999"])
            // A GD key suspending an HK lab; a scope the lab is not accredited for.
            expectError(try await reg(["set-status", "--body", "HK-LAB-001", "--status", "suspended", "--effective", "2026-01-01"], key: f.gd),
                        1, mentions: ["not authorised", "HK-LAB-001"])
            expectError(try await reg(["set-status", "--body", "HK-LAB-001", "--scope", "toys:EN 71-3", "--status", "suspended",
                                       "--effective", "2026-01-01"], key: f.hk), 1, mentions: ["not accredited for toys:EN 71-3"])
            // An id registered twice; an accreditation body that does not exist; a key bound to an accreditation body.
            expectError(try await reg(["add-body", "--id", "HK-LAB-001", "--name", "Again", "--region", "HK", "--type", "lab", "--accredited-by", "HKAS",
                                       "--accreditation", "HOKLAS 001", "--scope", TC.cosmetics], key: f.hk), 1, mentions: ["already registered"])
            expectError(try await reg(hkLab.map { $0 == "HKAS" ? "NOBODY" : $0 }, key: f.hk), 1, mentions: ["NOBODY", "not a registered accreditation body"])
            expectError(try await reg(["bind-key", "--body", "HKAS", "--inspector", w.moInspector.vkey, "--valid-from", "2026-01-01"], key: f.hk),
                        1, mentions: ["accreditation bodies"])
            // A lab without its accreditation, and an inspector KEYREF that is not a key.
            expectError(try await reg(["add-body", "--id", "HK-LAB-003", "--name", "N", "--region", "HK", "--type", "lab"], key: f.hk), 65,
                        mentions: ["accreditedBy"])
            expectError(try await reg(["bind-key", "--body", "HK-LAB-001", "--inspector", "not-a-key", "--valid-from", "2026-01-01"], key: f.hk),
                        65, mentions: ["not-a-key"])
        }
    }
}
}

// MARK: - attest and explain

extension TraceCLITests {
@Suite("supply chain: attest and explain")
struct Attest {
    @Test func attestPrintsTheIDAndExplainShowsTheTrustPath() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        // `attest` printed the id on stdout, and a note on stderr.
        let a = try #require(w.outputs["attest"])
        #expect(a.lines.count == 1 && w.attestation.wholeMatch(of: #/urn:uuid:[0-9a-f-]{36}/#) != nil, "\(a)")
        #expect(a.stderr.contains("appended attestation at entry"))
        let food = try #require(try w.outputs["attest food"]?.json())
        #expect(food["attestation"]?.stringValue == w.foodAttestation && food["index"]?.int != nil && isHex64(food["leafHash"]?.stringValue))

        let ledger = try w.copy(into: sb)
        // Recognised in all three regions: in HK without an agreement, in GD and MO by theirs.
        for region in ["GD", "HK", "MO"] {
            let r = try await sb.ok(["explain", "--ledger", ledger, "--attestation", w.attestation, "--region", region, "--json"])
            let j = try r.json()
            #expect(j["verdict"]?.stringValue == "recognised" && j["region"]?.stringValue == region && j["attestation"]?.stringValue == w.attestation)
            #expect(j["policy"]?.stringValue == "keep")
            let steps = j["path"]?.arrayValue?.compactMap { $0["step"]?.stringValue } ?? []
            #expect(steps == ["signature", "validity", "status", "key", "body", "scope", "accreditation", "agreement", "result"], "\(steps)")
            #expect(j["path"]?.arrayValue?.allSatisfy { $0["state"]?.stringValue == "ok" } == true, "\(r)")
            #expect(j["reasons"]?.arrayValue?.isEmpty == false)
        }
        let hk = try await sb.ok(["explain", "--ledger", ledger, "--attestation", w.attestation, "--region", "HK"])
        #expect(hk.stdout.hasPrefix("Attestation \(w.attestation) in "), "\(hk)")
        #expect(hk.stdout.contains("recognised") && hk.stdout.contains("✓ agreement"))

        // The food test: GD has no agreement for food, so not recognised there (exit 1), naming the link.
        let gd = try await sb.run(["explain", "--ledger", ledger, "--attestation", w.foodAttestation, "--region", "GD", "--json"])
        #expect(gd.status == 1, "\(gd)")
        let gj = try gd.json()
        #expect(gj["verdict"]?.stringValue == "not-recognised")
        let failed = gj["path"]?.arrayValue?.filter { $0["state"]?.stringValue == "failed" } ?? []
        #expect(failed.compactMap { $0["step"]?.stringValue } == ["agreement"], "\(gd)")
        #expect(gj["reasons"]?.arrayValue?.contains { $0.stringValue?.contains("GD does not recognise HK-accredited results for \(TC.food)") == true } == true, "\(gd)")
        let gdText = try await sb.run(["explain", "--ledger", ledger, "--attestation", w.foodAttestation, "--region", "GD"])
        #expect(gdText.status == 1 && gdText.stdout.contains("✗ agreement"), "\(gdText)")
        try await sb.ok(["explain", "--ledger", ledger, "--attestation", w.foodAttestation, "--region", "HK"])

        // The MO inspector attests a cosmetics test on the item (MO lab, CNAS = GD-accredited).
        let mo = try await sb.ok(["attest", "--ledger", ledger, "--key", w.moInspector.path, "--product", TC.item, "--category", "cosmetics",
                                  "--standard", "GB 4806.7-2016", "--result", "fail", "--value", "lead=2.5mg/kg", "--body", "MO-LAB-001",
                                  "--event", try #require(w.eventIDs["sample"]), "--json"])
        let moID = try #require(try mo.json()["attestation"]?.stringValue)
        #expect(try mo.json()["index"]?.int == w.size)
        let moGD = try await sb.run(["explain", "--ledger", ledger, "--attestation", moID, "--region", "GD", "--json"])
        #expect(moGD.status == 1)
        #expect(try moGD.json()["path"]?.arrayValue?.filter { $0["state"]?.stringValue == "failed" }.compactMap { $0["step"]?.stringValue } == ["result"])
        #expect(try moGD.json()["path"]?.arrayValue?.first { $0["step"]?.stringValue == "accreditation" }?["state"]?.stringValue == "ok")

        // Revoked by its issuer: not recognised anywhere, the status link names the reason.
        let rv = try await sb.ok(["attest", "revoke", "--ledger", ledger, "--key", w.hkInspector.path, "--attestation", w.attestation,
                                  "--reason", "sample mix-up", "--json"], env: noCheckpoint).json()
        #expect(rv["index"]?.int == w.size + 1 && isHex64(rv["leafHash"]?.stringValue))
        let revoked = try await sb.run(["explain", "--ledger", ledger, "--attestation", w.attestation, "--region", "HK", "--json"])
        #expect(revoked.status == 1)
        let status = try revoked.json()["path"]?.arrayValue?.first { $0["step"]?.stringValue == "status" }
        #expect(status?["state"]?.stringValue == "failed" && status?["detail"]?.stringValue?.contains("sample mix-up") == true, "\(revoked)")
        // Suspended by the HK regulator: indeterminate (still exit 1).
        try await sb.ok(["attest", "revoke", "--ledger", ledger, "--key", sb.fixture.hk.path, "--attestation", w.foodAttestation,
                         "--reason", "under review", "--status", "suspended"], env: noCheckpoint)
        let suspended = try await sb.run(["explain", "--ledger", ledger, "--attestation", w.foodAttestation, "--region", "HK", "--json"])
        #expect(suspended.status == 1, "\(suspended)")
            #expect(try suspended.json()["verdict"]?.stringValue == "indeterminate", "\(suspended)")
        try await sb.ok(["audit", "--ledger", ledger, "--quiet"])
    }

    @Test func refusedAttestationsAppendNothing() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try w.copy(into: sb)
        func attest(_ key: KeyInfo, _ extra: [String] = [], product: String = TC.lot, result: String = "pass") async throws -> RunResult {
            try await sb.run(["attest", "--ledger", ledger, "--key", key.path, "--product", product, "--category", "cosmetics",
                              "--standard", "GB 4806.7-2016", "--result", result] + extra)
        }
        try await expectUnchanged(ledger, in: sb) {
            // Keys bound to no lab: a stranger, a regulator, the importer (bound to an enterprise, not a lab).
            expectError(try await attest(f.stranger), 1, mentions: ["not authorised", "not bound to any body", "bind-key"])
            expectError(try await attest(f.hk), 1, mentions: ["not authorised"])
            expectError(try await attest(w.hkInspector, ["--body", "MO-LAB-001"]), 1, mentions: ["not authorised", "MO-LAB-001", "HK-LAB-001"])
            expectError(try await attest(w.importer), 1, mentions: ["not authorised"])
            // Bad values.
            let noValue = try await attest(w.hkInspector, ["--value", "lead"])
            expectError(noValue, 65, mentions: ["--value", "METRIC=VALUE"])
            #expect(noValue.stderr.hasPrefix("suyuan: --value \"lead\" must be METRIC=VALUE[UNIT]"), "\(noValue)")
            expectError(try await attest(w.hkInspector, ["--value", "lead=lots"]), 65, mentions: ["--value", "decimal"])
            expectUsageError(try await attest(w.hkInspector, result: "ok"), mentions: ["--result", "pass or fail"])
            expectUsageError(try await sb.run(["attest", "--ledger", ledger, "--key", w.hkInspector.path, "--product", TC.lot, "--category", "Cosmetics",
                                               "--standard", "GB 1", "--result", "pass"]), mentions: ["category"])
            // A bad product code, a missing report file, a bad time.
            expectError(try await attest(w.hkInspector, product: "(01)09506000134353(10)LOT1"), 65, mentions: ["--product", "expected 2"])
            expectError(try await attest(w.hkInspector, ["--report", sb.path("missing.pdf")]), 66, mentions: ["missing.pdf"])
            expectUsageError(try await attest(w.hkInspector, ["--valid-until", "2036"]), mentions: ["--valid-until"])
            // Revoking: an unknown attestation, a stranger, a bad status.
            expectError(try await sb.run(["attest", "revoke", "--ledger", ledger, "--key", w.hkInspector.path, "--attestation",
                                          "urn:uuid:00000000-0000-4000-8000-000000000000", "--reason", "x"]), 1, mentions: ["urn:uuid:00000000-0000-4000-8000-000000000000"])
            expectError(try await sb.run(["attest", "revoke", "--ledger", ledger, "--key", f.stranger.path, "--attestation", w.attestation,
                                          "--reason", "x"]), 1, mentions: ["not authorised"])
            expectError(try await sb.run(["attest", "revoke", "--ledger", ledger, "--key", f.gd.path, "--attestation", w.attestation,
                                          "--reason", "x"]), 1, mentions: ["not authorised"])
            expectUsageError(try await sb.run(["attest", "revoke", "--ledger", ledger, "--key", w.hkInspector.path, "--attestation", w.attestation,
                                               "--reason", "x", "--status", "deleted"]), mentions: ["--status"])
            expectUsageError(try await sb.run(["attest", "revoke", "--ledger", ledger, "--key", w.hkInspector.path, "--attestation", w.attestation.uppercased(),
                                               "--reason", "x"]), mentions: ["--attestation", "lowercase 8-4-4-4-12"])
            // explain: an attestation that is not in the ledger, a region that does not exist.
            expectError(try await sb.run(["explain", "--ledger", ledger, "--attestation", "urn:uuid:00000000-0000-4000-8000-000000000000", "--region", "GD"]),
                        66, mentions: ["no attestation urn:uuid:00000000-0000-4000-8000-000000000000"])
            expectUsageError(try await sb.run(["explain", "--ledger", ledger, "--attestation", "urn:uuid:1", "--region", "GD"]),
                             mentions: ["--attestation \"urn:uuid:1\" must be urn:uuid: followed by a UUID"])
            expectUsageError(try await sb.run(["explain", "--ledger", ledger, "--attestation", w.attestation, "--region", "SZ"]), mentions: ["--region", "SZ"])
            expectUsageError(try await sb.run(["explain", "--ledger", ledger, "--attestation", w.attestation, "--region", "GD", "--policy", "lenient"]),
                             mentions: ["--policy"])
        }
    }
}
}

// MARK: - events

extension TraceCLITests {
@Suite("supply chain: journey events")
struct Events {
    /// The EPCIS shape each step records: (bizStep, disposition, action, type).
    static let shapes: [String: (String, String?, String, String)] = [
        "commission": ("commissioning", "active", "ADD", "ObjectEvent"), "pack": ("packing", "in_progress", "ADD", "AggregationEvent"),
        "unpack": ("unpacking", nil, "DELETE", "AggregationEvent"), "ship": ("shipping", "in_transit", "OBSERVE", "ObjectEvent"),
        "receive": ("receiving", "in_progress", "OBSERVE", "ObjectEvent"), "transport": ("transporting", "in_transit", "OBSERVE", "ObjectEvent"),
        "enter-bonded": ("receiving", "in_progress", "OBSERVE", "ObjectEvent"), "hold": ("holding", "non_sellable_other", "OBSERVE", "ObjectEvent"),
        "inspect": ("inspecting", nil, "OBSERVE", "ObjectEvent"), "sample": ("sampling", nil, "OBSERVE", "ObjectEvent"),
        "release": ("entering_exiting", "in_transit", "OBSERVE", "ObjectEvent"), "deliver": ("retail_selling", "retail_sold", "OBSERVE", "ObjectEvent"),
        "sensor": ("sensor_reporting", nil, "OBSERVE", "ObjectEvent"), "recall": ("holding", "recalled", "OBSERVE", "ObjectEvent"),
        "return": ("receiving", "returned", "OBSERVE", "ObjectEvent"), "destroy": ("destroying", "destroyed", "DELETE", "ObjectEvent"),
    ]

    /// Every step, recorded with its flags, comes out of `export-epcis` as the EPCIS event it should be.
    @Test func everyStepRecordsItsEPCISEvent() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let ledger = try w.copy(into: sb)
        // return and destroy close TC.recalled's recall (signed by the operator, with a checkpoint).
        var ids = w.eventIDs
        ids["return"] = try await sb.event(ledger, "return", key: sb.fixture.op, product: TC.recalled, time: "2026-09-08T00:00:00Z",
                                           ["--location", TC.gln], checkpoint: true)
        ids["destroy"] = try await sb.event(ledger, "destroy", key: sb.fixture.op, product: TC.recalled, time: "2026-09-09T00:00:00Z",
                                            ["--reason", "expired stock"])
        #expect(Set(ids.keys) == Set(Self.shapes.keys))
        // For people.
        let human = try await sb.ok(["event", "inspect", "--ledger", ledger, "--key", w.importer.path, "--product", TC.item,
                                     "--time", "2026-09-21T00:00:00Z"], env: noCheckpoint)
        #expect(human.stdout.wholeMatch(of: #/recorded inspect as entry \d+, event ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0\n/#) != nil, "\(human)")

        try await sb.ok(["export-epcis", "--ledger", ledger, "--out", sb.path("all.jsonld")])
        let doc = try JSONValue.parse([UInt8](try sb.read("all.jsonld")))
        #expect(doc["type"]?.stringValue == "EPCISDocument" && doc["schemaVersion"]?.stringValue == "2.0")
        let events = try #require(doc["epcisBody"]?["eventList"]?.arrayValue)
        #expect(events.count == w.allEventIDs.count + 3)
        let byID = Dictionary(events.compactMap { e in e["eventID"]?.stringValue.map { ($0, e) } }) { a, _ in a }
        for (step, (bizStep, disposition, action, type)) in Self.shapes {
            let id = try #require(ids[step], "\(step)")
            let e = try #require(byID[id], "\(step)")
            #expect(e["bizStep"]?.stringValue == bizStep, "\(step): \(e)")
            #expect(e["disposition"]?.stringValue == disposition, "\(step): \(e)")
            #expect(e["action"]?.stringValue == action && e["type"]?.stringValue == type, "\(step): \(e)")
        }
        // The step flags are where they belong.
        let commission = try #require(byID[w.eventIDs["commission"]!])
        #expect(commission["epcList"]?.arrayValue?.compactMap(\.stringValue) == [TC.item])
        #expect(commission["ilmd"]?["cbvmda:countryOfOrigin"]?.stringValue == "NZ" && commission["ilmd"]?["cbvmda:lotNumber"]?.stringValue == "LOT1")
        #expect(commission["ilmd"]?["cbvmda:itemExpirationDate"]?.stringValue == "2028-09-01")
        #expect(commission["eventTime"]?.stringValue == "2026-09-01T00:00:00.000Z")
        let pack = try #require(byID[w.eventIDs["pack"]!])
        #expect(pack["parentID"]?.stringValue == TC.case1 && pack["childEPCs"]?.arrayValue?.compactMap(\.stringValue) == [TC.item])
        #expect(byID[w.eventIDs["ship"]!]?["eventTimeZoneOffset"]?.stringValue == "+12:00")
        let text = String(decoding: try sb.read("all.jsonld"), as: UTF8.self)
        for needle in ["530120260920001", TC.orderHash, "nansha", "labelling error", "awaiting inspection", "expired stock", "CEL"] {
            #expect(text.contains(needle), "export lacks \(needle)")
        }
        try await sb.ok(["audit", "--ledger", ledger, "--quiet"])
    }

    @Test func refusedEventsAppendNothing() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try w.copy(into: sb)
        func event(_ step: String, _ extra: [String], key: KeyInfo? = nil, product: String? = TC.item) async throws -> RunResult {
            try await sb.run(["event", step, "--ledger", ledger, "--key", (key ?? f.op).path, "--time", "2026-10-01T00:00:00Z"]
                             + (product.map { ["--product", $0] } ?? []) + extra)
        }
        try await expectUnchanged(ledger, in: sb) {
            // Each step's missing flag is named.
            for (step, extra, flag) in [("commission", ["--lot", "L"], "--origin-country"), ("commission", ["--origin-country", "NZ"], "--lot"),
                                        ("pack", ["--child", TC.item], "--parent"), ("unpack", [], "--parent"),
                                        ("enter-bonded", [], "--zone"), ("release", [], "--declaration"),
                                        ("sensor", [], "--temperature"), ("recall", [], "--reason")] {
                let r = try await event(step, extra, product: step == "pack" || step == "unpack" ? nil : TC.item)
                expectError(r, 65, mentions: ["event \(step)", "needs \(flag)"])
                // About the flags given, so not called a malformed statement.
                #expect(r.stderr.hasPrefix("suyuan: `event \(step)` needs \(flag)"), "\(r)")
            }
            expectError(try await event("pack", ["--parent", TC.case1], product: nil), 65, mentions: ["at least one --child"])
            expectError(try await event("ship", [], product: nil), 65, mentions: ["needs --product"])
            // A wrong GTIN check digit says which digit was expected.
            let digit = try await event("ship", [], product: "(01)09506000134353(21)SN001")
            expectError(digit, 65, mentions: ["--product", "check digit 3", "expected 2"])
            #expect(digit.stderr == "suyuan: --product \"(01)09506000134353(21)SN001\": GTIN 09506000134353 has check digit 3; expected 2\n", "\(digit)")
            expectError(try await event("ship", [], product: "https://id.gs1.org/01/09506000134353/21/SN001"), 65, mentions: ["expected 2"])
            expectError(try await event("pack", ["--parent", "https://id.gs1.org/00/095060001343520001", "--child", TC.item], product: nil), 65,
                        mentions: ["--parent", "expected 0"])
            expectError(try await event("pack", ["--parent", TC.case1, "--child", "urn:epc:id:sgtin:bad"], product: nil), 65, mentions: ["--child"])
            expectError(try await event("ship", [], product: "09506000134352"), 65, mentions: ["--product"])
            // Wrong flag values.
            expectError(try await event("commission", ["--origin-country", "nz", "--lot", "L"]), 65, mentions: ["--origin-country", "ISO 3166"])
            expectError(try await event("commission", ["--origin-country", "NZ", "--lot", "L", "--expiry", "2028-02-30x"]), 65, mentions: ["--expiry"])
            expectError(try await event("sensor", ["--temperature", "5", "--min", "8", "--max", "2"]), 65, mentions: ["--min", "--max"])
            expectError(try await event("sensor", ["--temperature", "5", "--min", "2"]), 65, mentions: ["--min and --max go together"])
            expectError(try await event("ship", ["--location", "somewhere"]), 65, mentions: ["somewhere"])
            expectError(try await event("ship", ["--location", "https://id.gs1.org/414/9506000134353"]), 65, mentions: ["expected 2"])
            expectUsageError(try await event("enter-bonded", ["--zone", "qianhai"]), mentions: ["--zone", "nansha"])
            expectUsageError(try await event("teleport", []), mentions: ["unknown step", "teleport", "commission"])
            expectUsageError(try await event("ship", ["--temperature", "warm"]), mentions: ["--temperature"])
            expectUsageError(try await sb.run(["event", "ship", "--ledger", ledger, "--key", f.op.path, "--product", TC.item, "--time", "tomorrow"]),
                             mentions: ["--time", "tomorrow"])
            // Keys that may not record events: a stranger, a regulator, an inspector bound to a lab is allowed (see below).
            expectError(try await event("ship", [], key: f.stranger), 1, mentions: ["not authorised", "may not record events"])
            expectError(try await event("ship", [], key: f.gd), 1, mentions: ["not authorised", "may not record events"])
            // The same event twice.
            expectError(try await sb.run(["event", "deliver", "--ledger", ledger, "--key", w.importer.path, "--product", TC.item,
                                          "--time", "2026-09-22T00:00:00Z"]), 1, mentions: ["duplicate event", w.eventIDs["deliver"]!])
        }
        // A lab's inspector may record (e.g. sampling).
        try await sb.event(ledger, "sample", key: w.hkInspector, product: TC.lot, time: "2026-10-02T00:00:00Z")
    }
}
}

// MARK: - import-epcis and export-epcis

extension TraceCLITests {
@Suite("supply chain: EPCIS import and export")
struct EPCIS {
    @Test func publishedDocumentImports() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let name = "epcisDocWithShippingAndTransportingEvent"
        let doc = TC.vectors.appendingPathComponent("\(name).jsonld").path
        let hashes = try String(contentsOf: TC.vectors.appendingPathComponent("\(name).hashes"), encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        #expect(hashes.count >= 2)
        let j = try await sb.ok(["import-epcis", doc, "--ledger", ledger, "--key", sb.fixture.op.path, "--json"]).json()
        #expect(j["eventIDs"]?.arrayValue?.compactMap(\.stringValue) == hashes)
        #expect(j["appended"]?.int == hashes.count && j["first"]?.int == 1 && j["last"]?.int == hashes.count)
        // Importing it again is refused as a whole, naming the duplicate.
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await sb.run(["import-epcis", doc, "--ledger", ledger, "--key", sb.fixture.op.path]), 1,
                        mentions: ["duplicate event", hashes[0]])
        }
        // Another published document, for people, from standard input.
        let single = try Data(contentsOf: TC.vectors.appendingPathComponent("epcisDocWithSingleEvent.jsonld"))
        let r = try await sb.ok(["import-epcis", "-", "--ledger", ledger, "--key", sb.fixture.op.path], env: noCheckpoint, stdin: single)
        #expect(r.stdout == "imported 1 event(s) from - as entries \(hashes.count + 1)–\(hashes.count + 1)\n", "\(r)")
        try await sb.ok(["audit", "--ledger", ledger, "--quiet"])
    }

    @Test func aDocumentWithOneBadEventAppendsNothing() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let ledger = try w.copy(into: sb)
        func doc(_ events: String) throws -> String {
            try sb.write("doc-\(UUID().uuidString).jsonld", """
                {"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
                 "creationDate":"2026-10-01T00:00:00Z","epcisBody":{"eventList":[\(events)]}}
                """)
        }
        let good = #"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-10-01T00:00:00Z","eventTimeZoneOffset":"+08:00","epcList":["urn:epc:id:sgtin:9506000.134352.SN100"],"bizStep":"shipping"}"#
        let badStep = #"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-10-02T00:00:00Z","eventTimeZoneOffset":"+08:00","epcList":["urn:epc:id:sgtin:9506000.134352.SN100"],"bizStep":"teleporting"}"#
        let noTime = #"{"type":"ObjectEvent","action":"OBSERVE","eventTimeZoneOffset":"+08:00","epcList":["urn:epc:id:sgtin:9506000.134352.SN100"]}"#
        let badCode = #"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-10-02T00:00:00Z","eventTimeZoneOffset":"+08:00","epcList":["https://id.gs1.org/01/09506000134353/21/X"]}"#
        try await expectUnchanged(ledger, in: sb) {
            let badStepDoc = try doc(good + "," + badStep)
            let refused = try await sb.run(["import-epcis", badStepDoc, "--ledger", ledger, "--key", sb.fixture.op.path])
            expectError(refused, 65, mentions: ["event 2 of 2", "bizStep"])
            // Named after the document, once, not as a statement (it is not one yet).
            #expect(refused.stderr.hasPrefix("suyuan: \(badStepDoc): event 2 of 2: EPCIS event field \"bizStep\""), "\(refused)")
            #expect(!refused.stderr.contains("malformed statement"), "\(refused)")
            expectError(try await sb.run(["import-epcis", try doc(noTime + "," + good), "--ledger", ledger, "--key", sb.fixture.op.path]),
                        65, mentions: ["event 1 of 2", "eventTime", "missing"])
            let numericTime = noTime.replacingOccurrences(of: #""action""#, with: #""eventTime":1759276800,"action""#)
            expectError(try await sb.run(["import-epcis", try doc(good + "," + numericTime), "--ledger", ledger, "--key", sb.fixture.op.path]),
                        65, mentions: ["event 2 of 2", "eventTime", "must be a string"])
            expectError(try await sb.run(["import-epcis", try doc(good + "," + badCode), "--ledger", ledger, "--key", sb.fixture.op.path]),
                        65, mentions: ["event 2 of 2", "expected 2"])
            expectError(try await sb.run(["import-epcis", try doc(good + "," + good), "--ledger", ledger, "--key", sb.fixture.op.path]),
                        65, mentions: ["duplicate of event 1"])
            // An event already recorded (the clean journey's delivery, exported), after a new one.
            try await sb.ok(["export-epcis", "--ledger", ledger, "--product", TC.item, "--out", sb.path("item.jsonld")])
            let exported = try JSONValue.parse([UInt8](try sb.read("item.jsonld")))
            let last = try #require(exported["epcisBody"]?["eventList"]?.arrayValue?.last)
            expectError(try await sb.run(["import-epcis", try doc(good + "," + String(decoding: try last.canonical(), as: UTF8.self)), "--ledger", ledger,
                                          "--key", sb.fixture.op.path]), 1, mentions: ["duplicate event"])
            expectError(try await sb.run(["import-epcis", try doc(""), "--ledger", ledger, "--key", sb.fixture.op.path]), 65, mentions: ["no events"])
            expectError(try await sb.run(["import-epcis", try sb.write("x.json", #"{"type":"Document"}"#), "--ledger", ledger, "--key", sb.fixture.op.path]),
                        65, mentions: ["not an EPCIS 2.0 document"])
            expectError(try await sb.run(["import-epcis", try sb.write("y.json", "{"), "--ledger", ledger, "--key", sb.fixture.op.path]),
                        65, mentions: ["not valid JSON"])
            expectError(try await sb.run(["import-epcis", sb.path("missing.jsonld"), "--ledger", ledger, "--key", sb.fixture.op.path]),
                        66, mentions: ["missing.jsonld"])
            // A stranger may not import.
            expectError(try await sb.run(["import-epcis", try doc(good), "--ledger", ledger, "--key", sb.fixture.stranger.path]),
                        1, mentions: ["not authorised"])
        }
    }

    @Test func anExportedDocumentReimportsWithIdenticalEventIDs() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let ledger = try w.copy(into: sb)
        // The whole ledger, to standard output.
        let all = try await sb.ok(["export-epcis", "--ledger", ledger])
        let doc = try all.json()
        let ids = doc["epcisBody"]?["eventList"]?.arrayValue?.compactMap { $0["eventID"]?.stringValue } ?? []
        #expect(ids == w.allEventIDs)
        let file = try sb.write("export.jsonld", all.stdoutData)
        let fresh = try sb.copyBaseLedger("fresh.ledger")
        let j = try await sb.ok(["import-epcis", file, "--ledger", fresh, "--key", sb.fixture.op.path, "--json"]).json()
        #expect(j["eventIDs"]?.arrayValue?.compactMap(\.stringValue) == w.allEventIDs)
        let again = try await sb.ok(["export-epcis", "--ledger", fresh]).json()
        #expect(again["epcisBody"]?["eventList"] == doc["epcisBody"]?["eventList"])

        // One product's journey (through its case and its lot), to a file.
        try await sb.ok(["export-epcis", "--ledger", ledger, "--product", TC.itemElementString, "--out", sb.path("item.jsonld")])
        let item = try JSONValue.parse([UInt8](try sb.read("item.jsonld")))
        let itemIDs = Set(item["epcisBody"]?["eventList"]?.arrayValue?.compactMap { $0["eventID"]?.stringValue } ?? [])
        let expected = Set(["commission", "pack", "ship", "enter-bonded", "sensor", "release", "deliver"].compactMap { w.eventIDs[$0] })
        #expect(itemIDs == expected)
        let fresh2 = try sb.copyBaseLedger("fresh2.ledger")
        let k = try await sb.ok(["import-epcis", sb.path("item.jsonld"), "--ledger", fresh2, "--key", sb.fixture.op.path, "--json"]).json()
        #expect(Set(k["eventIDs"]?.arrayValue?.compactMap(\.stringValue) ?? []) == expected)
        // Refused: a bad code, an existing --out file is replaced only by a valid export.
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await sb.run(["export-epcis", "--ledger", ledger, "--product", "(01)09506000134353"]), 65, mentions: ["--product", "expected 2"])
        }
        try await sb.ok(["audit", "--ledger", fresh, "--quiet"])
    }
}
}

// MARK: - verify

extension TraceCLITests {
@Suite("supply chain: verify")
struct Verify {
    @Test func aCleanProductVerifies() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try w.copy(into: sb)
        let saved = try sb.write("saved.checkpoint", w.checkpoint)
        let r = try await sb.ok(["verify", TC.itemElementString, "--ledger", ledger, "--trust", f.op.vkey, "--trusted-checkpoint", saved, "--json"])
        let j = try r.json()
        #expect(j.keys.isSuperset(of: ["code", "verified", "events", "attestations", "recognition", "recalled", "findings", "checkpoint"]))
        #expect(j["code"]?.stringValue == TC.item)
        #expect(j["verified"]?.boolValue == true, "\(r)")
        #expect(j["recalled"]?.boolValue == false)
        #expect(j["findings"]?.arrayValue?.isEmpty == true)
        #expect(j["lot"]?.stringValue == TC.lot && j["coldChain"]?.stringValue == "ok")
        let events = try #require(j["events"]?.arrayValue)
        #expect(events.compactMap { $0["step"]?.stringValue } == ["commission", "pack", "ship", "enter-bonded", "sensor", "release", "deliver"])
        for e in events {
            #expect(e["index"]?.int != nil && e["time"]?.stringValue != nil && e["signer"]?.stringValue != nil, "\(e)")
        }
        #expect(events[0]["signer"]?.stringValue == "Nansha Cross-border Importer (GD-IMP-001)")
        #expect(events[3]["signer"]?.stringValue?.hasPrefix("operator") == true)
        #expect(events[0]["location"] != nil && events[3]["location"]?.stringValue == "Nansha Bonded Port Area")
        #expect(events[0]["time"]?.stringValue == "2026-09-01T00:00:00.000Z")
        #expect(events[2]["via"]?.stringValue == TC.case1)
        let attestations = try #require(j["attestations"]?.arrayValue)
        #expect(attestations.count == 1 && attestations[0]["id"]?.stringValue == w.attestation)
        #expect(attestations[0]["values"]?.arrayValue?.compactMap(\.stringValue) == ["lead=0.05 mg/kg", "arsenic=0.01 mg/kg"])
        #expect(isHex64(attestations[0]["reportHash"]?.stringValue))
        for region in ["GD", "HK", "MO"] {
            #expect(j["recognition"]?[region]?["verdict"]?.stringValue == "recognised", "\(region): \(r)")
            #expect(j["recognition"]?[region]?["reasons"]?.arrayValue?.isEmpty == false)
        }
        #expect(j["checkpoint"]?["size"]?.int == w.size && j["checkpoint"]?["origin"]?.stringValue == Fixture.origin)
        #expect(j["integrity"]?["failures"]?.arrayValue?.isEmpty == true)

        // For people, trusting the genesis operator key (with a note saying so).
        let human = try await sb.ok(["verify", TC.item, "--ledger", ledger])
        #expect(human.stdout.hasPrefix("Product \(TC.item)  (lot LOT1)\nVERIFIED"), "\(human)")
        #expect(human.stderr.contains("trusting the operator key named in the ledger's genesis"))

        // An offline bundle, checked without the ledger, gives the same verdicts.
        try await sb.ok(["verify", TC.item, "--ledger", ledger, "--bundle", sb.path("item.bundle")])
        try FileManager.default.removeItem(atPath: ledger)
        let off = try await sb.ok(["verify", "--bundle", sb.path("item.bundle"), "--trust", f.op.vkey, "--json"]).json()
        #expect(off["verified"]?.boolValue == true && off["code"]?.stringValue == TC.item)
        #expect(off["events"] == j["events"] && off["recognition"] == j["recognition"] && off["attestations"] == j["attestations"])
        #expect(off["checkpoint"]?["root"] == j["checkpoint"]?["root"])
        let offText = try await sb.ok(["verify", "--bundle", sb.path("item.bundle"), "--trust", f.op.path])
        #expect(offText.stdout.contains("VERIFIED"))
    }

    /// Recall, cold-chain excursion, a journey rule, no recognition: each exits 1 and says why.
    @Test func failingProductsExitOne() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let ledger = try w.copy(into: sb)
        func verify(_ code: String, _ extra: [String] = []) async throws -> (RunResult, JSONValue) {
            let r = try await sb.run(["verify", code, "--ledger", ledger, "--json"] + extra)
            #expect(r.status == 1, "\(r)")
            let j = try r.json()
            #expect(j["verified"]?.boolValue == false)
            return (r, j)
        }
        try await expectUnchanged(ledger, in: sb) {
            let (_, recalled) = try await verify(TC.recalled)
            #expect(recalled["recalled"]?.boolValue == true && recalled["recallReason"]?.stringValue == "labelling error")
            #expect(recalled["events"]?.arrayValue?.compactMap { $0["step"]?.stringValue }
                    == ["commission", "transport", "receive", "hold", "inspect", "sample", "recall"])
            #expect(recalled["findings"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } == ["unclosed-recall"])
            let recalledText = try await sb.run(["verify", TC.recalled, "--ledger", ledger])
            #expect(recalledText.status == 1 && recalledText.stdout.contains("NOT VERIFIED") && recalledText.stdout.contains("recalled: labelling error"))

            let (_, warm) = try await verify(TC.warm)
            #expect(warm["coldChain"]?.stringValue == "excursion")
            let finding = try #require(warm["findings"]?[0])
            #expect(finding["kind"]?.stringValue == "cold-chain-excursion" && finding["message"]?.stringValue?.contains("12") == true, "\(finding)")
            #expect(finding["index"]?.int != nil)

            let (_, smuggled) = try await verify(TC.smuggled)
            #expect(smuggled["findings"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } == ["delivery-before-release"])
            #expect(smuggled["recalled"]?.boolValue == false)

            let (_, food) = try await verify(TC.foodItem)
            #expect(food["recognition"]?["GD"]?["verdict"]?.stringValue == "not-recognised")
            #expect(food["recognition"]?["MO"]?["verdict"]?.stringValue == "not-recognised")
            #expect(food["recognition"]?["HK"]?["verdict"]?.stringValue == "recognised")
            #expect(food["recognition"]?["GD"]?["reasons"]?.arrayValue?.contains { $0.stringValue?.contains("does not recognise HK-accredited") == true } == true)
            #expect(food["findings"]?.arrayValue?.isEmpty == true && food["recalled"]?.boolValue == false)
            // Only HK's verdict counts: verified.
            let hkOnly = try await sb.run(["verify", TC.foodItem, "--ledger", ledger, "--region", "HK", "--json"])
            #expect(hkOnly.status == 0, "\(hkOnly)")
            #expect(try hkOnly.json()["verified"]?.boolValue == true, "\(hkOnly)")
            // No attestation at all: indeterminate, which alone does not fail.
            let none = try await sb.run(["verify", "https://id.gs1.org/01/09506000134352/21/UNKNOWN", "--ledger", ledger, "--json"])
            #expect(none.status == 0, "\(none)")
            #expect(try none.json()["recognition"]?["GD"]?["verdict"]?.stringValue == "indeterminate", "\(none)")

            // Invalid product codes: a data error naming the reason.
            expectError(try await sb.run(["verify", "(01)09506000134353(21)SN001", "--ledger", ledger]), 65, mentions: ["CODE", "expected 2"])
            expectError(try await sb.run(["verify", "09506000134352", "--ledger", ledger]), 65, mentions: ["CODE"])
            expectError(try await sb.run(["verify", "", "--ledger", ledger]), 65, mentions: ["CODE"])
            // Usage errors.
            expectUsageError(try await sb.run(["verify", "--ledger", ledger]), mentions: ["CODE"])
            expectUsageError(try await sb.run(["verify", TC.item, "--ledger", ledger, "--region", "TW"]), mentions: ["--region"])
            // An untrusted operator key.
            let wrong = try await sb.run(["verify", TC.item, "--ledger", ledger, "--trust", sb.fixture.stranger.vkey, "--json"])
            #expect(wrong.status == 1, "\(wrong)")
            #expect(try wrong.json()["integrity"]?["failures"]?[0]?.stringValue?.contains("does not verify") == true, "\(wrong)")
        }
    }

    @Test func entriesAfterTheCheckpointAndForkedCheckpointsFail() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let ledger = try w.copy(into: sb)
        // A new event on the item without a checkpoint: not yet provable.
        try await sb.event(ledger, "inspect", key: sb.fixture.op, product: TC.item, time: "2026-09-21T00:00:00Z")
        let r = try await sb.run(["verify", TC.item, "--ledger", ledger, "--json"])
        #expect(r.status == 1, "\(r)")
            #expect(try r.json()["problems"]?.arrayValue?.contains { $0.stringValue?.contains("newer than the latest signed checkpoint") == true } == true, "\(r)")
        try await sb.ok(["checkpoint", "--ledger", ledger])
        try await sb.ok(["verify", TC.item, "--ledger", ledger])
        // A checkpoint of another ledger with the same origin and operator (a fork): inconsistent.
        let fork = try sb.copyBaseLedger("fork.ledger")
        try await sb.event(fork, "ship", key: sb.fixture.op, product: TC.item, time: "2026-09-03T00:00:00Z", checkpoint: true)
        let forkCP = try sb.write("fork.checkpoint", try await sb.ok(["checkpoint", "--ledger", fork]).stdout)
        let forked = try await sb.run(["verify", TC.item, "--ledger", ledger, "--trusted-checkpoint", forkCP, "--json"])
        #expect(forked.status == 1, "\(forked)")
        #expect(try forked.json()["integrity"]?["failures"]?.arrayValue?.contains { $0.stringValue?.contains("trusted checkpoint 1 is not consistent") == true } == true, "\(forked)")
    }

    /// A ledger file edited behind the ledger's back (triggers dropped) fails `verify`, naming what no
    /// longer proves: an event entry whose recorded time was changed by a millisecond (its statement's
    /// signature still verifies, its leaf is no longer in the checkpoint), and the stored tree.
    @Test func aTamperedLedgerFileFailsVerification() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let clean = try await sb.ok(["verify", TC.item, "--ledger", try w.copy(into: sb, as: "clean.ledger"), "--json"]).json()
        let commission = try #require(clean["events"]?[0]?["index"]?.int)
        // Whether inclusion is checked in one walk over the stored tree, or (when a bundle is written)
        // from the proofs read for it.
        func failures(_ ledger: String) async throws -> [String] {
            var seen: [[String]] = []
            for extra in [[], ["--bundle", sb.path("tampered.bundle")]] {
                let r = try await sb.run(["verify", TC.item, "--ledger", ledger, "--json"] + extra)
                #expect(r.status == 1, "\(r)")
                let j = try r.json()
                #expect(j["verified"]?.boolValue == false)
                seen.append(j["integrity"]?["failures"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            }
            // The same entries named (the roots the two ways compute from wrong hashes may differ).
            #expect(seen[0].map { $0.prefix { $0 != ":" } } == seen[1].map { $0.prefix { $0 != ":" } })
            return seen[0]
        }
        let edited = try w.copy(into: sb, as: "edited.ledger")
        try #require(try runTool(["sqlite3", edited, """
            DROP TRIGGER entries_no_update;
            UPDATE entries SET body = CAST(substr(t, 1, p - 3) || (CASE substr(t, p - 2, 1) WHEN '0' THEN '1' ELSE '0' END) || substr(t, p - 1) AS BLOB)
              FROM (SELECT CAST(body AS TEXT) AS t, instr(CAST(body AS TEXT), 'Z","signature"') + 1 AS p FROM entries WHERE idx = \(commission))
              WHERE idx = \(commission);
            """]) == 0)
        let one = try await failures(edited)
        #expect(one.count == 1 && one[0].hasPrefix("entry \(commission) is not included in the checkpoint"), "\(one)")

        // Every stored hash the proofs read (the leaf hashes of the other entries, the subtree hashes).
        let nodes = try w.copy(into: sb, as: "nodes.ledger")
        try #require(try runTool(["sqlite3", nodes, """
            DROP TRIGGER entries_no_update; DROP TRIGGER nodes_no_update; DROP TRIGGER leaf_blocks_no_update;
            UPDATE entries SET leaf_hash = randomblob(32); UPDATE nodes SET hash = randomblob(32); UPDATE leaf_blocks SET nodes = randomblob(960);
            """]) == 0)
        let many = try await failures(nodes)
        #expect(!many.isEmpty && many.allSatisfy { $0.contains("is not included in the checkpoint") }, "\(many)")
    }

    @Test func tamperedBundlesFail() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try w.copy(into: sb)
        try await sb.ok(["verify", TC.item, "--ledger", ledger, "--bundle", sb.path("b.json"), "--json"])
        let original = try JSONValue.parse([UInt8](try sb.read("b.json")))
        guard case .object(let bundle) = original, case .array(var entries) = bundle["entries"] else { Issue.record("bad bundle"); return }
        #expect(bundle["report"]?["verified"]?.boolValue == true)

        // One byte inside the attestation's entry changed.
        let index = try #require(bundle["report"]?["attestations"]?[0]?["index"]?.int)
        let n = try #require(entries.firstIndex { $0["index"]?.int == index })
        guard case .object(var entry) = entries[n], var bytes = entry["entry"]?.stringValue.flatMap(Base64.decode) else { Issue.record("bad entry"); return }
        bytes[bytes.count / 2] = bytes[bytes.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        entry["entry"] = .string(Base64.encode(bytes))
        entries[n] = .object(entry)
        var tampered = bundle
        tampered["entries"] = .array(entries)
        let t1 = try sb.write("t1.json", JSONValue.object(tampered).prettyPrinted())
        let r1 = try await sb.run(["verify", "--bundle", t1, "--trust", f.op.vkey, "--json"])
        #expect(r1.status == 1, "\(r1)")
        #expect(try r1.json()["integrity"]?["failures"]?.arrayValue?.contains {
            $0.stringValue?.contains("entry \(index) is not included in the checkpoint") == true } == true, "\(r1)")
        #expect(try r1.json()["verified"]?.boolValue == false)
        let r1text = try await sb.run(["verify", "--bundle", t1, "--trust", f.op.vkey])
        #expect(r1text.status == 1 && r1text.stdout.contains("NOT VERIFIED") && r1text.stdout.contains("entry \(index) is not included"), "\(r1text)")

        // One character of the checkpoint's root changed: its signature no longer verifies.
        var cpTampered = bundle
        let note = try #require(bundle["checkpoint"]?.stringValue)
        let cp = try ParsedCheckpoint(note)
        var root = Array(cp.rootBase64.utf8)
        root[0] = root[0] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        cpTampered["checkpoint"] = .string(note.replacingOccurrences(of: cp.rootBase64, with: String(decoding: root, as: UTF8.self)))
        let t2 = try sb.write("t2.json", JSONValue.object(cpTampered).prettyPrinted())
        expectError(try await sb.run(["verify", "--bundle", t2, "--trust", f.op.vkey, "--json"]), 1,
                    mentions: ["the bundle \(t2) does not verify", "checkpoint does not verify"])

        // One hash of the last entry's inclusion proof changed.
        let last = original["entries"]!.arrayValue!.count - 1
        guard case .object(var eLast) = original["entries"]![last]!, case .array(var proof) = eLast["proof"], !proof.isEmpty else {
            Issue.record("no proof to tamper with"); return
        }
        let lastIndex = try #require(eLast["index"]?.int)
        proof[0] = .string(Base64.encode([UInt8](repeating: 7, count: 32)))
        eLast["proof"] = .array(proof)
        var proofTampered = bundle
        var entries3 = original["entries"]!.arrayValue!
        entries3[last] = .object(eLast)
        proofTampered["entries"] = .array(entries3)
        let t3 = try sb.write("t3.json", JSONValue.object(proofTampered).prettyPrinted())
        let r3 = try await sb.run(["verify", "--bundle", t3, "--trust", f.op.vkey])
        #expect(r3.status == 1 && r3.stdout.contains("entry \(lastIndex) is not included"), "\(r3)")

        // The wrong trusted key; no --trust at all (a usage error); not a bundle.
        expectError(try await sb.run(["verify", "--bundle", sb.path("b.json"), "--trust", f.stranger.vkey]), 1,
                    mentions: ["does not verify", f.stranger.vkey])
        expectUsageError(try await sb.run(["verify", "--bundle", sb.path("b.json")]), mentions: ["--trust"])
        expectError(try await sb.run(["verify", "--bundle", try sb.write("nb.json", "{}"), "--trust", f.op.vkey]), 65, mentions: ["bundle"])
        expectError(try await sb.run(["verify", "--bundle", sb.path("missing.json"), "--trust", f.op.vkey]), 66, mentions: ["missing.json"])
        // The untouched bundle still verifies.
        try await sb.ok(["verify", "--bundle", sb.path("b.json"), "--trust", f.op.vkey])
    }
}
}

// MARK: - audit

extension TraceCLITests {
@Suite("supply chain: audit")
struct Audit {
    @Test func theBuiltLedgerAuditsClean() async throws {
        let w = try await TraceWorld.get()
        let sb = try Sandbox()
        let ledger = try w.copy(into: sb)
        let saved = try sb.write("saved.checkpoint", w.checkpoint)
        let j = try await sb.ok(["audit", "--ledger", ledger, "--trusted-checkpoint", saved, "--json", "--quiet"]).json()
        #expect(j["ok"]?.boolValue == true && j["entries"]?.int == w.size && j["firstBadIndex"]?.isNull == true)
        #expect(j["findings"]?.arrayValue?.isEmpty == true)
    }
}
}

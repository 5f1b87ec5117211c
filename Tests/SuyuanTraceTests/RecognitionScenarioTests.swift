import Testing
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanStore
import SuyuanTrace

/// The bay-area set-up every scenario starts from (clock at 2026-06-01):
/// HKAS (HK) and CNAS (GD) accreditation bodies; HK-LAB accredited by HKAS for cosmetics and food;
/// MO-LAB accredited by CNAS for cosmetics; GD accepts HK-accredited cosmetics results; MO accepts
/// HK- and GD-accredited cosmetics results; HK accepts nothing; inspector keys bound from 2026-01-01.
struct Bay {
    let world: World
    let inspector: SecretKey
    let macaoInspector: SecretKey
    static let cosmetics = "cosmetics:GB 4806.7-2016"
    static let food = "food:GB 2762-2022"

    init(bindInspector: Bool = true, rules: RuleBook = .suyuan) throws {
        world = World(rules: rules)
        try world.accreditationBody("HKAS", .HK)
        try world.accreditationBody("CNAS", .GD)
        try world.lab("HK-LAB", .HK, accreditedBy: "HKAS", scope: [Bay.cosmetics, Bay.food])
        try world.lab("MO-LAB", .MO, accreditedBy: "CNAS", scope: [Bay.cosmetics])
        try world.recognise(.GD, from: [.HK], scope: [Bay.cosmetics], since: "2025-01-01")
        try world.recognise(.MO, from: [.HK, .GD], scope: [Bay.cosmetics], since: "2025-01-01")
        inspector = world.newKey()
        macaoInspector = world.newKey()
        if bindInspector { try world.bind(inspector, to: "HK-LAB", region: .HK, from: "2026-01-01") }
        try world.bind(macaoInspector, to: "MO-LAB", region: .MO, from: "2026-01-01")
    }
}

/// One row of the table: how to get there, and the expected verdict per region with the step that
/// fails (nil when recognised) and words its reason must contain.
struct Scenario: CustomTestStringConvertible, Sendable {
    let name: String
    let run: @Sendable (Bay) throws -> [Region: AttestationVerdict]
    let expected: [Region: (Verdict, step: String?, says: String?)]
    var testDescription: String { name }
}

let scenarios: [Scenario] = [
    Scenario(name: "recognised everywhere under an agreement", run: { b in
        try b.world.verdicts(try b.world.attest(b.inspector, body: "HK-LAB"))
    }, expected: [.GD: (.recognised, nil, "GD recognises HK-accredited"), .HK: (.recognised, nil, "no agreement is needed"),
                  .MO: (.recognised, nil, "MO recognises HK-accredited")]),

    Scenario(name: "own region only: the scope is outside the agreement", run: { b in
        try b.world.verdicts(try b.world.attest(b.inspector, body: "HK-LAB", scope: Bay.food))
    }, expected: [.GD: (.notRecognised, "agreement", "GD does not recognise HK-accredited results for food:GB 2762-2022"),
                  .HK: (.recognised, nil, nil), .MO: (.notRecognised, "agreement", "No agreement")]),

    Scenario(name: "lab suspended before the test (recorded afterwards, effective earlier)", run: { b in
        let a = try b.world.attest(b.inspector, body: "HK-LAB")
        try b.world.setStatus("HK-LAB", .HK, .suspended, effective: "2026-05-01")
        return try b.world.verdicts(a)
    }, expected: [.GD: (.notRecognised, "body", "was suspended at"), .HK: (.notRecognised, "body", "was suspended at"),
                  .MO: (.notRecognised, "body", "was suspended at")]),

    Scenario(name: "lab suspended after the test: accepted as of the test's time", run: { b in
        let a = try b.world.attest(b.inspector, body: "HK-LAB")
        b.world.now = time("2026-06-10")
        try b.world.setStatus("HK-LAB", .HK, .suspended, effective: "2026-06-05")
        return try b.world.verdicts(a)
    }, expected: [.GD: (.recognised, nil, nil), .HK: (.recognised, nil, nil), .MO: (.recognised, nil, nil)]),

    Scenario(name: "lab suspended after the test: rejected under the strict switch", run: { b in
        let a = try b.world.attest(b.inspector, body: "HK-LAB")
        b.world.now = time("2026-06-10")
        try b.world.setStatus("HK-LAB", .HK, .suspended, effective: "2026-06-05")
        return try b.world.verdicts(a, policy: .invalidate)
    }, expected: [.GD: (.notRecognised, "body", "after the attestation"), .HK: (.notRecognised, "body", "after the attestation"),
                  .MO: (.notRecognised, "body", "after the attestation")]),

    Scenario(name: "lab suspended after the test: GD's ledger policy invalidates, HK and MO keep", run: { b in
        let a = try b.world.attest(b.inspector, body: "HK-LAB")
        b.world.now = time("2026-06-10")
        try b.world.append(TraceKind.policy, RegistryPayload.policy(region: .GD, laterSuspension: .invalidate, effective: time("2026-06-01")), by: b.world.gd)
        try b.world.setStatus("HK-LAB", .HK, .suspended, effective: "2026-06-05")
        return try b.world.verdicts(a)
    }, expected: [.GD: (.notRecognised, "body", "GD's policy"), .HK: (.recognised, nil, nil), .MO: (.recognised, nil, nil)]),

    Scenario(name: "key bound after it signed", run: { b in
        let late = b.world.newKey()
        b.world.now = time("2026-06-20")
        try b.world.bind(late, to: "HK-LAB", region: .HK, from: "2026-06-15")
        return try b.world.verdicts(try b.world.attest(late, body: "HK-LAB", at: time("2026-06-10")))
    }, expected: [.GD: (.notRecognised, "key", "only from 2026-06-15"), .HK: (.notRecognised, "key", "only from 2026-06-15"),
                  .MO: (.notRecognised, "key", "only from 2026-06-15")]),

    Scenario(name: "withdrawn agreement", run: { b in
        try b.world.recognise(.GD, from: [.HK], scope: [Bay.cosmetics], since: "2025-01-01", until: "2026-03-01")
        return try b.world.verdicts(try b.world.attest(b.inspector, body: "HK-LAB"))
    }, expected: [.GD: (.notRecognised, "agreement", "ended at 2026-03-01"), .HK: (.recognised, nil, nil), .MO: (.recognised, nil, nil)]),

    Scenario(name: "agreement not yet in force", run: { b in
        try b.world.recognise(.GD, from: [.HK], scope: [Bay.cosmetics], since: "2026-09-01")
        return try b.world.verdicts(try b.world.attest(b.inspector, body: "HK-LAB"))
    }, expected: [.GD: (.notRecognised, "agreement", "only from 2026-09-01"), .HK: (.recognised, nil, nil), .MO: (.recognised, nil, nil)]),

    Scenario(name: "failed result", run: { b in
        try b.world.verdicts(try b.world.attest(b.inspector, body: "HK-LAB", result: .fail))
    }, expected: [.GD: (.notRecognised, "result", "fail"), .HK: (.notRecognised, "result", "fail"), .MO: (.notRecognised, "result", "fail")]),

    Scenario(name: "one scope item suspended before the test", run: { b in
        try b.world.setStatus("HK-LAB", .HK, .suspended, scope: Bay.cosmetics, effective: "2026-04-01")
        return try b.world.verdicts(try b.world.attest(b.inspector, body: "HK-LAB"))
    }, expected: [.GD: (.notRecognised, "scope", "was suspended at"), .HK: (.notRecognised, "scope", "was suspended at"),
                  .MO: (.notRecognised, "scope", "was suspended at")]),

    Scenario(name: "scope item restored before the test", run: { b in
        try b.world.setStatus("HK-LAB", .HK, .suspended, scope: Bay.cosmetics, effective: "2026-04-01")
        try b.world.setStatus("HK-LAB", .HK, .active, scope: Bay.cosmetics, effective: "2026-05-01")
        return try b.world.verdicts(try b.world.attest(b.inspector, body: "HK-LAB"))
    }, expected: [.GD: (.recognised, nil, nil), .HK: (.recognised, nil, nil), .MO: (.recognised, nil, nil)]),

    Scenario(name: "lab withdrawn before the test (recorded afterwards, effective earlier)", run: { b in
        let a = try b.world.attest(b.inspector, body: "HK-LAB")
        try b.world.setStatus("HK-LAB", .HK, .withdrawn, effective: "2026-02-01")
        return try b.world.verdicts(a)
    }, expected: [.GD: (.notRecognised, "body", "withdrawn"), .HK: (.notRecognised, "body", "withdrawn"), .MO: (.notRecognised, "body", "withdrawn")]),

    Scenario(name: "attestation revoked by its issuer", run: { b in
        let a = try b.world.attest(b.inspector, body: "HK-LAB")
        try b.world.append(TraceKind.attestationStatus, RegistryPayload.attestationStatus(
            attestation: a.attestation.id, status: .revoked, reason: "sample mix-up", effective: b.world.now), by: b.inspector)
        return try b.world.verdicts(a)
    }, expected: [.GD: (.notRecognised, "status", "sample mix-up"), .HK: (.notRecognised, "status", "revoked"), .MO: (.notRecognised, "status", "revoked")]),

    Scenario(name: "attestation suspended by the HK regulator: indeterminate", run: { b in
        let a = try b.world.attest(b.inspector, body: "HK-LAB")
        try b.world.append(TraceKind.attestationStatus, RegistryPayload.attestationStatus(
            attestation: a.attestation.id, status: .suspended, reason: "under review", effective: b.world.now), by: b.world.hk)
        return try b.world.verdicts(a)
    }, expected: [.GD: (.indeterminate, "status", "under review"), .HK: (.indeterminate, "status", "under review"), .MO: (.indeterminate, "status", "under review")]),

    Scenario(name: "attestation expired", run: { b in
        let a = try b.world.attest(b.inspector, body: "HK-LAB", validUntil: time("2026-07-01"))
        b.world.now = time("2026-08-01")
        return try b.world.verdicts(a)
    }, expected: [.GD: (.notRecognised, "validity", "expired at 2026-07-01"), .HK: (.notRecognised, "validity", "expired"),
                  .MO: (.notRecognised, "validity", "expired")]),

    Scenario(name: "Macao lab accredited by CNAS: GD and MO recognise, HK does not", run: { b in
        try b.world.verdicts(try b.world.attest(b.macaoInspector, body: "MO-LAB"))
    }, expected: [.GD: (.recognised, nil, "Guangdong itself"), .HK: (.notRecognised, "agreement", "HK does not recognise GD-accredited"),
                  .MO: (.recognised, nil, "MO recognises GD-accredited")]),

    Scenario(name: "key revoked after it signed: kept, or invalidated under the strict switch", run: { b in
        let a = try b.world.attest(b.inspector, body: "HK-LAB")
        b.world.now = time("2026-06-10")
        try b.world.append(TraceKind.keyRevocation, RegistryPayload.keyRevocation(key: b.inspector.publicKey, effective: time("2026-06-05")), by: b.world.hk)
        var v = try b.world.verdicts(a)
        v[.MO] = try b.world.verdicts(a, policy: .invalidate)[.MO]
        return v
    }, expected: [.GD: (.recognised, nil, nil), .HK: (.recognised, nil, nil), .MO: (.notRecognised, "key", "revoked at 2026-06-05")]),
]

@Suite struct RecognitionScenarioTests {
    @Test(arguments: scenarios)
    func scenario(_ s: Scenario) throws {
        let verdicts = try s.run(try Bay())
        for region in Region.allCases {
            let v = try #require(verdicts[region])
            let (want, step, says) = s.expected[region]!
            #expect(v.verdict == want, "\(region): \(v.text)")
            let failing = v.path.filter { $0.state != .ok }.map(\.step)
            if let step {
                #expect(failing.contains(step), "\(region): expected step \(step) to fail; \(v.text)")
            } else {
                #expect(failing.isEmpty, "\(region): \(v.text)")
            }
            if let says {
                #expect(v.reasons.contains { $0.contains(says) }, "\(region): reasons \(v.reasons) should mention \"\(says)\"")
            }
        }
    }

    @Test func forgedAttestationIsRefusedAtAppendAndFailsTheVerifier() throws {
        let b = try Bay()
        let genuine = try b.world.attest(b.inspector, body: "HK-LAB")
        // The forger copies a genuine credential, changes the result and signs the statement with its own key.
        let forger = b.world.newKey()
        guard case .object(var vc) = genuine.attestation.credential, case .object(var subject)? = vc["credentialSubject"],
              case .array(var assessments)? = subject["assessment"], case .object(var a0) = assessments[0] else { Issue.record("shape"); return }
        a0["specifiedCondition"] = "GB 2762-2022"
        a0["productCategory"] = "food"
        assessments[0] = .object(a0); subject["assessment"] = .array(assessments); vc["credentialSubject"] = .object(subject)
        vc["id"] = .string("urn:uuid:00000000-0000-4000-8000-000000000001")
        let forged = try Attestation(credential: .object(vc))
        #expect(forged.verifyProof()?.contains("signature is invalid") == true)
        // Submitted by the genuine inspector's key it fails the proof; by the forger it is not the issuer.
        let s1 = try Statement(kind: TraceKind.attestation, payload: .object(["credential": forged.credential]), signer: b.inspector.publicKey, time: b.world.now).sign(with: b.inspector)
        #expect(throws: LedgerError.self) { try b.world.ledger.appendAll([s1]) }
        let s2 = try Statement(kind: TraceKind.attestation, payload: .object(["credential": forged.credential]), signer: forger.publicKey, time: b.world.now).sign(with: forger)
        #expect(throws: LedgerError.self) { try b.world.ledger.appendAll([s2]) }
        // The verifier says why, for all three regions.
        let v = RecognitionVerifier(registry: try b.world.registry(), now: b.world.now)
        for r in Region.allCases {
            let verdict = v.verdict(RecordedAttestation(attestation: forged, index: 0), region: r)
            #expect(verdict.verdict == .notRecognised)
            #expect(verdict.path.first { $0.step == "signature" }?.state == .failed)
        }
    }

    @Test func attestationIDsMustBeLowercaseUUIDs() throws {
        let b = try Bay()
        guard case .object(var vc) = try b.world.attest(b.inspector, body: "HK-LAB").attestation.credential else { Issue.record("shape"); return }
        for good in ["urn:uuid:0f6f0b5e-0d6c-4d8e-9f7e-2a1d1c0b9a88", "urn:uuid:00000000-0000-0000-0000-000000000000"] {
            vc["id"] = .string(good)
            #expect(try Attestation(credential: .object(vc)).id == good)
        }
        for bad in ["urn:uuid:0F6F0B5E-0D6C-4D8E-9F7E-2A1D1C0B9A88", "urn:uuid:0f6f0b5e-0d6c-4d8e-9f7e-2a1d1c0b9a8g",
                    "urn:uuid:0f6f0b5e0-d6c-4d8e-9f7e-2a1d1c0b9a88", "urn:uuid:0f6f0b5e-0d6c-4d8e-9f7e-2a1d1c0b9a8",
                    "urn:uuid:0f6f0b5e-0d6c-4d8e-9f7e-2a1d1c0b9a8\u{0}", "urn:uuid:0f6f0b5e 0d6c-4d8e-9f7e-2a1d1c0b9a88",
                    "URN:UUID:0f6f0b5e-0d6c-4d8e-9f7e-2a1d1c0b9a88", "urn:uuid:0f6f0b5e-0d6c-4d8e-9f7e-2a1d1c0b9a88x"] {
            vc["id"] = .string(bad)
            #expect {
                try Attestation(credential: .object(vc))
            } throws: { e in
                guard case LedgerError.malformed(let m) = e else { return false }
                return m.contains("id must be urn:uuid: followed by a UUID in lowercase 8-4-4-4-12 hex form")
            }
        }
        // A status change names the attestation by the same form.
        let size = try b.world.ledger.size()
        #expect {
            try b.world.append(TraceKind.attestationStatus, RegistryPayload.attestationStatus(
                attestation: "urn:uuid:0F6F0B5E-0D6C-4D8E-9F7E-2A1D1C0B9A88", status: .revoked, reason: "x", effective: b.world.now), by: b.world.hk)
        } throws: { e in
            guard case LedgerError.malformed(let m) = e else { return false }
            return m.contains("field \"attestation\" must be urn:uuid: followed by a UUID")
        }
        #expect(try b.world.ledger.size() == size)
    }

    @Test func gdKeyCannotRegisterSuspendOrBindForAnHKLab() throws {
        let b = try Bay()
        func refused(_ kind: String, _ payload: JSONValue) {
            #expect {
                try b.world.append(kind, payload, by: b.world.gd)
            } throws: { e in
                guard case LedgerError.unauthorized(let m) = e else { return false }
                return m.contains("GD regulator cannot change")
            }
        }
        refused(TraceKind.body, try RegistryPayload.body(id: "HK-LAB-2", name: "x", region: .HK, type: .lab, accreditedBy: "HKAS", accreditation: "A",
                                                         scope: [try ScopeItem(parsing: Bay.cosmetics)], validity: Validity(from: time("2026-01-01"))))
        refused(TraceKind.status, RegistryPayload.status(body: "HK-LAB", status: .suspended, effective: time("2026-05-01")))
        refused(TraceKind.keyBinding, try RegistryPayload.keyBinding(body: "HK-LAB", key: b.world.newKey().publicKey, validity: Validity(from: time("2026-01-01"))))
        refused(TraceKind.policy, RegistryPayload.policy(region: .HK, laterSuspension: .invalidate, effective: time("2026-01-01")))
        // Revoking an HK binding with the GD key is refused too; nothing was appended by any refusal.
        let size = try b.world.ledger.size()
        #expect(throws: LedgerError.self) {
            try b.world.append(TraceKind.keyRevocation, RegistryPayload.keyRevocation(key: b.inspector.publicKey, effective: time("2026-05-01")), by: b.world.gd)
        }
        #expect(try b.world.ledger.size() == size)
        #expect(try b.world.registry().bodies["HK-LAB"]!.history.isEmpty)
    }

    @Test func unboundOrRevokedKeysCannotAttest() throws {
        let b = try Bay(bindInspector: false)
        #expect(throws: LedgerError.self) { try b.world.attest(b.inspector, body: "HK-LAB") }
        try b.world.bind(b.inspector, to: "HK-LAB", region: .HK, from: "2026-01-01")
        _ = try b.world.attest(b.inspector, body: "HK-LAB")
        try b.world.append(TraceKind.keyRevocation, RegistryPayload.keyRevocation(key: b.inspector.publicKey, effective: time("2026-05-20")), by: b.world.hk)
        #expect {
            try b.world.attest(b.inspector, body: "HK-LAB")
        } throws: { e in
            guard case LedgerError.unauthorized(let m) = e else { return false }
            return m.contains("not bound to any body now")
        }
        // A body suspended now cannot issue attestations, even with a bound key.
        try b.world.setStatus("MO-LAB", .MO, .suspended, effective: "2026-05-25")
        #expect {
            try b.world.attest(b.macaoInspector, body: "MO-LAB")
        } throws: { e in
            guard case LedgerError.unauthorized(let m) = e else { return false }
            return m.contains("MO-LAB is suspended since 2026-05-25")
        }
    }

    @Test func registryStateSurvivesReopeningAndOtherWriters() throws {
        let b = try Bay()
        // A second Ledger over the same file (another process, in effect) sees the registry and can attest.
        let store = try SQLiteLedgerStore(path: b.world.dir + "/ledger.db")
        let other = try Ledger(opening: store, rules: .suyuan, clock: { time("2026-06-01") })
        let before = try b.world.registry()
        #expect(try TraceReader(ledger: other).registry() == before)
        // The first ledger suspends the lab; the other one's cached state must catch up inside its transaction.
        try b.world.setStatus("HK-LAB", .HK, .withdrawn, effective: "2026-05-01")
        try b.world.append(TraceKind.keyRevocation, RegistryPayload.keyRevocation(key: b.inspector.publicKey, effective: time("2026-05-01")), by: b.world.hk)
        let a = try Attestation.issue(id: "urn:uuid:00000000-0000-4000-8000-000000000002", key: b.inspector, body: before.bodies["HK-LAB"]!,
                                      product: try ProductCode(parsing: "https://id.gs1.org/01/09506000134352/10/LOT1"),
                                      scope: try ScopeItem(parsing: Bay.cosmetics), result: .pass, validFrom: time("2026-06-01"))
        let s = try Statement(kind: TraceKind.attestation, payload: .object(["credential": a.credential]), signer: b.inspector.publicKey, time: time("2026-06-01")).sign(with: b.inspector)
        #expect(throws: LedgerError.self) { try other.appendAll([s]) }
    }
}

import Foundation
import GRDB
import Testing
import SuyuanAudit
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanStore
import SuyuanTrace

// Tamper cases that need the registry: statements by keys outside their validity or from suspended
// bodies, registry changes by another region's regulator, and index rows pointing at the wrong entry.

private enum RK {
    static let inspector = SecretKey(seed: [UInt8](repeating: 0x31, count: 32))!
    static let cosmetics = try! ScopeItem(parsing: "cosmetics:GB 4806.7-2016")
    static let lot = try! ProductCode(parsing: "https://id.gs1.org/01/09506000134352/10/LOT1")
}

/// genesis; HKAS; HK-LAB; the inspector bound; one attestation (entry 4); then `after` (appended
/// through the ledger, so it passes every rule). Returns the file and the ledger's last time.
private func registryLedger(after: [(String, JSONValue, SecretKey)] = []) throws -> (BuiltLedger, Timestamp) {
    let dir = ScratchDir()
    let path = dir.file("ledger.db")
    let clock = TamperClock(TK.t0)
    let store = try SQLiteLedgerStore(path: path, create: true)
    let ledger = try Ledger.create(in: store, genesis: TK.genesisStatement(at: TK.t0), rules: .suyuan, clock: clock.clock)
    func add(_ kind: String, _ p: JSONValue, _ k: SecretKey) throws {
        clock.advance(seconds: 60)
        _ = try ledger.appendAll([TK.statement(kind: kind, payload: p, by: k, at: clock.current)])
    }
    try add(TraceKind.body, try RegistryPayload.body(id: "HKAS", name: "HKAS", region: .HK, type: .accreditationBody, validity: Validity(from: TK.t0)), TK.hk)
    try add(TraceKind.body, try RegistryPayload.body(id: "HK-LAB", name: "Lab", region: .HK, type: .lab, accreditedBy: "HKAS", accreditation: "H-1",
                                                     scope: [RK.cosmetics], validity: Validity(from: TK.t0)), TK.hk)
    try add(TraceKind.keyBinding, try RegistryPayload.keyBinding(body: "HK-LAB", key: RK.inspector.publicKey, validity: Validity(from: TK.t0)), TK.hk)
    clock.advance(seconds: 60)
    try add(TraceKind.attestation, try attestationPayload(at: clock.current), RK.inspector)
    for (k, p, key) in after { try add(k, p, key) }
    try ledger.checkpoint(signer: try NoteSigner(name: TK.origin, key: TK.op))
    let size = try ledger.size()
    var notes: [UInt64: [UInt8]] = [:]
    for (s, n) in try store.checkpoints() { notes[s] = n }
    return (BuiltLedger(dir: dir, path: path, size: size, checkpoints: notes), clock.current)
}

private func attestationPayload(at t: Timestamp, id: String = "urn:uuid:00000000-0000-4000-8000-00000000000a") throws -> JSONValue {
    let body = Body(id: "HK-LAB", name: "Lab", region: .HK, type: .lab, accreditedBy: "HKAS", accreditation: "H-1", scope: [RK.cosmetics],
                    validity: Validity(from: TK.t0), history: [], index: 2)
    let a = try Attestation.issue(id: id, key: RK.inspector, body: body, product: RK.lot, scope: RK.cosmetics, result: .pass, validFrom: t)
    return .object(["credential": a.credential])
}

/// Appends `signed` by hand with the index rows an honest store would write for it.
private func appendWithTerms(_ db: Database, _ signed: SignedStatement, at t: Timestamp) throws -> UInt64 {
    let idx = try appendByHand(db, signed, recordedAt: t)
    for term in RuleBook.suyuan.terms(signed.statement) {
        try db.execute(sql: "INSERT INTO terms (term, idx) VALUES (?, ?)", arguments: [term, Int64(idx)])
    }
    return idx
}

private func auditSuyuan(_ path: String) throws -> AuditReport {
    var a = Auditor()
    a.rules = .suyuan
    return try a.run(try SQLiteLedgerStore(path: path))
}

@Suite struct RegistryTamperTests {
    @Test("a clean ledger with registry facts and an attestation passes")
    func clean() throws {
        let (l, _) = try registryLedger()
        let r = try auditSuyuan(l.path)
        #expect(r.findings.isEmpty, "\(r.dump)")
        #expect(r.entries == 5)
    }

    @Test("15. an attestation by a revoked key, appended by hand with a valid signature")
    func revokedKey() throws {
        let (l, last) = try registryLedger(after: [(TraceKind.keyRevocation, RegistryPayload.keyRevocation(key: RK.inspector.publicKey, effective: TK.t0.adding(seconds: 300)), TK.hk)])
        let t = last.adding(seconds: 60)
        try tamper(l.path) { db in
            let s = TK.statement(kind: TraceKind.attestation, payload: try attestationPayload(at: t, id: "urn:uuid:00000000-0000-4000-8000-00000000000b"), by: RK.inspector, at: t)
            #expect(try appendWithTerms(db, s, at: t) == 6)
        }
        let r = try auditSuyuan(l.path)
        #expect(r.tags == ["unauthorized@6"], "\(r.dump)")
        #expect(r.findings.first?.found.contains("not bound to any body now") == true)
        #expect(r.firstBadIndex == 6)
    }

    @Test("16. an attestation from a suspended body, appended by hand")
    func suspendedBody() throws {
        let (l, last) = try registryLedger(after: [(TraceKind.status, RegistryPayload.status(body: "HK-LAB", status: .suspended, effective: TK.t0.adding(seconds: 300)), TK.hk)])
        let t = last.adding(seconds: 60)
        try tamper(l.path) { db in
            let s = TK.statement(kind: TraceKind.attestation, payload: try attestationPayload(at: t, id: "urn:uuid:00000000-0000-4000-8000-00000000000c"), by: RK.inspector, at: t)
            #expect(try appendWithTerms(db, s, at: t) == 6)
        }
        let r = try auditSuyuan(l.path)
        #expect(r.tags == ["unauthorized@6"], "\(r.dump)")
        #expect(r.findings.first?.found.contains("suspended since") == true)
    }

    @Test("17. a GD-signed suspension of an HK lab, appended by hand")
    func crossRegionRegistryChange() throws {
        let (l, last) = try registryLedger()
        let t = last.adding(seconds: 60)
        try tamper(l.path) { db in
            let s = TK.statement(kind: TraceKind.status, payload: RegistryPayload.status(body: "HK-LAB", status: .suspended, effective: t), by: TK.gd, at: t)
            let idx = try appendWithTerms(db, s, at: t)
            #expect(idx == 5)
        }
        let r = try auditSuyuan(l.path)
        #expect(r.tags == ["unauthorized@5"], "\(r.dump)")
        #expect(r.findings.first?.found.contains("GD regulator cannot change") == true)
    }

    @Test("18. an index row moved to point at the wrong entry")
    func indexRowMoved() throws {
        let (l, _) = try registryLedger()
        let q = try DatabaseQueue(path: l.path)
        try q.write { db in
            try db.execute(sql: "DROP TRIGGER terms_no_update")
            try db.execute(sql: "UPDATE terms SET idx = 1 WHERE term LIKE 'product:%'")
            #expect(db.changesCount == 1)
        }
        try q.close()
        let r = try auditSuyuan(l.path)
        #expect(r.tags == ["index-term@1", "index-term@4"], "\(r.dump)")
        #expect(r.firstBadIndex == 1)
    }

    @Test("19. an index row added for a product the entry does not name")
    func indexRowInvented() throws {
        let (l, _) = try registryLedger()
        let q = try DatabaseQueue(path: l.path)
        try q.write { db in
            try db.execute(sql: "INSERT INTO terms (term, idx) VALUES ('product:https://id.gs1.org/01/09506000134352/10/OTHER', 4)")
        }
        try q.close()
        let r = try auditSuyuan(l.path)
        #expect(r.tags == ["index-term@4"], "\(r.dump)")
        #expect(r.findings.first?.found.contains("OTHER") == true)
    }
}

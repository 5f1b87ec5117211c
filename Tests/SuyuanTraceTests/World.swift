import Foundation
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanStore
import SuyuanTrace

func time(_ s: String) -> Timestamp {
    Timestamp(parsing: s.count == 10 ? s + "T00:00:00Z" : s)!
}

/// A Suyuan ledger in a temporary SQLite file, with regulator keys, a controllable clock and helpers
/// to record registry facts and attestations.
final class World: @unchecked Sendable {
    let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
    let gd = SecretKey(seed: [UInt8](repeating: 2, count: 32))!
    let hk = SecretKey(seed: [UInt8](repeating: 3, count: 32))!
    let mo = SecretKey(seed: [UInt8](repeating: 4, count: 32))!
    private final class ClockBox: Sendable {
        let value: Mutex<Timestamp>
        init(_ t: Timestamp) { value = Mutex(t) }
    }
    private let clockBox: ClockBox
    let dir: String
    let ledger: Ledger
    private var seed: UInt8 = 100

    /// A new ledger at `now` whose entries `rules` check and index.
    init(now: Timestamp = time("2026-06-01"), rules: RuleBook = .suyuan) {
        clockBox = ClockBox(now)
        dir = NSTemporaryDirectory() + "suyuan-trace-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = try! SQLiteLedgerStore(path: dir + "/ledger.db", create: true)
        let origin = "trace.suyuan.example/ledger"
        let genesis = try! Genesis(
            origin: origin, operatorKey: try! VerifierKey(name: origin, publicKey: op.publicKey),
            regulators: [.GD: try! VerifierKey(name: "gd", publicKey: gd.publicKey),
                         .HK: try! VerifierKey(name: "hk", publicKey: hk.publicKey),
                         .MO: try! VerifierKey(name: "mo", publicKey: mo.publicKey)])
        let g = try! Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: now).sign(with: op)
        let c = clockBox
        ledger = try! Ledger.create(in: store, genesis: g, rules: rules, clock: { c.value.withLock { $0 } })
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    var now: Timestamp {
        get { clockBox.value.withLock { $0 } }
        set { clockBox.value.withLock { $0 = newValue } }
    }

    func regulator(_ r: Region) -> SecretKey { r == .GD ? gd : r == .HK ? hk : mo }

    /// A fresh deterministic key.
    func newKey() -> SecretKey {
        seed += 1
        return SecretKey(seed: [UInt8](repeating: seed, count: 32))!
    }

    /// Signs `payload` as `kind` by `key` at the clock's time and appends it.
    @discardableResult
    func append(_ kind: String, _ payload: JSONValue, by key: SecretKey) throws -> Appended {
        let s = try Statement(kind: kind, payload: payload, signer: key.publicKey, time: now).sign(with: key)
        return try ledger.appendAll([s])[0]
    }

    func registry() throws -> Registry { try TraceReader(ledger: ledger).registry() }

    // MARK: Registry shortcuts

    func accreditationBody(_ id: String, _ region: Region) throws {
        try append(TraceKind.body, try RegistryPayload.body(id: id, name: "\(id) accreditation", region: region, type: .accreditationBody,
                                                            validity: Validity(from: time("2020-01-01"))), by: regulator(region))
    }

    func lab(_ id: String, _ region: Region, accreditedBy: String, scope: [String], validFrom: String = "2020-01-01") throws {
        try append(TraceKind.body, try RegistryPayload.body(
            id: id, name: "\(id) laboratory", region: region, type: .lab, accreditedBy: accreditedBy, accreditation: "ACC-\(id)",
            scope: try scope.map { try ScopeItem(parsing: $0) }, validity: Validity(from: time(validFrom))), by: regulator(region))
    }

    func bind(_ key: SecretKey, to body: String, region: Region, from: String, until: String? = nil, role: String = "inspector") throws {
        try append(TraceKind.keyBinding, try RegistryPayload.keyBinding(
            body: body, key: key.publicKey, role: role, validity: Validity(from: time(from), until: until.map(time))), by: regulator(region))
    }

    func recognise(_ region: Region, from: [Region], scope: [String], since: String, until: String? = nil) throws {
        try append(TraceKind.agreement, try RegistryPayload.agreement(
            region: region, acceptFrom: from, scope: try scope.map { try ScopeItem(parsing: $0) },
            validity: Validity(from: time(since), until: until.map(time))), by: regulator(region))
    }

    func setStatus(_ body: String, _ region: Region, _ status: BodyStatus, scope: String? = nil, effective: String) throws {
        try append(TraceKind.status, RegistryPayload.status(body: body, status: status, scope: try scope.map { try ScopeItem(parsing: $0) },
                                                            effective: time(effective)), by: regulator(region))
    }

    // MARK: Attestations

    /// Issues an attestation by `key` for `body` at the clock's time and appends it.
    @discardableResult
    func attest(_ key: SecretKey, body: String, product: String = "https://id.gs1.org/01/09506000134352/10/LOT1",
                scope: String = "cosmetics:GB 4806.7-2016", result: TestResult = .pass, validUntil: Timestamp? = nil,
                at: Timestamp? = nil) throws -> RecordedAttestation {
        let b = try registry().bodies[body]!
        let t = at ?? now
        let a = try Attestation.issue(id: "urn:uuid:" + UUID().uuidString.lowercased(), key: key, body: b,
                                      product: try ProductCode(parsing: product), scope: try ScopeItem(parsing: scope), result: result,
                                      values: [try MeasuredValue(parsing: "lead=0.05mg/kg")], validFrom: t, validUntil: validUntil)
        let s = try Statement(kind: TraceKind.attestation, payload: .object(["credential": a.credential]), signer: key.publicKey, time: t).sign(with: key)
        _ = try ledger.appendAll([s])
        return try TraceReader(ledger: ledger).attestation(id: a.id)!
    }

    /// The verdicts of an attestation in GD, HK and MO, judged now.
    func verdicts(_ a: RecordedAttestation, policy: LaterSuspensionPolicy? = nil) throws -> [Region: AttestationVerdict] {
        let v = RecognitionVerifier(registry: try registry(), now: now, policyOverride: policy)
        var out: [Region: AttestationVerdict] = [:]
        for r in Region.allCases { out[r] = v.verdict(try TraceReader(ledger: ledger).attestation(id: a.attestation.id) ?? a, region: r) }
        return out
    }
}

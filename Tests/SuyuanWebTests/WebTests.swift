import Dispatch
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanServer
import SuyuanStore
import SuyuanTrace
import SuyuanWeb

/// A ledger file with one product's journey (through the Nansha bonded zone), an HK lab's attestation
/// recognised in all three regions, and a signed checkpoint.
final class ProductLedger: @unchecked Sendable {
    let dir = NSTemporaryDirectory() + "suyuan-web-" + UUID().uuidString
    var path: String { dir + "/ledger.db" }
    let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
    let regulators = (2...4).map { SecretKey(seed: [UInt8](repeating: UInt8($0), count: 32))! }
    let inspector = SecretKey(seed: [UInt8](repeating: 9, count: 32))!
    let origin = "web.suyuan.example/ledger"
    static let item = "https://id.gs1.org/01/09421902960055/21/MP-000731"
    static let lot = "https://id.gs1.org/01/09421902960055/10/NZ-2026-204"
    static let box = "https://id.gs1.org/00/094219029600000000"
    let ledger: Ledger
    var operatorKey: VerifierKey { try! VerifierKey(name: origin, publicKey: op.publicKey) }

    init() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (gd, hk, mo) = (regulators[0], regulators[1], regulators[2])
        let genesis = try Genesis(origin: origin, operatorKey: try VerifierKey(name: origin, publicKey: op.publicKey),
                                  regulators: [.GD: try VerifierKey(name: "gd", publicKey: gd.publicKey),
                                               .HK: try VerifierKey(name: "hk", publicKey: hk.publicKey),
                                               .MO: try VerifierKey(name: "mo", publicKey: mo.publicKey)])
        let now = systemClock().truncatedToMilliseconds
        let store = try SQLiteLedgerStore(path: dir + "/ledger.db", create: true)
        ledger = try Ledger.create(in: store, genesis: try Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: now).sign(with: op), rules: .suyuan)
        func add(_ kind: String, _ p: JSONValue, _ k: SecretKey) throws {
            _ = try ledger.appendAll([try Statement(kind: kind, payload: p, signer: k.publicKey, time: now).sign(with: k)])
        }
        let since = Validity(from: Timestamp(parsing: "2025-01-01T00:00:00Z")!)
        let scope = try ScopeItem(parsing: "infant-formula:GB 10765-2021")
        try add(TraceKind.body, try RegistryPayload.body(id: "HKAS", name: "Hong Kong Accreditation Service", region: .HK, type: .accreditationBody, validity: since), hk)
        try add(TraceKind.body, try RegistryPayload.body(id: "HOKLAS-118", name: "Kowloon Food Testing Laboratory", region: .HK, type: .lab, accreditedBy: "HKAS",
                                                         accreditation: "HOKLAS 118", scope: [scope], validity: since), hk)
        try add(TraceKind.keyBinding, try RegistryPayload.keyBinding(body: "HOKLAS-118", key: inspector.publicKey, validity: since), hk)
        try add(TraceKind.agreement, try RegistryPayload.agreement(region: .GD, acceptFrom: [.HK], scope: [scope], validity: since), gd)
        try add(TraceKind.agreement, try RegistryPayload.agreement(region: .MO, acceptFrom: [.HK], scope: [scope], validity: since), mo)
        func event(_ step: JourneyStepKind, _ product: String?, _ daysAgo: Int64, _ f: (inout StepDetails) -> Void = { _ in }) throws {
            var d = StepDetails()
            f(&d)
            try add(TraceKind.event, EventBuilder.payload(try EventBuilder.build(step, product: product, time: now.adding(seconds: -daysAgo * 86400), details: d)), op)
        }
        try event(.commission, Self.item, 20) { $0.originCountry = "NZ"; $0.lot = "NZ-2026-204" }
        try event(.pack, nil, 19) { $0.parent = Self.box; $0.children = [Self.item] }
        try event(.ship, Self.box, 18)
        try event(.enterBonded, Self.box, 8) { $0.zone = .nansha }
        try event(.unpack, nil, 5) { $0.parent = Self.box }
        try event(.release, Self.item, 4) { $0.declaration = "530120261124000731" }
        try event(.deliver, Self.item, 2)
        let body = try TraceReader(ledger: ledger).registry().bodies["HOKLAS-118"]!
        let a = try Attestation.issue(id: "urn:uuid:5b6163df-f502-4692-857c-0b6979f49fab", key: inspector, body: body,
                                      product: try ProductCode(parsing: Self.lot), scope: scope, result: .pass,
                                      values: [try MeasuredValue(parsing: "melamine=0.05mg/kg")], validFrom: now)
        try add(TraceKind.attestation, .object(["credential": a.credential]), inspector)
        try ledger.checkpoint(signer: try NoteSigner(name: origin, key: op))
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// Records a recall of the item by the operator, and signs a checkpoint over it.
    func recall() throws {
        var d = StepDetails()
        d.reason = "melamine above the limit in lot NZ-2026-204"
        let e = try EventBuilder.build(.recall, product: Self.item, time: systemClock().truncatedToMilliseconds, details: d)
        let s = try Statement(kind: TraceKind.event, payload: EventBuilder.payload(e), signer: op.publicKey, time: systemClock()).sign(with: op)
        _ = try ledger.appendAll([s])
        try ledger.checkpoint(signer: try NoteSigner(name: origin, key: op))
    }

    /// Changes the bonded zone recorded in the stored event body, as someone with the sqlite3 shell could.
    func tamperWithBondedZone() throws {
        let q = try DatabaseQueue(path: path)
        try q.write { db in
            try db.execute(sql: "DROP TRIGGER IF EXISTS entries_no_update")
            try db.execute(sql: "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), '\"nansha\"', '\"baiyun\"') AS BLOB) WHERE CAST(body AS TEXT) LIKE '%bondedZone%'")
            #expect(db.changesCount == 1)
        }
        try q.close()
    }
}

func application(_ p: ProductLedger) -> some ApplicationProtocol {
    buildApplication(ServerConfiguration(ledger: p.ledger, port: 0), routeGroups: [ProductRoutes()])
}

@Suite struct ProductRouteTests {
    @Test func verificationAndBundle() async throws {
        let p = try ProductLedger()
        try await application(p).test(.router) { client in
            let code = ProductLedger.item.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            try await client.execute(uri: "/api/v1/products/verification?code=\(code)", method: .get) { r in
                #expect(r.status == .ok)
                let v = try JSONValue.parse(Array(buffer: r.body))
                #expect(v["verified"] == .bool(true), "\(v["problems"] ?? .null)")
                #expect(v["recognition"]?["MO"]?["verdict"] == "recognised")
                #expect(v["events"]?.arrayValue?.count == 6)
            }
            try await client.execute(uri: "/api/v1/products/bundle?code=\(code)", method: .get) { r in
                #expect(r.status == .ok)
                let bytes = Array(buffer: r.body)
                let offline = try ProductBundle(parsing: bytes).verify(trusting: [p.operatorKey], now: systemClock())
                #expect(offline.verified, "\(offline.problems)")
            }
            // An element string works too; a wrong check digit is a 400 naming it.
            try await client.execute(uri: "/api/v1/products/verification?code=(01)09421902960055(21)MP-000731", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/products/verification?code=(01)09421902960056(21)X", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("check digit"))
            }
            try await client.execute(uri: "/api/v1/products/verification", method: .get) { r in #expect(r.status == .badRequest) }
        }
    }

    /// A verification is computed once and served again while the ledger stays as it was; any append
    /// (here a recall) is in the very next answer.
    @Test func verificationsAreCachedUntilTheLedgerGrows() async throws {
        let p = try ProductLedger()
        let clock = ManualClock(systemClock().truncatedToMilliseconds)
        let config = ServerConfiguration(ledger: p.ledger, port: 0, clock: { clock.now })
        try await buildApplication(config, routeGroups: [ProductRoutes(cacheLifetime: 60)]).test(.router) { client in
            let uri = "/api/v1/products/verification?code=" + ProductLedger.item.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            func fetch() async throws -> [UInt8] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .ok)
                    return Array(buffer: r.body)
                }
            }
            let first = try await fetch()
            // Tampering with the file underneath shows that the second answer is the cached one.
            try p.tamperWithBondedZone()
            #expect(try await fetch() == first)
            // Past the lifetime it is computed again (and the tampering shows).
            clock.now = clock.now.adding(seconds: 61)
            let recomputed = try JSONValue.parse(try await fetch())
            #expect(recomputed["verified"] == .bool(false))
        }
    }

    @Test func aRecallAppendedAfterACachedVerificationShowsAtOnce() async throws {
        let p = try ProductLedger()
        try await application(p).test(.router) { client in
            let uri = "/api/v1/products/verification?code=" + ProductLedger.item.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let before = try await client.execute(uri: uri, method: .get) { r in try JSONValue.parse(Array(buffer: r.body)) }
            #expect(before["recalled"] == .bool(false))
            try p.recall()
            let after = try await client.execute(uri: uri, method: .get) { r in try JSONValue.parse(Array(buffer: r.body)) }
            #expect(after["recalled"] == .bool(true), "\(after["problems"] ?? .null)")
        }
    }

    @Test func digitalLinkPagesAssetsAndQRCodes() async throws {
        let p = try ProductLedger()
        try await application(p).test(.router) { client in
            try await client.execute(uri: "/01/09421902960055/21/MP-000731", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(r.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                let html = String(buffer: r.body)
                #expect(html.contains(#"data-bundle="/api/v1/products/bundle?code=https%3A%2F%2Fid.gs1.org%2F01%2F09421902960055%2F21%2FMP-000731""#))
                #expect(html.contains(p.operatorKey.description))
                #expect(!html.contains("http://") && !html.contains("//cdn"), "no external resources")
            }
            try await client.execute(uri: "/01/09421902960056/21/MP-000731", method: .get) { r in #expect(r.status == .notFound) }
            for (name, type) in [("verify.js", "text/javascript"), ("page.js", "text/javascript"), ("suyuan.css", "text/css")] {
                try await client.execute(uri: "/assets/\(name)", method: .get) { r in
                    #expect(r.status == .ok)
                    #expect(r.headers[.contentType]?.hasPrefix(type) == true)
                }
            }
            try await client.execute(uri: "/assets/..%2F..%2Fetc%2Fpasswd", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/qr/01/09421902960055/21/MP-000731", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "image/svg+xml")
                #expect(String(buffer: r.body).hasPrefix("<svg"))
            }
        }
    }
}

/// The consumer page in a real browser (Debian's chromium, installed by Tools/test.sh): the verified
/// journey renders, and after the ledger file is tampered with the page says verification failed.
/// Screenshots of both states are saved in `test-artifacts/`.
@Suite(.serialized) struct BrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("test-artifacts").path

    /// Runs headless Chromium on `url`; returns the DOM after the page's scripts settle, and saves a screenshot.
    static func browse(_ url: String, screenshot: String) throws -> String {
        guard let chromium else {
            Issue.record("chromium is not installed: run Tools/setup.sh (apt install chromium)")
            return ""
        }
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        func run(_ extra: [String]) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: chromium)
            p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                           "--user-data-dir=\(NSTemporaryDirectory())suyuan-chromium-\(UUID().uuidString)",
                           "--virtual-time-budget=20000", "--window-size=900,1600"] + extra + [url]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        _ = try run(["--screenshot=\(artifacts)/\(screenshot)"])
        return try run(["--dump-dom"])
    }

    /// Runs blocking work (a child process) on a thread of its own, neither on a Swift concurrency thread
    /// the server under test needs nor on a Dispatch worker other tests share.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in Thread { c.resume(with: Result { try work() }) }.start() }
    }

    @Test func theConsumerPageVerifiesInTheBrowserAndShowsTampering() async throws {
        let p = try ProductLedger()
        let port = PortBox()
        // No verification cache: the ledger file is tampered with underneath the running server.
        let app = buildApplication(ServerConfiguration(ledger: p.ledger, port: 0), routeGroups: [ProductRoutes(cacheLifetime: 0)]) { port.set($0) }
        try await app.test(.live) { _ in
            let url = "http://127.0.0.1:\(port.get())/01/09421902960055/21/MP-000731"
            let dom = try await Self.offPool { try Self.browse(url, screenshot: "consumer-page-verified.png") }
            #expect(dom.contains(#"data-state="verified""#), "\(dom.suffix(2000))")
            #expect(dom.contains("南沙保税港区"))
            #expect(dom.contains("海关放行") && dom.contains("Customs release"))
            #expect(dom.contains("Recognised"))
            try p.tamperWithBondedZone()
            let bad = try await Self.offPool { try Self.browse(url, screenshot: "consumer-page-tampered.png") }
            #expect(bad.contains(#"data-state="failed""#), "\(bad.suffix(2000))")
            #expect(bad.contains("inclusion proof"))
        }
    }
}

/// A clock the test sets.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Timestamp
    init(_ t: Timestamp) { value = t }
    var now: Timestamp {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port = 0
    func set(_ p: Int) { lock.lock(); port = p; lock.unlock() }
    func get() -> Int { lock.lock(); defer { lock.unlock() }; return port }
}

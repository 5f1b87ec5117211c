import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanServer
import SuyuanStore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Keys and statements for building test ledgers.
struct Fixture: Sendable {
    static let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
    static let gd = SecretKey(seed: [UInt8](repeating: 2, count: 32))!
    static let hk = SecretKey(seed: [UInt8](repeating: 3, count: 32))!
    static let mo = SecretKey(seed: [UInt8](repeating: 4, count: 32))!
    static let stranger = SecretKey(seed: [UInt8](repeating: 9, count: 32))!
    static let origin = "test.suyuan.example/ledger"

    static var genesis: Genesis {
        try! Genesis(
            origin: origin, operatorKey: try! VerifierKey(name: origin, publicKey: op.publicKey),
            regulators: [
                .GD: try! VerifierKey(name: "gd.example", publicKey: gd.publicKey),
                .HK: try! VerifierKey(name: "hk.example", publicKey: hk.publicKey),
                .MO: try! VerifierKey(name: "mo.example", publicKey: mo.publicKey),
            ])
    }

    static var signer: NoteSigner { try! NoteSigner(name: origin, key: op) }
    static var operatorVerifier: VerifierKey { signer.verifierKey }

    static func notice(_ n: Int, by key: SecretKey = gd, at time: Timestamp) -> SignedStatement {
        let notice = try! Notice(level: "notice", title: "Notice \(n)", text: "Text of notice \(n)", categories: ["cat-\(n % 7)"])
        return try! Statement(kind: Notice.kind, payload: notice.payload, signer: key.publicKey, time: time).sign(with: key)
    }

    static func envelope(_ s: SignedStatement) -> [UInt8] { Array((s.envelope.prettyPrinted() + "\n").utf8) }
}

/// A controllable clock.
final class TestClock: Sendable {
    private let now = Mutex(Timestamp(parsing: "2026-11-28T10:00:00.000Z")!)
    var clock: Clock { { self.now.withLock { $0 } } }
    var current: Timestamp { now.withLock { $0 } }
    func advance(seconds: Int64) { now.withLock { $0 = $0.adding(seconds: seconds) } }
}

/// A temporary directory removed at deinit.
final class TempDir: Sendable {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "suyuan-server-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// A ledger in a fresh SQLite file (or memory), with `entries` notices after genesis.
final class TestLedger: Sendable {
    let dir = TempDir()
    let clock = TestClock()
    let ledger: Ledger

    init(entries: Int = 0, sqlite: Bool = true, checkpoint: Bool = true) throws {
        let store: any LedgerStore = sqlite ? try SQLiteLedgerStore(path: dir.file("ledger.db"), create: true) : MemoryLedgerStore()
        let g = try Statement(kind: Genesis.kind, payload: Fixture.genesis.payload, signer: Fixture.op.publicKey, time: clock.current).sign(with: Fixture.op)
        ledger = try Ledger.create(in: store, genesis: g, clock: clock.clock)
        if entries > 0 {
            var batch: [SignedStatement] = []
            for i in 0..<entries {
                batch.append(Fixture.notice(i, at: clock.current.adding(seconds: -Int64(i % 1000))))
                if batch.count == 500 || i == entries - 1 { _ = try ledger.appendAll(batch); batch = [] }
            }
        }
        if checkpoint { try ledger.checkpoint(signer: Fixture.signer) }
    }

    var path: String { dir.file("ledger.db") }

    /// A configuration without a request-rate limit: most tests send as fast as they can from 127.0.0.1
    /// (`LimitsTests` set the limits they test).
    func configuration(signer: Bool = true, witness: WitnessService? = nil, port: Int = 0) -> ServerConfiguration {
        // The read timeout is far longer than the default 10 s: the test run shares its few cooperative threads with
        // tests that block them, so a client task can wait many seconds to be scheduled between two requests, and the
        // server must not take it for an idle client. Tests of the timeout set their own.
        ServerConfiguration(ledger: ledger, port: port, operatorSigner: signer ? Fixture.signer : nil, witness: witness, clock: clock.clock,
                            rateLimit: nil, readTimeout: .seconds(300))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var bytes: [UInt8] { Array(buffer: body) }
    var json: JSONValue { (try? JSONValue.parse(bytes)) ?? .null }
    var contentType: String? { headers[.contentType] }
}

extension TestClient.Response {
    var text: String { body.map { String(buffer: $0) } ?? "" }
    var json: JSONValue { (try? JSONValue.parse(Array(buffer: body ?? ByteBuffer()))) ?? .null }
}

extension TestClientProtocol {
    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }

    func post(_ uri: String, _ body: [UInt8]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, body: ByteBuffer(bytes: body))
    }
}

/// Runs the application on 127.0.0.1 with a free port, hands `body` the port, and stops the server
/// afterwards (by cancelling its task: a graceful shutdown).
func withLiveServer<T: Sendable>(
    _ configuration: ServerConfiguration, routeGroups: [any RouteGroup] = [],
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    var config = configuration
    config.host = "127.0.0.1"
    config.port = 0
    // Stopping by cancellation makes the server log "Waiting on child channel: CancellationError()".
    config.logger.logLevel = .critical
    let (ports, cont) = AsyncStream<Int>.makeStream()
    let app = buildApplication(config, routeGroups: routeGroups) { port in cont.yield(port) }
    let server = Task { try await app.run() }
    var it = ports.makeAsyncIterator()
    guard let port = await it.next() else { throw CancellationError() }
    do {
        let r = try await body(port)
        server.cancel()
        _ = await server.result
        return r
    } catch {
        server.cancel()
        _ = await server.result
        throw error
    }
}

/// An HTTP/1.1 exchange over a plain socket, sending `requestLine`/headers exactly as given (no
/// client-side path normalisation). Returns the status code and the body. The blocking socket calls run
/// on a thread of their own, neither on a Swift concurrency thread the server under test may need nor on
/// a Dispatch worker other tests share.
func rawHTTP(port: Int, _ raw: String) async throws -> (status: Int, head: String, body: [UInt8]) {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try rawHTTPBlocking(port: port, raw) }) }.start()
    }
}

private func rawHTTPBlocking(port: Int, _ raw: String) throws -> (status: Int, head: String, body: [UInt8]) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CancellationError() }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var tv = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard ok == 0 else { throw CancellationError() }
    let bytes = Array(raw.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        out.append(contentsOf: buf[..<n])
    }
    let text = String(decoding: out, as: UTF8.self)
    guard let sep = text.range(of: "\r\n\r\n") else { return (0, text, []) }
    let head = String(text[..<sep.lowerBound])
    let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
    let bodyStart = text.utf8.distance(from: text.startIndex, to: sep.upperBound)
    return (status, head, Array(out[bodyStart...]))
}

/// The package root (for `Specs/`).
let packageRoot: URL = {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" {
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
        dir = dir.deletingLastPathComponent()
    }
    return dir
}()

/// A hash from standard base64.
func hash64(_ v: JSONValue?) -> Hash? { v?.stringValue.flatMap(Base64.decode).flatMap { Hash(bytes: $0) } }

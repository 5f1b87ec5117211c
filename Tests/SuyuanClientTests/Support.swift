import Dispatch
import Foundation
import Hummingbird
import Logging
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanServer
import SuyuanStore

#if canImport(Glibc)
import Glibc
#endif

/// Keys and statements for building test ledgers.
enum Fixture {
    static let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
    static let gd = SecretKey(seed: [UInt8](repeating: 2, count: 32))!
    static let hk = SecretKey(seed: [UInt8](repeating: 3, count: 32))!
    static let mo = SecretKey(seed: [UInt8](repeating: 4, count: 32))!
    static let stranger = SecretKey(seed: [UInt8](repeating: 9, count: 32))!
    static let origin = "client.suyuan.example/ledger"

    static var genesis: Genesis {
        try! Genesis(
            origin: origin, operatorKey: operatorVerifier,
            regulators: [
                .GD: try! VerifierKey(name: "gd.example", publicKey: gd.publicKey),
                .HK: try! VerifierKey(name: "hk.example", publicKey: hk.publicKey),
                .MO: try! VerifierKey(name: "mo.example", publicKey: mo.publicKey),
            ])
    }

    static var signer: NoteSigner { try! NoteSigner(name: origin, key: op) }
    static var operatorVerifier: VerifierKey { signer.verifierKey }
    static var strangerVerifier: VerifierKey { try! VerifierKey(name: origin, publicKey: stranger.publicKey) }

    static func notice(_ n: Int, at time: Timestamp) -> SignedStatement {
        let notice = try! Notice(level: "notice", title: "Notice \(n)", text: "Text of notice \(n)")
        return try! Statement(kind: Notice.kind, payload: notice.payload, signer: gd.publicKey, time: time).sign(with: gd)
    }

    static func envelope(_ s: SignedStatement) -> [UInt8] { Array((s.envelope.prettyPrinted() + "\n").utf8) }
}

/// A ledger in a fresh SQLite file with `entries` notices after genesis and a checkpoint over them.
final class TestLedger: Sendable {
    let path = NSTemporaryDirectory() + "suyuan-client-test-\(UUID().uuidString).ledger"
    let now = Timestamp(parsing: "2026-11-28T10:00:00.000Z")!
    let ledger: Ledger

    init(entries: Int) throws {
        let store = try SQLiteLedgerStore(path: path, create: true)
        let t = now
        let g = try Statement(kind: Genesis.kind, payload: Fixture.genesis.payload, signer: Fixture.op.publicKey, time: t).sign(with: Fixture.op)
        ledger = try Ledger.create(in: store, genesis: g, clock: { t })
        if entries > 0 { _ = try ledger.appendAll((0..<entries).map { Fixture.notice($0, at: t) }) }
        try ledger.checkpoint(signer: Fixture.signer)
    }

    deinit { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }

    var configuration: ServerConfiguration {
        let t = now
        // A read timeout far over the default: a loaded test run can delay a client between requests by seconds.
        var c = ServerConfiguration(ledger: ledger, host: "127.0.0.1", port: 0, operatorSigner: Fixture.signer, clock: { t },
                                    readTimeout: .seconds(300))
        c.logger.logLevel = .critical
        return c
    }
}

/// Runs the server on a free port of 127.0.0.1, hands `body` its base URL, and stops the server afterwards.
func withLiveServer<T: Sendable>(_ configuration: ServerConfiguration, _ body: @Sendable (String) async throws -> T) async throws -> T {
    let (ports, cont) = AsyncStream<Int>.makeStream()
    let app = buildApplication(configuration) { port in cont.yield(port) }
    let server = Task { try await app.run() }
    var it = ports.makeAsyncIterator()
    guard let port = await it.next() else { throw CancellationError() }
    do {
        let r = try await body("http://127.0.0.1:\(port)")
        server.cancel()
        _ = await server.result
        return r
    } catch {
        server.cancel()
        _ = await server.result
        throw error
    }
}

/// Runs the blocking client on a Dispatch thread, never on a Swift concurrency thread the server needs.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        DispatchQueue.global().async { c.resume(with: Result { try body() }) }
    }
}

/// What a blocking call threw (nil when it returned).
func failure(_ body: @escaping @Sendable () throws -> Void) async -> (any Error)? {
    do { try await blocking(body); return nil } catch { return error }
}

/// A misbehaving HTTP server on 127.0.0.1: for each connection it reads the request head, then `respond`
/// writes what it likes to the socket (or nothing), and the connection is closed.
final class FakeServer: Sendable {
    let port: Int
    private let fd: Int32

    init(_ respond: @escaping @Sendable (Int32) -> Void) throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard s >= 0, bound == 0, listen(s, 16) == 0 else { throw CancellationError() }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        fd = s
        port = Int(UInt16(bigEndian: addr.sin_port))
        let listener = fd
        // Threads of their own, not Dispatch workers: a handler may block for a long time (a silent
        // server), and blocked workers would delay every other test's Dispatch work until the pool grows.
        Thread {
            while true {
                let c = accept(listener, nil, nil)
                if c < 0 { return }
                Thread {
                    FakeServer.readHead(c)
                    respond(c)
                    close(c)
                }.start()
            }
        }.start()
    }

    /// Stops accepting connections.
    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private static func readHead(_ c: Int32) {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while recv(c, &byte, 1, 0) == 1 {
            head.append(byte)
            if head.suffix(4) == [13, 10, 13, 10] { return }
        }
    }

    /// Writes `bytes`; false once the peer has gone.
    @discardableResult
    static func write(_ c: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }
}

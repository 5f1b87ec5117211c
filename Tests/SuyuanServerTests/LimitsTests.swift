import Foundation
import SuyuanFormats
import SuyuanServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking socket work on a thread of its own: never on a Swift concurrency thread the server under
/// test needs, and never waiting for a Dispatch worker while other blocked clients hold them all.
private func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in Thread { c.resume(with: Result { try work() }) }.start() }
}

private struct SocketError: Error, CustomStringConvertible {
    let description: String
}

/// One HTTP/1.1 response as read off a socket.
private struct Reply: Sendable {
    let status: Int
    /// Header fields by lowercased name.
    let headers: [String: String]
    let body: [UInt8]

    /// The response at the start of `bytes`, if they hold a complete head.
    init?(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let sep = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<sep.lowerBound].components(separatedBy: "\r\n")
        status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        var h: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            h[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        headers = h
        let start = text.utf8.distance(from: text.startIndex, to: sep.upperBound)
        let length = h["content-length"].flatMap(Int.init) ?? (bytes.count - start)
        body = Array(bytes[start..<min(bytes.count, start + length)])
    }

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
}

/// A TCP connection to the server under test on 127.0.0.1 from a chosen address of 127.0.0.0/8, so that
/// each test client is a client address of its own (on Linux the whole block is loopback). Its calls block:
/// use it on a thread of its own (`onThread`).
private final class LoopbackConnection: @unchecked Sendable {
    let fd: Int32

    /// Whether this system lets a socket use 127.0.0.2 as its address.
    static let manyAddresses: Bool = {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return bind(fd, address("127.0.0.2", port: 0)) == 0
    }()

    init(port: Int, from source: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(description: "socket() failed") }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard Self.bind(fd, Self.address(source, port: 0)) == 0 else {
            close(fd)
            throw SocketError(description: "cannot use \(source) as a source address (errno \(errno))")
        }
        guard Self.connect(fd, Self.address("127.0.0.1", port: port)) == 0 else {
            close(fd)
            throw SocketError(description: "cannot connect from \(source) to 127.0.0.1:\(port) (errno \(errno))")
        }
    }

    deinit { close(fd) }

    private static func address(_ ip: String, port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr(ip)
        return a
    }

    private static func bind(_ fd: Int32, _ a: sockaddr_in) -> Int32 {
        withUnsafePointer(to: a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }

    private static func connect(_ fd: Int32, _ a: sockaddr_in) -> Int32 {
        withUnsafePointer(to: a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }

    /// Sends all of `bytes`; false when the connection is gone (no SIGPIPE).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Everything the server sends until it closes the connection (or 5 s pass without a byte).
    func readToEnd() -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return out }
            out.append(contentsOf: buf[..<n])
        }
    }

    /// One response on a kept-alive connection.
    func readResponse() throws -> Reply {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            if let r = Reply(out), r.body.count == (r.headers["content-length"].flatMap(Int.init) ?? 0) { return r }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { throw SocketError(description: "the connection ended inside a response: \(String(decoding: out, as: UTF8.self))") }
            out.append(contentsOf: buf[..<n])
        }
    }

    /// Closes both directions (the descriptor stays this object's until it is released).
    func hangUp() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Whether the server sends something (or closes the connection) within `seconds`.
    func readable(within seconds: Double) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, Int32(seconds * 1000)) > 0
    }

    /// Sends `bytes` one at a time, `interval` apart, until the server closes the connection or `limit`
    /// passes; returns how long after the start the server closed it (nil if it did not) and what it sent.
    func trickle(_ bytes: [UInt8], every interval: Double, limit: Double) -> (closedAfter: Double?, received: [UInt8]) {
        let start = Date()
        var received: [UInt8] = []
        var next = 0
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date().timeIntervalSince(start) < limit {
            if readable(within: interval) {
                let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return (Date().timeIntervalSince(start), received) }
                received.append(contentsOf: buf[..<n])
            } else if next < bytes.count {
                if !send([bytes[next]]) { return (Date().timeIntervalSince(start), received) }
                next += 1
            }
        }
        return (nil, received)
    }
}

/// `GET path` from `source` on a connection of its own.
private func get(_ port: Int, _ path: String, from source: String) async throws -> Reply {
    try await onThread {
        let c = try LoopbackConnection(port: port, from: source)
        c.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let bytes = c.readToEnd()
        guard let r = Reply(bytes) else { throw SocketError(description: "no HTTP response to GET \(path): \(String(decoding: bytes, as: UTF8.self))") }
        return r
    }
}

/// The value of the unlabelled Prometheus sample `name`, or of `name{labels}`.
private func sample(_ metrics: String, _ name: String) -> Int? {
    metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
}

@Suite("Server limits on 127.0.0.1: request rate, slow and idle clients, connections per client, header floods", .serialized,
       .enabled(if: LoopbackConnection.manyAddresses, "the tests need 127.0.0.2 and beyond as loopback addresses (Linux)"))
struct LimitsTests {
    @Test("a client over its request rate gets 429 with Retry-After and a JSON error; other clients do not; it recovers after the wait")
    func rateLimitRefusesThenRecovers() async throws {
        let t = try TestLedger()
        var config = t.configuration()
        config.rateLimit = RateLimit(requestsPerSecond: 1, burst: 5)
        try await withLiveServer(config) { port in
            var served = 0
            var refused: Reply?
            while refused == nil, served < 20 {
                let r = try await get(port, "/health", from: "127.0.0.2")
                if r.status == 429 { refused = r } else { #expect(r.status == 200); served += 1 }
            }
            let r = try #require(refused, "20 requests at once and none refused")
            #expect(served >= 5, "refused before the burst of 5 was used")
            let wait = try #require(r.headers["retry-after"].flatMap(Int.init), "\(r.headers)")
            #expect(wait == 1)
            #expect(r.headers["content-type"] == "application/json")
            let message = try #require(r.json["error"]?.stringValue, "\(r.text)")
            #expect(message.contains("too many requests") && message.contains("1 per second with bursts of 5"), "\(message)")
            // The limit is per client address.
            #expect(try await get(port, "/health", from: "127.0.0.3").status == 200)
            // After the wait it asked for, the client is served again.
            try await Task.sleep(for: .seconds(wait) + .milliseconds(200))
            #expect(try await get(port, "/health", from: "127.0.0.2").status == 200)
            let metrics = try await get(port, "/metrics", from: "127.0.0.4").text
            #expect(sample(metrics, #"suyuan_limit_refusals_total{limit="rate"}"#) == 1, "\(metrics)")
            #expect(sample(metrics, #"suyuan_http_requests_total{route="/health",method="GET",status="429"}"#) == 1, "\(metrics)")
        }
    }

    @Test("the rate limiter tracks at most maxClients clients and forgets idle ones")
    func rateLimiterMemoryIsBounded() async throws {
        let t = try TestLedger()
        var config = t.configuration()
        config.rateLimit = RateLimit(requestsPerSecond: 1, burst: 2, maxClients: 10)
        try await withLiveServer(config) { port in
            for i in 1...30 {
                #expect(try await get(port, "/health", from: "127.0.1.\(i)").status == 200)
            }
            let full = try await get(port, "/metrics", from: "127.0.2.1").text
            let tracked = try #require(sample(full, "suyuan_rate_limit_clients"), "\(full)")
            #expect((1...10).contains(tracked), "\(tracked) clients tracked")
            // Every bucket is full again a second after its request; idle clients are forgotten at most a second later.
            try await Task.sleep(for: .milliseconds(2200))
            let idle = try await get(port, "/metrics", from: "127.0.2.1").text
            #expect(sample(idle, "suyuan_rate_limit_clients") == 1, "\(idle)")
        }
    }

    @Test("slow clients (a head or a body one byte per 300 ms, or nothing) are disconnected after the read timeout, while a normal client is served during the attack")
    func slowClientsAreDisconnected() async throws {
        let t = try TestLedger()
        var config = t.configuration()
        config.readTimeout = .seconds(4)
        try await withLiveServer(config) { port in
            let head = Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: \(String(repeating: "a", count: 100))\r\n\r\n".utf8)
            let body = Array("POST /api/v1/statements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n".utf8)
            let attackStart = Date()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, kind) in ["head", "head", "head", "body", "body", "body", "idle", "idle"].enumerated() {
                    group.addTask {
                        let (closedAfter, received) = try await onThread {
                            let c = try LoopbackConnection(port: port, from: "127.0.0.\(2 + i)")
                            switch kind {
                            case "head": return c.trickle(head, every: 0.3, limit: 10)
                            case "body":
                                c.send(body)
                                return c.trickle([UInt8](repeating: 0x7b, count: 1000), every: 0.3, limit: 10)
                            default: return c.trickle([], every: 0.3, limit: 10)
                            }
                        }
                        let after = try #require(closedAfter, "the \(kind) client was not disconnected within 10 s")
                        #expect(after >= 3.9 && after < 9.5, "the \(kind) client was disconnected after \(after) s")
                        #expect(received.isEmpty, "the \(kind) client got \(String(decoding: received, as: UTF8.self))")
                    }
                }
                // A normal client, while all of them are connected.
                try await Task.sleep(for: .milliseconds(300))
                let asked = Date()
                let r = try await get(port, "/health", from: "127.0.0.1")
                let answered = Date()
                #expect(r.status == 200)
                // Answered while every slow client is still connected (they are closed 4 s after they start).
                #expect(answered.timeIntervalSince(attackStart) < 3.9, "the normal client was answered only after the slow clients were gone (asked at \(asked.timeIntervalSince(attackStart)) s)")
                try await group.waitForAll()
            }
            #expect(try await get(port, "/health", from: "127.0.0.1").status == 200)
        }
    }

    @Test("200 idle connections do not stop a normal client, and are closed after the read timeout")
    func idleConnectionsDoNotStopOthers() async throws {
        let t = try TestLedger()
        var config = t.configuration()
        config.readTimeout = .seconds(5)
        try await withLiveServer(config) { port in
            // 4 addresses × 50, under the 64 connections allowed per address.
            let opened = Date()
            let idle = try await onThread { try (0..<200).map { try LoopbackConnection(port: port, from: "127.0.3.\(1 + $0 % 4)") } }
            let r = try await get(port, "/health", from: "127.0.0.1")
            #expect(r.status == 200)
            // Answered before the idle connections' timeout closed any of them.
            #expect(Date().timeIntervalSince(opened) < 4.9, "the normal client was answered only \(Date().timeIntervalSince(opened)) s after the idle connections opened")
            let open = try await onThread {
                let deadline = Date().addingTimeInterval(8)
                return idle.filter { c in !c.readable(within: max(0, deadline.timeIntervalSinceNow)) || !c.readToEnd().isEmpty }.count
            }
            #expect(open == 0, "\(open) idle connections still open 8 s after the 5 s timeout (or answered)")
        }
    }

    @Test("a client over its open-connection cap gets 429 and is disconnected; others are served; closing one lets it in again")
    func connectionCapPerClient() async throws {
        let t = try TestLedger()
        var config = t.configuration()
        config.maxConnectionsPerClient = 4
        try await withLiveServer(config) { port in
            // Four connections, each known to be admitted: it was answered.
            let held = try await onThread {
                try (0..<4).map { _ in
                    let c = try LoopbackConnection(port: port, from: "127.0.0.2")
                    c.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    return (c, try c.readResponse().status)
                }
            }
            #expect(held.map(\.1) == [200, 200, 200, 200])
            let refused = try await onThread {
                let c = try LoopbackConnection(port: port, from: "127.0.0.2")
                return Reply(c.readToEnd())
            }
            let r = try #require(refused, "no answer to the fifth connection")
            #expect(r.status == 429)
            #expect(r.headers["retry-after"] == "1")
            #expect(r.json["error"]?.stringValue?.contains("too many open connections") == true, "\(r.text)")
            // Another address is served.
            #expect(try await get(port, "/health", from: "127.0.0.3").status == 200)
            // Once one closes, the client may open another.
            held[1].0.hangUp()
            var again = 0
            for _ in 0..<20 where again != 200 {
                try await Task.sleep(for: .milliseconds(100))
                again = try await get(port, "/health", from: "127.0.0.2").status
            }
            #expect(again == 200)
            let metrics = try await get(port, "/metrics", from: "127.0.0.3").text
            #expect((sample(metrics, #"suyuan_limit_refusals_total{limit="connections"}"#) ?? 0) >= 1, "\(metrics)")
            withExtendedLifetime(held) {}
        }
    }

    /// A request head over the limits, named for the test report.
    struct HeaderFlood: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let request: String
    }

    @Test("a header flood is answered 431 with a JSON error and the server still answers afterwards", arguments: [
        HeaderFlood(testDescription: "150 header fields",
                    request: "GET /health HTTP/1.1\r\nHost: x\r\n" + (0..<150).map { "X-Flood-\($0): 1\r\n" }.joined() + "\r\n"),
        HeaderFlood(testDescription: "one 40 KiB header value",
                    request: "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 40_000))\r\n\r\n"),
        HeaderFlood(testDescription: "64 header values of 1 KiB",
                    request: "GET /health HTTP/1.1\r\nHost: x\r\n" + (0..<64).map { "X-K\($0): \(String(repeating: "b", count: 1024))\r\n" }.joined() + "\r\n"),
        HeaderFlood(testDescription: "a 16 KiB request target",
                    request: "GET /health?\(String(repeating: "q", count: 16_000)) HTTP/1.1\r\nHost: x\r\n\r\n"),
        HeaderFlood(testDescription: "2 MiB of header lines, never ending the head",
                    request: "GET /health HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-Endless: cccccccccccccccccccc\r\n", count: 64 * 1024)),
    ])
    func headerFlood(_ flood: HeaderFlood) async throws {
        let (name, request) = (flood.testDescription, flood.request)
        let t = try TestLedger()
        try await withLiveServer(t.configuration()) { port in
            let bytes = try await onThread {
                let c = try LoopbackConnection(port: port, from: "127.0.0.2")
                c.send(request)
                return c.readToEnd()
            }
            let r = try #require(Reply(bytes), "\(name): no answer")
            #expect(r.status == 431, "\(name): \(r.status) \(r.text)")
            #expect(r.headers["connection"] == "close")
            #expect(r.json["error"]?.stringValue?.contains("the request head is too large") == true, "\(name): \(r.text)")
            #expect(try await get(port, "/health", from: "127.0.0.2").status == 200)
            let metrics = try await get(port, "/metrics", from: "127.0.0.2").text
            #expect(sample(metrics, #"suyuan_limit_refusals_total{limit="headers"}"#) == 1, "\(metrics)")
        }
    }

    @Test("a head just within the limits is served: 100 header fields")
    func headerLimitIsNotTooEager() async throws {
        let t = try TestLedger()
        try await withLiveServer(t.configuration()) { port in
            let reply = try await onThread {
                let c = try LoopbackConnection(port: port, from: "127.0.0.2")
                c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + (0..<98).map { "X-F\($0): 1\r\n" }.joined() + "\r\n")
                return Reply(c.readToEnd())
            }
            #expect(reply?.status == 200)
        }
    }
}

import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 exchange over a socket to 127.0.0.1 (`Connection: close`); returns status and body.
private func http(port: Int, method: String, path: String, body: Data = Data()) throws -> (status: Int, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var tv = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw HarnessError("cannot connect to 127.0.0.1:\(port)") }
    let request = Data("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var out = Data()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        out.append(contentsOf: buf[..<n])
    }
    let text = String(decoding: out, as: UTF8.self)
    guard let sep = text.range(of: "\r\n\r\n") else { throw HarnessError("no HTTP response: \(text)") }
    let status = Int(text[..<sep.lowerBound].split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, String(text[sep.upperBound...]))
}

/// Waits until the server prints the URL it listens on; returns the port.
func waitForURL(_ r: Running, timeout: Double = 60) async throws -> Int {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let out = (try? String(contentsOf: r.outURL, encoding: .utf8)) ?? ""
        if let m = out.firstMatch(of: #/serving .* at http://127\.0\.0\.1:(\d+)/#), let port = Int(m.1) { return port }
        if !r.process.isRunning { throw HarnessError("suyuan serve exited early: \(await r.wait())") }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw HarnessError("suyuan serve printed no URL within \(timeout) s")
}

@Suite("suyuan serve")
struct ServeCLITests {
    @Test("serves the ledger, appends a signed statement with a fresh checkpoint, stops cleanly on SIGTERM and SIGINT",
          arguments: [SIGTERM, SIGINT])
    func serveAndStop(_ signal: Int32) async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let payload = try sb.noticePayload("n.json", title: "Served notice \(signal)")
        let signed = try await sb.ok(["sign", "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", payload])
        let server = try sb.startNow(["serve", "--ledger", ledger, "--port", "0"])
        let port = try await waitForURL(server)

        let health = try http(port: port, method: "GET", path: "/health")
        #expect(health.status == 200 && health.body.contains("\"ok\""))
        let r = try http(port: port, method: "POST", path: "/api/v1/statements", body: signed.stdoutData)
        #expect(r.status == 201, "\(r.body)")
        let j = try JSONValue.parse(Array(r.body.utf8))
        #expect(j["index"]?.integerValue == 1)
        let note = try #require(j["checkpoint"]?.stringValue)
        let v = try Checkpoint.verify(Array(note.utf8), trusting: [try VerifierKey(parsing: sb.fixture.op.vkey)])
        #expect(v.checkpoint.size == 2)
        let again = try http(port: port, method: "POST", path: "/api/v1/statements", body: signed.stdoutData)
        #expect(again.status == 409)

        kill(server.process.processIdentifier, signal)
        let done = await server.wait()
        #expect(done.status == 0, "\(done)")
        #expect(done.stderr.contains("server stopped"))
        // What the server appended is in the file for every other command.
        let entries = try await sb.entries(ledger)
        #expect(entries["size"]?.integerValue == 2)
    }

    @Test("--rate-limit and --rate-burst reach the server: past the burst a client gets 429 with Retry-After")
    func rateLimitFlags() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let server = try sb.startNow(["serve", "--ledger", ledger, "--port", "0", "--rate-limit", "1", "--rate-burst", "3"])
        let port = try await waitForURL(server)
        var statuses: [Int] = []
        var refusal = ""
        while statuses.last != 429, statuses.count < 10 {
            let r = try http(port: port, method: "GET", path: "/health")
            statuses.append(r.status)
            refusal = r.body
        }
        #expect(statuses.last == 429 && statuses.count >= 4, "\(statuses)")
        #expect(refusal.contains("1 per second with bursts of 3"), "\(refusal)")
        kill(server.process.processIdentifier, SIGTERM)
        #expect(await server.wait().status == 0)
    }

    @Test("refuses bad flags with a usage error")
    func usage() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        expectUsageError(try await sb.run(["serve", "--ledger", ledger, "--port", "70000"]), mentions: ["--port"])
        expectUsageError(try await sb.run(["serve", "--ledger", ledger, "--witness-key", sb.fixture.hk.path]), mentions: ["--witness-state"])
        expectUsageError(try await sb.run(["serve", "--ledger", ledger, "--rate-limit=-1"]), mentions: ["--rate-limit"])
        expectUsageError(try await sb.run(["serve", "--ledger", ledger, "--rate-limit", "0", "--rate-burst", "5"]), mentions: ["--rate-burst"])
        expectUsageError(try await sb.run(["serve", "--ledger", ledger, "--rate-burst", "0"]), mentions: ["--rate-burst"])
        expectUsageError(try await sb.run(["serve", "--ledger", ledger, "--max-client-connections=-2"]), mentions: ["--max-client-connections"])
        let missing = try await sb.run(["serve", "--ledger", sb.path("none.ledger"), "--port", "0"])
        #expect(missing.status == 66, "\(missing)")
    }
}

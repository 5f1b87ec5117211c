import Dispatch
import Foundation
import SuyuanFormats
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `suyuan serve` of one ledger file on a free port of 127.0.0.1.
private struct Served {
    let running: Running
    let url: String

    /// Starts the server and waits until it prints the URL it listens on.
    static func start(_ sb: Sandbox, _ ledger: String) async throws -> Served {
        let r = try sb.startNow(["serve", "--ledger", ledger, "--port", "0"])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let out = (try? String(contentsOf: r.outURL, encoding: .utf8)) ?? ""
            if let m = out.firstMatch(of: #/serving .* at (http://127\.0\.0\.1:\d+)/#) { return Served(running: r, url: String(m.1)) }
            if !r.process.isRunning { throw HarnessError("suyuan serve exited early: \(await r.wait())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(r.process.processIdentifier, SIGKILL)
        throw HarnessError("suyuan serve printed no URL within 60 s")
    }

    /// Stops the server (SIGTERM) and waits for it.
    func stop() async {
        kill(running.process.processIdentifier, SIGTERM)
        _ = await running.wait()
    }
}

/// Runs `body` with `ledger` served, and stops the server afterwards whatever happens.
private func serving<T>(_ sb: Sandbox, _ ledger: String, _ body: (String) async throws -> T) async throws -> T {
    let server = try await Served.start(sb, ledger)
    do {
        let r = try await body(server.url)
        await server.stop()
        return r
    } catch {
        await server.stop()
        throw error
    }
}

extension Sandbox {
    /// `mirror --json` of `url` into `replica`; returns the run and its JSON report.
    func mirror(_ url: String, into replica: String, _ extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) async throws -> (RunResult, JSONValue) {
        let r = try await run(["mirror", "--from", url, "--ledger", replica, "--json"] + extra, sourceLocation: sourceLocation)
        return (r, try r.json())
    }
}

/// A lying server: an HTTP/1.1 relay on 127.0.0.1 that sends each request to the upstream port `route`
/// chooses for its path, and passes the answer back with its body rewritten by `rewrite`. One request per
/// connection (`Connection: close`); blocking sockets on Dispatch threads.
private final class Relay: Sendable {
    let port: Int
    private let fd: Int32

    init(route: @escaping @Sendable (String) -> Int, rewrite: @escaping @Sendable (String, [UInt8]) -> [UInt8] = { $1 }) throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = Relay.loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard s >= 0, bound == 0, listen(s, 16) == 0 else { throw HarnessError("the relay cannot listen") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        fd = s
        port = Int(UInt16(bigEndian: addr.sin_port))
        // Threads of their own, not Dispatch workers, which every other test shares.
        Thread {
            while true {
                let c = accept(s, nil, nil)
                if c < 0 { return }
                Thread {
                    defer { close(c) }
                    guard let head = Relay.readHead(c), let path = head.split(separator: " ").dropFirst().first.map(String.init),
                          let (status, body) = Relay.get(path, port: route(path)) else { return }
                    let out = rewrite(path, body)
                    Relay.send(c, Array("HTTP/1.1 \(status)\r\nContent-Length: \(out.count)\r\nConnection: close\r\n\r\n".utf8) + out)
                }.start()
            }
        }.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    var url: String { "http://127.0.0.1:\(port)" }

    private static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    private static func readHead(_ c: Int32) -> String? {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while recv(c, &byte, 1, 0) == 1 {
            head.append(byte)
            if head.suffix(4) == [13, 10, 13, 10] { return String(decoding: head, as: UTF8.self) }
        }
        return nil
    }

    private static func send(_ c: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// GET `path` from the server on `port`: its status line's code and reason, and its body.
    private static func get(_ path: String, port: Int) -> (String, [UInt8])? {
        let u = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(u) }
        var addr = loopback(port: port)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(u, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return nil }
        send(u, Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(u, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out.append(contentsOf: buf[..<n])
        }
        guard let sep = out.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let statusLine = String(decoding: out[..<sep.lowerBound], as: UTF8.self).split(separator: "\r\n").first ?? ""
        return (statusLine.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? "502 Bad Gateway", Array(out[sep.upperBound...]))
    }
}

/// The kinds of a mirror report's findings.
private func kinds(_ j: JSONValue) -> [String] { j["findings"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } ?? [] }

@Suite("suyuan mirror")
struct MirrorCLITests {
    @Test("mirrors a served ledger byte for byte, catches up incrementally; the replica audits clean and can itself be served and mirrored")
    func mirrorAndCatchUp() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let world = try await TraceWorld.get()
        // A ledger with a registry, journeys and attestations: every kind's rules are replayed.
        let source = try world.copy(into: sb, as: "source.ledger")
        let replica = sb.path("replica.ledger")
        let replica2 = sb.path("replica2.ledger")
        try await serving(sb, source) { url in
            let (first, j) = try await sb.mirror(url, into: replica)
            #expect(first.status == 0, "\(first)")
            #expect(first.stderr.contains("trusting operator key \(f.op.vkey) named in the source's genesis; pass --trust to pin it"), "\(first)")
            #expect(j["ok"]?.boolValue == true && kinds(j).isEmpty, "\(first)")
            #expect(j["size"]?.int == world.size && j["appended"]?.int == world.size, "\(first)")
            #expect(j["source"]?.stringValue == url && j["ledger"]?.stringValue == replica)
            #expect(try ParsedCheckpoint(try #require(j["checkpoint"]?.stringValue)).size == world.size)
            try await sb.ok(["audit", "--ledger", replica])
            #expect(try await sb.entries(replica) == sb.entries(source))

            // New entries: a notice, an attestation's revocation (its rule looks up the attestation, mirrored
            // in the first run) and another notice, in batches of two.
            try await sb.appendNotice(source, key: f.gd, title: "Mirrored notice 1")
            try await sb.ok(["attest", "revoke", "--ledger", source, "--key", world.hkInspector.path, "--attestation", world.attestation,
                             "--reason", "mirror test"], env: noCheckpoint)
            try await sb.appendNotice(source, key: f.hk, title: "Mirrored notice 2", checkpoint: true)
            let (second, j2) = try await sb.mirror(url, into: replica, ["--batch", "2", "--trust", f.op.vkey])
            #expect(second.status == 0 && !second.stderr.contains("trusting"), "\(second)")
            #expect(j2["appended"]?.int == 3 && j2["size"]?.int == world.size + 3, "\(second)")
            try await sb.ok(["audit", "--ledger", replica])
            #expect(try await sb.entries(replica) == sb.entries(source))

            let third = try await sb.ok(["mirror", "--from", url, "--ledger", replica])
            #expect(third.stdout.hasPrefix("\(replica) is up to date with \(url): \(world.size + 3) entries, checkpoint \(world.size + 3) verified"), "\(third)")
        }
        // The replica is an ordinary ledger: it serves, and a replica of the replica is the same ledger.
        try await serving(sb, replica) { url in
            let (r, j) = try await sb.mirror(url, into: replica2, ["--trust", f.op.path])
            #expect(r.status == 0 && j["size"]?.int == world.size + 3, "\(r)")
        }
        #expect(try await sb.entries(replica2) == sb.entries(source))
        try await sb.ok(["audit", "--ledger", replica2])
    }

    @Test("a source presenting a forked history: a report naming the inconsistency, nothing written, and later runs refuse")
    func forkedSource() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        // Two ledgers from the same genesis and operator key, with different histories.
        let honest = try sb.copyBaseLedger("honest.ledger")
        let forked = try sb.copyBaseLedger("forked.ledger")
        try await sb.appendNotice(honest, key: f.gd, title: "The real notice", checkpoint: true)
        try await sb.appendNotice(forked, key: f.gd, title: "A rewritten notice")
        try await sb.appendNotice(forked, key: f.hk, title: "Another notice", checkpoint: true)
        let replica = sb.path("replica.ledger")
        try await serving(sb, honest) { url in
            let (r, j) = try await sb.mirror(url, into: replica)
            #expect(r.status == 0 && j["size"]?.int == 2, "\(r)")
        }
        let before = try await sb.entries(replica)
        try await serving(sb, forked) { url in
            let r = try await sb.run(["mirror", "--from", url, "--ledger", replica])
            #expect(r.status == 1, "\(r)")
            #expect(r.stdout.hasPrefix("MIRROR FAILED: \(url) presented something that does not verify"), "\(r)")
            #expect(r.stdout.contains("- ledger: consistency") && r.stdout.contains("a fork or a rewrite"), "\(r)")
            #expect(r.stdout.contains("Recorded in \(replica): later runs refuse"), "\(r)")
            #expect(r.stderr.isEmpty, "\(r)")
            // Recorded: the next run refuses at once, with the same finding.
            let (again, j) = try await sb.mirror(url, into: replica)
            #expect(again.status == 1 && j["ok"]?.boolValue == false && kinds(j) == ["consistency"] && j["size"]?.int == 2, "\(again)")
        }
        #expect(try await sb.entries(replica) == before)
        try await sb.ok(["audit", "--ledger", replica])
        // Even the honest source is not followed any more: an operator must look first.
        try await serving(sb, honest) { url in
            let r = try await sb.run(["mirror", "--from", url, "--ledger", replica])
            #expect(r.status == 1 && r.stdout.hasPrefix("MIRROR REFUSED: \(replica) recorded at "), "\(r)")
            #expect(r.stdout.contains("mirror into a new --ledger file"), "\(r)")
        }
        #expect(try await sb.entries(replica) == before)
    }

    @Test("a source serving entries that are not what its operator signed: each is found before anything of its batch is written")
    func lyingSource() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let honest = try sb.copyBaseLedger("honest.ledger")
        let other = try sb.copyBaseLedger("other.ledger")
        try await sb.appendNotice(honest, key: f.gd, title: "Honest notice 1")
        try await sb.appendNotice(honest, key: f.gd, title: "Honest notice 2")
        try await sb.appendNotice(honest, key: f.hk, title: "Honest notice 3", checkpoint: true)
        for i in 1...3 { try await sb.appendNotice(other, key: f.gd, title: "Another notice \(i)") }
        let honestServer = try await Served.start(sb, honest)
        let otherServer = try await Served.start(sb, other)
        func port(_ s: Served) -> Int { Int(s.url.split(separator: ":").last!)! }
        let (honestPort, otherPort) = (port(honestServer), port(otherServer))
        do {
            // Entry 2's statement changed on the way: its signature no longer verifies.
            let tampering = try Relay(route: { _ in honestPort }) { path, body in
                guard path.hasPrefix("/api/v1/entries") else { return body }
                return Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "Honest notice 2", with: "Honest notice X").utf8)
            }
            defer { tampering.stop() }
            let replica = sb.path("replica.ledger")
            let r = try await sb.run(["mirror", "--from", tampering.url, "--ledger", replica, "--batch", "2"])
            #expect(r.status == 1, "\(r)")
            #expect(r.stdout.contains("\(replica): 2 verified entries (2 written by this run before the failure)"), "\(r)")
            #expect(r.stdout.contains("- entry 2: signature"), "\(r)")
            #expect(try await sb.entries(replica)["size"]?.int == 2)
            try await sb.ok(["audit", "--ledger", replica])
            let (again, j) = try await sb.mirror(honestServer.url, into: replica)
            #expect(again.status == 1 && kinds(j) == ["signature"], "\(again)")
            // `entries --server` proves the run it lists with the proofs of its first and last entry:
            // an entry changed inside the run is found too.
            let listing = ["entries", "--server-key", f.op.vkey, "--from", "1", "--count", "3", "--server"]
            try await sb.ok(listing + [honestServer.url])
            expectError(try await sb.run(listing + [tampering.url]), 1, mentions: ["entries 1–3", "not included in its checkpoint of 4 entries"])

            // Valid entries of another history, under the honest checkpoint and proofs: not a prefix of its tree.
            let mixing = try Relay(route: { $0.hasPrefix("/api/v1/entries") ? otherPort : honestPort })
            defer { mixing.stop() }
            let fresh = sb.path("fresh.ledger")
            let (m, jm) = try await sb.mirror(mixing.url, into: fresh, ["--batch", "1"])
            #expect(m.status == 1 && kinds(jm) == ["checkpoint-root"] && jm["size"]?.int == 1, "\(m)")
            #expect(jm["findings"]?[0]?["expected"]?.stringValue?.hasPrefix("entries 1…1 in the tree of the source's checkpoint at size 4") == true, "\(m)")
            #expect(try await sb.entries(fresh)["size"]?.int == 1)
            expectError(try await sb.run(listing + [mixing.url]), 1, mentions: ["entries 1–3", "not included in its checkpoint of 4 entries"])
            // Entries its checkpoint covers, left out of the listing.
            let hiding = try Relay(route: { _ in honestPort }) { path, body in
                path == "/api/v1/entries?from=1&count=3" ? Array(#"{"entries":[],"size":4}"#.utf8) : body
            }
            defer { hiding.stop() }
            expectError(try await sb.run(listing + [hiding.url]), 1, mentions: ["sent 0 of entries 1–3, which its checkpoint of 4 entries covers"])
            // In one batch, nothing at all is written: not even the file. And a source that covers fewer
            // entries than its checkpoint does not answer as the API specifies.
            let none = sb.path("none.ledger")
            let (n, jn) = try await sb.mirror(mixing.url, into: none)
            #expect(n.status == 1 && kinds(jn) == ["checkpoint-root"] && jn["size"]?.int == 0, "\(n)")
            let short = try Relay(route: { _ in honestPort }) { path, body in
                path == "/api/v1/entries?from=0&count=4" ? Array(#"{"entries":[],"size":4}"#.utf8) : body
            }
            defer { short.stop() }
            expectError(try await sb.run(["mirror", "--from", short.url, "--ledger", none, "--trust", f.op.vkey]), 76,
                        mentions: ["its checkpoint covers 4 entries, but it sent 0 of entries 0…3"])
            #expect(!FileManager.default.fileExists(atPath: none))
        } catch {
            await honestServer.stop()
            await otherServer.stop()
            throw error
        }
        await honestServer.stop()
        await otherServer.stop()
    }

    @Test("entries appended to the replica by hand are named as such (exit 65), not blamed on the source")
    func localAppendsAreNotTheSourcesFault() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let source = try sb.copyBaseLedger("source.ledger")
        try await sb.appendNotice(source, key: f.gd, title: "Source notice 1", checkpoint: true)
        let replica = sb.path("replica.ledger")
        try await serving(sb, source) { url in
            let (r, j) = try await sb.mirror(url, into: replica)
            #expect(r.status == 0 && j["size"]?.int == 2, "\(r)")
            try await sb.appendNotice(replica, key: f.hk, title: "Written into the replica by hand")
            try await sb.appendNotice(source, key: f.gd, title: "Source notice 2", checkpoint: true)
            expectError(try await sb.run(["mirror", "--from", url, "--ledger", replica]), 65,
                        mentions: ["entries 2…2 of \(replica) are not in the source's history: they were appended locally"])
            // Nothing was recorded against the source.
            let again = try await sb.run(["mirror", "--from", url, "--ledger", replica])
            #expect(again.status == 65 && !again.stdout.contains("REFUSED"), "\(again)")
        }
    }

    @Test("a source rolled back below what was mirrored is reported, and nothing is written")
    func rolledBackSource() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let source = try sb.copyBaseLedger("source.ledger")
        try await sb.appendNotice(source, key: f.gd, title: "Rollback notice 1", checkpoint: true)
        let old = sb.path("old.ledger")
        try FileManager.default.copyItem(atPath: source, toPath: old)
        try await sb.appendNotice(source, key: f.hk, title: "Rollback notice 2")
        try await sb.appendNotice(source, key: f.mo, title: "Rollback notice 3", checkpoint: true)
        let replica = sb.path("replica.ledger")
        try await serving(sb, source) { url in
            let (r, j) = try await sb.mirror(url, into: replica, ["--batch", "1"])
            #expect(r.status == 0 && j["size"]?.int == 4 && j["appended"]?.int == 4, "\(r)")
        }
        let before = try await sb.entries(replica)
        try await serving(sb, old) { url in
            let (r, j) = try await sb.mirror(url, into: replica)
            #expect(r.status == 1 && kinds(j) == ["rollback"] && j["size"]?.int == 4, "\(r)")
            #expect(r.stdout.contains("a checkpoint of 2 entries signed by the operator"), "\(r)")
        }
        #expect(try await sb.entries(replica) == before)
    }

    @Test("a source signed by another operator key, or not the --trust key: refused, nothing written, not recorded as a divergence")
    func untrustedSource() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        // Same origin and regulators, another operator key.
        let other = sb.path("other.ledger")
        try await sb.ok(["init", "--ledger", other, "--origin", Fixture.origin, "--operator-key", f.stranger.path,
                         "--regulator", "GD=\(f.gd.path)", "--regulator", "HK=\(f.hk.path)", "--regulator", "MO=\(f.mo.path)"])
        let source = try sb.copyBaseLedger("source.ledger")
        try await sb.appendNotice(source, key: f.gd, title: "Trusted notice", checkpoint: true)
        let replica = sb.path("replica.ledger")
        let fresh = sb.path("fresh.ledger")
        try await serving(sb, other) { url in
            // First run pinned to the real operator key: entry 0 names another one.
            let (r, j) = try await sb.mirror(url, into: fresh, ["--trust", f.op.vkey])
            #expect(r.status == 1 && kinds(j) == ["trust"], "\(r)")
            #expect(!FileManager.default.fileExists(atPath: fresh))
        }
        try await serving(sb, source) { url in
            let (r, j) = try await sb.mirror(url, into: replica, ["--trust", f.op.vkey, "--trust", f.hk.vkey])
            #expect(r.status == 0 && j["size"]?.int == 2, "\(r)")
        }
        let before = try await sb.entries(replica)
        try await serving(sb, other) { url in
            let (r, j) = try await sb.mirror(url, into: replica)
            #expect(r.status == 1 && kinds(j) == ["checkpoint-signature"], "\(r)")
            #expect(j["findings"]?[0]?["found"]?.stringValue?.contains("unknown key") == true, "\(r)")
        }
        #expect(try await sb.entries(replica) == before)
        try await serving(sb, source) { url in
            // A --trust key that is not the replica's operator.
            let (r, j) = try await sb.mirror(url, into: replica, ["--trust", f.stranger.vkey])
            #expect(r.status == 1 && kinds(j) == ["trust"], "\(r)")
            // Not a divergence: the real source is followed again at once.
            let (ok, j2) = try await sb.mirror(url, into: replica)
            #expect(ok.status == 0 && j2["appended"]?.int == 0, "\(ok)")
        }
        #expect(try await sb.entries(replica) == before)
    }

    @Test("a bad URL, an unreachable port or an HTTP error is a clear error, and no replica is created")
    func unreachableSource() async throws {
        let sb = try Sandbox()
        let replica = sb.path("replica.ledger")
        expectUsageError(try await sb.run(["mirror", "--from", "not a url", "--ledger", replica]), mentions: ["--from", "http://"])
        expectUsageError(try await sb.run(["mirror", "--from", "ftp://127.0.0.1/", "--ledger", replica]), mentions: ["--from"])
        expectUsageError(try await sb.run(["mirror", "--from", "http://127.0.0.1:1", "--ledger", replica, "--batch", "0"]), mentions: ["--batch"])
        expectError(try await sb.run(["mirror", "--from", "http://127.0.0.1:1", "--ledger", replica]), 69,
                    mentions: ["cannot reach http://127.0.0.1:1/api/v1/entries", "connection refused"])
        let source = try sb.copyBaseLedger("source.ledger")
        try await serving(sb, source) { url in
            // The server's own error sentence is carried through.
            expectError(try await sb.run(["mirror", "--from", url + "/elsewhere", "--ledger", replica]), 69,
                        mentions: ["\(url)/elsewhere/api/v1/entries?from=0&count=1 answered 404: "])
        }
        #expect(!FileManager.default.fileExists(atPath: replica))
    }

    @Test("--follow mirrors every round, one JSON line each, and stops on SIGTERM")
    func followUntilSignal() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let source = try sb.copyBaseLedger("source.ledger")
        try await sb.appendNotice(source, key: f.gd, title: "Followed notice 1", checkpoint: true)
        let replica = sb.path("replica.ledger")
        try await serving(sb, source) { url in
            let m = try sb.startNow(["mirror", "--from", url, "--ledger", replica, "--follow", "--interval", "0.2", "--json"])
            func waitForLine(size: Int) async throws {
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline {
                    let out = (try? String(contentsOf: m.outURL, encoding: .utf8)) ?? ""
                    if out.contains("\"size\":\(size),") { return }
                    if !m.process.isRunning { throw HarnessError("mirror --follow exited: \(await m.wait())") }
                    try await Task.sleep(for: .milliseconds(50))
                }
                throw HarnessError("mirror --follow printed no round of size \(size)")
            }
            try await waitForLine(size: 2)
            try await sb.appendNotice(source, key: f.hk, title: "Followed notice 2", checkpoint: true)
            try await waitForLine(size: 3)
            kill(m.process.processIdentifier, SIGTERM)
            let done = await m.wait()
            #expect(done.status == 0, "\(done)")
            #expect(done.stderr.contains("mirror stopped"), "\(done)")
            #expect(done.lines.count >= 2)
            for line in done.lines {
                let j = try JSONValue.parse(Array(line.utf8))
                #expect(j["ok"]?.boolValue == true && j["source"]?.stringValue == url, "\(line)")
            }
        }
        try await sb.ok(["audit", "--ledger", replica])
        #expect(try await sb.entries(replica) == sb.entries(source))
    }
}

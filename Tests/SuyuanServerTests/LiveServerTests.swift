import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanServer
import SuyuanStore
import Testing

@Suite("A real server on 127.0.0.1 over a SQLite ledger file", .serialized)
struct LiveServerTests {
    @Test("concurrent submissions from many connections are batched, each answered after its commit")
    func concurrentSubmissions() async throws {
        let t = try TestLedger()
        let clients = 8, perClient = 25
        let now = t.clock.current
        let results = try await withLiveServer(t.configuration()) { port in
            try await withThrowingTaskGroup(of: [(Int64, String, String)].self) { group in
                for c in 0..<clients {
                    group.addTask {
                        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                            var out: [(Int64, String, String)] = []
                            for i in 0..<perClient {
                                let s = Fixture.notice(c * 1000 + i, at: now)
                                let r = try await client.post("/api/v1/statements", body: ByteBuffer(bytes: Fixture.envelope(s)))
                                #expect(r.status == .created, "\(r.text)")
                                // Answered after the commit: the entry is already in the file.
                                let index = try #require(r.json["index"]?.integerValue)
                                let note = try #require(r.json["checkpoint"]?.stringValue)
                                out.append((index, try #require(r.json["leafHash"]?.stringValue), note))
                            }
                            return out
                        }
                    }
                }
                var all: [(Int64, String, String)] = []
                for try await part in group { all += part }
                // Submissions that waited for a commit were committed together.
                let metrics = try await rawHTTP(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let text = String(decoding: metrics.body, as: UTF8.self)
                func value(_ name: String) -> Int? {
                    text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ")[1]) }
                }
                let batches = try #require(value("suyuan_append_batches_total"))
                #expect(value("suyuan_append_submitted_total") == clients * perClient)
                #expect(batches < clients * perClient, "\(batches) commits for \(clients * perClient) submissions")
                return all
            }
        }
        let indexes = results.map(\.0).sorted()
        #expect(indexes == Array(1...Int64(clients * perClient)))
        // Every acknowledged entry is in a second, independent view of the file, with its leaf hash.
        let reopened = try SQLiteLedgerStore(path: t.path, readOnly: true)
        #expect(try reopened.tail().size == UInt64(clients * perClient + 1))
        for (index, leaf, note) in results {
            #expect(try reopened.entry(at: UInt64(index))?.leafHash.hex == leaf)
            // Each response's checkpoint covers its entry.
            let cp = try Checkpoint.verify(Array(note.utf8), trusting: [Fixture.operatorVerifier]).checkpoint
            #expect(cp.size > UInt64(index))
        }
        // The hash chain is intact across batches.
        let entries = try reopened.entries(from: 0, count: clients * perClient + 1)
        for i in 1..<entries.count {
            #expect(try Entry(parsing: entries[i].bytes).prev == entries[i - 1].leafHash)
        }
    }

    @Test("tiles, proofs and the checkpoint over a real connection; graceful stop")
    func readsOverTheWire() async throws {
        let t = try TestLedger(entries: 300)
        try await withLiveServer(t.configuration()) { port in
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                let cp = try await client.get("/checkpoint")
                #expect(cp.status == .ok)
                let v = try Checkpoint.verify(Array(buffer: cp.body ?? ByteBuffer()), trusting: [Fixture.operatorVerifier]).checkpoint
                #expect(v.size == 301)
                let tile = try await client.get("/tile/0/000")
                #expect(Array(buffer: tile.body ?? ByteBuffer()) == (try t.ledger.store.hashes(for: (0..<256).map { NodeID(level: 0, index: $0) })).flatMap(\.bytes))
                let partial = try await client.get("/tile/0/001.p/45")
                #expect(partial.body?.readableBytes == 45 * 32)
                let proof = try await client.get("/api/v1/proofs/consistency?from=10")
                #expect(proof.json["size2"]?.integerValue == 301)
                let h = try await client.get("/health")
                #expect(h.json["status"]?.stringValue == "ok")
            }
        }
    }

    @Test("raw requests: traversal paths reach the server unnormalised and get 4xx; huge bodies get 413", arguments: [
        "/tile/../../etc/passwd", "/tile/..%2F..%2Fetc%2Fpasswd", "/tile/%2e%2e/%2e%2e/etc/passwd", "/tile/0/..\\..\\000",
        "/..%2F..%2Ftile/0/000", "//tile/0/000", "/tile/0/000%2F..", "/api/v1/entries/..%2F1", "/api/v1/entries/%31",
    ])
    func rawTraversal(_ path: String) async throws {
        let t = try TestLedger(entries: 2)
        try await withLiveServer(t.configuration()) { port in
            let r = try await rawHTTP(port: port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect((400..<500).contains(r.status), "\(path): \(r.head) \(String(decoding: r.body, as: UTF8.self))")
        }
    }

    @Test("an oversized or malformed request is refused without harming the server")
    func hostileRequests() async throws {
        let t = try TestLedger()
        try await withLiveServer(t.configuration()) { port in
            // Declared too large: refused from the header, before the body is read.
            let declared = try await rawHTTP(port: port, "POST /api/v1/statements HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n{")
            #expect(declared.status == 413, "\(declared.head)")
            #expect(String(decoding: declared.body, as: UTF8.self).contains("limit"))
            // Actually too large, sent chunked (no Content-Length to judge by).
            let chunk = String(repeating: "a", count: 70_000)
            let hex = String(chunk.utf8.count, radix: 16)
            let chunked = try await rawHTTP(port: port, "POST /api/v1/statements HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                      + "\(hex)\r\n\(chunk)\r\n\(hex)\r\n\(chunk)\r\n0\r\n\r\n")
            #expect(chunked.status == 413, "\(chunked.head)")
            // Garbage instead of HTTP.
            let garbage = try await rawHTTP(port: port, "\u{1}\u{2}\u{3} not http\r\n\r\n")
            #expect(garbage.status == 0 || (400..<500).contains(garbage.status))
            // Still serving.
            let ok = try await rawHTTP(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(ok.status == 200)
        }
    }
}

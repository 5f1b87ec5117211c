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
import Testing

@Suite("JSON API (in process)")
struct APITests {
    @Test("a submission is committed, answered 201 with index and leaf hash, and covered by a fresh checkpoint")
    func submit() async throws {
        let t = try TestLedger()
        let app = buildApplication(t.configuration())
        let s = Fixture.notice(1, at: t.clock.current)
        try await app.test(.router) { client in
            let r = try await client.post("/api/v1/statements", Fixture.envelope(s))
            #expect(r.status == .created)
            #expect(r.contentType == "application/json")
            #expect(r.headers[.location] == "/api/v1/entries/1")
            #expect(r.json["index"]?.integerValue == 1)
            let leaf = try #require(r.json["leafHash"]?.stringValue)
            let note = try #require(r.json["checkpoint"]?.stringValue)
            let v = try Checkpoint.verify(Array(note.utf8), trusting: [Fixture.operatorVerifier])
            #expect(v.checkpoint.size == 2)

            let e = try await client.get("/api/v1/entries/1")
            #expect(e.status == .ok)
            #expect(e.json["leafHash"]?.stringValue == leaf)
            let entryBytes = try #require(try e.json["entry"]?.canonical())
            #expect(RFC6962.leafHash(entryBytes).hex == leaf)

            let cp = try await client.get("/api/v1/checkpoint")
            #expect(cp.status == .ok)
            #expect(cp.contentType == "text/plain; charset=utf-8")
            #expect(cp.text == note)
            // The same note at the tlog-tiles path.
            let cp2 = try await client.get("/checkpoint")
            #expect(cp2.text == note)
        }
    }

    @Test("a batch is appended all together, in order, or not at all")
    func batch() async throws {
        let t = try TestLedger()
        let app = buildApplication(t.configuration())
        @Sendable func body(_ statements: [SignedStatement]) throws -> [UInt8] {
            try JSONValue.object(["statements": .array(try statements.map { try JSONValue.parse(Fixture.envelope($0)) })]).canonical()
        }
        try await app.test(.router) { client in
            let good = (1...3).map { Fixture.notice($0, at: t.clock.current) }
            let stranger = Fixture.notice(4, by: Fixture.stranger, at: t.clock.current)
            let refused = try await client.post("/api/v1/statements/batch", try body(good + [stranger]))
            #expect(refused.status == .forbidden)
            #expect(refused.json["error"]?.stringValue?.contains("statement 4 of 4") == true, "\(refused.text)")
            #expect(try t.ledger.size() == 1)

            let r = try await client.post("/api/v1/statements/batch", try body(good))
            #expect(r.status == .created)
            #expect(r.json["appended"]?.arrayValue?.map { $0["index"]?.integerValue } == [1, 2, 3])
            let note = try #require(r.json["checkpoint"]?.stringValue)
            #expect(try Checkpoint.verify(Array(note.utf8), trusting: [Fixture.operatorVerifier]).checkpoint.size == 4)

            let again = try await client.post("/api/v1/statements/batch", try body([Fixture.notice(5, at: t.clock.current), good[0]]))
            #expect(again.status == .conflict)
            #expect(try t.ledger.size() == 4)
            for bad in [Array("[]".utf8), Array(#"{"statements":[]}"#.utf8), Array(#"{"statements":[{"payload":"x"}]}"#.utf8), Array("not json".utf8)] {
                let b = try await client.post("/api/v1/statements/batch", bad)
                #expect(b.status == .badRequest, "\(String(decoding: bad, as: UTF8.self)): \(b.text)")
            }
            // A bad envelope is named by its position, under one "malformed statement".
            let second = try await client.post("/api/v1/statements/batch", Array(#"{"statements":[{"payload":"x"},{"payload":"y"}]}"#.utf8))
            let message = second.json["error"]?.stringValue ?? ""
            #expect(message.hasPrefix("malformed statement: statement 1 of 2: "), "\(second.text)")
            #expect(message.components(separatedBy: "malformed statement").count == 2, "\(second.text)")
        }
    }

    @Test("without an operator signer, submissions are answered without a checkpoint")
    func submitWithoutSigner() async throws {
        let t = try TestLedger()
        let app = buildApplication(t.configuration(signer: false))
        try await app.test(.router) { client in
            let r = try await client.post("/api/v1/statements", Fixture.envelope(Fixture.notice(1, at: t.clock.current)))
            #expect(r.status == .created)
            #expect(r.json["checkpoint"] == nil)
            let cp = try await client.get("/api/v1/checkpoint")
            #expect(try Checkpoint.verify(cp.bytes, trusting: [Fixture.operatorVerifier]).checkpoint.size == 1)
        }
    }

    @Test("refusals map to specific statuses with a JSON sentence")
    func refusals() async throws {
        let t = try TestLedger()
        let app = buildApplication(t.configuration())
        let good = Fixture.notice(1, at: t.clock.current)
        try await app.test(.router) { client in
            func expectError(_ body: [UInt8], _ status: HTTPResponse.Status, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let r = try await client.post("/api/v1/statements", body)
                #expect(r.status == status, "\(r.text)", sourceLocation: sourceLocation)
                #expect(r.contentType == "application/json", sourceLocation: sourceLocation)
                let msg = r.json["error"]?.stringValue ?? ""
                #expect(msg.contains(fragment), "\(msg)", sourceLocation: sourceLocation)
            }
            // Malformed bodies.
            try await expectError([], .badRequest, "empty")
            try await expectError(Array("not json".utf8), .badRequest, "not valid JSON")
            try await expectError(Array("[]".utf8), .badRequest, "DSSE envelope")
            var wrongType = good.envelope.objectValue!
            wrongType["payloadType"] = "text/plain"
            try await expectError(Array(try JSONValue.object(wrongType).canonical()), .badRequest, "payloadType")
            // Bad signature: flip a bit of the signature.
            var sig = good.signature
            sig[0] ^= 1
            let forged = try SignedStatement(canonical: good.canonical, signature: sig)
            try await expectError(Fixture.envelope(forged), .unprocessableContent, "signature does not verify")
            // Unknown kind.
            let odd = try Statement(kind: "no-such-kind", payload: ["a": 1], signer: Fixture.gd.publicKey, time: t.clock.current).sign(with: Fixture.gd)
            try await expectError(Fixture.envelope(odd), .unprocessableContent, "unknown statement kind")
            // Unauthorised signer: a notice by a key that is not a regulator.
            try await expectError(Fixture.envelope(Fixture.notice(2, by: Fixture.stranger, at: t.clock.current)), .forbidden, "not authorised")
            // Time out of window.
            try await expectError(Fixture.envelope(Fixture.notice(3, at: t.clock.current.adding(seconds: 3600))), .unprocessableContent, "out of window")
            // Duplicate: 409 with the existing index.
            let first = try await client.post("/api/v1/statements", Fixture.envelope(good))
            #expect(first.status == .created)
            let again = try await client.post("/api/v1/statements", Fixture.envelope(good))
            #expect(again.status == .conflict)
            #expect(again.json["index"]?.integerValue == first.json["index"]?.integerValue)
            #expect(again.json["error"]?.stringValue?.contains("duplicate") == true)
            // Oversize: more than 2 × Statement.maxBytes.
            let big = [UInt8](repeating: 0x20, count: 2 * Statement.maxBytes + 1)
            try await expectError(big, .contentTooLarge, "\(2 * Statement.maxBytes)-byte limit")
            // Nothing refused was appended.
            #expect(try t.ledger.size() == 2)
        }
    }

    @Test("entries: pages, single entries, and strict query values")
    func entries() async throws {
        let t = try TestLedger(entries: 30)
        let app = buildApplication(t.configuration())
        try await app.test(.router) { client in
            let page = try await client.get("/api/v1/entries?from=5&count=10")
            #expect(page.status == .ok)
            #expect(page.json["size"]?.integerValue == 31)
            let items = try #require(page.json["entries"]?.arrayValue)
            #expect(items.map { $0["index"]?.integerValue } == (5..<15).map { Int64($0) })
            for item in items {
                let bytes = try #require(try item["entry"]?.canonical())
                #expect(RFC6962.leafHash(bytes).hex == item["leafHash"]?.stringValue)
            }
            let all = try await client.get("/api/v1/entries")
            #expect(all.json["entries"]?.arrayValue?.count == 31)
            let tail = try await client.get("/api/v1/entries?from=31")
            #expect(tail.status == .ok && tail.json["entries"]?.arrayValue?.isEmpty == true)

            for q in ["from=-1", "from=abc", "from=01", "from=1.5", "from=%2B1", "from=99999999999999999999", "count=0", "count=1001",
                      "from=1&from=2", "count="] {
                let r = try await client.get("/api/v1/entries?\(q)")
                #expect(r.status == .badRequest, "\(q): \(r.text)")
                #expect(r.json["error"]?.stringValue != nil, "\(q)")
            }
            let one = try await client.get("/api/v1/entries/0")
            #expect(one.json["entry"]?["statement"]?["kind"]?.stringValue == "genesis")
            let missing = try await client.get("/api/v1/entries/31")
            #expect(missing.status == .notFound)
            #expect(missing.json["error"]?.stringValue?.contains("31 entries") == true)
            for bad in ["abc", "-1", "01", "1e3", "99999999999999999999"] {
                let r = try await client.get("/api/v1/entries/\(bad)")
                #expect(r.status == .badRequest, "\(bad)")
            }
        }
    }

    @Test("inclusion and consistency proofs verify against the roots they name")
    func proofs() async throws {
        let t = try TestLedger(entries: 40)
        let app = buildApplication(t.configuration())
        try await app.test(.router) { client in
            let cpNote = try await client.get("/api/v1/checkpoint").bytes
            let cp = try Checkpoint.verify(cpNote, trusting: [Fixture.operatorVerifier]).checkpoint
            #expect(cp.size == 41)
            for (index, size) in [(0, 1), (7, 41), (40, 41), (3, 17)] as [(UInt64, UInt64)] {
                let r = try await client.get("/api/v1/proofs/inclusion?index=\(index)&size=\(size)")
                #expect(r.status == .ok, "\(r.text)")
                let proof = try #require(r.json["proof"]?.arrayValue).compactMap { hash64($0) }
                let leaf = try #require(hash64(r.json["leafHash"]))
                let root = try #require(hash64(r.json["root"]))
                try RFC6962.verifyInclusion(leafHash: leaf, index: index, size: size, proof: proof, root: root)
                #expect(root == (try t.ledger.root(size: size)))
                #expect((r.json["checkpoint"] != nil) == (size == cp.size))
            }
            // Default size: the checkpoint's.
            let d = try await client.get("/api/v1/proofs/inclusion?index=5")
            #expect(d.json["treeSize"]?.integerValue == 41)
            #expect(hash64(d.json["root"]) == cp.root)

            for (a, b) in [(1, 41), (17, 40), (40, 41), (41, 41)] as [(UInt64, UInt64)] {
                let r = try await client.get("/api/v1/proofs/consistency?from=\(a)&to=\(b)")
                #expect(r.status == .ok, "\(r.text)")
                let proof = try #require(r.json["proof"]?.arrayValue).compactMap { hash64($0) }
                try RFC6962.verifyConsistency(oldSize: a, newSize: b, oldRoot: try #require(hash64(r.json["root1"])),
                                              newRoot: try #require(hash64(r.json["root2"])), proof: proof)
            }
            for q in ["proofs/inclusion", "proofs/inclusion?index=41&size=41", "proofs/inclusion?index=0&size=42",
                      "proofs/inclusion?index=x", "proofs/consistency", "proofs/consistency?from=0&to=5",
                      "proofs/consistency?from=6&to=5", "proofs/consistency?from=1&to=42", "proofs/consistency?from=1&to=-2"] {
                let r = try await client.get("/api/v1/\(q)")
                #expect(r.status == .badRequest, "\(q): \(r.text)")
                #expect(r.json["error"]?.stringValue != nil)
            }
        }
    }

    @Test("a ledger without a checkpoint answers 404 for it, and proofs default to the tree size")
    func noCheckpoint() async throws {
        let t = try TestLedger(entries: 3, sqlite: false, checkpoint: false)
        let app = buildApplication(t.configuration(signer: false))
        try await app.test(.router) { client in
            let r = try await client.get("/api/v1/checkpoint")
            #expect(r.status == .notFound)
            #expect(r.json["error"]?.stringValue?.contains("no signed checkpoint") == true)
            #expect(try await client.get("/checkpoint").status == .notFound)
            let p = try await client.get("/api/v1/proofs/inclusion?index=1")
            #expect(p.json["treeSize"]?.integerValue == 4)
        }
    }

    @Test("unknown routes and wrong methods get JSON errors")
    func unknownRoutes() async throws {
        let t = try TestLedger()
        let app = buildApplication(t.configuration())
        try await app.test(.router) { client in
            for (uri, method) in [("/nope", HTTPRequest.Method.get), ("/api/v1/statements", .get), ("/api/v1/entries", .post),
                                  ("/api/v2/entries", .get), ("/add-checkpoint", .post)] {
                let r = try await client.execute(uri: uri, method: method)
                #expect(r.status == .notFound || r.status == .methodNotAllowed, "\(uri)")
                #expect(r.contentType == "application/json")
                #expect(r.json["error"]?.stringValue?.isEmpty == false)
            }
        }
    }

    @Test("health and metrics")
    func operations() async throws {
        let t = try TestLedger(entries: 2)
        let app = buildApplication(t.configuration())
        try await app.test(.router) { client in
            let h = try await client.get("/health")
            #expect(h.status == .ok)
            #expect(h.json["status"]?.stringValue == "ok")
            #expect(h.json["size"]?.integerValue == 3)
            _ = try await client.get("/api/v1/entries/1")
            _ = try await client.get("/api/v1/entries/99")
            _ = try await client.post("/api/v1/statements", Fixture.envelope(Fixture.notice(50, at: t.clock.current)))
            let m = try await client.get("/metrics")
            #expect(m.status == .ok)
            #expect(m.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = m.text
            #expect(text.contains(#"suyuan_http_requests_total{route="/api/v1/entries/{index}",method="GET",status="200"} 1"#))
            #expect(text.contains(#"suyuan_http_requests_total{route="/api/v1/entries/{index}",method="GET",status="404"} 1"#))
            #expect(text.contains(#"suyuan_http_requests_total{route="/api/v1/statements",method="POST",status="201"} 1"#))
            #expect(text.contains(#"suyuan_http_request_duration_seconds_bucket{route="/api/v1/entries/{index}",le="+Inf"} 2"#))
            #expect(text.contains("suyuan_ledger_size 4\n"))
            #expect(text.contains("suyuan_checkpoint_size 4\n"))
            #expect(text.contains("suyuan_append_appended_total 1\n"))
            // Every sample line is `name{labels} value` or `name value`.
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                #expect(line.split(separator: " ").count == 2, "\(line)")
            }
        }
    }

    @Test("route groups from other modules are served with the same error handling")
    func routeGroups() async throws {
        struct Products: RouteGroup {
            func register(on router: Router<ServerContext>, environment: ServerEnvironment) {
                router.get("api/v1/products/:code") { _, context in
                    let code = context.parameters.get("code") ?? ""
                    guard code == "known" else { throw APIError.notFound("no product \(code)") }
                    let size = try await environment.blocking { try environment.ledger.size() }
                    return "\(size)"
                }
            }
        }
        let t = try TestLedger()
        let app = buildApplication(t.configuration(), routeGroups: [Products()])
        try await app.test(.router) { client in
            #expect(try await client.get("/api/v1/products/known").text == "1")
            let r = try await client.get("/api/v1/products/other")
            #expect(r.status == .notFound)
            #expect(r.json["error"]?.stringValue == "no product other")
        }
    }
}

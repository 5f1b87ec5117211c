import Dispatch
import Foundation
import SuyuanClient
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("SuyuanClient against a real server on 127.0.0.1", .serialized)
struct ClientTests {
    @Test("verified checkpoints, entries with locally computed leaf hashes, and proofs that check out")
    func verifiedReads() async throws {
        let t = try TestLedger(entries: 20)
        let store = t.ledger.store
        let earlier = (size: UInt64(5), root: try t.ledger.root(size: 5))
        let stored = try store.entries(from: 3, count: 10)
        let latest = try t.ledger.root(size: 21)
        try await withLiveServer(t.configuration) { url in
            let c = try SuyuanClient(baseURL: url + "/")
            #expect(c.baseURL == url)
            let (v, entries, past, extended, proof) = try await blocking {
                (try c.checkpoint(trusting: [Fixture.operatorVerifier]), try c.entries(from: 3, count: 10), try c.entries(from: 21, count: 5),
                 try c.checkpoint(trusting: [Fixture.operatorVerifier], extending: earlier), try c.inclusionProof(index: 7))
            }
            #expect(v.checkpoint.size == 21 && v.checkpoint.root == latest)
            #expect(entries == stored)
            #expect(past.isEmpty)
            #expect(extended.checkpoint.size == 21)
            try RFC6962.verifyInclusion(leafHash: stored[4].leafHash, index: 7, size: 21, proof: proof.proof, root: v.checkpoint.root)
            #expect(proof.treeSize == 21 && proof.checkpoint != nil)
            let consistency = try await blocking { try c.consistencyProof(from: 5, to: 21) }
            try RFC6962.verifyConsistency(oldSize: 5, newSize: 21, oldRoot: earlier.root, newRoot: latest, proof: consistency.proof)

            // Another key: untrusted.
            let untrusted = await failure { _ = try c.checkpoint(trusting: [Fixture.strangerVerifier]) }
            #expect(untrusted as? NoteError == .untrustedCheckpoint(signers: [Fixture.operatorVerifier.shortName]), "\(String(describing: untrusted))")
            // An earlier tree the source's does not extend: a fork, a rollback, the same size with another root.
            let forged = (size: UInt64(5), root: try t.ledger.root(size: 6))
            guard case .inconsistent(5, forged.root, 21, latest, let reason)? = await failure({ _ = try c.checkpoint(trusting: [Fixture.operatorVerifier], extending: forged) }) as? HistoryError else {
                Issue.record("a forged earlier root was accepted")
                return
            }
            #expect(reason.contains("consistency proof does not verify"))
            let rollback = await failure { _ = try c.checkpoint(trusting: [Fixture.operatorVerifier], extending: (30, latest)) }
            #expect(rollback as? HistoryError == .rollback(knownSize: 30, size: 21))
            let sameSize = await failure { _ = try c.checkpoint(trusting: [Fixture.operatorVerifier], extending: (21, earlier.root)) }
            #expect((sameSize as? HistoryError)?.description.contains("the same size has another root") == true, "\(String(describing: sameSize))")
        }
    }

    @Test("a submission is answered with its index, leaf hash and checkpoint; a duplicate carries the server's sentence")
    func submissions() async throws {
        let t = try TestLedger(entries: 0)
        let envelope = Fixture.envelope(Fixture.notice(1000, at: t.now))
        try await withLiveServer(t.configuration) { url in
            let c = try SuyuanClient(baseURL: url)
            let s = try await blocking { try c.submit(envelope) }
            #expect(s.index == 1)
            #expect(s.leafHash == (try t.ledger.store.entry(at: 1)?.leafHash))
            #expect(s.checkpoint.flatMap { try? Checkpoint.verify($0, trusting: [Fixture.operatorVerifier]).checkpoint.size } == 2)
            let again = await failure { _ = try c.submit(envelope) }
            guard case .http(let u, 409, let message)? = again as? ClientError else {
                Issue.record("a duplicate was not refused with 409: \(String(describing: again))")
                return
            }
            #expect(u == url + "/api/v1/statements")
            #expect(message.contains("already in the ledger at index 1"), "\(message)")
            #expect((again as? ClientError)?.description == "\(url)/api/v1/statements answered 409: \(message)")
            let garbage = await failure { _ = try c.submit(Array("{}".utf8)) }
            guard case .http(_, 400, _)? = garbage as? ClientError else {
                Issue.record("a malformed submission was not refused with 400: \(String(describing: garbage))")
                return
            }
        }
    }

    @Test("bad URLs, a refused connection, no answer in time, oversize and malformed answers: clear errors")
    func transportFailures() async throws {
        for bad in ["not a url", "ftp://127.0.0.1/", "http://", "http://127.0.0.1:8080/?q=1"] {
            #expect(throws: ClientError.invalidURL(bad)) { _ = try SuyuanClient(baseURL: bad) }
        }
        // A port nothing listens on any more.
        let closed = try FakeServer { _ in }
        closed.stop()
        let refused = await failure { _ = try SuyuanClient(baseURL: "http://127.0.0.1:\(closed.port)").checkpointNote() }
        #expect((refused as? ClientError)?.description.hasPrefix("cannot reach http://127.0.0.1:\(closed.port)/api/v1/checkpoint: connection refused") == true,
                "\(String(describing: refused))")

        // Connected, but no answer for 120 s: the client gives up long before (the bound leaves room
        // for a loaded machine's scheduling delays, not for waiting on the server). `stop` does not wait for it.
        let silent = try FakeServer { _ in usleep(120_000_000) }
        defer { silent.stop() }
        let started = DispatchTime.now().uptimeNanoseconds
        let timedOut = await failure {
            _ = try SuyuanClient(baseURL: "http://127.0.0.1:\(silent.port)", connectTimeout: 0.5, readTimeout: 0.5).checkpointNote()
        }
        #expect(timedOut as? ClientError == .unreachable(url: "http://127.0.0.1:\(silent.port)/api/v1/checkpoint", reason: "no answer within 0.5 s"))
        #expect(DispatchTime.now().uptimeNanoseconds - started < 60_000_000_000)

        // Headers, then a body that never ends.
        let trickle = try FakeServer { c in
            FakeServer.write(c, Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc".utf8))
            usleep(3_000_000)
        }
        defer { trickle.stop() }
        let stalled = await failure { _ = try SuyuanClient(baseURL: "http://127.0.0.1:\(trickle.port)", readTimeout: 0.5).checkpointNote() }
        #expect(stalled as? ClientError == .unreachable(url: "http://127.0.0.1:\(trickle.port)/api/v1/checkpoint", reason: "the answer did not arrive within 0.5 s"))

        // A declared length over the limit, and an endless chunked body.
        let declared = try FakeServer { c in FakeServer.write(c, Array("HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n".utf8)) }
        defer { declared.stop() }
        let big = await failure { _ = try SuyuanClient(baseURL: "http://127.0.0.1:\(declared.port)").checkpointNote() }
        #expect(big as? ClientError == .tooLarge(url: "http://127.0.0.1:\(declared.port)/api/v1/checkpoint", limit: Note.maxSize))
        let endless = try FakeServer { c in
            guard FakeServer.write(c, Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)) else { return }
            let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: 0x61, count: 0x10000) + Array("\r\n".utf8)
            for _ in 0..<64 where FakeServer.write(c, chunk) {}
        }
        defer { endless.stop() }
        let streamed = await failure { _ = try SuyuanClient(baseURL: "http://127.0.0.1:\(endless.port)").checkpointNote() }
        #expect(streamed as? ClientError == .tooLarge(url: "http://127.0.0.1:\(endless.port)/api/v1/checkpoint", limit: Note.maxSize))

        // Not the API: a JSON answer of the wrong shape, and an error page that is not JSON.
        let other = try FakeServer { c in
            FakeServer.write(c, Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]".utf8))
        }
        defer { other.stop() }
        let shape = await failure { _ = try SuyuanClient(baseURL: "http://127.0.0.1:\(other.port)").entries(from: 0, count: 1) }
        guard case .malformed(_, let why)? = shape as? ClientError else {
            Issue.record("a JSON array was accepted as an entries page: \(String(describing: shape))")
            return
        }
        #expect(why == "the answer is not a JSON object")
        let proxy = try FakeServer { c in
            FakeServer.write(c, Array("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 23\r\n\r\n<html>upstream</html>\r\n".utf8))
        }
        defer { proxy.stop() }
        let gateway = await failure { _ = try SuyuanClient(baseURL: "http://127.0.0.1:\(proxy.port)").checkpointNote() }
        #expect(gateway as? ClientError == .http(url: "http://127.0.0.1:\(proxy.port)/api/v1/checkpoint", status: 502, message: "<html>upstream</html>"))
    }
}

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

/// Another region's log, witnessed by the server: a tree of random leaves and checkpoints signed by its key.
struct OtherLog {
    static let key = SecretKey(seed: [UInt8](repeating: 7, count: 32))!
    static let origin = "hk.suyuan.example/ledger"
    static var signer: NoteSigner { try! NoteSigner(name: origin, key: key) }
    var tree = InMemoryHashStore()

    mutating func grow(to n: UInt64) {
        while tree.size < n { tree.append(leafHash: RFC6962.leafHash(Array("leaf \(tree.size)".utf8))) }
    }

    func checkpoint(size: UInt64? = nil, signer: NoteSigner = OtherLog.signer, origin: String = OtherLog.origin) throws -> [UInt8] {
        let n = size ?? tree.size
        let cp = try Checkpoint(origin: origin, size: n, root: try RFC6962.root(size: n, reader: tree))
        return Array(try cp.sign(with: signer).encoded.utf8)
    }

    func body(old: UInt64, proof: [Hash]? = nil, note: [UInt8]) throws -> [UInt8] {
        let p = try proof ?? (old == 0 || old == tree.size ? [] : RFC6962.consistencyProof(from: old, to: tree.size, reader: tree))
        var text = "old \(old)\n"
        for h in p { text += Base64.encode(h.bytes) + "\n" }
        return Array((text + "\n").utf8) + note
    }
}

@Suite("C2SP tlog-witness: POST /add-checkpoint")
struct WitnessTests {
    static let witnessKey = SecretKey(seed: [UInt8](repeating: 8, count: 32))!
    static let witnessName = "gd.witness.example"

    /// A witness with a fresh state file for `OtherLog`.
    static func makeWitness(_ dir: TempDir) throws -> WitnessService {
        let state = WitnessState(log: OtherLog.signer.verifierKey, origin: OtherLog.origin)
        let path = dir.file("witness.state")
        try Data((state.json.prettyPrinted() + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return try WitnessService(name: witnessName, key: witnessKey, statePath: path)
    }

    @Test("cosigns consistent checkpoints, persists its state, and refuses the rest with the C2SP statuses")
    func protocolFlow() async throws {
        let t = try TestLedger()
        let witness = try Self.makeWitness(t.dir)
        let app = buildApplication(t.configuration(witness: witness))
        let cosigner = try witness.verifierKey
        var first = OtherLog()
        first.grow(to: 10)
        let log = first
        let cp10 = try log.checkpoint()
        let snapshot10 = log
        try await app.test(.router) { client in
            // First contact: old 0, no proof.
            let r = try await client.post("/add-checkpoint", try log.body(old: 0, note: cp10))
            #expect(r.status == .ok, "\(r.text)")
            #expect(r.text.hasPrefix("\u{2014} \(Self.witnessName) ") && r.text.hasSuffix("\n"))
            // The response lines appended to the note verify as a cosignature by the witness key.
            let cosigned = try Note.parse(cp10 + r.bytes)
            #expect(try cosigned.verify(trusting: [cosigner]).count == 1)
            #expect(try witness.currentState().size == 10)

            // Same size again, same root: cosigned again.
            #expect(try await client.post("/add-checkpoint", try log.body(old: 10, note: cp10)).status == .ok)

            // Wrong old size: 409 with the witness's size, as text/x.tlog.size.
            var grown = snapshot10
            grown.grow(to: 25)
            let cp25 = try grown.checkpoint()
            let stale = try await client.post("/add-checkpoint", try grown.body(old: 3, note: cp25))
            #expect(stale.status == .conflict)
            #expect(stale.contentType == "text/x.tlog.size")
            #expect(stale.text == "10\n")

            // A proof that does not verify: 422, state unchanged.
            var badProof = try RFC6962.consistencyProof(from: 10, to: 25, reader: grown.tree)
            badProof[0] = Hash(unchecked: [UInt8](repeating: 0xab, count: 32))
            let bad = try await client.post("/add-checkpoint", try grown.body(old: 10, proof: badProof, note: cp25))
            #expect(bad.status == .unprocessableContent, "\(bad.text)")
            #expect(try witness.currentState().size == 10)
            // Missing proof: 422 too.
            #expect(try await client.post("/add-checkpoint", try grown.body(old: 10, proof: [], note: cp25)).status == .unprocessableContent)

            // The right proof: cosigned, state advanced.
            let ok = try await client.post("/add-checkpoint", try grown.body(old: 10, note: cp25))
            #expect(ok.status == .ok, "\(ok.text)")
            #expect(try witness.currentState().size == 25)

            // A fork at the same size: 409.
            var fork = OtherLog()
            for i in 0..<25 { fork.tree.append(leafHash: RFC6962.leafHash(Array("forked \(i)".utf8))) }
            let forked = try await client.post("/add-checkpoint", try fork.body(old: 25, note: try fork.checkpoint()))
            #expect(forked.status == .conflict)
            #expect(forked.text == "25\n")

            // Old size larger than the checkpoint: 400.
            #expect(try await client.post("/add-checkpoint", try grown.body(old: 30, proof: [], note: cp25)).status == .badRequest)
            // Unknown origin: 404.
            let otherOrigin = try grown.checkpoint(origin: "mo.suyuan.example/ledger")
            #expect(try await client.post("/add-checkpoint", try grown.body(old: 25, note: otherOrigin)).status == .notFound)
            // Signed by a key the witness does not trust: 403.
            let impostor = try NoteSigner(name: OtherLog.origin, key: Fixture.stranger)
            let forgedNote = try grown.checkpoint(signer: impostor)
            #expect(try await client.post("/add-checkpoint", try grown.body(old: 25, note: forgedNote)).status == .forbidden)
            // Malformed bodies: 400.
            for body in ["", "old 25\n", "old 025\n\n" + String(decoding: cp25, as: UTF8.self), "new 25\n\n" + String(decoding: cp25, as: UTF8.self),
                         "old 25\nnot-base64\n\n" + String(decoding: cp25, as: UTF8.self), "old 25\n\nnot a note\n"] {
                let r = try await client.post("/add-checkpoint", Array(body.utf8))
                #expect(r.status == .badRequest, "\(body.prefix(30)): \(r.text)")
                #expect(r.json["error"]?.stringValue != nil)
            }
            let tooMany = try grown.body(old: 25, proof: Array(repeating: Hash.zero, count: 64), note: cp25)
            #expect(try await client.post("/add-checkpoint", tooMany).status == .badRequest)
            #expect(try witness.currentState().size == 25)
        }
    }

    @Test("without a witness key the endpoint does not exist")
    func absent() async throws {
        let t = try TestLedger()
        let app = buildApplication(t.configuration())
        try await app.test(.router) { client in
            let r = try await client.post("/add-checkpoint", Array("old 0\n\n".utf8))
            #expect(r.status == .notFound)
        }
    }
}

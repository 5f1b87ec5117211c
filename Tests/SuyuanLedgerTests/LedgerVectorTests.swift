import Foundation
import Testing
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// Checks Specs/vectors/ledger.json from first principles (SHA-256, Ed25519, JCS, PAE), the way an
/// independent verifier following Specs/ledger.md would, and checks that our code agrees.
@Suite struct LedgerVectorTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let doc: JSONValue = try! JSONValue.parse([UInt8](Data(contentsOf: root.appendingPathComponent("Specs/vectors/ledger.json"))))

    func bytes(_ v: JSONValue?) -> [UInt8] { Array(v!.stringValue!.utf8) }

    @Test func entriesChainSignaturesAndLeafHashes() throws {
        let entries = doc["entries"]!.arrayValue!
        #expect(entries.count >= 4)
        var prev = String(repeating: "0", count: 64)
        var leaves: [Hash] = []
        let type = doc["payloadType"]!.stringValue!
        for (i, e) in entries.enumerated() {
            let entryBytes = bytes(e["entry"])
            // Canonical.
            #expect(try JCS.canonicalize(entryBytes) == entryBytes)
            let entry = try JSONValue.parse(entryBytes)
            #expect(entry["index"]?.integerValue == Int64(i))
            #expect(entry["prev"]?.stringValue == prev)
            // The statement inside is exactly the signed statement bytes.
            let stBytes = bytes(e["statement"])
            #expect(try entry["statement"]!.canonical() == stBytes)
            // PAE by hand.
            let pae = Array("DSSEv1 \(type.utf8.count) \(type) \(stBytes.count) ".utf8) + stBytes
            #expect(Hex.encode(pae) == e["paeHex"]?.stringValue)
            #expect(DSSE.pae(type: type, body: stBytes) == pae)
            // Signature by the did:key signer.
            let signer = try DIDKey.decode(entry["statement"]!["signer"]!.stringValue!)
            let sig = Base64.decode(entry["signature"]!.stringValue!)!
            #expect(Base64.encode(sig) == e["signature"]?.stringValue)
            #expect(signer.isValidSignature(sig, for: pae))
            // Leaf hash = SHA-256(0x00 ‖ entry).
            let leaf = SHA256.hash([0x00] + entryBytes)
            #expect(leaf.hex == e["leafHash"]?.stringValue)
            // The envelope parses back to the same signed statement.
            let env = try SignedStatement(envelope: bytes(e["envelope"]))
            #expect(env.canonical == stBytes && env.signature == sig)
            // Our parser agrees.
            let parsed = try Entry(parsing: entryBytes)
            #expect(parsed.leafHash == leaf)
            prev = leaf.hex
            leaves.append(leaf)
        }
        // Entry 0 is the genesis signed by the operator it names.
        let g0 = try Entry(parsing: bytes(entries[0]["entry"]))
        let g = try Genesis(payload: g0.statement.payload)
        #expect(try g0.statement.signerKey() == g.operatorKey.publicKey)
        #expect(g.operatorKey.description == doc["keys"]?["operator"]?["vkey"]?.stringValue)

        // Roots, proofs, checkpoint.
        for r in doc["roots"]!.arrayValue! {
            let n = Int(r["size"]!.integerValue!)
            #expect(RFC6962.root(leafHashes: Array(leaves[0..<n])).hex == r["root"]?.stringValue)
        }
        let size = UInt64(leaves.count)
        let root = RFC6962.root(leafHashes: leaves)
        for p in doc["inclusion"]!.arrayValue! {
            let i = UInt64(p["index"]!.integerValue!)
            let proof = p["proof"]!.arrayValue!.map { Hash(hex: $0.stringValue!)! }
            try RFC6962.verifyInclusion(leafHash: leaves[Int(i)], index: i, size: size, proof: proof, root: root)
        }
        for p in doc["consistency"]!.arrayValue! {
            let m = UInt64(p["from"]!.integerValue!)
            let proof = p["proof"]!.arrayValue!.map { Hash(hex: $0.stringValue!)! }
            try RFC6962.verifyConsistency(oldSize: m, newSize: size, oldRoot: RFC6962.root(leafHashes: Array(leaves[0..<Int(m)])), newRoot: root, proof: proof)
        }
        let cp = try Checkpoint.verify(bytes(doc["checkpoint"]), trusting: [g.operatorKey])
        #expect(cp.checkpoint.size == size && cp.checkpoint.root == root && cp.checkpoint.origin == g.origin)
    }

    @Test func invalidEntriesAreRefused() throws {
        let entries = doc["entries"]!.arrayValue!
        let g = try Genesis(payload: try Entry(parsing: bytes(entries[0]["entry"])).statement.payload)
        let prevLeaf = Hash(hex: entries[0]["leafHash"]!.stringValue!)!
        let invalid = doc["invalidEntries"]!.arrayValue!
        #expect(invalid.count >= 6)
        for v in invalid {
            let b = bytes(v["entry"])
            let why = v["wantErr"]!.stringValue!
            var failures: [String] = []
            do {
                let e = try Entry(parsing: b)
                if e.index != UInt64(v["index"]!.integerValue!) { failures.append("index") }
                if e.prev != prevLeaf { failures.append("chain") }
                do { try e.signed.verifySignature() } catch { failures.append("signature") }
                do {
                    let ctx = AppendContext(genesis: g, index: e.index, recordedAt: e.recordedAt)
                    let rule = try RuleBook.core.rule(for: e.statement.kind)
                    try rule.validate(e.statement)
                    try rule.authorize(e.statement, signer: try e.statement.signerKey(), context: ctx)
                } catch { failures.append("unauthorized") }
            } catch { failures.append("canonical") }
            #expect(failures == [why], "\(v["desc"]!.stringValue!)")
        }
    }
}

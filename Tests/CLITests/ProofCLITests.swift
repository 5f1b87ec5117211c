import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

/// Decodes a base64 hash field of a JSON object.
func hashField(_ j: JSONValue, _ key: String) -> Hash? {
    j[key]?.stringValue.flatMap { Base64.decode($0) }.flatMap { Hash(bytes: $0) }
}

func hashList(_ j: JSONValue, _ key: String) -> [Hash]? {
    guard let a = j[key]?.arrayValue else { return nil }
    let hs = a.compactMap { $0.stringValue.flatMap { Base64.decode($0) }.flatMap { Hash(bytes: $0) } }
    return hs.count == a.count ? hs : nil
}

/// A ledger of `size` entries (genesis + notices), with the leaf hashes recomputed from `entries --json`.
func ledgerWithNotices(_ sb: Sandbox, size: Int) async throws -> (ledger: String, leaves: [Hash]) {
    let ledger = try sb.copyBaseLedger()
    let keys = [sb.fixture.gd, sb.fixture.hk, sb.fixture.mo]
    for i in 1..<size {
        // Only the last append signs a checkpoint (saves an Argon2id key opening per append).
        let r = try await sb.appendNotice(ledger, key: keys[i % 3], title: "notice \(i)", checkpoint: i == size - 1)
        #expect(try r.json()["index"]?.int == i)
    }
    let items = try await sb.entries(ledger)["entries"]?.arrayValue ?? []
    try #require(items.count == size)
    let leaves = try items.map { try leafHash(ofEntry: $0["entry"]!) }
    #expect(leaves.map(\.hex) == items.compactMap { $0["leafHash"]?.stringValue }, "listed leaf hashes are SHA-256(0x00 ‖ JCS(entry))")
    return (ledger, leaves)
}

@Suite("suyuan prove") struct ProofCLITests {
    @Test func inclusionAndConsistencyProofsVerifyIndependently() async throws {
        let sb = try Sandbox()
        let n = 7
        let (ledger, leaves) = try await ledgerWithNotices(sb, size: n)
        let roots = (0...n).map { MerkleCheck.root(Array(leaves.prefix($0))) }

        // The latest checkpoint covers all n entries and commits to the independently computed root.
        let cpNote = try await sb.ok(["checkpoint", "--ledger", ledger]).stdout
        let cp = try ParsedCheckpoint(cpNote)
        #expect(cp.size == n)
        #expect(Base64.decode(cp.rootBase64) == roots[n].bytes)

        // Inclusion, default size (the latest checkpoint's).
        for i in 0..<n {
            let r = try await sb.ok(["prove", "inclusion", "--ledger", ledger, "--index", "\(i)", "--json"])
            let j = try r.json()
            #expect(j.keys == ["leafIndex", "treeSize", "leafHash", "root", "proof", "checkpoint"], "\(r)")
            #expect(j["leafIndex"]?.int == i)
            #expect(j["treeSize"]?.int == n)
            #expect(hashField(j, "leafHash") == leaves[i])
            #expect(hashField(j, "root") == roots[n])
            #expect(j["checkpoint"]?.stringValue == cpNote)
            let proof = try #require(hashList(j, "proof"), "proof must be a list of base64 hashes: \(r)")
            #expect(MerkleCheck.verifyInclusion(leaf: leaves[i], index: UInt64(i), size: UInt64(n), proof: proof, root: roots[n]),
                    "inclusion proof of \(i) in \(n)")
            // Sanity of the checker: the proof does not prove another leaf or position.
            #expect(!MerkleCheck.verifyInclusion(leaf: leaves[(i + 1) % n], index: UInt64(i), size: UInt64(n), proof: proof, root: roots[n]))
            #expect(!MerkleCheck.verifyInclusion(leaf: leaves[i], index: UInt64((i + 1) % n), size: UInt64(n), proof: proof, root: roots[n]))
        }
        // Inclusion in smaller trees, with --size.
        for size in [1, 2, 4, 5, 6] {
            for i in 0..<size {
                let j = try await sb.ok(["prove", "inclusion", "--ledger", ledger, "--index", "\(i)", "--size", "\(size)", "--json"]).json()
                #expect(j["treeSize"]?.int == size)
                #expect(hashField(j, "root") == roots[size])
                #expect((j["checkpoint"] != nil) == (size == n), "a checkpoint is attached only for the checkpoint's size")
                let proof = hashList(j, "proof") ?? []
                #expect(MerkleCheck.verifyInclusion(leaf: leaves[i], index: UInt64(i), size: UInt64(size), proof: proof, root: roots[size]),
                        "inclusion proof of \(i) in \(size)")
            }
        }
        // Human output.
        let human = try await sb.ok(["prove", "inclusion", "--ledger", ledger, "--index", "3"])
        #expect(human.stdout.contains("entry 3 in tree of size \(n)"))
        #expect(human.stdout.contains(leaves[3].hex))
        #expect(human.stdout.contains(roots[n].hex))

        // Consistency from every size to n, and between some smaller sizes.
        var pairs = (1...n).map { ($0, n) }
        pairs += [(1, 2), (2, 3), (2, 5), (3, 4), (3, 6), (4, 6), (5, 6), (6, 6), (1, 1)]
        for (m, size2) in pairs {
            do {
                let r = try await sb.ok(["prove", "consistency", "--ledger", ledger, "--from", "\(m)", "--to", "\(size2)", "--json"])
                let j = try r.json()
                #expect(j.keys == ["size1", "size2", "root1", "root2", "proof"], "\(r)")
                #expect(j["size1"]?.int == m)
                #expect(j["size2"]?.int == size2)
                #expect(hashField(j, "root1") == roots[m])
                #expect(hashField(j, "root2") == roots[size2])
                let proof = try #require(hashList(j, "proof"), "\(r)")
                #expect(MerkleCheck.verifyConsistency(size1: UInt64(m), size2: UInt64(size2), root1: roots[m], root2: roots[size2], proof: proof),
                        "consistency proof \(m) → \(size2)")
                if m < size2 && m > 1 {
                    // Sanity of the checker: the proof does not link a different old root.
                    #expect(!MerkleCheck.verifyConsistency(size1: UInt64(m), size2: UInt64(size2), root1: roots[m - 1], root2: roots[size2], proof: proof))
                }
            }
        }
        // --to defaults to the latest checkpoint's size.
        let d = try await sb.ok(["prove", "consistency", "--ledger", ledger, "--from", "1", "--json"]).json()
        #expect(d["size2"]?.int == n)
        #expect(hashField(d, "root2") == roots[n])
        let hc = try await sb.ok(["prove", "consistency", "--ledger", ledger, "--from", "2", "--to", "5"])
        #expect(hc.stdout.contains(roots[2].hex) && hc.stdout.contains(roots[5].hex))
    }

    @Test func outOfRangeRequestsAreRefused() async throws {
        let sb = try Sandbox()
        let (ledger, _) = try await ledgerWithNotices(sb, size: 3)
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await sb.run(["prove", "inclusion", "--ledger", ledger, "--index", "3", "--json"]), 65, mentions: ["--index 3", "3"])
            expectError(try await sb.run(["prove", "inclusion", "--ledger", ledger, "--index", "99"]), 65, mentions: ["--index 99"])
            expectError(try await sb.run(["prove", "inclusion", "--ledger", ledger, "--index", "0", "--size", "4"]), 65, mentions: ["--size 4"])
            expectError(try await sb.run(["prove", "inclusion", "--ledger", ledger, "--index", "2", "--size", "2"]), 65, mentions: ["--index 2"])
            expectError(try await sb.run(["prove", "inclusion", "--ledger", ledger, "--index", "0", "--size", "0"]), 65)
            expectError(try await sb.run(["prove", "consistency", "--ledger", ledger, "--from", "0", "--to", "3"]), 65, mentions: ["--from"])
            expectError(try await sb.run(["prove", "consistency", "--ledger", ledger, "--from", "4", "--to", "3"]), 65, mentions: ["--from"])
            expectError(try await sb.run(["prove", "consistency", "--ledger", ledger, "--from", "1", "--to", "9"]), 65, mentions: ["--to 9"])
            expectUsageError(try await sb.run(["prove", "inclusion", "--ledger", ledger, "--index", "-1"]))
            expectUsageError(try await sb.run(["prove", "inclusion", "--ledger", ledger]), mentions: ["--index"])
            expectUsageError(try await sb.run(["prove", "consistency", "--ledger", ledger]), mentions: ["--from"])
        }
    }
}

import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

/// Checks the whole chain of `entries --json`: indexes 0..<size, each entry's index, prev = previous leaf
/// hash, and leaf hash = SHA-256(0x00 ‖ JCS(entry)). Returns the leaf hashes.
@discardableResult
func checkChain(_ j: JSONValue, size: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Hash] {
    #expect(j["size"]?.int == size, sourceLocation: sourceLocation)
    let items = j["entries"]?.arrayValue ?? []
    #expect(items.count == size, sourceLocation: sourceLocation)
    #expect(items.map { $0["index"]?.int } == (0..<size).map { $0 }, "indexes 0..<\(size), each once", sourceLocation: sourceLocation)
    var prev = String(repeating: "0", count: 64)
    var leaves: [Hash] = []
    for (i, item) in items.enumerated() {
        let entry = try #require(item["entry"], sourceLocation: sourceLocation)
        #expect(entry["index"]?.int == i, sourceLocation: sourceLocation)
        #expect(entry["prev"]?.stringValue == prev, "entry \(i) prev must be entry \(i - 1)'s leaf hash", sourceLocation: sourceLocation)
        let leaf = try leafHash(ofEntry: entry)
        #expect(item["leafHash"]?.stringValue == leaf.hex, "entry \(i) leaf hash", sourceLocation: sourceLocation)
        prev = leaf.hex
        leaves.append(leaf)
    }
    return leaves
}

@Suite("concurrent appends") struct ConcurrencyCLITests {
    @Test func twoProcessesAppendingAtTheSameTimeKeepOneChain() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        let rounds = 10
        var titles: Set<String> = []
        var indexes: [Int] = []
        var checkpoints: [String] = []
        for k in 0..<rounds {
            var running: [Running] = []
            for (w, key) in [f.gd, f.hk].enumerated() {
                let title = "worker \(w) round \(k)"
                titles.insert(title)
                let p = try sb.noticePayload("w\(w)-\(k).json", title: title)
                // Worker 0 also signs a checkpoint after each append (racing with worker 1's appends); worker 1 does not.
                running.append(try sb.startNow(["append", "--ledger", ledger, "--key", key.path, "--kind", "notice", "--payload", p, "--json"],
                                               env: w == 0 ? [:] : noCheckpoint))
            }
            for run in running {
                let r = await run.wait()
                #expect(r.status == 0, "\(r)")
                #expect(!r.stderr.contains("locked"), "\(r)")
                if let i = try? r.json()["index"]?.int { indexes.append(i) }
                if let c = try? r.json()["checkpoint"]?.stringValue { checkpoints.append(c) }
            }
        }
        #expect(indexes.sorted() == Array(1...(2 * rounds)), "each append got its own index")
        #expect(!FileManager.default.fileExists(atPath: ledger + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: ledger + "-shm"))

        let j = try await sb.entries(ledger)
        let leaves = try checkChain(j, size: 1 + 2 * rounds)
        let got = (j["entries"]?.arrayValue ?? []).dropFirst().compactMap { $0["entry"]?["statement"]?["payload"]?["title"]?.stringValue }
        #expect(Set(got) == titles && got.count == titles.count, "every notice exactly once")

        // Each of worker 0's checkpoints commits to the prefix of the chain it names.
        let stored = try await sb.ok(["checkpoint", "--ledger", ledger])
        for cpText in checkpoints {
            let c = try ParsedCheckpoint(cpText)
            #expect(c.size >= 2 && c.size <= 1 + 2 * rounds)
            #expect(Base64.decode(c.rootBase64) == MerkleCheck.root(Array(leaves.prefix(c.size))).bytes, "checkpoint at size \(c.size)")
        }
        #expect(checkpoints.count == rounds)
        // A checkpoint over all entries.
        let cp = try ParsedCheckpoint(stored.stdout)
        #expect(cp.size == 1 + 2 * rounds)
        #expect(Base64.decode(cp.rootBase64) == MerkleCheck.root(leaves).bytes)
    }

    /// Twelve processes at once: six pre-signed statements, each submitted twice. Exactly one of each pair is
    /// appended; the other is refused as a duplicate.
    @Test func racingDuplicatesAreAppendedOnce() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        let keys = [f.gd, f.hk, f.mo]
        let signing = try (0..<6).map { i in
            try sb.startNow(["sign", "--key", keys[i % 3].path, "--kind", "notice",
                          "--payload", try sb.noticePayload("r\(i).json", title: "race \(i)"), "--out", "s\(i).json"])
        }
        for run in signing {
            let r = await run.wait()
            try #require(r.status == 0, "\(r)")
        }
        let running = try (0..<12).map { k in
            try sb.startNow(["append", "--ledger", ledger, "--statement", "s\(k % 6).json", "--json"], env: noCheckpoint)
        }
        var results: [RunResult] = []
        for run in running { results.append(await run.wait()) }
        for i in 0..<6 {
            let pair = [results[i], results[i + 6]]
            let ok = pair.filter { $0.status == 0 }
            let dup = pair.filter { $0.status == 65 && $0.stderr.contains("duplicate") }
            #expect(ok.count == 1 && dup.count == 1, "statement \(i): \(pair)")
        }
        let appended = results.filter { $0.status == 0 }.compactMap { try? $0.json()["index"]?.int }
        #expect(appended.sorted() == Array(1...6))
        try checkChain(try await sb.entries(ledger), size: 7)
        #expect(!FileManager.default.fileExists(atPath: ledger + "-wal"))
    }
}

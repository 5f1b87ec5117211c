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

    /// For a few seconds, three processes append in a loop (one also signing checkpoints) while three others
    /// read in a loop: `entries`, `prove inclusion`, `audit`. No acknowledged entry is lost or duplicated, no
    /// index is given twice, every reader sees a consistent prefix of the final chain and tree, every proof
    /// verifies against the final tree, every audit is clean.
    @Test func writersAndReadersAtOnceForAFewSeconds() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        let deadline = Date().addingTimeInterval(6)
        struct Ack: Sendable { let index: Int; let leaf: String; let title: String }
        enum Seen: Sendable {
            case appended(Ack)
            case snapshot([Hash])  // leaf hashes an `entries` reader saw
            case proof(index: Int, size: Int, leaf: Hash, root: Hash, path: [Hash])
            case audit(ok: Bool, entries: Int)
            case failure(String)
        }
        func hash(_ v: JSONValue?) -> Hash? { v?.stringValue.flatMap { Base64.decode($0) }.flatMap { Hash(bytes: $0) } }

        let seen: [Seen] = try await withThrowingTaskGroup(of: [Seen].self) { group in
            for (w, key) in [f.gd, f.hk, f.mo].enumerated() {
                group.addTask {
                    var out: [Seen] = []
                    var k = 0
                    // At least a few rounds each, however late the task starts on a busy machine.
                    while Date() < deadline || k < 3 {
                        let title = "writer \(w) append \(k)"
                        k += 1
                        let p = try sb.noticePayload("w\(w)-\(k).json", title: title)
                        let r = await (try sb.startNow(["append", "--ledger", ledger, "--key", key.path, "--kind", "notice", "--payload", p, "--json"],
                                                       env: w == 0 ? [:] : noCheckpoint)).wait()
                        guard r.status == 0, let j = try? r.json(), let i = j["index"]?.int, let leaf = j["leafHash"]?.stringValue else {
                            out.append(.failure("append: \(r)")); continue
                        }
                        out.append(.appended(Ack(index: i, leaf: leaf, title: title)))
                    }
                    return out
                }
            }
            group.addTask {
                var out: [Seen] = []
                var rounds = 0
                while Date() < deadline || rounds < 2 {
                    rounds += 1
                    let r = await (try sb.startNow(["entries", "--ledger", ledger, "--json"])).wait()
                    guard r.status == 0, let j = try? r.json(), let n = j["size"]?.int else { out.append(.failure("entries: \(r)")); continue }
                    // A consistent snapshot: indexes 0..<n, prev links and leaf hashes all agree.
                    let leaves = (try? checkChain(j, size: n)) ?? []
                    out.append(.snapshot(leaves))
                }
                return out
            }
            group.addTask {
                var out: [Seen] = []
                var n = 0
                while Date() < deadline || n < 2 {
                    let r = await (try sb.startNow(["prove", "inclusion", "--ledger", ledger, "--index", "\(n % 7)", "--json"])).wait()
                    n += 1
                    guard r.status == 0, let j = try? r.json(), let i = j["leafIndex"]?.int, let size = j["treeSize"]?.int,
                          let leaf = hash(j["leafHash"]), let root = hash(j["root"]) else {
                        // An index beyond the latest checkpoint's size early on is a clean refusal, not a failure.
                        if r.status == 65 && r.stderr.contains("not below the tree size") { continue }
                        out.append(.failure("prove: \(r)")); continue
                    }
                    let path = (j["proof"]?.arrayValue ?? []).compactMap { hash($0) }
                    out.append(.proof(index: i, size: size, leaf: leaf, root: root, path: path))
                }
                return out
            }
            group.addTask {
                var out: [Seen] = []
                var rounds = 0
                while Date() < deadline || rounds < 2 {
                    rounds += 1
                    let r = await (try sb.startNow(["audit", "--ledger", ledger, "--json"])).wait()
                    guard let j = try? r.json() else { out.append(.failure("audit: \(r)")); continue }
                    out.append(.audit(ok: r.status == 0 && j["ok"] == .bool(true), entries: j["entries"]?.int ?? -1))
                }
                return out
            }
            var all: [Seen] = []
            for try await part in group { all += part }
            return all
        }

        var acks: [Ack] = [], snapshots: [[Hash]] = [], audits = 0, proofs = 0
        for s in seen {
            switch s {
            case .appended(let a): acks.append(a)
            case .snapshot(let l): snapshots.append(l)
            case .failure(let m): Issue.record("\(m)")
            default: break
            }
        }
        #expect(acks.count >= 3, "too few appends in the time: \(acks.count)")
        #expect(Set(acks.map(\.index)).count == acks.count, "no index acknowledged twice")
        #expect(acks.map(\.index).sorted() == Array(1..<(acks.count + 1)), "indexes 1…\(acks.count), no gap")

        let final = try await sb.entries(ledger)
        let leaves = try checkChain(final, size: 1 + acks.count)
        try #require(leaves.count == 1 + acks.count)
        let items = final["entries"]?.arrayValue ?? []
        for a in acks {
            guard a.index < leaves.count, a.index < items.count else { Issue.record("entry \(a.index) is missing"); continue }
            #expect(leaves[a.index].hex == a.leaf, "entry \(a.index) is what its append acknowledged")
            #expect(items[a.index]["entry"]?["statement"]?["payload"]?["title"]?.stringValue == a.title)
        }
        for l in snapshots {
            #expect(Array(leaves.prefix(l.count)) == l, "a reader's snapshot of \(l.count) entries is a prefix of the final chain")
        }
        for s in seen {
            switch s {
            case .proof(let i, let size, let leaf, let root, let path):
                proofs += 1
                #expect(size <= leaves.count && i < size && leaf == leaves[i], "proof leaf \(i)")
                #expect(root == MerkleCheck.root(Array(leaves.prefix(size))), "root at \(size) is the final tree's")
                #expect(MerkleCheck.verifyInclusion(leaf: leaf, index: UInt64(i), size: UInt64(size), proof: path, root: root))
            case .audit(let ok, let n):
                audits += 1
                #expect(ok && n >= 1 && n <= leaves.count, "a concurrent audit found a problem (\(n) entries)")
            default: break
            }
        }
        print("writers and readers: \(acks.count) appends, \(snapshots.count) entries reads, \(proofs) proofs, \(audits) audits")
        #expect(!snapshots.isEmpty && proofs > 0 && audits > 0, "each reader ran: \(snapshots.count) entries, \(proofs) proofs, \(audits) audits")
        let audit = try await sb.ok(["audit", "--ledger", ledger, "--json"]).json()
        #expect(audit["ok"] == .bool(true) && audit["entries"]?.int == leaves.count)
        #expect(!FileManager.default.fileExists(atPath: ledger + "-wal"))
    }
}

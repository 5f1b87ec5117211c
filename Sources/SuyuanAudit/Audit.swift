import Dispatch
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// One thing the audit (or `suyuan mirror`) found wrong, located at an entry (or at a checkpoint, with
/// `index` nil).
public struct Finding: Sendable, Equatable, CustomStringConvertible {
    /// The entry index concerned, if the finding is about an entry.
    public let index: UInt64?
    /// What kind of rule failed: `encoding`, `index`, `chain`, `signature`, `unauthorized`, `time`,
    /// `duplicate`, `stored-leaf-hash`, `stored-node`, `checkpoint-signature`, `checkpoint-root`,
    /// `checkpoint-beyond-end`, `trusted-checkpoint`, `genesis`, `recorded-at`, `index-term`,
    /// `index-version`; the mirror adds `trust`,
    /// `rollback` and `consistency` (`Specs/mirror.md`).
    public let kind: String
    /// What the rule expected.
    public let expected: String
    /// What was found instead.
    public let found: String

    public init(index: UInt64?, kind: String, expected: String, found: String) {
        self.index = index; self.kind = kind; self.expected = expected; self.found = found
    }

    public var description: String {
        "\(index.map { "entry \($0)" } ?? "ledger"): \(kind): expected \(expected), found \(found)"
    }

    /// As JSON: `{"index","kind","expected","found"}`.
    public var json: JSONValue {
        .object(["index": index.map { .number(Double($0)) } ?? .null, "kind": .string(kind),
                 "expected": .string(expected), "found": .string(found)])
    }
}

/// The outcome of an audit.
public struct AuditReport: Sendable {
    /// True when nothing was found.
    public var ok: Bool { findings.isEmpty }
    /// The ledger's origin (from its genesis), if readable.
    public var origin: String?
    /// Entries checked.
    public var entries: UInt64 = 0
    /// The first entry where integrity breaks, if any.
    public var firstBadIndex: UInt64? { findings.compactMap(\.index).min() }
    /// Everything found, in order of discovery (capped; see `findingsTruncated`).
    public var findings: [Finding] = []
    /// How many findings were dropped beyond the cap.
    public var findingsTruncated = 0
    /// The Merkle root recomputed from the entries.
    public var root: Hash = RFC6962.emptyRoot
    /// Stored checkpoints checked against the recomputed tree.
    public var checkpointsChecked = 0
    /// Trusted (externally saved) checkpoints checked.
    public var trustedCheckpointsChecked = 0
    /// Wall-clock seconds.
    public var seconds: Double = 0

    /// As JSON: `{"ok","origin","entries","firstBadIndex","findings",…}`.
    public var json: JSONValue {
        .object([
            "ok": .bool(ok), "origin": origin.map { .string($0) } ?? .null,
            "entries": .number(Double(entries)),
            "firstBadIndex": firstBadIndex.map { .number(Double($0)) } ?? .null,
            "findings": .array(findings.map(\.json)),
            "findingsTruncated": .number(Double(findingsTruncated)),
            "root": .string(root.hex), "checkpointsChecked": .number(Double(checkpointsChecked)),
            "trustedCheckpointsChecked": .number(Double(trustedCheckpointsChecked)),
            "seconds": .number((seconds * 1000).rounded() / 1000),
        ])
    }
}

/// Reads a whole ledger independently of its indexes and checks everything a regulator relies on:
/// canonical encoding, the index sequence, the hash chain, every signature and authorisation, time
/// rules, duplicates, the stored leaf hashes and Merkle nodes, and every stored or trusted checkpoint
/// against the recomputed tree. Memory stays bounded: entries stream through in chunks.
public struct Auditor: Sendable {
    /// The statement kinds and who may sign them.
    public var rules: RuleBook = .core
    /// The statement time window.
    public var timeWindow: TimeWindow = .standard
    /// If set, the operator key the auditor trusts (else the one genesis names).
    public var trustedOperator: VerifierKey?
    /// Checkpoint notes the auditor saved earlier.
    public var trustedCheckpoints: [[UInt8]] = []
    /// Entries read and verified per step.
    public var chunkSize = 8192
    /// The most findings kept in the report.
    public var maxFindings = 1000
    /// Called after each chunk with (entries done, total).
    public var progress: (@Sendable (UInt64, UInt64) -> Void)?
    /// The store's term index version when it is newer than `rules` know: its terms are not checked.
    private var newerIndexVersion: Int?

    public init() {}

    /// Audits `store` and returns the report; throws only for I/O errors. The term index is checked
    /// against the terms of the version that wrote it (`Specs/storage.md`).
    public func run(_ store: any LedgerStore) throws -> AuditReport {
        var version = try store.termIndexVersion()
        while true {
            var auditor = self
            auditor.rules = rules.derivingTerms(ofVersion: version)
            // An index a newer version wrote holds terms these rules cannot derive: say so once,
            // instead of reporting every such term as tampering.
            auditor.newerIndexVersion = version > rules.termIndexVersion ? version : nil
            let report = try auditor.audit(store)
            // An append that upgraded the index while this audit read it would show as index-term
            // findings: audit again against the version it now records (it only ever rises).
            let now = try store.termIndexVersion()
            if now == version { return report }
            version = now
        }
    }

    private func audit(_ store: any LedgerStore) throws -> AuditReport {
        let started = DispatchTime.now().uptimeNanoseconds
        var report = AuditReport()
        let size = try store.tail().size
        let storedCheckpoints = try store.checkpoints()
        var state = State(auditor: self, expectedEntries: size)
        // The sizes whose roots the checkpoints will need, read (unverified) before streaming.
        state.wantedSizes = Set(storedCheckpoints.map(\.size))
        for note in trustedCheckpoints + storedCheckpoints.map(\.note) {
            if let n = try? Note.parse(note), let cp = try? Checkpoint.parse(body: n.text) { state.wantedSizes.insert(cp.size) }
        }
        var position: UInt64 = 0
        var next: UInt64 = 0  // the stored index to read from: not `position`, which a gap would make re-read
        func read() throws -> [StoredEntry] {
            let chunk = try store.entries(from: next, count: chunkSize)
            if let last = chunk.last { next = last.index + 1 }
            return chunk
        }
        let signers = SignerKeyCache()
        // A pipeline: while the cores parse and verify chunk k+1, this thread runs the order-dependent
        // checks of chunk k, then reads chunk k+2's rows; the cores never wait for a read.
        let rules = self.rules
        var parsed = Parallel.map(try read()) { CheckedEntry($0, signers: signers, rules: rules) }
        var upcoming = try read()
        while !parsed.isEmpty {
            let box = ParsedBox()
            let group = DispatchGroup()
            let chunk = upcoming
            DispatchQueue.global().async(group: group) { box.value = Parallel.map(chunk) { CheckedEntry($0, signers: signers, rules: rules) } }
            for p in parsed {
                state.check(p, at: position, store: store)
                position += 1
            }
            parsed = []
            try state.checkStoredNodes(store)
            try state.checkTerms(store, upTo: position)
            progress?(position, Swift.max(size, position))
            upcoming = chunk.isEmpty ? [] : try read()
            group.wait()
            parsed = box.value
        }
        if position == 0 { state.add(Finding(index: nil, kind: "genesis", expected: "entry 0 (genesis)", found: "an empty ledger")) }
        if let v = newerIndexVersion {
            state.add(Finding(index: nil, kind: "index-version", expected: "a term index of version \(rules.termIndexVersion) or earlier",
                              found: "version \(v), written by a newer version of Suyuan: its index terms were not checked; audit with that version or a later one"))
        }
        try state.checkTermsPastEnd(store)
        // Derived rows missing for subtrees the entries read complete (readers then hash them from the
        // leaves), or stored for subtrees past the store's end (written by other means, and a trap for
        // the next append, which would build on them or fail to write its own). The end is read with
        // the rows, so an append landing meanwhile is not one.
        for problem in try store.derivedRowProblems(entries: state.frontier.size) {
            state.add(Finding(index: nil, kind: "stored-node", expected: "a stored row for each complete subtree and none past the last entry", found: problem))
        }
        if !state.suspects.isEmpty { try findDuplicates(store, &state) }
        report.entries = position
        report.root = state.frontier.root
        report.origin = state.replay.genesis?.origin
        state.checkCheckpoints(storedCheckpoints, trusted: trustedCheckpoints, report: &report)
        report.findings = state.findings
        report.findingsTruncated = state.dropped
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return report
    }

    /// Second pass, only when the first saw possible repeats: locates every statement that appears
    /// twice (the Bloom filter keeps the first pass's memory bounded; this pass keeps it exact).
    private func findDuplicates(_ store: any LedgerStore, _ state: inout State) throws {
        var firstSeen: [Hash: UInt64] = [:]
        var position: UInt64 = 0, next: UInt64 = 0
        while true {
            let chunk = try store.entries(from: next, count: chunkSize)
            guard let last = chunk.last else { break }
            next = last.index + 1
            for s in chunk {
                defer { position += 1 }
                guard let e = try? Entry(parsing: s.bytes), state.suspects.contains(BloomFilter.Key(e.signed.canonical)) else { continue }
                if let earlier = firstSeen[e.signed.statementHash] {
                    state.add(Finding(index: position, kind: "duplicate", expected: "a statement not already in the ledger",
                                      found: "the same statement as entry \(earlier)"))
                } else {
                    firstSeen[e.signed.statementHash] = position
                }
            }
        }
    }

    /// Hands a parsed chunk from the background to the auditing thread (guarded by the DispatchGroup wait).
    final class ParsedBox: @unchecked Sendable {
        var value: [CheckedEntry] = []
    }

    /// Everything carried from one entry to the next.
    struct State {
        let auditor: Auditor
        var findings: [Finding] = []
        var dropped = 0
        /// The ordered checks of each entry, with the genesis and the derived state (the registry).
        var replay: EntryReplay
        var frontier = MerkleFrontier()
        var rootsAtSize: [UInt64: Hash] = [:]
        var wantedSizes: Set<UInt64> = []
        var pendingNodes: [(NodeID, Hash)] = []
        /// Positions whose stored leaf hash is wrong: nodes over them are expected to differ too.
        var badStoredLeaves: [UInt64] = []
        var seen: BloomFilter
        /// Keys the filter may have seen before: the second pass looks for these statements.
        var suspects: Set<BloomFilter.Key> = []
        /// The index terms each entry's statement implies, not yet compared with the stored index.
        var expectedTerms: [(index: UInt64, term: String)] = []
        /// The first index whose stored terms have not been compared yet.
        var termsChecked: UInt64 = 0

        init(auditor: Auditor, expectedEntries: UInt64) {
            self.auditor = auditor
            self.replay = EntryReplay(rules: auditor.rules, timeWindow: auditor.timeWindow, trustedOperator: auditor.trustedOperator)
            self.seen = BloomFilter(expectedCount: expectedEntries)
        }

        mutating func add(_ f: Finding) {
            if findings.count < auditor.maxFindings { findings.append(f) } else { dropped += 1 }
        }

        mutating func check(_ p: CheckedEntry, at position: UInt64, store: any LedgerStore) {
            let s = p.stored
            if s.index != position {
                add(Finding(index: position, kind: "index", expected: "stored index \(position)", found: "stored index \(s.index) (an entry is missing, moved or inserted)"))
            }
            if s.leafHash != p.leafHash {
                add(Finding(index: position, kind: "stored-leaf-hash", expected: p.leafHash.hex, found: s.leafHash.hex))
                if badStoredLeaves.count < auditor.maxFindings { badStoredLeaves.append(position) }
            }
            // The tree is always built from what the bytes hash to, never from stored hashes.
            for (id, h) in frontier.append(leafHash: p.leafHash) where store.storesNode(id, size: .max) { pendingNodes.append((id, h)) }
            if wantedSizes.contains(frontier.size) { rootsAtSize[frontier.size] = frontier.root }
            // The stored index only proposes candidates: each is re-derived, so a tampered index row
            // is reported as an index-term finding and cannot mislead the authorisation check.
            let rules = auditor.rules
            let lookup: (String) throws -> [Entry] = { term in
                try store.entries(withTerm: term).filter { $0.index < position }.compactMap { try? Entry(parsing: $0.bytes) }
                    .filter { rules.terms($0.statement).contains(term) }
            }
            for f in replay.check(p, lookup: lookup) { add(f) }
            guard position > 0, let e = p.entry else { return }
            // Possible repeats are confirmed, and located, by a second pass (`findDuplicates`).
            let key = BloomFilter.Key(e.signed.canonical)
            if seen.insert(key) { suspects.insert(key) }
            for t in Set(p.terms).sorted() { expectedTerms.append((position, t)) }
        }

        /// Compares the stored term index for entries before `end` with the terms their statements imply.
        mutating func checkTerms(_ store: any LedgerStore, upTo end: UInt64) throws {
            guard end > termsChecked, auditor.newerIndexVersion == nil else { return }
            let stored = try store.termRows(in: termsChecked..<end)
            var want: [UInt64: Set<String>] = [:], have: [UInt64: Set<String>] = [:]
            for r in expectedTerms { want[r.index, default: []].insert(r.term) }
            for r in stored { have[r.index, default: []].insert(r.term) }
            for i in Set(want.keys).union(have.keys).sorted() where want[i] != have[i] {
                let w = (want[i] ?? []).sorted().joined(separator: ", "), h = (have[i] ?? []).sorted().joined(separator: ", ")
                add(Finding(index: i, kind: "index-term", expected: w.isEmpty ? "no index terms" : w, found: h.isEmpty ? "no index terms" : h))
            }
            expectedTerms.removeAll(keepingCapacity: true)
            termsChecked = end
        }

        /// Reports index rows for entries that do not exist: past the store's end, read after the rows,
        /// so the rows of an append that landed after the last entry was read (a live ledger) lie below
        /// it and are not reported.
        mutating func checkTermsPastEnd(_ store: any LedgerStore) throws {
            guard auditor.newerIndexVersion == nil else { return }
            let rows = try store.termRows(in: termsChecked..<UInt64(Int64.max))
            let end = try store.tail().size
            var stray: [UInt64: [String]] = [:]
            for r in rows where r.index >= end { stray[r.index, default: []].append(r.term) }
            for (i, terms) in stray.sorted(by: { $0.key < $1.key }) {
                add(Finding(index: i, kind: "index-term", expected: "no index terms", found: terms.sorted().joined(separator: ", ")))
            }
        }

        /// Compares the Merkle nodes the store holds with those recomputed from the entries: those it
        /// keeps in the tree of the entries read so far (`frontier.size`, not the stored end, which a
        /// moved row can make larger). Nodes it keeps only once more entries complete their block wait
        /// for a later call (those of an incomplete last block, for ever: the store recomputes them).
        mutating func checkStoredNodes(_ store: any LedgerStore) throws {
            var ready: [(NodeID, Hash)] = [], waiting: [(NodeID, Hash)] = []
            for n in pendingNodes {
                if store.storesNode(n.0, size: frontier.size) { ready.append(n) } else { waiting.append(n) }
            }
            pendingNodes = waiting
            guard !ready.isEmpty else { return }
            let stored: [Result<Hash, any Error>]
            do { stored = try store.hashes(for: ready.map(\.0)).map { .success($0) } } catch {
                // Some node is missing: look at each one, so one gap does not hide other changes.
                stored = ready.map { n in Result { try store.hashes(for: [n.0])[0] } }
            }
            for ((id, h), r) in zip(ready, stored) {
                let s = try? r.get()
                if s == h { continue }
                let first = id.index << id.level, end = first + (1 << id.level)
                if badStoredLeaves.contains(where: { $0 >= first && $0 < end }) { continue }  // already reported
                // Derived data, not an entry: a ledger-level finding naming the leaves it covers.
                var found = s?.hex ?? "no stored node"
                if case .failure(let e) = r { found += " (\(e))" }
                add(Finding(index: nil, kind: "stored-node",
                            expected: "Merkle node level \(id.level) index \(id.index) (entries \(first)…\(end - 1)) = \(h.hex)",
                            found: found))
            }
        }

        /// Every stored checkpoint and every trusted one must verify with the operator key and match
        /// the recomputed root at its size.
        mutating func checkCheckpoints(_ stored: [(size: UInt64, note: [UInt8])], trusted: [[UInt8]], report: inout AuditReport) {
            let genesis = replay.genesis
            let key = auditor.trustedOperator ?? genesis?.operatorKey
            func check(_ note: [UInt8], storedSize: UInt64?, label: String) -> Bool {
                guard let key else { return false }
                let v: VerifiedCheckpoint
                do { v = try Checkpoint.verify(note, trusting: [key]) } catch {
                    add(Finding(index: nil, kind: label == "trusted" ? "trusted-checkpoint" : "checkpoint-signature",
                                expected: "a checkpoint signed by \(key)", found: "\(error)"))
                    return false
                }
                let cp = v.checkpoint
                if let g = genesis, cp.origin != g.origin {
                    add(Finding(index: nil, kind: "checkpoint-origin", expected: g.origin, found: cp.origin))
                }
                if let s = storedSize, s != cp.size {
                    add(Finding(index: nil, kind: "checkpoint-size", expected: "size \(s) as stored", found: "size \(cp.size) in the note"))
                }
                guard cp.size <= frontier.size else {
                    add(Finding(index: frontier.size, kind: label == "trusted" ? "trusted-checkpoint" : "checkpoint-beyond-end",
                                expected: "at least \(cp.size) entries (a \(label) checkpoint covers them)",
                                found: "\(frontier.size) entries: the ledger was truncated or rolled back"))
                    return true
                }
                let root = cp.size == 0 ? RFC6962.emptyRoot : rootsAtSize[cp.size]
                if root != cp.root {
                    add(Finding(index: cp.size == 0 ? nil : cp.size - 1, kind: label == "trusted" ? "trusted-checkpoint" : "checkpoint-root",
                                expected: "root \(cp.root.hex) at size \(cp.size) (\(label) checkpoint)",
                                found: "root \(root?.hex ?? "?") recomputed from the entries: history differs (fork or rewrite)"))
                }
                return true
            }
            for (size, note) in stored where check(note, storedSize: size, label: "stored") { report.checkpointsChecked += 1 }
            for note in trusted where check(note, storedSize: nil, label: "trusted") { report.trustedCheckpointsChecked += 1 }
        }
    }
}

/// A blocked Bloom filter over statements, about 40 bits per entry with 16 probes, all in one 512-bit
/// block (one cache line, so one memory access per statement): a false "seen" has probability about
/// 10⁻⁶, and only costs a second pass, which compares SHA-256 statement hashes. The block and probes
/// come from one SipHash value of the statement's bytes, keyed at random per process (so nobody can
/// craft statements that collide in it), which costs far less than SHA-256.
struct BloomFilter {
    /// A statement's 64-bit probe hash.
    struct Key: Hashable {
        let value: UInt64

        init(_ statement: [UInt8]) {
            var h = Hasher()
            statement.withUnsafeBytes { h.combine(bytes: $0) }
            value = UInt64(bitPattern: Int64(h.finalize()))
        }
    }

    /// 512-bit blocks, 8 words each.
    private var words: [UInt64]
    private let blockMask: UInt64

    init(expectedCount: UInt64) {
        // At most 2^29 bits (64 MiB): beyond ~13M entries false positives rise, which costs only time.
        var blocks: UInt64 = 128
        while blocks * 512 < expectedCount &* 40 && blocks < 1 << 20 { blocks <<= 1 }
        words = [UInt64](repeating: 0, count: Int(blocks * 8))
        blockMask = blocks - 1
    }

    /// Adds `key`; returns true if it may have been added before.
    mutating func insert(_ key: Key) -> Bool {
        // Low bits pick the block; the 16 probes are 9-bit numbers drawn from a SplitMix64 stream
        // seeded with the key (seven per step), so they are as independent as random bits.
        let base = Int((key.value & blockMask) * 8)
        var state = key.value, bits: UInt64 = 0, left = 0
        var present = true
        for _ in 0..<16 {
            if left == 0 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                bits = z ^ (z >> 31)
                left = 7
            }
            let bit = bits & 511
            bits >>= 9; left -= 1
            let w = base + Int(bit >> 6), m = UInt64(1) << (bit & 63)
            if words[w] & m == 0 { present = false; words[w] |= m }
        }
        return present
    }
}

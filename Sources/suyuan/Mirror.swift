import Dispatch
import Foundation
import SuyuanAudit
import SuyuanClient
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore
import SuyuanTrace

/// What one round of `suyuan mirror` did (`Specs/mirror.md` §5).
struct MirrorReport {
    /// The source's base URL.
    var source: String
    /// The replica's path.
    var ledger: String
    /// Entries in the replica after the round.
    var size: UInt64 = 0
    /// Entries written by this round.
    var appended: UInt64 = 0
    /// The replica's latest checkpoint note after the round.
    var checkpoint: [UInt8]?
    /// What did not verify; empty when the round succeeded.
    var findings: [Finding] = []
    /// When set, the findings were recorded by an earlier round (at this time) and this one refused to mirror.
    var recordedAt: String?
    /// True when the findings show the source's history inconsistent with the replica's (and were recorded).
    var diverged = false
    /// True when the round stopped early on a signal, after committing what it had verified.
    var stopped = false

    var ok: Bool { findings.isEmpty }

    /// `{"source","ledger","size","appended","checkpoint","ok","findings"}`.
    var json: JSONValue {
        .object([
            "source": .string(source), "ledger": .string(ledger), "size": .number(Double(size)),
            "appended": .number(Double(appended)),
            "checkpoint": checkpoint.map { .string(String(decoding: $0, as: UTF8.self)) } ?? .null,
            "ok": .bool(ok), "findings": .array(findings.map(\.json)),
        ])
    }

    /// The report for people: one line when it succeeded, else a headline and each finding.
    var human: String {
        if ok {
            let head = appended > 0 ? "mirrored \(appended) new entr\(appended == 1 ? "y" : "ies") from \(source) into \(ledger)"
                                    : "\(ledger) is up to date with \(source)"
            let cp = (try? checkpoint.map { try Checkpoint.parse(body: Note.parse($0).text) }) ?? nil
            return head + ": \(size) entries" + (stopped ? " (stopped before the source's checkpoint; run again to continue)" : "")
                + (cp.map { ", checkpoint \($0.size) verified (root \($0.root.hex))" } ?? "")
        }
        var out: String
        if let recordedAt {
            out = "MIRROR REFUSED: \(ledger) recorded at \(recordedAt) that its source presented a history inconsistent with it; it mirrors no more."
            out += "\n  Keep it as evidence, and mirror into a new --ledger file to follow the source again (Specs/mirror.md §6)."
        } else {
            out = "MIRROR FAILED: \(source) presented something that does not verify; nothing that failed was written."
        }
        out += "\n  \(ledger): \(size) verified entries" + (appended > 0 ? " (\(appended) written by this run before the failure)" : "")
        if diverged && recordedAt == nil {
            out += "\n  Recorded in \(ledger): later runs refuse to mirror from any source until it is replaced."
        }
        for f in findings {
            out += "\n- \(f.index.map { "entry \($0)" } ?? "ledger"): \(f.kind)\n    expected: \(f.expected)\n    found:    \(f.found)"
        }
        return out
    }
}

/// A batch of entries being fetched and checked (parsed, hashed, signature-verified) on a background thread.
private final class Batch: @unchecked Sendable {
    /// The index after the batch's last entry.
    let end: UInt64
    private var result: Result<[CheckedEntry], any Error>?
    private let done = DispatchGroup()

    init(end: UInt64, _ work: @escaping @Sendable () throws -> [CheckedEntry]) {
        self.end = end
        done.enter()
        DispatchQueue.global().async {
            self.result = Result { try work() }
            self.done.leave()
        }
    }

    /// The checked entries, once ready (`result` is written before `leave` and read after `wait`).
    func wait() throws -> [CheckedEntry] {
        done.wait()
        return try result!.get()
    }
}

/// The entries of the batch being verified, by index term (read by the rules' lookups during the checks).
private final class PendingTerms {
    var entries: [String: [Entry]] = [:]
}

/// One round of `suyuan mirror`: copies a remote ledger into a local replica, verifying the source's
/// checkpoint and its consistency with what was mirrored before, then every entry, before anything is
/// written (`Specs/mirror.md`). Findings are values in the report; only I/O, transport and malformed
/// answers are thrown.
struct Mirror {
    /// Settings kept in the replica.
    enum Setting {
        /// The number of entries this command verified and committed (to tell them from local appends).
        static let size = "mirror.size"
        /// The source of the last round.
        static let source = "mirror.source"
        /// The report of a divergence, as JSON; while present, every round refuses to mirror.
        static let divergence = "mirror.divergence"
    }

    let client: SuyuanClient
    let path: String
    /// `--trust`: the operator key named in genesis must be one of these (empty: trust on first use).
    let trust: [VerifierKey]
    /// Entries verified and committed together.
    let batch: Int
    /// Asked between batches; true stops the round after the last commit.
    let shouldStop: () -> Bool
    /// Told (done, total) after each batch.
    let progress: (UInt64, UInt64) -> Void
    let rules = RuleBook.suyuan
    private let signers = SignerKeyCache()

    init(client: SuyuanClient, path: String, trust: [VerifierKey], batch: Int,
         shouldStop: @escaping () -> Bool = { false }, progress: @escaping (UInt64, UInt64) -> Void = { _, _ in }) {
        self.client = client; self.path = path; self.trust = trust; self.batch = batch
        self.shouldStop = shouldStop; self.progress = progress
    }

    /// The replica as found at the start of a round.
    private struct Replica {
        let store: SQLiteLedgerStore
        let ledger: Ledger
        let tail: LedgerTail
        /// Entries this command committed before (`mirror.size`; the whole ledger when not recorded).
        let mirrored: UInt64
        let latestCheckpointSize: UInt64?
    }

    /// Runs one round.
    func run() throws -> MirrorReport {
        var report = MirrorReport(source: client.baseURL, ledger: path)
        var replica: Replica?
        if FileManager.default.fileExists(atPath: path) {
            let store = try SQLiteLedgerStore(path: path, lockTimeout: LedgerOptions.lockTimeout)
            if let recorded = try store.setting(Setting.divergence) {
                return try refused(recorded, store, report)
            }
            // A file left empty by an interrupted first round is filled like a new one.
            if try store.tail().size > 0 { replica = try open(store) } else { return try firstRound(store, report) }
        } else {
            return try firstRound(nil, report)
        }
        let r = replica!
        report.size = r.tail.size
        report.checkpoint = try r.store.latestCheckpoint()?.note
        let operatorKey = r.ledger.genesis.operatorKey
        if !trust.isEmpty, !trust.contains(where: { $0.publicKey == operatorKey.publicKey }) {
            report.findings = [Finding(index: 0, kind: "trust", expected: "the operator key of \(path)'s genesis among the --trust keys",
                                       found: "operator key \(operatorKey), not given with --trust")]
            return report
        }
        let frontier = try MerkleFrontier(size: r.tail.size, hashes: try r.store.hashes(for: MerkleFrontier.nodeIDs(forSize: r.tail.size)))
        let replay = EntryReplay(rules: rules, genesis: r.ledger.genesis, size: r.tail.size, lastLeafHash: r.tail.lastLeafHash,
                                 lastRecordedAt: r.tail.lastRecordedAt, state: try r.ledger.state())
        return try follow(store: r.store, genesis: r.ledger.genesis, replay: replay, frontier: frontier, mirrored: r.mirrored,
                          latestCheckpointSize: r.latestCheckpointSize, report: report)
    }

    /// Opens an existing replica: its genesis, its latest checkpoint (verified against its own tree) and
    /// how much of it this command wrote.
    private func open(_ store: SQLiteLedgerStore) throws -> Replica {
        let ledger = try Ledger(opening: store, rules: rules)
        let latest = try ledger.latestVerifiedCheckpoint()
        let tail = try store.tail()
        var mirrored = tail.size
        if let text = try store.setting(Setting.size) {
            guard let m = UInt64(text) else { throw CLIError(code: CLIError.data, message: "\(path) has a malformed \(Setting.size) setting \"\(text)\"") }
            guard m <= tail.size else {
                throw CLIError(code: CLIError.data, message: "\(path) has \(tail.size) entries but mirror wrote \(m): the file was truncated; restore it from a backup")
            }
            mirrored = m
        }
        return Replica(store: store, ledger: ledger, tail: tail, mirrored: mirrored, latestCheckpointSize: latest?.checkpoint.size)
    }

    /// The first round into an absent (or empty) replica: entry 0 decides the operator key to trust.
    private func firstRound(_ existing: SQLiteLedgerStore?, _ report: MirrorReport) throws -> MirrorReport {
        var report = report
        guard let first = try client.entries(from: 0, count: 1).first else {
            throw ClientError.malformed(url: client.baseURL + "/api/v1/entries?from=0&count=1", reason: "the source has no entry 0 (genesis)")
        }
        var probe = EntryReplay(rules: rules)
        let findings = probe.check(CheckedEntry(first, signers: signers, rules: rules), lookup: { _ in [] })
        guard findings.isEmpty, let genesis = probe.genesis else {
            report.findings = findings
            return report
        }
        let operatorKey = genesis.operatorKey
        if trust.isEmpty {
            IO.note("trusting operator key \(operatorKey) named in the source's genesis; pass --trust to pin it")
        } else if !trust.contains(where: { $0.publicKey == operatorKey.publicKey }) {
            report.findings = [Finding(index: 0, kind: "trust", expected: "an operator key given with --trust",
                                       found: "operator key \(operatorKey) named in the source's genesis")]
            return report
        }
        return try follow(store: existing, genesis: genesis, replay: EntryReplay(rules: rules, trustedOperator: operatorKey),
                          frontier: MerkleFrontier(), mirrored: 0, latestCheckpointSize: nil, report: report)
    }

    /// A round with the trusted genesis known: the checkpoint, its consistency, then the entries.
    private func follow(store: SQLiteLedgerStore?, genesis: Genesis, replay: EntryReplay, frontier: MerkleFrontier,
                        mirrored: UInt64, latestCheckpointSize: UInt64?, report: MirrorReport) throws -> MirrorReport {
        var report = report
        var store = store
        var replay = replay
        var frontier = frontier
        let operatorKey = genesis.operatorKey
        let note = try client.checkpointNote()
        let cp: Checkpoint
        do { cp = try Checkpoint.verify(note, trusting: [operatorKey]).checkpoint } catch {
            report.findings = [Finding(index: nil, kind: "checkpoint-signature", expected: "the source's checkpoint signed by \(operatorKey)", found: "\(error)")]
            return report
        }
        guard cp.origin == genesis.origin else {
            report.findings = [Finding(index: nil, kind: "checkpoint-origin", expected: genesis.origin, found: cp.origin)]
            return report
        }
        // The source's tree must extend everything mirrored before.
        let size = frontier.size
        if let found = try consistency(cp, size: size, root: frontier.root, mirrored: mirrored, store: store) {
            report.findings = [found]
            return try diverged(report, store)
        }
        if mirrored < size { try store?.setSetting(Setting.size, String(size)) }
        var position = size
        var expectedPrev = replay.lastLeafHash
        // A pipeline: while batch k is checked in order, proved and committed here, batch k+1 is fetched,
        // parsed and signature-checked in the background (the server works on it meanwhile).
        var next = position < cp.size ? prefetch(position, min(position + UInt64(batch), cp.size), cp.size) : nil
        defer { _ = try? next?.wait() }  // no fetch outlives the round
        while let current = next {
            if shouldStop() {
                report.stopped = true
                break
            }
            let checked = try current.wait()
            let end = current.end
            next = end < cp.size ? prefetch(end, min(end + UInt64(batch), cp.size), cp.size) : nil
            // The order-dependent checks; the batch stops at its first bad entry.
            var accepted: [NewEntry] = []
            accepted.reserveCapacity(checked.count)
            let pending = PendingTerms()
            var seen: [Hash: UInt64] = [:]
            let committed = store
            // The rules look up earlier entries by term: those committed, then those verified in this batch.
            let lookup: (String) throws -> [Entry] = { term in
                (try committed.map { try Entry.parseAll(try $0.entries(withTerm: term)) } ?? []) + (pending.entries[term] ?? [])
            }
            for p in checked {
                var findings = replay.check(p, lookup: lookup)
                if findings.isEmpty, let e = p.entry {
                    let h = e.signed.statementHash
                    if let earlier = seen[h] {
                        findings.append(Finding(index: e.index, kind: "duplicate", expected: "a statement not already in the ledger",
                                                found: "the same statement as entry \(earlier)"))
                    }
                    seen[h] = e.index
                    for t in p.terms { pending.entries[t, default: []].append(e) }
                    accepted.append(NewEntry(entry: e, terms: p.terms))
                    _ = frontier.append(leafHash: p.leafHash)
                }
                if !findings.isEmpty {
                    report.findings = findings
                    return try diverged(report, store)
                }
            }
            // Before anything is written: these entries must be a prefix of the checkpoint's tree.
            do { try client.verifyConsistency(of: cp, extending: (end, frontier.root)) } catch let e as HistoryError {
                report.findings = [Finding(index: nil, kind: "checkpoint-root",
                                           expected: "entries \(position)…\(end - 1) in the tree of the source's checkpoint at size \(cp.size) (root \(cp.root.hex))",
                                           found: "the tree of the \(end) entries served (root \(frontier.root.hex)) is not a prefix of it: \(e)")]
                return try diverged(report, store)
            }
            let target = try store ?? create()
            store = target
            if let dup = try commit(accepted, to: target, at: position, prev: expectedPrev) {
                report.findings = [dup]
                return try diverged(report, store)
            }
            try target.setSetting(Setting.size, String(end))
            report.appended += end - position
            report.size = end
            expectedPrev = replay.lastLeafHash
            position = end
            progress(position, cp.size)
        }
        if let target = store {
            if position == cp.size, latestCheckpointSize != cp.size { try target.saveCheckpoint(size: cp.size, note: note) }
            try target.setSetting(Setting.source, client.baseURL)
            report.size = position
            report.checkpoint = try target.latestCheckpoint()?.note
        }
        return report
    }

    /// Checks that the checkpoint's tree extends the replica's, which holds `size` entries with `root`
    /// (`mirrored` of them written by this command); a finding when it does not. Entries beyond
    /// `mirrored` that the source's tree does not hold were appended locally: an error, not a divergence.
    private func consistency(_ cp: Checkpoint, size: UInt64, root: Hash, mirrored: UInt64, store: SQLiteLedgerStore?) throws -> Finding? {
        do {
            try client.verifyConsistency(of: cp, extending: (size, root))
            return nil
        } catch let e as HistoryError {
            if mirrored < size, let store {
                let mirroredRoot = try RFC6962.root(size: mirrored, reader: store)
                if (try? client.verifyConsistency(of: cp, extending: (mirrored, mirroredRoot))) != nil {
                    throw CLIError(code: CLIError.data, message: "entries \(mirrored)…\(size - 1) of \(path) are not in the source's history: they were appended locally, not mirrored; mirror into a new --ledger file")
                }
            }
            switch e {
            case .rollback(let known, let presented):
                return Finding(index: nil, kind: "rollback", expected: "a checkpoint of at least \(known) entries (the replica holds \(known) verified entries)",
                               found: "a checkpoint of \(presented) entries signed by the operator: the source's log was rolled back")
            case .inconsistent(let knownSize, let knownRoot, let newSize, let newRoot, let reason):
                return Finding(index: nil, kind: "consistency",
                               expected: "the source's tree of \(newSize) entries (root \(newRoot.hex)) to extend the replica's \(knownSize) entries (root \(knownRoot.hex))",
                               found: "a history inconsistent with the one mirrored before (a fork or a rewrite): \(reason)")
            }
        }
    }

    /// Starts fetching entries `from..<to` (which the source's checkpoint, of `checkpointSize` entries,
    /// covers) in requests of at most 1000, and checking them on all cores, in the background.
    private func prefetch(_ from: UInt64, _ to: UInt64, _ checkpointSize: UInt64) -> Batch {
        Batch(end: to) { [client, signers, rules] in
            var fetched: [StoredEntry] = []
            fetched.reserveCapacity(Int(to - from))
            var next = from
            while next < to {
                let want = Int(min(to - next, UInt64(SuyuanClient.maxEntriesPerRequest)))
                let page = try client.entries(from: next, count: want)
                guard page.count == want else {
                    throw ClientError.malformed(url: client.baseURL + "/api/v1/entries?from=\(next)&count=\(want)",
                                                reason: "its checkpoint covers \(checkpointSize) entries, but it sent \(page.count) of entries \(next)…\(next + UInt64(want) - 1)")
                }
                fetched += page
                next += UInt64(want)
            }
            return Parallel.map(fetched) { CheckedEntry($0, signers: signers, rules: rules) }
        }
    }

    /// Writes verified entries at `index` in one transaction; a finding (nothing written) when one of
    /// them repeats a statement already in the replica. Throws when the replica changed meanwhile.
    private func commit(_ entries: [NewEntry], to store: SQLiteLedgerStore, at index: UInt64, prev: Hash) throws -> Finding? {
        do {
            _ = try store.append { tx in
                guard tx.tail.size == index, tx.tail.lastLeafHash == prev else {
                    throw CLIError(code: CLIError.busy, message: "\(path) changed while mirroring (another process wrote to it); run mirror again")
                }
                try rules.upgradeTermIndex(tx)
                return entries
            }
            return nil
        } catch let r as StatementAlreadyStored {
            return Finding(index: r.index, kind: "duplicate", expected: "a statement not already in the ledger",
                           found: "the same statement as entry \(r.existing)")
        }
    }

    /// Creates the replica file for the first commit.
    private func create() throws -> SQLiteLedgerStore {
        do {
            return try SQLiteLedgerStore(path: path, create: true, lockTimeout: LedgerOptions.lockTimeout)
        } catch {
            for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) }
            throw error
        }
    }

    /// Records a divergence in the replica (when it exists), so that later rounds refuse to go on.
    private func diverged(_ report: MirrorReport, _ store: SQLiteLedgerStore?) throws -> MirrorReport {
        var report = report
        report.diverged = store != nil
        guard let store else { return report }
        let record: JSONValue = .object([
            "at": .string(systemClock().millisecondString), "source": .string(client.baseURL),
            "findings": .array(report.findings.map(\.json)),
        ])
        try store.setSetting(Setting.divergence, try record.canonicalString())
        report.size = try store.tail().size
        report.checkpoint = try store.latestCheckpoint()?.note
        return report
    }

    /// The report of a round refused because an earlier one recorded a divergence.
    private func refused(_ recorded: String, _ store: SQLiteLedgerStore, _ report: MirrorReport) throws -> MirrorReport {
        var report = report
        let j = try? JSONValue.parse(recorded)
        report.recordedAt = j?["at"]?.stringValue ?? "an unknown time"
        report.diverged = true
        report.findings = (j?["findings"]?.arrayValue ?? []).map {
            Finding(index: $0["index"]?.integerValue.map { UInt64($0) }, kind: $0["kind"]?.stringValue ?? "?",
                    expected: $0["expected"]?.stringValue ?? "?", found: $0["found"]?.stringValue ?? "?")
        }
        if report.findings.isEmpty {
            // A record edited by hand still refuses: it is shown as it is.
            report.findings = [Finding(index: nil, kind: "divergence", expected: "no recorded divergence", found: recorded)]
        }
        report.size = try store.tail().size
        report.checkpoint = try store.latestCheckpoint()?.note
        return report
    }
}

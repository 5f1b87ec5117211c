import Dispatch
import Logging
import Synchronization
import SuyuanFormats
import SuyuanLedger

/// What a submitter gets back once its batch has committed.
struct Committed: Sendable {
    /// The ledger's verdict on this statement.
    let result: Result<Appended, LedgerError>
    /// The checkpoint signed right after the commit (when an operator signer is configured).
    let checkpoint: [UInt8]?
}

/// The single writer: submissions queue up while a commit runs, and the next commit takes all of them
/// (up to `maxBatch`) in one `Ledger.append` transaction — group commit. Commits and checkpoint
/// signing run on one dedicated serial queue, never on an event loop or a Swift concurrency thread.
/// Each submitter is resumed only after the transaction holding its statement has committed.
final class BatchWriter: Sendable {
    private struct Pending {
        let statement: PrecheckedStatement
        let continuation: CheckedContinuation<Committed, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var draining = false
    }

    private let ledger: Ledger
    private let signer: NoteSigner?
    private let checkpoints: CheckpointCache
    private let maxBatch: Int
    private let metrics: ServerMetrics
    private let logger: Logger
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "suyuan.server.writer")

    init(ledger: Ledger, signer: NoteSigner?, checkpoints: CheckpointCache, maxBatch: Int, metrics: ServerMetrics, logger: Logger) {
        self.ledger = ledger
        self.signer = signer
        self.checkpoints = checkpoints
        self.maxBatch = max(1, maxBatch)
        self.metrics = metrics
        self.logger = logger
    }

    /// Queues `statement` and returns once the batch holding it has committed (or was refused).
    /// Throws only when the whole batch failed to commit (a storage error): nothing was appended.
    func submit(_ statement: SignedStatement) async throws -> Committed {
        // The signature and shape are checked here, on the submitter's thread, while the writer
        // commits earlier batches: the writer's serial work is only what needs the ledger's state.
        let checked: PrecheckedStatement
        switch ledger.precheck(statement) {
        case .success(let p): checked = p
        case .failure(let e):
            metrics.recordRefusedBeforeBatch()
            return Committed(result: .failure(e), checkpoint: nil)
        }
        return try await withCheckedThrowingContinuation { c in
            let start = state.withLock { s -> Bool in
                s.pending.append(Pending(statement: checked, continuation: c))
                if s.draining { return false }
                s.draining = true
                return true
            }
            if start { queue.async { self.drain() } }
        }
    }

    /// Appends all of `statements` in one transaction of their own, or none of them (throws the first
    /// refusal, naming its position); on the writer's queue, between group commits.
    func submitAll(_ statements: [SignedStatement]) async throws -> (appended: [Appended], checkpoint: [UInt8]?) {
        try await withCheckedThrowingContinuation { c in
            queue.async {
                c.resume(with: Result {
                    let appended = try self.ledger.appendAll(statements)
                    self.metrics.recordBatch(statements: statements.count, appended: appended.count)
                    return (appended, self.signCheckpoint())
                })
            }
        }
    }

    /// Signs a checkpoint over what was just committed, when an operator signer is configured.
    private func signCheckpoint() -> [UInt8]? {
        guard let signer else { return nil }
        do {
            let cp = try ledger.checkpoint(signer: signer)
            checkpoints.remember(size: cp.size, note: cp.note)
            return cp.note
        } catch {
            // The entries are committed; only the checkpoint is missing. Say so, answer anyway.
            logger.error("no checkpoint signed after a commit: \(error)")
            return nil
        }
    }

    private func drain() {
        while true {
            let batch = state.withLock { s -> [Pending] in
                let n = min(s.pending.count, maxBatch)
                if n == 0 { s.draining = false; return [] }
                let b = Array(s.pending.prefix(n))
                s.pending.removeFirst(n)
                return b
            }
            if batch.isEmpty { return }
            commit(batch)
        }
    }

    private func commit(_ batch: [Pending]) {
        let results: [Result<Appended, LedgerError>]
        do {
            results = try ledger.append(prechecked: batch.map(\.statement))
        } catch {
            metrics.recordBatch(statements: batch.count, appended: 0)
            for p in batch { p.continuation.resume(throwing: error) }
            return
        }
        let appended = results.count(where: { if case .success = $0 { true } else { false } })
        metrics.recordBatch(statements: batch.count, appended: appended)
        let note = appended > 0 ? signCheckpoint() : nil
        for (p, r) in zip(batch, results) {
            p.continuation.resume(returning: Committed(result: r, checkpoint: note))
        }
    }
}

/// The latest checkpoint, verified against the operator key and the tree once per size.
final class CheckpointCache: Sendable {
    private let ledger: Ledger
    private let cached = Mutex<(size: UInt64, note: [UInt8])?>(nil)

    init(ledger: Ledger) { self.ledger = ledger }

    /// Records a checkpoint this process just signed (so it is not verified again).
    func remember(size: UInt64, note: [UInt8]) {
        cached.withLock { c in if size >= (c?.size ?? 0) { c = (size, note) } }
    }

    /// The newest stored checkpoint; blocking (reads the store).
    func latest() throws -> (size: UInt64, note: [UInt8])? {
        guard let stored = try ledger.store.latestCheckpoint() else { return nil }
        if let c = cached.withLock({ $0 }), c.size == stored.size { return c }
        guard let v = try ledger.latestVerifiedCheckpoint() else { return nil }
        let fresh = (size: v.checkpoint.size, note: Array(v.note.encoded.utf8))
        remember(size: fresh.size, note: fresh.note)
        return fresh
    }
}

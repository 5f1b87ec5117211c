import Dispatch
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanMerkle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A source of the current time, injected so tests can decide "now".
public typealias Clock = @Sendable () -> Timestamp

/// The system's real-time clock.
public let systemClock: Clock = {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Timestamp(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
}

/// The result of appending one statement.
public struct Appended: Sendable, Equatable {
    /// Its index in the ledger.
    public let index: UInt64
    /// Its entry's RFC 6962 leaf hash.
    public let leafHash: Hash
}

/// An append-only ledger over a store: checks every statement (signature, kind, signer, time,
/// duplicates) and appends it as a hash-chained entry, committed before it is acknowledged.
public final class Ledger: Sendable {
    /// Where entries live.
    public let store: any LedgerStore
    /// Entry 0's content.
    public let genesis: Genesis
    /// The statement kinds accepted.
    public let rules: RuleBook
    /// How far a statement's time may be from the recording time.
    public let timeWindow: TimeWindow
    private let clock: Clock
    private let signerKeys = SignerKeyCache()
    /// The rule book's derived state as of `size` entries (advanced only after a commit).
    private let stateCache = Mutex<(size: UInt64, state: (any LedgerState)?)>((0, nil))

    /// Opens an existing ledger: reads and checks entry 0.
    public init(opening store: any LedgerStore, rules: RuleBook = .core, timeWindow: TimeWindow = .standard, clock: @escaping Clock = systemClock) throws {
        guard let first = try store.entry(at: 0) else {
            throw LedgerError.state("the ledger is empty; create it with `suyuan init`")
        }
        let e0 = try Entry(parsing: first.bytes)
        guard e0.statement.kind == Genesis.kind else { throw LedgerError.corrupt("entry 0 is not a genesis statement") }
        self.genesis = try Genesis(payload: e0.statement.payload)
        self.store = store
        self.rules = rules
        self.timeWindow = timeWindow
        self.clock = clock
    }

    /// Creates a ledger in an empty store by appending the operator-signed genesis statement.
    public static func create(
        in store: any LedgerStore, genesis: SignedStatement, rules: RuleBook = .core,
        timeWindow: TimeWindow = .standard, clock: @escaping Clock = systemClock
    ) throws -> Ledger {
        guard genesis.statement.kind == Genesis.kind else { throw LedgerError.malformed("the first statement must be of kind genesis") }
        try genesis.verifySignature()
        let rule = try rules.rule(for: Genesis.kind)
        try rule.validate(genesis.statement)
        _ = try store.append { tx in
            guard tx.tail.size == 0 else { throw LedgerError.state("this ledger already has \(tx.tail.size) entries; init only works on a new ledger") }
            let now = clock()
            try timeWindow.check(genesis.statement.time, recordedAt: now)
            try rule.authorize(genesis.statement, signer: try genesis.statement.signerKey(),
                               context: AppendContext(genesis: nil, index: 0, recordedAt: now))
            try rules.upgradeTermIndex(tx)
            return [NewEntry(entry: Entry(index: 0, prev: .zero, recordedAt: now, signed: genesis))]
        }
        return try Ledger(opening: store, rules: rules, timeWindow: timeWindow, clock: clock)
    }

    /// Appends a batch; each statement is accepted or rejected on its own. Accepted ones are committed
    /// in one transaction, in the order given, before this returns.
    public func append(_ batch: [SignedStatement]) throws -> [Result<Appended, LedgerError>] {
        try appendBatch(batch, atomic: false)
    }

    /// Appends all of `batch` or, if any statement is refused, none of it (throws the first refusal,
    /// naming its position).
    public func appendAll(_ batch: [SignedStatement]) throws -> [Appended] {
        try appendBatch(batch, atomic: true).map { try $0.get() }
    }

    /// The stateless checks of `statement` (signature, kind, payload shape), which need no ledger
    /// state: a caller with statements arriving one by one (the server) runs them as they arrive, on
    /// any thread, and appends the checked statements later in one batch.
    public func precheck(_ statement: SignedStatement) -> Result<PrecheckedStatement, LedgerError> {
        do throws(LedgerError) {
            let key = try signerKeys.key(of: statement.statement)
            try rules.rule(for: statement.statement.kind).validate(statement.statement)
            try statement.verifySignature(by: key)
            return .success(PrecheckedStatement(signed: statement, key: key))
        } catch { return .failure(error) }
    }

    /// Appends statements `precheck` passed; each is accepted or rejected on its own, as by `append`.
    public func append(prechecked batch: [PrecheckedStatement]) throws -> [Result<Appended, LedgerError>] {
        try appendBatch(batch.map(\.signed), atomic: false, prechecked: batch.map { .success($0.key) })
    }

    private func appendBatch(_ batch: [SignedStatement], atomic: Bool,
                             prechecked known: [Result<PublicKey, LedgerError>]? = nil) throws -> [Result<Appended, LedgerError>] {
        if batch.isEmpty { return [] }
        // The stateless checks (signature, kind, payload shape) run on every core, part by part, ahead
        // of the writing: the store writes one part's entries while the cores check the next part.
        let checks = known == nil ? Parallel.Ahead(batch, parts: Self.parts(of: batch.count)) { [self] in precheck($0).map(\.key) } : nil
        defer { checks?.stop() }
        let parts = checks?.parts ?? [batch.indices]
        var results = [Result<Appended, LedgerError>?](repeating: nil, count: batch.count)
        var committedState: (size: UInt64, state: (any LedgerState)?)?
        // Carried from part to part of one build.
        var now = Timestamp(nanoseconds: 0), nowText = ""
        var next: UInt64 = 0, prev = Hash.zero
        var seen: [Hash: UInt64] = [:]
        var state: (any LedgerState)?
        let stateTerm = self.rules.stateType?.term
        /// The entries of part `p` of the batch, following those of the parts before, at the
        /// transaction's tail. With `lookUp`, each statement is first looked up in the ledger and
        /// refused as a duplicate if there; without, the store refuses the whole append
        /// (`StatementAlreadyStored`) when one is.
        func build(_ tx: any AppendTransaction, lookUp: Bool, part p: Int) throws -> [NewEntry] {
            if p == 0 {
                now = Swift.max(self.clock(), tx.tail.lastRecordedAt ?? Timestamp(nanoseconds: 0)).truncatedToMilliseconds
                nowText = now.millisecondString
                (next, prev) = (tx.tail.size, tx.tail.lastLeafHash)
                seen = Dictionary(minimumCapacity: batch.count)
                try self.rules.upgradeTermIndex(tx)
                state = try self.currentState(tx)
            }
            let range = parts[p], keys = known.map { Array($0[range]) } ?? checks!.part(p)
            if atomic, let k = keys.firstIndex(where: { $0.failure != nil }) { throw Ledger.positioned(keys[k].failure!, range.lowerBound + k, batch.count) }
            var out: [NewEntry] = []
            out.reserveCapacity(range.count)
            let lookup: (String) throws -> [Entry] = { term in try Entry.parseAll(try tx.entries(withTerm: term, from: 0)) }
            for i in range {
                let s = batch[i]
                do throws(LedgerError) {
                    let key = try keys[i - range.lowerBound].get()
                    let statement = s.statement
                    try self.timeWindow.check(statement.time, recordedAt: now)
                    let h = s.statementHash
                    if let j = seen[h] { throw .duplicate(index: j) }
                    if lookUp {
                        let existing: UInt64?
                        do { existing = try tx.index(of: s) } catch { throw .state("storage error: \(error)") }
                        if let j = existing { throw .duplicate(index: j) }
                    }
                    try self.rules.rule(for: statement.kind).authorize(
                        statement, signer: key,
                        context: AppendContext(genesis: self.genesis, index: next, recordedAt: now, state: state, lookup: lookup))
                    let terms = self.rules.terms(statement)
                    let e = NewEntry(entry: Entry(index: next, prev: prev, recordedAt: now, recordedAtText: nowText, signed: s), terms: terms)
                    if let t = stateTerm, terms.contains(t) { state?.apply(e.entry) }
                    out.append(e)
                    seen[h] = next
                    results[i] = .success(Appended(index: next, leafHash: e.leafHash))
                    prev = e.leafHash
                    next += 1
                } catch {
                    if atomic { throw Ledger.positioned(error, i, batch.count) }
                    results[i] = .failure(error)
                }
            }
            if p == parts.count - 1 { committedState = (next, state) }
            return out
        }
        let stored: [StoredEntry]
        do {
            // A repeated statement is rare: the store's unique index of statements finds it while
            // writing, and only then is the batch built again, looking up each statement, so that
            // just the repeated ones are refused.
            stored = try store.append(parts: parts.count) { tx, p in try build(tx, lookUp: false, part: p) }
        } catch is StatementAlreadyStored {
            stored = try store.append(parts: parts.count) { tx, p in try build(tx, lookUp: true, part: p) }
        }
        // Committed: the cached state may now advance.
        if let c = committedState { stateCache.withLock { if $0.size <= c.size { $0 = c } } }
        precondition(stored.count == results.count(where: { if case .success = $0 { true } else { false } }))
        return results.map { $0! }
    }

    /// How many statements of a batch are checked together while the part before is written: enough
    /// for every core to share them, and a batch of thousands in a handful of parts.
    public static let statementsPerPart = 256

    /// The parts a batch of `count` statements is checked and written in: about `statementsPerPart`
    /// each, with the last of them cut in halves three times (…, L/2, L/4, L/8, L/8). Once the last
    /// part is checked the cores wait for its writing and the commit, so it is kept small; each part
    /// still takes the cores longer to check than the writer takes to write the part before it.
    public static func parts(of count: Int) -> [Range<Int>] {
        guard count > statementsPerPart else { return [0..<Swift.max(count, 0)] }
        let n = count / statementsPerPart
        var bounds = (0..<n).map { p in (p * count / n)..<((p + 1) * count / n) }
        var last = bounds.removeLast()
        for _ in 0..<3 {
            let mid = last.upperBound - last.count / 2
            bounds.append(last.lowerBound..<mid)
            last = mid..<last.upperBound
        }
        bounds.append(last)
        return bounds
    }

    /// The derived state as of the transaction's tail: the cached state, caught up with any entries
    /// other writers (threads or processes) committed since.
    private func currentState(_ tx: any AppendTransaction) throws -> (any LedgerState)? {
        guard let type = rules.stateType else { return nil }
        var (size, state) = stateCache.withLock { $0 }
        if state == nil || size > tx.tail.size { (size, state) = (0, type.init(genesis: genesis)) }
        if size < tx.tail.size {
            state!.apply(all: try Entry.parseAll(try tx.entries(withTerm: type.term, from: size).filter { $0.index < tx.tail.size }))
        }
        return state
    }

    /// The derived state (e.g. the registry) as of the current end of the ledger: the cached state,
    /// caught up with the entries committed since (by this or any other process), so a long-lived
    /// reader replays each entry once.
    public func state() throws -> (any LedgerState)? {
        guard let type = rules.stateType else { return nil }
        let size = try store.tail().size
        var (cached, state) = stateCache.withLock { $0 }
        if state == nil || cached > size { (cached, state) = (0, type.init(genesis: genesis)) }
        guard cached < size else { return state }
        // Every entry below `size` is committed, and committed entries never change. Parsed on all
        // cores, applied in order.
        let entries = try Entry.parseAll(try store.entries(withTerm: type.term, from: cached).filter { $0.index < size })
        state!.apply(all: entries)
        Parallel.releaseInBackground(entries)
        let caughtUp = (size: size, state: state)
        stateCache.withLock { if $0.size <= size { $0 = caughtUp } }
        return state
    }

    private static func positioned(_ e: LedgerError, _ i: Int, _ n: Int) -> LedgerError {
        guard n > 1 else { return e }
        switch e {
        case .malformed(let s): return .malformed("statement \(i + 1) of \(n): \(s)")
        case .badSignature(let s): return .badSignature("statement \(i + 1) of \(n): \(s)")
        case .unauthorized(let s): return .unauthorized("statement \(i + 1) of \(n): \(s)")
        case .timeOutOfWindow(let s): return .timeOutOfWindow("statement \(i + 1) of \(n): \(s)")
        default: return e
        }
    }

    // MARK: Reading

    /// The number of entries.
    public func size() throws -> UInt64 { try store.tail().size }

    /// The Merkle root over the first `size` entries.
    public func root(size: UInt64) throws -> Hash { try store.root(size: size) }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    public func inclusionProof(index: UInt64, size: UInt64) throws -> [Hash] {
        try RFC6962.inclusionProof(index: index, size: size, reader: store)
    }

    /// The consistency proof from the tree of `old` entries to that of `new`.
    public func consistencyProof(from old: UInt64, to new: UInt64) throws -> [Hash] {
        try RFC6962.consistencyProof(from: old, to: new, reader: store)
    }

    // MARK: Checkpoints

    /// Signs a checkpoint over the current tree if it grew since the last one (or none exists), stores
    /// it, and returns the latest checkpoint note.
    @discardableResult
    public func checkpoint(signer: NoteSigner) throws -> (note: [UInt8], size: UInt64, isNew: Bool) {
        guard signer.verifierKey.publicKey == genesis.operatorKey.publicKey else {
            throw LedgerError.unauthorized("checkpoints must be signed by the operator key named in genesis (\(genesis.operatorKey)); this key is \(signer.verifierKey)")
        }
        let head = try store.head()
        if let last = head.checkpointSize, last >= head.size, let stored = try store.latestCheckpoint(), stored.size >= head.size {
            return (stored.note, stored.size, false)
        }
        let size = head.size
        let cp = try Checkpoint(origin: genesis.origin, size: size, root: try root(size: size))
        let note = Array(try cp.sign(with: signer).encoded.utf8)
        try store.saveCheckpoint(size: size, note: note)
        return (note, size, true)
    }

    /// Brings the store's term index up to the rule book's version (`Specs/storage.md`) if it is older,
    /// in a write transaction of its own (appends do it in theirs).
    public func upgradeTermIndex() throws {
        guard try store.termIndexVersion() < rules.termIndexVersion else { return }
        _ = try store.append { tx in try self.rules.upgradeTermIndex(tx); return [] }
    }

    /// The latest stored checkpoint, verified with the operator key and against the stored tree.
    public func latestVerifiedCheckpoint() throws -> VerifiedCheckpoint? {
        guard let (size, note) = try store.latestCheckpoint() else { return nil }
        let v = try Checkpoint.verify(note, trusting: [genesis.operatorKey])
        guard v.checkpoint.size == size, v.checkpoint.origin == genesis.origin else {
            throw LedgerError.corrupt("stored checkpoint for size \(size) says origin \(v.checkpoint.origin) size \(v.checkpoint.size)")
        }
        let root = try self.root(size: size)
        guard root == v.checkpoint.root else {
            throw LedgerError.corrupt("stored checkpoint at size \(size) has root \(v.checkpoint.root.hex) but the tree's root is \(root.hex)")
        }
        return v
    }
}

/// A signed statement whose stateless checks passed (`Ledger.precheck`), with its signer's key.
public struct PrecheckedStatement: Sendable {
    public let signed: SignedStatement
    let key: PublicKey
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { return e }; return nil }
}

import SuyuanCrypto
import SuyuanFormats
import SuyuanMerkle

/// An entry as stored: its index, canonical bytes and leaf hash.
public struct StoredEntry: Sendable, Equatable {
    /// Position in the ledger.
    public let index: UInt64
    /// The canonical entry bytes.
    public let bytes: [UInt8]
    /// The stored leaf hash (a store must keep it equal to `RFC6962.leafHash(bytes)`).
    public let leafHash: Hash

    public init(index: UInt64, bytes: [UInt8], leafHash: Hash) {
        self.index = index; self.bytes = bytes; self.leafHash = leafHash
    }
}

/// How far the ledger and its checkpoints reach: what a reader checks to know whether anything
/// changed since it last looked (both only ever grow).
public struct LedgerHead: Sendable, Equatable {
    /// Number of entries.
    public let size: UInt64
    /// The size of the newest stored checkpoint (nil when none is stored).
    public let checkpointSize: UInt64?

    public init(size: UInt64, checkpointSize: UInt64?) { self.size = size; self.checkpointSize = checkpointSize }
}

/// The end of the ledger as seen inside a write transaction.
public struct LedgerTail: Sendable, Equatable {
    /// Number of entries.
    public let size: UInt64
    /// Leaf hash of the last entry (`Hash.zero` when empty).
    public let lastLeafHash: Hash
    /// `recordedAt` of the last entry (nil when empty).
    public let lastRecordedAt: Timestamp?

    public init(size: UInt64, lastLeafHash: Hash, lastRecordedAt: Timestamp?) {
        self.size = size; self.lastLeafHash = lastLeafHash; self.lastRecordedAt = lastRecordedAt
    }
}

/// An entry ready to be written, with its leaf hash and the index terms derived from its statement.
public struct NewEntry: Sendable {
    public let entry: Entry
    public let leafHash: Hash
    /// Lookup keys for this entry (e.g. `product:…`, `registry`), derived from the statement alone by
    /// its kind's rule; stores keep them in a rebuildable index (see `Specs/storage.md`).
    public let terms: [String]

    public init(entry: Entry, terms: [String] = []) {
        self.entry = entry
        self.leafHash = entry.leafHash
        self.terms = terms
    }
}

/// Thrown by `LedgerStore.append` when an entry to be written carries the same statement (the same
/// statement bytes) as an entry already stored, or as one written before it in the same append.
/// Nothing of that append is written.
public struct StatementAlreadyStored: Error, Sendable {
    /// The entry that was to be written, and the entry that already holds its statement.
    public let index: UInt64, existing: UInt64

    public init(index: UInt64, existing: UInt64) { self.index = index; self.existing = existing }
}

/// What a store offers the append pipeline while its write transaction is open.
public protocol AppendTransaction {
    /// The current end of the ledger.
    var tail: LedgerTail { get }
    /// The index of an entry carrying exactly this statement (same statement bytes), if any.
    func index(of statement: SignedStatement) throws -> UInt64?
    /// The committed entries indexed under `term` with index ≥ `from`, in ledger order.
    func entries(withTerm term: String, from: UInt64) throws -> [StoredEntry]
    /// The version of the rules that derived the stored term index, as of the transaction's start
    /// (1 when none is recorded; see `Specs/storage.md`).
    var termIndexVersion: Int { get }
    /// Adds index rows for committed entries (rows already there are kept) and records that the index
    /// is now at `version`: written with the append's entries, or not at all.
    func upgradeTermIndex(to version: Int, adding rows: [(index: UInt64, term: String)]) throws
}

/// The setting that records the term index version (`AppendTransaction.termIndexVersion`).
public let termIndexVersionSetting = "term-index-version"

/// The term index version a `term-index-version` setting records: 1 when it records none.
public func termIndexVersion(recorded value: String?) -> Int { value.flatMap { Int($0) } ?? 1 }

/// Storage for one ledger. Implementations: `SQLiteLedgerStore` (the embedded default) and
/// `MemoryLedgerStore` (tests). One conformance suite checks both.
///
/// A store persists entries, their leaf hashes, every complete Merkle subtree hash (so proofs cost
/// O(log n) reads), and signed checkpoints. It never rewrites or removes any of them.
public protocol LedgerStore: HashReader, AnyObject, Sendable {
    /// The current end of the ledger (a fresh read).
    func tail() throws -> LedgerTail
    /// Up to `count` entries starting at `index`, in order.
    func entries(from index: UInt64, count: Int) throws -> [StoredEntry]
    /// Runs `build` inside one write transaction, serialised against every other writer (threads and
    /// processes), persists what it returns — entries numbered from `tail.size` on, in order — with
    /// their Merkle nodes, and commits before returning. If `build` throws, nothing is written. An entry
    /// whose statement is already stored is refused with `StatementAlreadyStored`, writing nothing.
    func append(_ build: (any AppendTransaction) throws -> [NewEntry]) throws -> [StoredEntry]
    /// As `append(_:)`, with the entries built and written in `parts` parts inside the one
    /// transaction: `build(tx, p)` returns the entries of part `p`, numbered on from those of part
    /// `p − 1`. A store may write each part before building the next, so that a `build` waiting on
    /// other threads (signature checks) overlaps the writing of the part before. If any part throws,
    /// nothing is written.
    func append(parts: Int, _ build: (any AppendTransaction, Int) throws -> [NewEntry]) throws -> [StoredEntry]
    /// The newest stored checkpoint note (largest size), if any.
    func latestCheckpoint() throws -> (size: UInt64, note: [UInt8])?
    /// Every stored checkpoint in increasing size.
    func checkpoints() throws -> [(size: UInt64, note: [UInt8])]
    /// Stores a signed checkpoint note for `size` (kept if one for that size already exists).
    func saveCheckpoint(size: UInt64, note: [UInt8]) throws
    /// The indexes of the entries indexed under `term`, ascending.
    func indexes(withTerm term: String) throws -> [UInt64]
    /// The entries indexed under `term` with index ≥ `from`, in ledger order (a default reads them one
    /// by one).
    func entries(withTerm term: String, from: UInt64) throws -> [StoredEntry]
    /// Every (index, term) row of the term index for entries in `range`, ordered by index then term.
    func termRows(in range: Range<UInt64>) throws -> [(index: UInt64, term: String)]
    /// A small configuration value (e.g. the operator key file path), or nil.
    func setting(_ key: String) throws -> String?
    /// Sets a configuration value.
    func setSetting(_ key: String, _ value: String) throws
    /// The number of entries and the size of the newest checkpoint, read together (a default reads
    /// `tail()` then `latestCheckpoint()`); meant to be cheap enough to call on every request.
    func head() throws -> LedgerHead
    /// The Merkle root over the first `size` entries (a default computes it from stored nodes).
    func root(size: UInt64) throws -> Hash
    /// Whether the store keeps node `id` of the tree of `size` leaves apart from the entries' leaf
    /// hashes; the others it recomputes from the leaf hashes when read, so an audit has nothing
    /// stored to compare for them.
    func storesNode(_ id: NodeID, size: UInt64) -> Bool
    /// Derived rows that are missing for subtrees the first `read` entries complete, or stored for
    /// subtrees that reach past the last entry (read in one snapshot with the rows), each described for
    /// an audit finding: none in a sound store, where a subtree's rows are written by the append that
    /// completes it.
    func derivedRowProblems(entries read: UInt64) throws -> [String]
}

extension LedgerStore {
    /// Every node above the leaves.
    public func storesNode(_ id: NodeID, size: UInt64) -> Bool { id.level >= 1 }

    /// None: nodes are kept only as appends complete them.
    public func derivedRowProblems(entries read: UInt64) throws -> [String] { [] }

    public func root(size: UInt64) throws -> Hash { try RFC6962.root(size: size, reader: self) }

    public func head() throws -> LedgerHead {
        LedgerHead(size: try tail().size, checkpointSize: try latestCheckpoint()?.size)
    }

    /// The version of the rules that derived the stored term index (1 when none is recorded).
    public func termIndexVersion() throws -> Int { SuyuanLedger.termIndexVersion(recorded: try setting(termIndexVersionSetting)) }

    /// The entry at `index`, or nil beyond the end.
    public func entry(at index: UInt64) throws -> StoredEntry? { try entries(from: index, count: 1).first }

    /// The ledger's size and its entries `from`… (at most `count`), all below that size. Entries below
    /// a size never change, so the two stay one snapshot however many appends land between the reads.
    public func sizeAndEntries(from: UInt64, count: Int) throws -> (size: UInt64, entries: [StoredEntry]) {
        let size = try tail().size
        return (size, try entries(from: from, count: from < size ? Int(min(UInt64(max(count, 0)), size - from)) : 0))
    }

    public func entries(withTerm term: String, from: UInt64) throws -> [StoredEntry] {
        try indexes(withTerm: term).filter { $0 >= from }.compactMap { try entry(at: $0) }
    }

    /// The entries indexed under `term`, in ledger order.
    public func entries(withTerm term: String) throws -> [StoredEntry] { try entries(withTerm: term, from: 0) }

    /// Builds every part, then writes them together: for stores whose writing is too cheap to overlap.
    public func append(parts: Int, _ build: (any AppendTransaction, Int) throws -> [NewEntry]) throws -> [StoredEntry] {
        try append { tx in try (0..<parts).flatMap { try build(tx, $0) } }
    }
}

import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanMerkle

/// A ledger store in memory, for tests and tools. Thread-safe; not persistent.
public final class MemoryLedgerStore: LedgerStore {
    private struct State {
        var entries: [StoredEntry] = []
        var nodes: [NodeID: Hash] = [:]
        var frontier = MerkleFrontier()
        var statements: [Hash: UInt64] = [:]
        var checkpoints: [UInt64: [UInt8]] = [:]
        var settings: [String: String] = [:]
        var terms: [String: [UInt64]] = [:]
        var lastRecordedAt: Timestamp?
    }

    private let state = Mutex(State())

    public init() {}

    public func tail() throws -> LedgerTail {
        state.withLock { s in
            LedgerTail(size: UInt64(s.entries.count), lastLeafHash: s.entries.last?.leafHash ?? .zero, lastRecordedAt: s.lastRecordedAt)
        }
    }

    public func entries(from index: UInt64, count: Int) throws -> [StoredEntry] {
        state.withLock { s in
            guard index < UInt64(s.entries.count), count > 0 else { return [] }
            let end = Swift.min(s.entries.count, Int(index) + count)
            return Array(s.entries[Int(index)..<end])
        }
    }

    public func hashes(for ids: [NodeID]) throws -> [Hash] {
        try state.withLock { s in
            try ids.map { id in
                guard let h = s.nodes[id] else { throw LedgerError.corrupt("missing Merkle node level \(id.level) index \(id.index)") }
                return h
            }
        }
    }

    private final class Tx: AppendTransaction {
        let tail: LedgerTail
        let state: State
        /// What `upgradeTermIndex` asked for, applied only if the append succeeds.
        var upgrade: (version: Int, rows: [(index: UInt64, term: String)])?

        init(tail: LedgerTail, state: State) { self.tail = tail; self.state = state }

        func index(of statement: SignedStatement) throws -> UInt64? { state.statements[statement.statementHash] }
        func entries(withTerm term: String, from: UInt64) throws -> [StoredEntry] {
            (state.terms[term] ?? []).filter { $0 >= from }.map { state.entries[Int($0)] }
        }
        var termIndexVersion: Int { SuyuanLedger.termIndexVersion(recorded: state.settings[termIndexVersionSetting]) }
        func upgradeTermIndex(to version: Int, adding rows: [(index: UInt64, term: String)]) throws {
            upgrade = (version, (upgrade?.rows ?? []) + rows)
        }
    }

    public func indexes(withTerm term: String) throws -> [UInt64] { state.withLock { $0.terms[term] ?? [] } }

    public func termRows(in range: Range<UInt64>) throws -> [(index: UInt64, term: String)] {
        state.withLock { s in
            s.terms.flatMap { t, ixs in ixs.filter(range.contains).map { (index: $0, term: t) } }
                .sorted { ($0.index, $0.term) < ($1.index, $1.term) }
        }
    }

    public func append(_ build: (any AppendTransaction) throws -> [NewEntry]) throws -> [StoredEntry] {
        try state.withLock { s in
            let tail = LedgerTail(size: UInt64(s.entries.count), lastLeafHash: s.entries.last?.leafHash ?? .zero, lastRecordedAt: s.lastRecordedAt)
            let tx = Tx(tail: tail, state: s)
            let new = try build(tx)
            var copy = s
            if let (version, rows) = tx.upgrade {
                for r in rows where !(copy.terms[r.term] ?? []).contains(r.index) {
                    copy.terms[r.term, default: []].append(r.index)
                    copy.terms[r.term]!.sort()
                }
                copy.settings[termIndexVersionSetting] = String(version)
            }
            var out: [StoredEntry] = []
            for (k, n) in new.enumerated() {
                let index = tail.size + UInt64(k)
                guard n.entry.index == index else { throw LedgerError.state("append built entry \(n.entry.index) where \(index) was expected") }
                if let j = copy.statements[n.entry.signed.statementHash] { throw StatementAlreadyStored(index: index, existing: j) }
                let stored = StoredEntry(index: index, bytes: n.entry.bytes, leafHash: n.leafHash)
                copy.entries.append(stored)
                for (id, h) in copy.frontier.append(leafHash: n.leafHash) { copy.nodes[id] = h }
                copy.statements[n.entry.signed.statementHash] = index
                for t in Set(n.terms) { copy.terms[t, default: []].append(index) }
                copy.lastRecordedAt = n.entry.recordedAt
                out.append(stored)
            }
            s = copy
            return out
        }
    }

    public func latestCheckpoint() throws -> (size: UInt64, note: [UInt8])? {
        state.withLock { s in s.checkpoints.max { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    public func checkpoints() throws -> [(size: UInt64, note: [UInt8])] {
        state.withLock { s in s.checkpoints.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    public func saveCheckpoint(size: UInt64, note: [UInt8]) throws {
        state.withLock { s in if s.checkpoints[size] == nil { s.checkpoints[size] = note } }
    }

    public func setting(_ key: String) throws -> String? { state.withLock { $0.settings[key] } }

    public func setSetting(_ key: String, _ value: String) throws { state.withLock { $0.settings[key] = value } }
}

import SuyuanCrypto
import SuyuanFormats

/// What the ledger knows when it decides whether one statement may be appended at a given index.
public struct AppendContext {
    /// The ledger's genesis (nil only while appending entry 0).
    public let genesis: Genesis?
    /// The index the statement would get.
    public let index: UInt64
    /// The time the entry would be recorded.
    public let recordedAt: Timestamp
    /// The rule book's derived state (e.g. the registry) folded over every entry before `index`.
    public let state: (any LedgerState)?
    /// The entries before `index` indexed under a term, in ledger order.
    public let lookup: (String) throws -> [Entry]

    /// The context for appending at `index` at `recordedAt` to a ledger with `genesis`.
    public init(genesis: Genesis?, index: UInt64, recordedAt: Timestamp, state: (any LedgerState)? = nil,
                lookup: @escaping (String) throws -> [Entry] = { _ in [] }) {
        self.genesis = genesis; self.index = index; self.recordedAt = recordedAt; self.state = state; self.lookup = lookup
    }
}

/// State that authorisation depends on, derived by folding the entries indexed under `term` in
/// ledger order (the accreditation registry is one). It is rebuilt from the ledger alone.
public protocol LedgerState: Sendable {
    /// The index term of the entries this state is folded from.
    static var term: String { get }
    /// The state of a ledger holding only its genesis.
    init(genesis: Genesis)
    /// Folds in one accepted entry carrying `term`.
    mutating func apply(_ entry: Entry)
    /// Folds in accepted entries carrying `term`, in order (a state may do the order-free part of the
    /// work, such as parsing payloads, on all cores first).
    mutating func apply(all entries: [Entry])
}

extension LedgerState {
    public mutating func apply(all entries: [Entry]) {
        for e in entries { apply(e) }
    }
}

/// The rule for one statement kind: how its payload must look and who may sign it.
public protocol StatementRule: Sendable {
    /// The statement kind this rule governs.
    var kind: String { get }
    /// Checks the payload's shape. Pure: runs in parallel, before the write transaction.
    func validate(_ statement: Statement) throws(LedgerError)
    /// Decides whether `signer` may append this statement now. Runs inside the write transaction,
    /// only for a statement `validate` accepted (so it need not repeat `validate`'s checks).
    func authorize(_ statement: Statement, signer: PublicKey, context: AppendContext) throws(LedgerError)
    /// The index terms of an accepted statement (lookup keys such as `product:…`), asked only of
    /// statements `validate` accepted. Pure.
    func terms(_ statement: Statement) -> [String]
    /// The index terms as the rules of term index version `indexVersion` derived them: a ledger whose
    /// index an older version wrote is read and audited by those until it is upgraded (default: `terms`).
    func terms(_ statement: Statement, indexVersion: Int) -> [String]
}

extension StatementRule {
    public func terms(_ statement: Statement) -> [String] { [] }
    public func terms(_ statement: Statement, indexVersion: Int) -> [String] { terms(statement) }
}

/// The statement kinds a ledger accepts, by kind name.
public struct RuleBook: Sendable {
    private let rules: [String: any StatementRule]
    /// The derived state the rules authorise against, if any.
    public let stateType: (any LedgerState.Type)?
    /// The version of the term index these rules derive (`Specs/storage.md`): raised when a kind's
    /// terms change after ledgers were written with the earlier ones.
    public let termIndexVersion: Int
    /// The terms whose entries may derive more terms than at version 1: what an upgrade re-derives.
    public let rederivedTerms: [String]

    /// A rule book from rules with distinct kinds (a later rule for the same kind replaces an earlier one).
    public init(_ rules: [any StatementRule], state: (any LedgerState.Type)? = nil, termIndexVersion: Int = 1, rederivedTerms: [String] = []) {
        var m: [String: any StatementRule] = [:]
        for r in rules { m[r.kind] = r }
        self.rules = m
        self.stateType = state
        self.termIndexVersion = termIndexVersion
        self.rederivedTerms = rederivedTerms
    }

    /// The rules of the ledger core: `genesis` and `notice`.
    public static let core = RuleBook([GenesisRule(), NoticeRule()])

    /// Adds rules (for higher layers: events, registry, attestations), the state they depend on, and
    /// the term index version they derive with the terms an upgrade to it re-derives.
    public func adding(_ more: [any StatementRule], state: (any LedgerState.Type)? = nil,
                       termIndexVersion: Int? = nil, rederivedTerms: [String] = []) -> RuleBook {
        RuleBook(Array(rules.values) + more, state: state ?? stateType, termIndexVersion: termIndexVersion ?? self.termIndexVersion,
                 rederivedTerms: self.rederivedTerms + rederivedTerms)
    }

    /// These rules deriving the index terms of `version` (when older than theirs): how a ledger whose
    /// index that version wrote is audited, and how tests write such a ledger.
    public func derivingTerms(ofVersion version: Int) -> RuleBook {
        guard version < termIndexVersion else { return self }
        return RuleBook(Array(rules.values), state: stateType, termIndexVersion: Swift.max(1, version), rederivedTerms: rederivedTerms)
    }

    /// The index terms of a statement under its kind's rule (none for an unknown kind).
    public func terms(_ statement: Statement) -> [String] { rules[statement.kind]?.terms(statement, indexVersion: termIndexVersion) ?? [] }

    /// Inside an append: when the store's term index is older than these rules', adds the terms they
    /// now derive for the committed entries under `rederivedTerms`, and records the new version. Written
    /// with the append or not at all, so a refused append still leaves the store as it was.
    /// A store whose index a newer version wrote is refused: these rules would write entries without
    /// the terms that version's readers rely on.
    public func upgradeTermIndex(_ tx: any AppendTransaction) throws {
        guard tx.termIndexVersion <= termIndexVersion else {
            throw LedgerError.state("this ledger's index was written by a newer version of Suyuan (term index version \(tx.termIndexVersion); "
                                    + "this one writes version \(termIndexVersion)): append with that version or a later one")
        }
        guard tx.termIndexVersion < termIndexVersion else { return }
        var rows: [(index: UInt64, term: String)] = []
        var done = Set<UInt64>()
        for t in rederivedTerms {
            for e in try Entry.parseAll(try tx.entries(withTerm: t, from: 0)) where done.insert(e.index).inserted {
                rows += terms(e.statement).map { (e.index, $0) }
            }
        }
        try tx.upgradeTermIndex(to: termIndexVersion, adding: rows)
    }

    /// The kinds known, sorted.
    public var kinds: [String] { rules.keys.sorted() }

    /// The rule for `kind`.
    public func rule(for kind: String) throws(LedgerError) -> any StatementRule {
        guard let r = rules[kind] else { throw .unknownKind(kind) }
        return r
    }
}

/// Entry 0 only, signed by the operator key it names.
public struct GenesisRule: StatementRule {
    public init() {}
    public var kind: String { Genesis.kind }

    public func validate(_ statement: Statement) throws(LedgerError) {
        let g = try Genesis(payload: statement.payload)
        guard try statement.signerKey() == g.operatorKey.publicKey else {
            throw .unauthorized("the genesis statement must be signed by the operator key it names (\(g.operatorKey))")
        }
    }

    public func authorize(_ statement: Statement, signer: PublicKey, context: AppendContext) throws(LedgerError) {
        guard context.index == 0, context.genesis == nil else {
            throw .unauthorized("a genesis statement can only be entry 0; this ledger already has one")
        }
    }
}

/// A regulator notice: signed by one of the regulator keys named in genesis.
public struct NoticeRule: StatementRule {
    public init() {}
    public var kind: String { Notice.kind }

    public func validate(_ statement: Statement) throws(LedgerError) {
        _ = try Notice(payload: statement.payload)
    }

    public func authorize(_ statement: Statement, signer: PublicKey, context: AppendContext) throws(LedgerError) {
        guard let g = context.genesis else { throw .unauthorized("the first entry must be the genesis statement") }
        guard g.regulatorRegion(of: signer) != nil else {
            throw .unauthorized("a notice must be signed by a regulator key named in genesis (GD, HK or MO); \(statement.signer) is not one")
        }
    }
}

/// How far a statement's own time may be from the time the ledger records it.
public struct TimeWindow: Sendable, Equatable {
    /// How far in the future (relative to recording) a statement may be dated.
    public var maxAhead: Int64
    /// How far in the past a statement may be dated.
    public var maxBehind: Int64

    /// The default: 10 minutes ahead (clock skew), 30 days behind (offline signing).
    public static let standard = TimeWindow(maxAhead: 600, maxBehind: 30 * 86400)
    /// No limits (used when replaying or auditing history under a different policy).
    public static let unlimited = TimeWindow(maxAhead: Int64.max / 4_000_000_000, maxBehind: Int64.max / 4_000_000_000)

    /// Throws when `time` is outside the window around `recordedAt`.
    public func check(_ time: Timestamp, recordedAt: Timestamp) throws(LedgerError) {
        if time > recordedAt.adding(seconds: maxAhead) {
            throw .timeOutOfWindow("dated \(time.millisecondString), more than \(maxAhead) s after the ledger's clock (\(recordedAt.millisecondString)); check the signer's clock")
        }
        if time < recordedAt.adding(seconds: -maxBehind) {
            throw .timeOutOfWindow("dated \(time.millisecondString), more than \(maxBehind / 86400) days before the ledger's clock (\(recordedAt.millisecondString)); sign it again")
        }
    }
}

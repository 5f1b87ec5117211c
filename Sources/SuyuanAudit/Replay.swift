import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// One entry's order-independent work, done in parallel: its bytes parsed strictly (canonical form),
/// their leaf hash computed, its statement's signature checked, its rule's stateless checks run and its
/// index terms derived.
public struct CheckedEntry: Sendable {
    /// The entry as read (from a store or from a remote ledger).
    public let stored: StoredEntry
    /// The parsed entry, nil when the bytes are not a canonical entry.
    public let entry: Entry?
    /// Why the bytes are not a canonical entry.
    public let parseError: String?
    /// SHA-256(0x00 ‖ bytes), computed here, never taken from `stored`.
    public let leafHash: Hash
    /// True when the statement's Ed25519 signature verifies with its `signer`.
    public let signatureOK: Bool
    /// The signer's public key, when the entry parsed.
    public let signerKey: PublicKey?
    /// Why the statement fails its rule's stateless checks (`StatementRule.validate`), if it does; nil
    /// also when its kind has no rule (the replay reports that).
    public let validationError: LedgerError?
    /// The index terms the rules derive from the statement (empty when the entry did not parse).
    public let terms: [String]

    /// Parses, hashes, signature-checks and validates `stored` under `rules` (`signers` caches
    /// decoded signer keys).
    public init(_ stored: StoredEntry, signers: SignerKeyCache, rules: RuleBook) {
        self.stored = stored
        leafHash = RFC6962.leafHash(stored.bytes)
        do {
            let e = try Entry(parsing: stored.bytes)
            let key = try signers.key(of: e.statement)
            entry = e
            signerKey = key
            parseError = nil
            signatureOK = (try? e.signed.verifySignature(by: key)) != nil
            do { try rules.rule(for: e.statement.kind).validate(e.statement); validationError = nil } catch { validationError = error }
            terms = rules.terms(e.statement)
        } catch {
            entry = nil
            signerKey = nil
            parseError = "\(error)"
            signatureOK = false
            validationError = nil
            terms = []
        }
    }
}

/// The order-dependent checks of `Specs/ledger.md` §6 step 2, one entry at a time: the `index` field,
/// the hash chain, `recordedAt` order, the signature (checked beforehand by `CheckedEntry`), the genesis,
/// the time window, and authorisation under the rule book with its derived state (the registry)
/// replayed from the entries accepted before. Shared by the audit and `suyuan mirror`.
///
/// Duplicates and the term index are left to the caller, which knows where earlier statements are.
public struct EntryReplay: Sendable {
    /// The statement kinds and who may sign them.
    public let rules: RuleBook
    /// The statement time window.
    public let timeWindow: TimeWindow
    /// If set, entry 0 must name this operator key.
    public let trustedOperator: VerifierKey?
    /// The number of entries replayed so far: the position of the next one.
    public private(set) var size: UInt64 = 0
    /// The genesis read from entry 0, once it was valid.
    public private(set) var genesis: Genesis?
    /// The leaf hash of the last entry replayed (`Hash.zero` before entry 0).
    public private(set) var lastLeafHash = Hash.zero
    /// `recordedAt` of the last entry that parsed.
    public private(set) var lastRecordedAt: Timestamp?
    /// The rule book's derived state folded from every accepted entry so far.
    public private(set) var state: (any LedgerState)?

    /// A replay from entry 0.
    public init(rules: RuleBook, timeWindow: TimeWindow = .standard, trustedOperator: VerifierKey? = nil) {
        self.rules = rules
        self.timeWindow = timeWindow
        self.trustedOperator = trustedOperator
    }

    /// A replay continuing after `size` entries that were verified before: their genesis, the last
    /// entry's leaf hash and `recordedAt`, and the derived state folded over them.
    public init(rules: RuleBook, timeWindow: TimeWindow = .standard, genesis: Genesis, size: UInt64,
                lastLeafHash: Hash, lastRecordedAt: Timestamp?, state: (any LedgerState)?) {
        self.init(rules: rules, timeWindow: timeWindow, trustedOperator: nil)
        self.genesis = genesis
        self.size = size
        self.lastLeafHash = lastLeafHash
        self.lastRecordedAt = lastRecordedAt
        self.state = state
    }

    /// Checks `p` as entry `size` and advances; returns what is wrong with it (nothing when it is a
    /// valid next entry). `lookup` gives the entries before it indexed under a term, for the rules.
    public mutating func check(_ p: CheckedEntry, lookup: @escaping (String) throws -> [Entry]) -> [Finding] {
        let position = size
        var findings: [Finding] = []
        defer {
            lastLeafHash = p.leafHash
            size += 1
        }
        guard let e = p.entry else {
            return [Finding(index: position, kind: "encoding", expected: "a canonical entry", found: p.parseError ?? "unparseable bytes")]
        }
        if e.index != position {
            findings.append(Finding(index: position, kind: "index", expected: "\"index\":\(position)", found: "\"index\":\(e.index)"))
        }
        if e.prev != lastLeafHash {
            findings.append(Finding(index: position, kind: "chain", expected: "prev \(lastLeafHash.hex)", found: "prev \(e.prev.hex)"))
        }
        if let last = lastRecordedAt, e.recordedAt < last {
            findings.append(Finding(index: position, kind: "recorded-at", expected: "recordedAt ≥ \(last.millisecondString)", found: e.recordedAt.millisecondString))
        }
        lastRecordedAt = e.recordedAt
        if !p.signatureOK {
            findings.append(Finding(index: position, kind: "signature", expected: "a valid Ed25519 signature by \(e.statement.signer)", found: "a signature that does not verify"))
        }
        if position == 0 {
            findings += checkGenesis(e)
            return findings
        }
        do {
            try timeWindow.check(e.statement.time, recordedAt: e.recordedAt)
        } catch {
            findings.append(Finding(index: position, kind: "time", expected: "statement time within the append window of recordedAt", found: "\(error)"))
        }
        do {
            let rule = try rules.rule(for: e.statement.kind)
            if let invalid = p.validationError { throw invalid }
            try rule.authorize(e.statement, signer: p.signerKey!,
                               context: AppendContext(genesis: genesis, index: position, recordedAt: e.recordedAt, state: state, lookup: lookup))
            if p.signatureOK, let t = rules.stateType?.term, p.terms.contains(t) { state?.apply(e) }
        } catch {
            findings.append(Finding(index: position, kind: "unauthorized", expected: "a statement its signer may make", found: "\(error)"))
        }
        return findings
    }

    private mutating func checkGenesis(_ e: Entry) -> [Finding] {
        guard e.statement.kind == Genesis.kind else {
            return [Finding(index: 0, kind: "genesis", expected: "a genesis statement", found: "kind \(e.statement.kind)")]
        }
        do {
            try GenesisRule().validate(e.statement)
            let g = try Genesis(payload: e.statement.payload)
            genesis = g
            state = rules.stateType?.init(genesis: g)
            if let t = trustedOperator, t.publicKey != g.operatorKey.publicKey {
                return [Finding(index: 0, kind: "genesis", expected: "operator key \(t)", found: "operator key \(g.operatorKey)")]
            }
            return []
        } catch {
            return [Finding(index: 0, kind: "genesis", expected: "a valid genesis signed by its operator", found: "\(error)")]
        }
    }
}

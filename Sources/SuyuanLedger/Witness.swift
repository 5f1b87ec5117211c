import SuyuanCrypto
import SuyuanFormats
import SuyuanMerkle

/// Why a witness refused to cosign. Each case reads as a sentence an operator can act on.
public enum WitnessError: Error, Equatable, CustomStringConvertible, Sendable {
    case wrongLog(String)
    case badCheckpoint(String)
    case rollback(cosigned: UInt64, offered: UInt64)
    case fork(size: UInt64)
    case proofRequired(from: UInt64, to: UInt64)
    case proofMismatch(String)
    case inconsistent(String)
    case malformedState(String)

    public var description: String {
        switch self {
        case .wrongLog(let s): return "refused: \(s)"
        case .badCheckpoint(let s): return "refused: the checkpoint does not verify with the log's key: \(s)"
        case .rollback(let c, let o):
            return "refused: this witness already cosigned size \(c); a checkpoint of size \(o) would roll the log back"
        case .fork(let n):
            return "refused: a different root for size \(n) than the one this witness cosigned — the log has forked"
        case .proofRequired(let a, let b):
            return "refused: a consistency proof from size \(a) (last cosigned) to \(b) is required; get one with `suyuan prove consistency --from \(a) --to \(b) --json`"
        case .proofMismatch(let s): return "refused: the consistency proof does not fit: \(s)"
        case .inconsistent(let s): return "refused: the checkpoint is not consistent with what this witness cosigned before: \(s)"
        case .malformedState(let s): return "the witness state file is malformed: \(s)"
        }
    }
}

/// What a witness remembers about one log: its key and the last checkpoint it cosigned (see
/// `Specs/witness.md`). Stored as JSON `{"log","origin","size","root"}`.
public struct WitnessState: Sendable, Equatable {
    /// The log's checkpoint-signing key.
    public let log: VerifierKey
    /// The log's origin line.
    public let origin: String
    /// The size of the last cosigned checkpoint (0 before the first).
    public let size: UInt64
    /// Its root.
    public let root: Hash

    /// A fresh state for a log this witness has not cosigned yet.
    public init(log: VerifierKey, origin: String) {
        self.init(log: log, origin: origin, size: 0, root: RFC6962.emptyRoot)
    }

    init(log: VerifierKey, origin: String, size: UInt64, root: Hash) {
        self.log = log; self.origin = origin; self.size = size; self.root = root
    }

    /// Parses the state file.
    public init(json: JSONValue) throws(WitnessError) {
        guard let o = json.objectValue, Set(o.keys) == ["log", "origin", "size", "root"],
              let logText = o["log"]?.stringValue, let origin = o["origin"]?.stringValue,
              let size = o["size"]?.integerValue, size >= 0,
              let rootText = o["root"]?.stringValue, let rootBytes = Base64.decode(rootText), let root = Hash(bytes: rootBytes)
        else { throw .malformedState("expected {\"log\",\"origin\",\"size\",\"root\"}") }
        guard let log = try? VerifierKey(parsing: logText) else { throw .malformedState("log is not a verifier key") }
        self.init(log: log, origin: origin, size: UInt64(size), root: root)
    }

    /// The state as JSON.
    public var json: JSONValue {
        .object(["log": .string(log.description), "origin": .string(origin), "size": .number(Double(size)), "root": .string(Base64.encode(root.bytes))])
    }

    /// Checks `note` (a checkpoint signed by the log) and, when it is the same as or consistent with
    /// the last cosigned checkpoint, cosigns it: returns the note with this witness's C2SP
    /// tlog-cosignature/v1 line added, and the new state. Nothing changes on refusal.
    public func cosign(
        note bytes: [UInt8], proof: [Hash]?, proofSizes: (UInt64, UInt64)? = nil,
        witnessName: String, key: SecretKey, now: Timestamp
    ) throws(WitnessError) -> (note: Note, state: WitnessState) {
        let v: VerifiedCheckpoint
        do { v = try Checkpoint.verify(bytes, trusting: [log]) } catch { throw .badCheckpoint("\(error)") }
        let cp = v.checkpoint
        guard cp.origin == origin else { throw .wrongLog("the checkpoint is for origin \(cp.origin), this state watches \(origin)") }
        if let (a, b) = proofSizes, a != size || b != cp.size {
            throw .proofMismatch("it proves \(a) → \(b), but the last cosigned size is \(size) and the checkpoint's is \(cp.size)")
        }
        if cp.size < size { throw .rollback(cosigned: size, offered: cp.size) }
        if cp.size == size {
            guard cp.root == root || size == 0 else { throw .fork(size: size) }
        } else if size > 0 {
            guard let proof else { throw .proofRequired(from: size, to: cp.size) }
            do {
                try RFC6962.verifyConsistency(oldSize: size, newSize: cp.size, oldRoot: root, newRoot: cp.root, proof: proof)
            } catch { throw .inconsistent("\(error)") }
        }
        let sig: NoteSignature
        do { sig = try Cosignature.sign(checkpointBody: v.note.text, timestamp: UInt64(now.seconds), name: witnessName, key: key) } catch {
            throw .badCheckpoint("\(error)")
        }
        let cosigned: Note
        do { cosigned = try v.note.adding([sig]) } catch { throw .badCheckpoint("\(error)") }
        return (cosigned, WitnessState(log: log, origin: origin, size: cp.size, root: cp.root))
    }
}

/// A trust policy: the log key and the witnesses whose cosignatures a checkpoint needs (a quorum).
///
/// ```json
/// {"log":"<vkey>","quorum":2,"witnesses":{"GD":"<cosigner vkey>","HK":"<cosigner vkey>","MO":"<cosigner vkey>"}}
/// ```
public struct TrustPolicy: Sendable, Equatable {
    public let log: VerifierKey
    public let quorum: Int
    /// Witness label → cosigner verifier key (algorithm 0x04).
    public let witnesses: [String: VerifierKey]

    public init(log: VerifierKey, quorum: Int, witnesses: [String: VerifierKey]) throws(WitnessError) {
        guard quorum >= 0, quorum <= witnesses.count else {
            throw .malformedState("quorum \(quorum) must be between 0 and the number of witnesses (\(witnesses.count))")
        }
        self.log = log; self.quorum = quorum; self.witnesses = witnesses
    }

    /// Parses a policy file.
    public init(json: JSONValue) throws(WitnessError) {
        guard let o = json.objectValue, let l = o["log"]?.stringValue, let q = o["quorum"]?.integerValue,
              let ws = o["witnesses"]?.objectValue
        else { throw .malformedState("a trust policy is {\"log\",\"quorum\",\"witnesses\":{label: cosigner key}}") }
        guard let log = try? VerifierKey(parsing: l), log.algorithm == .ed25519 else { throw .malformedState("policy log is not an Ed25519 verifier key") }
        var map: [String: VerifierKey] = [:]
        for (label, v) in ws {
            guard let s = v.stringValue, let k = try? VerifierKey(parsing: s), k.algorithm == .cosignatureV1 else {
                throw .malformedState("witness \(label) is not a cosigner verifier key (algorithm 0x04; `suyuan key show` prints it as witnessVkey)")
            }
            map[label] = k
        }
        try self.init(log: log, quorum: Int(q), witnesses: map)
    }

    /// The outcome of checking a checkpoint against this policy.
    public struct Verdict: Sendable {
        public let checkpoint: Checkpoint
        /// Labels of witnesses whose cosignature verified.
        public let cosignedBy: [String]
        /// Labels of policy witnesses with no valid cosignature.
        public let missing: [String]
        public let quorum: Int
        public var satisfied: Bool { cosignedBy.count >= quorum }
    }

    /// Verifies the log's signature and counts valid cosignatures of policy witnesses.
    public func check(_ bytes: [UInt8]) throws -> Verdict {
        let v = try Checkpoint.verify(bytes, trusting: [log])
        guard v.verifiedBy.contains(log) else { throw WitnessError.badCheckpoint("not signed by the log key \(log)") }
        var ok: [String] = []
        for (label, key) in witnesses {
            let valid = v.note.signatures.contains { sig in
                sig.name == key.name && sig.keyID == key.keyID && (Cosignature(from: sig)?.verify(checkpointBody: v.note.text, key: key) ?? false)
            }
            if valid { ok.append(label) }
        }
        return Verdict(checkpoint: v.checkpoint, cosignedBy: ok.sorted(),
                       missing: witnesses.keys.filter { !ok.contains($0) }.sorted(), quorum: quorum)
    }
}

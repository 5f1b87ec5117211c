/// Why the ledger refused something. Every case reads as one sentence a user can act on.
public enum LedgerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The input is not well formed (bad JSON, wrong field types, oversize…).
    case malformed(String)
    /// The statement's signature does not verify against its signer key.
    case badSignature(String)
    /// The signer may not submit this kind of statement.
    case unauthorized(String)
    /// The statement kind is not one this ledger knows.
    case unknownKind(String)
    /// The same statement is already in the ledger at this index.
    case duplicate(index: UInt64)
    /// The statement's time is outside the accepted window.
    case timeOutOfWindow(String)
    /// The ledger is not in a state that allows this (e.g. `init` on a non-empty ledger).
    case state(String)
    /// An entry read back from storage is inconsistent (tampering or corruption).
    case corrupt(String)

    public var description: String {
        switch self {
        case .malformed(let s): return "malformed statement: \(s)"
        case .badSignature(let s): return "signature does not verify: \(s)"
        case .unauthorized(let s): return "not authorised: \(s)"
        case .unknownKind(let k): return "unknown statement kind \"\(k)\"; this ledger does not accept it"
        case .duplicate(let i): return "duplicate: this exact statement is already in the ledger at index \(i)"
        case .timeOutOfWindow(let s): return "statement time out of window: \(s)"
        case .state(let s): return s
        case .corrupt(let s): return "ledger is corrupt: \(s)"
        }
    }

    /// The message without the "malformed statement: " prefix, for input that is not a statement (an
    /// EPCIS document) or a message that nests another under its own prefix; `description` otherwise.
    public var detail: String {
        if case .malformed(let s) = self { return s }
        return description
    }

    /// True for refusals that mean "this failed to verify" (CLI exit 1) rather than malformed input.
    public var isVerificationFailure: Bool {
        switch self {
        case .badSignature, .unauthorized, .corrupt: return true
        default: return false
        }
    }
}

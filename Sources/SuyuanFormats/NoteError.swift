import SuyuanCrypto

/// Errors parsing, signing or verifying signed notes, verifier keys, checkpoints and cosignatures.
///
/// Each description says what is wrong and, where there is something to do, what to do.
public enum NoteError: Error, Equatable, CustomStringConvertible {
    // MARK: Note structure
    /// The note is larger than `Note.maxSize` bytes.
    case tooLarge(bytes: Int)
    /// The note is not valid UTF-8.
    case invalidUTF8
    /// The note contains an ASCII control character other than newline.
    case controlCharacter(byte: UInt8, offset: Int)
    /// There is no blank line followed by signature lines.
    case missingSignatures
    /// The note (its last signature line) does not end in a newline.
    case missingFinalNewline
    /// A signature line is not `— <name> <base64>`.
    case malformedSignatureLine(number: Int, reason: String)
    /// More than `Note.maxSignatures` signature lines.
    case tooManySignatures(count: Int)
    /// The text given to `Note.sign` (or `Note.init`) cannot be a note text.
    case invalidText(reason: String)
    /// `Note.sign` was called without signers.
    case noSigners

    // MARK: Names and keys
    /// A key name is empty or contains whitespace, '+' or a control character.
    case invalidKeyName(name: String, reason: String)
    /// A verifier key string does not have the form `name+hex8+base64`.
    case malformedVerifierKey(reason: String)
    /// The key's type byte is not one we support (0x01 Ed25519, 0x04 cosignature/v1).
    case unknownKeyAlgorithm(UInt8)
    /// The key ID written in a key string is not the one computed from its name and key.
    case keyIDMismatch(name: String, found: String, computed: String)
    /// A `PRIVATE+KEY+…` string is malformed.
    case malformedPrivateKey(reason: String)
    /// Two different trusted keys have the same name and key ID.
    case conflictingTrustedKeys(key: String)
    /// A key ID given to `NoteSignature.init` is not 4 bytes.
    case invalidKeyID(count: Int)

    // MARK: Verification
    /// A signature by a trusted key (same name and key ID) does not verify; the whole note is rejected.
    case invalidSignature(key: String)
    /// No signature is from a trusted key. `signers` lists the `name+keyid` of the signatures present.
    case untrustedNote(signers: [String])
    /// Like `untrustedNote`, for a checkpoint.
    case untrustedCheckpoint(signers: [String])

    // MARK: Checkpoints and cosignatures
    /// The note text is not a valid tlog-checkpoint body.
    case malformedCheckpoint(reason: String)
    /// A cosignature timestamp above 2^63 − 1.
    case invalidTimestamp(UInt64)

    public var description: String {
        switch self {
        case .tooLarge(let n):
            return "signed note is \(n) bytes, over the limit of \(Note.maxSize) bytes (1 MiB); it is not a note this tool produces"
        case .invalidUTF8:
            return "signed note is not valid UTF-8; the file is corrupt or not a signed note"
        case .controlCharacter(let b, let off):
            return "signed note contains control character 0x\(Hex.encode([b])) at byte \(off); only newline (0x0a) is allowed — check the file was not converted (e.g. CRLF line endings)"
        case .missingSignatures:
            return "signed note has no signature block: the text must be followed by a blank line and at least one line `— <key name> <base64 signature>`"
        case .missingFinalNewline:
            return "signed note does not end with a newline after its last signature line; the file is truncated or was edited"
        case .malformedSignatureLine(let n, let why):
            return "signature line \(n) of the signed note is malformed: \(why); expected `— <key name> <base64(key ID ‖ signature)>`"
        case .tooManySignatures(let n):
            return "signed note has \(n) signature lines, over the limit of \(Note.maxSignatures)"
        case .invalidText(let why):
            return "cannot sign this text as a note: \(why)"
        case .noSigners:
            return "a signed note needs at least one signer"
        case .invalidKeyName(let name, let why):
            return "invalid key name \(name.debugDescription): \(why); key names must be non-empty, without spaces, '+' or control characters (e.g. `example.com/ledger`)"
        case .malformedVerifierKey(let why):
            return "malformed verifier key: \(why); expected `<name>+<8 hex digits>+<base64 key>`"
        case .unknownKeyAlgorithm(let b):
            return "verifier key has unsupported type byte 0x\(Hex.encode([b])); only 0x01 (Ed25519) and 0x04 (Ed25519 cosignature/v1) are supported"
        case .keyIDMismatch(let name, let found, let computed):
            return "verifier key for \(name.debugDescription) says key ID \(found) but its name and public key give \(computed); the key string was altered or mistyped — copy it again from its source"
        case .malformedPrivateKey(let why):
            return "malformed private key string: \(why); expected `PRIVATE+KEY+<name>+<8 hex digits>+<base64>`"
        case .conflictingTrustedKeys(let key):
            return "two different trusted keys are both named `\(key)` (same name and key ID); remove one of them from the trusted keys"
        case .invalidKeyID(let n):
            return "a key ID is 4 bytes, not \(n)"
        case .invalidSignature(let key):
            return "signature by trusted key `\(key)` does not verify: the signed text was modified or the signature is forged; the whole note is rejected"
        case .untrustedNote(let signers):
            return "note is not signed by any trusted key (\(NoteError.signerList(signers))); pass the signer's verifier key with --trust if you trust it"
        case .untrustedCheckpoint(let signers):
            if signers.count == 1 {
                return "checkpoint signed by unknown key `\(signers[0])`; pass its verifier key with --trust"
            }
            return "checkpoint is not signed by any trusted key (\(NoteError.signerList(signers))); pass the log's verifier key with --trust"
        case .malformedCheckpoint(let why):
            return "malformed checkpoint: \(why); a checkpoint body is `<origin>\\n<tree size>\\n<base64 root hash>\\n` optionally followed by non-empty extension lines"
        case .invalidTimestamp(let t):
            return "cosignature timestamp \(t) is above 2^63-1; use the current time in seconds since the Unix epoch"
        }
    }

    private static func signerList(_ signers: [String]) -> String {
        signers.isEmpty ? "no signatures" : "signed by " + signers.map { "`\($0)`" }.joined(separator: ", ")
    }
}

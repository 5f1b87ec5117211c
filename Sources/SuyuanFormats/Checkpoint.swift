import SuyuanCrypto

/// A C2SP tlog-checkpoint v1 body: origin, tree size, root hash and optional extension lines.
///
/// Body bytes: `origin "\n" decimal(size) "\n" base64(root) "\n" (extension "\n")*`.
/// See `Specs/checkpoint.md`.
public struct Checkpoint: Sendable, Equatable {
    /// The log's origin line (non-empty).
    public let origin: String
    /// The number of leaves in the tree.
    public let size: UInt64
    /// The RFC 6962 root hash at `size`.
    public let root: Hash
    /// Extension lines, each non-empty, without their newline.
    public let extensions: [String]

    /// Builds a checkpoint; throws `malformedCheckpoint` for an empty origin or extension line, or one
    /// containing a newline or another control character.
    public init(origin: String, size: UInt64, root: Hash, extensions: [String] = []) throws {
        try Checkpoint.checkLine(origin, what: "the origin line")
        for e in extensions { try Checkpoint.checkLine(e, what: "an extension line") }
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
        let n = body.utf8.count
        guard n <= Note.maxSize else { throw NoteError.tooLarge(bytes: n) }
    }

    /// The note text: `origin\nsize\nbase64(root)\n` followed by each extension line and a newline.
    public var body: String {
        var out = "\(origin)\n\(size)\n\(Base64.encode(root.bytes))\n"
        for e in extensions { out += e + "\n" }
        return out
    }

    /// Parses a checkpoint body strictly: the body must end in a newline; the origin must be non-empty;
    /// the size must be ASCII decimal without leading zeros (`0` alone for an empty tree) that fits in
    /// 64 bits; the root must be canonical padded base64 of exactly 32 bytes; extension lines must be
    /// non-empty; no control characters other than the newlines.
    public static func parse(body: String) throws -> Checkpoint {
        let u = Array(body.utf8)
        guard u.last == 0x0a else { throw NoteError.malformedCheckpoint(reason: "the body does not end with a newline") }
        let lines = u.dropLast().split(separator: 0x0a, omittingEmptySubsequences: false)
        guard lines.count >= 3 else {
            throw NoteError.malformedCheckpoint(reason: "the body has \(lines.count) line\(lines.count == 1 ? "" : "s"), at least 3 are required")
        }
        let origin = String(decoding: lines[0], as: UTF8.self)
        try checkLine(origin, what: "the origin line")
        let sizeLine = lines[1]
        guard !sizeLine.isEmpty, sizeLine.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw NoteError.malformedCheckpoint(reason: "the tree size line is not an unsigned decimal number")
        }
        guard sizeLine.count == 1 || sizeLine.first != 0x30 else {
            throw NoteError.malformedCheckpoint(reason: "the tree size has a leading zero")
        }
        guard let size = UInt64(String(decoding: sizeLine, as: UTF8.self)) else {
            throw NoteError.malformedCheckpoint(reason: "the tree size does not fit in 64 bits")
        }
        guard let rootBytes = Base64.decode(utf8: Array(lines[2])) else {
            throw NoteError.malformedCheckpoint(reason: "the root hash line is not canonical padded base64")
        }
        guard let root = Hash(bytes: rootBytes) else {
            throw NoteError.malformedCheckpoint(reason: "the root hash is \(rootBytes.count) bytes, not 32")
        }
        let extensions = lines.dropFirst(3).map { String(decoding: $0, as: UTF8.self) }
        let cp = try Checkpoint(origin: origin, size: size, root: root, extensions: extensions)
        guard cp.body == body else { throw NoteError.malformedCheckpoint(reason: "the body is not in canonical form") }
        return cp
    }

    private static func checkLine(_ line: String, what: String) throws {
        guard !line.isEmpty else { throw NoteError.malformedCheckpoint(reason: "\(what) is empty") }
        for b in line.utf8 where b < 0x20 {
            throw NoteError.malformedCheckpoint(reason: "\(what) contains control character 0x\(Hex.encode([b]))")
        }
    }
}

/// A checkpoint that has been verified against a trusted key: only obtainable through `Checkpoint.verify`.
public struct VerifiedCheckpoint: Sendable {
    /// The parsed body.
    public let checkpoint: Checkpoint
    /// The whole signed note, including signatures that were not verified.
    public let note: Note
    /// The trusted keys whose signatures verified (at least one).
    public let verifiedBy: [VerifierKey]

    fileprivate init(checkpoint: Checkpoint, note: Note, verifiedBy: [VerifierKey]) {
        self.checkpoint = checkpoint
        self.note = note
        self.verifiedBy = verifiedBy
    }
}

extension Checkpoint {
    /// Parses a signed checkpoint note, verifies it against `keys` (see `Note.verify`), then parses its body.
    ///
    /// Throws `untrustedCheckpoint` when no trusted key signed it, `invalidSignature` when a trusted
    /// key's signature fails, or a parse error. Which trusted key signed (the log's own key or a
    /// cosigner) is reported in `verifiedBy`; callers requiring a particular key check it there.
    public static func verify(_ noteBytes: [UInt8], trusting keys: [VerifierKey]) throws -> VerifiedCheckpoint {
        let note = try Note.parse(noteBytes)
        let pairs: [(signature: NoteSignature, key: VerifierKey)]
        do {
            pairs = try note.verifiedPairs(trusting: keys)
        } catch NoteError.untrustedNote(let signers) {
            throw NoteError.untrustedCheckpoint(signers: signers)
        }
        let cp = try Checkpoint.parse(body: note.text)
        return VerifiedCheckpoint(checkpoint: cp, note: note, verifiedBy: pairs.map(\.key))
    }

    /// Signs the body as a note with `signer` (usually named like the origin).
    public func sign(with signer: NoteSigner) throws -> Note {
        try Note.sign(text: body, signers: [signer])
    }
}

/// A C2SP tlog-cosignature v1 Ed25519 cosignature (signature type 0x04).
///
/// Signature line payload: `keyID[4] ‖ timestamp (uint64 big-endian) ‖ Ed25519 signature[64]`, over the
/// message `"cosignature/v1\ntime <timestamp>\n" ‖ checkpoint body`.
public struct Cosignature: Sendable, Equatable {
    /// The cosigner's key name.
    public let name: String
    /// The 4-byte key ID (computed with type byte 0x04).
    public let keyID: [UInt8]
    /// Seconds since the Unix epoch at which the cosigner signed; at most 2^63 − 1.
    public let timestamp: UInt64
    /// The 64-byte Ed25519 signature.
    public let signature: [UInt8]

    /// The message a cosigner signs: `cosignature/v1\ntime <timestamp>\n` followed by the body.
    public static func message(checkpointBody: String, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n\(checkpointBody)".utf8)
    }

    /// Cosigns `checkpointBody` at `timestamp` with `key` named `name`, giving the signature line.
    public static func sign(checkpointBody: String, timestamp: UInt64, name: String, key: SecretKey) throws -> NoteSignature {
        guard timestamp <= UInt64(Int64.max) else { throw NoteError.invalidTimestamp(timestamp) }
        let vkey = try VerifierKey(name: name, publicKey: key.publicKey, algorithm: .cosignatureV1)
        let sig = key.sign(message(checkpointBody: checkpointBody, timestamp: timestamp))
        return NoteSignature(unchecked: name, keyID: vkey.keyID, signature: bigEndian(timestamp) + sig)
    }

    /// Reads a cosignature from a signature line; nil if the payload after the key ID is not
    /// 8 + 64 bytes or the timestamp is above 2^63 − 1.
    public init?(from sig: NoteSignature) {
        guard sig.signature.count == 8 + PublicKey.signatureByteCount else { return nil }
        let t = sig.signature[..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard t <= UInt64(Int64.max) else { return nil }
        self.name = sig.name
        self.keyID = sig.keyID
        self.timestamp = t
        self.signature = Array(sig.signature[8...])
    }

    /// True when `key` is a cosignature/v1 key with this name and key ID and the signature verifies.
    public func verify(checkpointBody: String, key: VerifierKey) -> Bool {
        guard key.algorithm == .cosignatureV1, key.name == name, key.keyID == keyID else { return false }
        return key.publicKey.isValidSignature(signature, for: Cosignature.message(checkpointBody: checkpointBody, timestamp: timestamp))
    }

    private static func bigEndian(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) }
    }
}

import SuyuanCrypto

/// One signature line of a signed note: `— <name> <base64(keyID ‖ signature)>`.
public struct NoteSignature: Hashable, Sendable {
    /// The key name.
    public let name: String
    /// The 4-byte key ID.
    public let keyID: [UInt8]
    /// The signature bytes after the key ID (64 for Ed25519, 8 + 64 for a cosignature/v1).
    public let signature: [UInt8]

    /// Builds a signature line's content. Throws for an invalid key name or a key ID that is not 4 bytes.
    public init(name: String, keyID: [UInt8], signature: [UInt8]) throws {
        try KeyName.validate(name)
        guard keyID.count == 4 else { throw NoteError.invalidKeyID(count: keyID.count) }
        self.init(unchecked: name, keyID: keyID, signature: signature)
    }

    init(unchecked name: String, keyID: [UInt8], signature: [UInt8]) {
        self.name = name
        self.keyID = keyID
        self.signature = signature
    }

    /// The signature line *without* its final newline: `— <name> <base64(keyID ‖ signature)>`.
    public var line: String { "\u{2014} \(name) \(Base64.encode(keyID + signature))" }

    /// The key ID as 8 lowercase hex digits.
    public var keyIDHex: String { Hex.encode(keyID) }

    /// `name+keyIDHex`, identifying the key that made this signature.
    public var shortName: String { "\(name)+\(keyIDHex)" }
}

/// Signs note texts with an Ed25519 key (signature type 0x01).
public struct NoteSigner: Sendable {
    /// The verifier key matching this signer.
    public let verifierKey: VerifierKey
    private let key: SecretKey

    /// A signer named `name`. Throws `NoteError.invalidKeyName` for a bad name.
    public init(name: String, key: SecretKey) throws {
        self.verifierKey = try VerifierKey(name: name, publicKey: key.publicKey, algorithm: .ed25519)
        self.key = key
    }

    /// The key name.
    public var name: String { verifierKey.name }

    /// Signs `text` (Ed25519 over its UTF-8 bytes). The text is not checked here; `Note.sign` checks it.
    public func sign(text: String) -> NoteSignature {
        NoteSignature(unchecked: verifierKey.name, keyID: verifierKey.keyID, signature: key.sign(Array(text.utf8)))
    }
}

extension NoteSigner {
    /// Parses Go's `PRIVATE+KEY+<name>+<hex8>+<base64(0x01 ‖ 32-byte seed)>` signer key string.
    ///
    /// Only used for published test vectors; Suyuan never stores keys this way (see `Specs/keys.md`).
    /// The key ID is checked against the one computed from the derived public key.
    public init(parsingGoPrivateKey text: String) throws {
        let prefix = "PRIVATE+KEY+"
        guard text.hasPrefix(prefix) else {
            throw NoteError.malformedPrivateKey(reason: "it does not start with \(prefix)")
        }
        let (name, keyID, material) = try KeyName.splitKeyString(String(text.dropFirst(prefix.count)), what: "private key")
        var seed = Array(material.dropFirst())
        var copy = material
        defer { secureZero(&seed); secureZero(&copy) }
        guard material.first == KeyAlgorithm.ed25519.rawValue else {
            throw NoteError.malformedPrivateKey(reason: "the type byte is not 0x01 (Ed25519)")
        }
        guard let key = SecretKey(seed: seed) else {
            throw NoteError.malformedPrivateKey(reason: "the Ed25519 seed is \(seed.count) bytes, not 32")
        }
        try self.init(name: name, key: key)
        guard verifierKey.keyID == keyID else {
            throw NoteError.keyIDMismatch(name: name, found: Hex.encode(keyID), computed: verifierKey.keyIDHex)
        }
    }
}

/// A C2SP signed note (signed-note v1): a text followed by a blank line and signature lines.
///
/// Bytes: `text ‖ "\n" ‖ ("— " ‖ name ‖ " " ‖ base64(keyID ‖ sig) ‖ "\n")+`, where `text` is non-empty and
/// ends in a newline. See `Specs/signed-note.md` for the exact rules and our limits.
public struct Note: Sendable, Equatable {
    /// The largest note accepted or produced, in bytes (1 MiB).
    public static let maxSize = 1 << 20
    /// The most signature lines accepted or produced.
    public static let maxSignatures = 100

    /// The signed text, ending in a newline (not including the blank separator line).
    public let text: String
    /// The signatures in the order they appear, verified or not.
    public let signatures: [NoteSignature]

    /// A note from its parts; throws when the text or the resulting note is invalid.
    public init(text: String, signatures: [NoteSignature]) throws {
        try Note.checkText(text)
        guard !signatures.isEmpty else { throw NoteError.noSigners }
        guard signatures.count <= Note.maxSignatures else { throw NoteError.tooManySignatures(count: signatures.count) }
        self.text = text
        self.signatures = signatures
        let size = encoded.utf8.count
        guard size <= Note.maxSize else { throw NoteError.tooLarge(bytes: size) }
    }

    private init(unchecked text: String, signatures: [NoteSignature]) {
        self.text = text
        self.signatures = signatures
    }

    /// The note bytes as text: `text + "\n" + signature lines`, each ending in a newline.
    public var encoded: String {
        var out = text + "\n"
        for s in signatures {
            out += s.line
            out += "\n"
        }
        return out
    }

    /// Signs `text` with every signer, in order.
    public static func sign(text: String, signers: [NoteSigner]) throws -> Note {
        try checkText(text)
        guard !signers.isEmpty else { throw NoteError.noSigners }
        return try Note(text: text, signatures: signers.map { $0.sign(text: text) })
    }

    /// This note with `more` signature lines appended (e.g. cosignatures).
    public func adding(_ more: [NoteSignature]) throws -> Note {
        try Note(text: text, signatures: signatures + more)
    }

    /// Parses a note's structure without verifying any signature.
    ///
    /// Checks: at most `maxSize` bytes; valid UTF-8; no control characters but newline; a blank line
    /// (the last one in the note) separating the text from one or more signature lines; each line is
    /// `— <valid name> <canonical base64 of at least 5 bytes>`; at most `maxSignatures` lines.
    public static func parse(_ bytes: [UInt8]) throws -> Note {
        guard bytes.count <= maxSize else { throw NoteError.tooLarge(bytes: bytes.count) }
        for (i, b) in bytes.enumerated() where b < 0x20 && b != 0x0a {
            throw NoteError.controlCharacter(byte: b, offset: i)
        }
        let whole = String(decoding: bytes, as: UTF8.self)
        guard whole.utf8.elementsEqual(bytes) else { throw NoteError.invalidUTF8 }

        // The text ends at the last "\n\n": text = bytes[..<split+1], signatures = bytes[split+2...].
        var split: Int? = nil
        if bytes.count >= 2 {
            var i = bytes.count - 2
            while i >= 0 {
                if bytes[i] == 0x0a && bytes[i + 1] == 0x0a { split = i; break }
                i -= 1
            }
        }
        guard let split else { throw NoteError.missingSignatures }
        let textBytes = bytes[..<(split + 1)]
        let block = bytes[(split + 2)...]
        guard !block.isEmpty else { throw NoteError.missingSignatures }
        guard block.last == 0x0a else { throw NoteError.missingFinalNewline }

        let lines = block.dropLast().split(separator: 0x0a, omittingEmptySubsequences: false)
        guard lines.count <= maxSignatures else { throw NoteError.tooManySignatures(count: lines.count) }
        var sigs = [NoteSignature]()
        sigs.reserveCapacity(lines.count)
        let dash: [UInt8] = [0xe2, 0x80, 0x94, 0x20]  // "— "
        for (n, line) in lines.enumerated() {
            let number = n + 1
            guard line.starts(with: dash) else {
                throw NoteError.malformedSignatureLine(number: number, reason: "it does not start with an em dash (U+2014) and a space")
            }
            let rest = line.dropFirst(dash.count)
            guard let space = rest.firstIndex(of: 0x20) else {
                throw NoteError.malformedSignatureLine(number: number, reason: "there is no space between the key name and the signature")
            }
            let name = String(decoding: rest[..<space], as: UTF8.self)
            do { try KeyName.validate(name) } catch let e as NoteError {
                throw NoteError.malformedSignatureLine(number: number, reason: e.description)
            }
            guard let payload = Base64.decode(utf8: Array(rest[(space + 1)...])) else {
                throw NoteError.malformedSignatureLine(number: number, reason: "the signature is not canonical padded base64")
            }
            guard payload.count >= 5 else {
                throw NoteError.malformedSignatureLine(number: number, reason: "the signature is \(payload.count) bytes, shorter than a key ID and a signature")
            }
            sigs.append(NoteSignature(unchecked: name, keyID: Array(payload[..<4]), signature: Array(payload[4...])))
        }
        return Note(unchecked: String(decoding: textBytes, as: UTF8.self), signatures: sigs)
    }

    /// Verifies the note against trusted keys and returns the signatures that verified (never empty).
    ///
    /// A signature whose name and key ID both match a trusted key must verify, or the whole note is
    /// rejected (`invalidSignature`). Signatures from other keys are ignored. At least one trusted
    /// signature must verify (`untrustedNote` otherwise). Ed25519 keys (0x01) verify the signature
    /// over the text; cosignature/v1 keys (0x04) verify a timestamped cosignature of the text.
    /// Repeated signatures by the same key are all verified but returned once.
    public func verify(trusting keys: [VerifierKey]) throws -> [NoteSignature] {
        try verifiedPairs(trusting: keys).map(\.signature)
    }

    /// As `verify`, returning each verified signature with the trusted key that verified it.
    public func verifiedPairs(trusting keys: [VerifierKey]) throws -> [(signature: NoteSignature, key: VerifierKey)] {
        var byID = [String: VerifierKey]()
        for k in keys {
            if let other = byID[k.shortName], other != k { throw NoteError.conflictingTrustedKeys(key: k.shortName) }
            byID[k.shortName] = k
        }
        var verified = [(signature: NoteSignature, key: VerifierKey)]()
        var verifiedKeys = Set<VerifierKey>()
        var unknown = [String]()
        let message = Array(text.utf8)
        for sig in signatures {
            guard let key = byID[sig.shortName], key.matches(sig) else {
                if !unknown.contains(sig.shortName) { unknown.append(sig.shortName) }
                continue
            }
            let ok: Bool
            switch key.algorithm {
            case .ed25519:
                ok = key.publicKey.isValidSignature(sig.signature, for: message)
            case .cosignatureV1:
                ok = Cosignature(from: sig)?.verify(checkpointBody: text, key: key) ?? false
            }
            guard ok else { throw NoteError.invalidSignature(key: sig.shortName) }
            if verifiedKeys.insert(key).inserted { verified.append((sig, key)) }
        }
        guard !verified.isEmpty else { throw NoteError.untrustedNote(signers: unknown) }
        return verified
    }

    /// Checks that `text` can be a note text: non-empty, ends in a newline, no control characters
    /// other than newline, and at most `maxSize` bytes.
    static func checkText(_ text: String) throws {
        let u = text.utf8
        guard u.last == 0x0a else {
            throw NoteError.invalidText(reason: u.isEmpty ? "the text is empty" : "the text does not end with a newline")
        }
        guard u.count <= maxSize else { throw NoteError.tooLarge(bytes: u.count) }
        for (i, b) in u.enumerated() where b < 0x20 && b != 0x0a {
            throw NoteError.invalidText(reason: "control character 0x\(Hex.encode([b])) at byte \(i); only newline is allowed")
        }
    }
}

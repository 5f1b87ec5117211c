import SuyuanCrypto

/// Algorithm of a verifier key: the signature type byte of C2SP signed-note.
public enum KeyAlgorithm: UInt8, Sendable {
    /// Ed25519 note signatures over the note text (signed-note v1).
    case ed25519 = 0x01
    /// Timestamped Ed25519 witness cosignatures (tlog-cosignature v1).
    case cosignatureV1 = 0x04
}

/// A note verifier key: a key name, its 4-byte key ID, the algorithm and the Ed25519 public key.
///
/// Its text form (C2SP signed-note "vkey") is `<name>+<hex8 key ID>+<base64(type byte ‖ public key)>`,
/// for example `example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k`.
/// The key ID is always computed, never trusted: `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`.
public struct VerifierKey: Hashable, Sendable, CustomStringConvertible {
    /// The key name (non-empty, no whitespace, no `+`).
    public let name: String
    /// The 4-byte key ID.
    public let keyID: [UInt8]
    /// The signature type.
    public let algorithm: KeyAlgorithm
    /// The Ed25519 public key.
    public let publicKey: PublicKey

    /// Builds a verifier key, computing its key ID. Throws `NoteError.invalidKeyName` for a bad name.
    public init(name: String, publicKey: PublicKey, algorithm: KeyAlgorithm = .ed25519) throws {
        try KeyName.validate(name)
        self.name = name
        self.publicKey = publicKey
        self.algorithm = algorithm
        self.keyID = KeyName.keyID(name: name, algorithm: algorithm.rawValue, publicKey: publicKey.bytes)
    }

    /// Parses the `name+hex8+base64` form strictly.
    ///
    /// Rejects: an invalid name; a key ID that is not exactly 8 lowercase hex digits; base64 that is not
    /// canonical padded standard base64; an unknown type byte; a public key that is not 32 bytes; and a
    /// key ID that does not match the one computed from the name and key.
    public init(parsing text: String) throws {
        let (name, keyID, material) = try KeyName.splitKeyString(text, what: "verifier key")
        guard let first = material.first else {
            throw NoteError.malformedVerifierKey(reason: "the key after the second '+' is empty")
        }
        guard let algorithm = KeyAlgorithm(rawValue: first) else { throw NoteError.unknownKeyAlgorithm(first) }
        guard material.count == 1 + PublicKey.byteCount, let pk = PublicKey(bytes: Array(material.dropFirst())) else {
            throw NoteError.malformedVerifierKey(
                reason: "the key is \(material.count - 1) bytes after the type byte; an Ed25519 key is 32 bytes")
        }
        try self.init(name: name, publicKey: pk, algorithm: algorithm)
        guard self.keyID == keyID else {
            throw NoteError.keyIDMismatch(name: name, found: Hex.encode(keyID), computed: keyIDHex)
        }
    }

    /// The key ID as 8 lowercase hex digits.
    public var keyIDHex: String { Hex.encode(keyID) }

    /// `name+keyIDHex`, how signatures by this key are identified in messages.
    public var shortName: String { "\(name)+\(keyIDHex)" }

    /// The `name+hex8+base64(type ‖ public key)` string.
    public var description: String {
        "\(name)+\(keyIDHex)+\(Base64.encode([algorithm.rawValue] + publicKey.bytes))"
    }

    /// True when `signature` carries this key's name and key ID.
    public func matches(_ signature: NoteSignature) -> Bool {
        signature.name == name && signature.keyID == keyID
    }
}

/// Key-name rules and key-ID computation shared by verifier keys, signers and signature lines.
enum KeyName {
    /// Checks a key name: non-empty, no Unicode whitespace, no `+`, no control characters.
    static func validate(_ name: String) throws {
        guard !name.isEmpty else { throw NoteError.invalidKeyName(name: name, reason: "it is empty") }
        for s in name.unicodeScalars {
            if s == "+" {
                throw NoteError.invalidKeyName(name: name, reason: "it contains '+'")
            }
            if s.properties.isWhitespace {
                throw NoteError.invalidKeyName(name: name, reason: "it contains whitespace (\(scalarName(s)))")
            }
            if s.value < 0x20 {
                throw NoteError.invalidKeyName(name: name, reason: "it contains a control character (\(scalarName(s)))")
            }
        }
    }

    /// `SHA-256(name ‖ 0x0A ‖ algorithm ‖ publicKey)[:4]`.
    static func keyID(name: String, algorithm: UInt8, publicKey: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(parts: [Array(name.utf8), [0x0a, algorithm], publicKey]).bytes.prefix(4))
    }

    static func scalarName(_ s: Unicode.Scalar) -> String {
        let hex = String(s.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Splits `name+hex8+base64` into the name, the 4 key-ID bytes and the decoded key material.
    /// The base64 part may itself contain '+', so only the first two '+' separate fields.
    static func splitKeyString(_ text: String, what: String) throws -> (String, [UInt8], [UInt8]) {
        let u = Array(text.utf8)
        guard let plus1 = u.firstIndex(of: UInt8(ascii: "+")) else {
            throw NoteError.malformedVerifierKey(reason: "expected \(what) of the form name+keyid+key, found no '+'")
        }
        let name = String(decoding: u[..<plus1], as: UTF8.self)
        try validate(name)
        let rest = u[(plus1 + 1)...]
        guard rest.count >= 9, rest[rest.startIndex + 8] == UInt8(ascii: "+") else {
            throw NoteError.malformedVerifierKey(reason: "the key ID after the name must be 8 hex digits followed by '+'")
        }
        let hex = rest[rest.startIndex..<(rest.startIndex + 8)]
        guard hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              let keyID = Hex.decode(String(decoding: hex, as: UTF8.self))
        else {
            throw NoteError.malformedVerifierKey(reason: "the key ID must be 8 lowercase hex digits")
        }
        guard let material = Base64.decode(utf8: Array(rest[(rest.startIndex + 9)...])) else {
            throw NoteError.malformedVerifierKey(reason: "the key after the key ID is not canonical padded base64")
        }
        return (name, keyID, material)
    }
}

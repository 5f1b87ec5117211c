import SuyuanCrypto

/// Errors decoding `did:key` identifiers and multibase keys.
public enum DIDKeyError: Error, Equatable, CustomStringConvertible {
    /// Not a `did:key:z…` string (or `did:key:z…#z…` verification method).
    case notDIDKey(String)
    /// The multibase value does not start with `z` (base58btc).
    case notBase58BTC
    /// A character outside the base58btc alphabet, or a non-canonical encoding.
    case invalidBase58
    /// The multicodec prefix is not the expected one.
    case wrongMulticodec(expected: String)
    /// The key has the wrong length.
    case wrongLength(Int, expected: Int)
    /// The `#fragment` of a verification method is not the key's own multibase form.
    case fragmentMismatch

    public var description: String {
        switch self {
        case .notDIDKey(let s):
            return "\(s.debugDescription) is not a did:key identifier; expected `did:key:z6Mk…` (Ed25519)"
        case .notBase58BTC:
            return "multibase key does not start with `z` (base58btc), the only encoding supported"
        case .invalidBase58:
            return "multibase key is not valid base58btc (a character outside the alphabet, or leading zeros that do not round-trip)"
        case .wrongMulticodec(let e):
            return "key does not have the \(e) multicodec prefix; only Ed25519 keys are supported"
        case .wrongLength(let n, let e):
            return "key is \(n) bytes after the multicodec prefix, expected \(e)"
        case .fragmentMismatch:
            return "the verification method fragment after '#' must repeat the did:key's own key (`did:key:z6Mk…#z6Mk…`)"
        }
    }
}

/// `did:key` for Ed25519 public keys: `did:key:z` + base58btc(0xed 0x01 ‖ 32-byte public key).
public enum DIDKey {
    /// Multicodec `ed25519-pub` (0xed) as an unsigned varint.
    static let ed25519Pub: [UInt8] = [0xed, 0x01]
    /// Multicodec `ed25519-priv` (0x1300) as an unsigned varint.
    static let ed25519Priv: [UInt8] = [0x80, 0x26]
    /// Longest multibase value accepted before decoding (bounds the quadratic base58 cost).
    static let maxMultibaseLength = 128

    /// `did:key:z6Mk…`.
    public static func encode(_ key: PublicKey) -> String { "did:key:" + multibase(key) }

    /// `z6Mk…`: the multibase (base58btc) multicodec form of the key, the part after `did:key:`.
    public static func multibase(_ key: PublicKey) -> String { "z" + Base58BTC.encode(ed25519Pub + key.bytes) }

    /// Decodes `did:key:z6Mk…`, or the verification-method form `did:key:z6Mk…#z6Mk…` whose fragment
    /// must equal the identifier's key.
    public static func decode(_ did: String) throws -> PublicKey {
        let prefix = "did:key:"
        guard did.hasPrefix(prefix) else { throw DIDKeyError.notDIDKey(String(did.prefix(64))) }
        let rest = did.dropFirst(prefix.count)
        let id: Substring
        if let hash = rest.firstIndex(of: "#") {
            id = rest[..<hash]
            guard rest[rest.index(after: hash)...] == id else { throw DIDKeyError.fragmentMismatch }
        } else {
            id = rest
        }
        return try decodeMultibase(String(id))
    }

    /// Decodes the `z6Mk…` multibase form of an Ed25519 public key.
    public static func decodeMultibase(_ s: String) throws -> PublicKey {
        let bytes = try decodeBase58Multibase(s, codec: ed25519Pub, codecName: "ed25519-pub (0xed)", length: 32)
        return PublicKey(bytes: bytes)!
    }

    /// Decodes a `z3u2…` multibase `ed25519-priv` (0x1300) key and returns its 32-byte seed.
    /// Used for published test vectors only; callers should wipe the result with `secureZero`.
    public static func decodeMultibaseSecretKey(_ s: String) throws -> [UInt8] {
        try decodeBase58Multibase(s, codec: ed25519Priv, codecName: "ed25519-priv (0x1300)", length: 32)
    }

    private static func decodeBase58Multibase(_ s: String, codec: [UInt8], codecName: String, length: Int) throws -> [UInt8] {
        guard s.first == "z" else { throw DIDKeyError.notBase58BTC }
        let body = String(s.dropFirst())
        guard body.utf8.count <= maxMultibaseLength, let raw = Base58BTC.decode(body),
              Base58BTC.encode(raw) == body
        else { throw DIDKeyError.invalidBase58 }
        guard raw.starts(with: codec) else { throw DIDKeyError.wrongMulticodec(expected: codecName) }
        let key = Array(raw.dropFirst(codec.count))
        guard key.count == length else { throw DIDKeyError.wrongLength(key.count, expected: length) }
        return key
    }
}

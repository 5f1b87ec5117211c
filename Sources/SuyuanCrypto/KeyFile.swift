import CSodium
import Foundation

/// A passphrase-encrypted Ed25519 secret key file (format `suyuan-key-v1`, see `Specs/keys.md`).
///
/// The 32-byte seed is sealed with libsodium `crypto_secretbox` (XSalsa20-Poly1305) under a key
/// derived from the passphrase with Argon2id (`crypto_pwhash`, algorithm ARGON2ID13).
public struct KeyFile: Codable, Sendable, Equatable {
    /// Always `"suyuan-key-v1"`.
    public var format: String
    /// The key's name, used in verifier keys and signature lines.
    public var name: String
    /// The public key, standard base64 with padding.
    public var publicKey: String
    /// Argon2id parameters.
    public var kdf: KDF
    /// The sealed seed.
    public var cipher: Cipher

    /// Argon2id parameters, stored so they can be raised later without breaking old files.
    public struct KDF: Codable, Sendable, Equatable {
        /// Always `"argon2id13"`.
        public var alg: String
        public var opslimit: UInt64
        public var memlimit: UInt64
        /// 16 random bytes, base64.
        public var salt: String
    }

    /// Sealed seed.
    public struct Cipher: Codable, Sendable, Equatable {
        /// Always `"xsalsa20poly1305"`.
        public var alg: String
        /// 24 random bytes, base64.
        public var nonce: String
        /// `crypto_secretbox_easy` output (16-byte tag ‖ 32-byte ciphertext), base64.
        public var ciphertext: String
    }

    /// The format identifier.
    public static let formatName = "suyuan-key-v1"
    /// The largest key file accepted, in bytes.
    public static let maxFileSize = 4096

    /// Errors reading or opening a key file.
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case malformed(String)
        case wrongPassphrase
        case emptyPassphrase
        case kdfFailed

        public var description: String {
            switch self {
            case .malformed(let why): return "not a Suyuan key file: \(why)"
            case .wrongPassphrase: return "wrong passphrase for this key file (decryption failed)"
            case .emptyPassphrase: return "the passphrase is empty; set SUYUAN_PASSPHRASE or use --passphrase-file with a non-empty passphrase"
            case .kdfFailed: return "key derivation failed (out of memory?)"
            }
        }
    }

    /// Seals `key` under `passphrase`. The default cost is libsodium's "interactive" level.
    public static func seal(
        _ key: SecretKey, name: String, passphrase: [UInt8],
        opslimit: UInt64 = UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE),
        memlimit: UInt64 = UInt64(crypto_pwhash_MEMLIMIT_INTERACTIVE)
    ) throws -> KeyFile {
        guard !passphrase.isEmpty else { throw Error.emptyPassphrase }
        let salt = SecureRandom.bytes(Int(crypto_pwhash_SALTBYTES))
        let nonce = SecureRandom.bytes(Int(crypto_secretbox_NONCEBYTES))
        var boxKey = try derive(passphrase: passphrase, salt: salt, opslimit: opslimit, memlimit: memlimit)
        defer { secureZero(&boxKey) }
        var seed = key.seedBytes()
        defer { secureZero(&seed) }
        var sealed = [UInt8](repeating: 0, count: seed.count + Int(crypto_secretbox_MACBYTES))
        crypto_secretbox_easy(&sealed, seed, UInt64(seed.count), nonce, boxKey)
        return KeyFile(
            format: formatName, name: name,
            publicKey: Data(key.publicKey.bytes).base64EncodedString(),
            kdf: KDF(alg: "argon2id13", opslimit: opslimit, memlimit: memlimit, salt: Data(salt).base64EncodedString()),
            cipher: Cipher(alg: "xsalsa20poly1305", nonce: Data(nonce).base64EncodedString(),
                           ciphertext: Data(sealed).base64EncodedString())
        )
    }

    /// Parses a key file's bytes, checking its structure but not decrypting.
    public static func parse(_ data: [UInt8]) throws -> KeyFile {
        guard data.count <= maxFileSize else { throw Error.malformed("larger than \(maxFileSize) bytes") }
        let file: KeyFile
        do { file = try JSONDecoder().decode(KeyFile.self, from: Data(data)) } catch {
            throw Error.malformed("not the expected JSON object")
        }
        guard file.format == formatName else { throw Error.malformed("format is \"\(file.format)\", expected \"\(formatName)\"") }
        guard file.kdf.alg == "argon2id13" else { throw Error.malformed("unsupported KDF \"\(file.kdf.alg)\"") }
        guard file.cipher.alg == "xsalsa20poly1305" else { throw Error.malformed("unsupported cipher \"\(file.cipher.alg)\"") }
        guard file.publicKeyValue != nil else { throw Error.malformed("publicKey is not a base64 Ed25519 key") }
        guard !file.name.isEmpty else { throw Error.malformed("empty name") }
        return file
    }

    /// The public key, if `publicKey` is well formed.
    public var publicKeyValue: PublicKey? {
        guard let d = Data(base64Encoded: publicKey) else { return nil }
        return PublicKey(bytes: [UInt8](d))
    }

    /// Decrypts the seed with `passphrase` and returns the secret key.
    public func open(passphrase: [UInt8]) throws -> SecretKey {
        guard !passphrase.isEmpty else { throw Error.emptyPassphrase }
        guard let salt = Data(base64Encoded: kdf.salt), salt.count == Int(crypto_pwhash_SALTBYTES),
              let nonce = Data(base64Encoded: cipher.nonce), nonce.count == Int(crypto_secretbox_NONCEBYTES),
              let sealed = Data(base64Encoded: cipher.ciphertext), sealed.count == 32 + Int(crypto_secretbox_MACBYTES)
        else { throw Error.malformed("salt, nonce or ciphertext has the wrong size") }
        // Cap the cost a hostile file can make us pay.
        guard kdf.opslimit >= UInt64(crypto_pwhash_OPSLIMIT_MIN), kdf.opslimit <= UInt64(crypto_pwhash_OPSLIMIT_SENSITIVE),
              kdf.memlimit >= UInt64(crypto_pwhash_MEMLIMIT_MIN), kdf.memlimit <= UInt64(crypto_pwhash_MEMLIMIT_SENSITIVE)
        else { throw Error.malformed("KDF limits out of range") }
        var boxKey = try KeyFile.derive(passphrase: passphrase, salt: [UInt8](salt), opslimit: kdf.opslimit, memlimit: kdf.memlimit)
        defer { secureZero(&boxKey) }
        var seed = [UInt8](repeating: 0, count: 32)
        defer { secureZero(&seed) }
        let sealedBytes = [UInt8](sealed), nonceBytes = [UInt8](nonce)
        guard crypto_secretbox_open_easy(&seed, sealedBytes, UInt64(sealedBytes.count), nonceBytes, boxKey) == 0 else {
            throw Error.wrongPassphrase
        }
        guard let key = SecretKey(seed: seed) else { throw Error.malformed("bad seed") }
        guard key.publicKey == publicKeyValue else { throw Error.malformed("publicKey does not match the sealed secret key") }
        return key
    }

    /// Canonical file bytes: pretty JSON with sorted keys and a final newline.
    public func encoded() -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try! enc.encode(self)) + [0x0a]
    }

    private static func derive(passphrase: [UInt8], salt: [UInt8], opslimit: UInt64, memlimit: UInt64) throws -> [UInt8] {
        Sodium.ensure()
        var key = [UInt8](repeating: 0, count: Int(crypto_secretbox_KEYBYTES))
        let rc = passphrase.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { cp in
                crypto_pwhash(&key, UInt64(key.count), cp.baseAddress!, UInt64(cp.count), salt,
                              opslimit, Int(memlimit), crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard rc == 0 else { throw Error.kdfFailed }
        return key
    }
}

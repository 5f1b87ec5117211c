import CSodium

/// An Ed25519 public key (RFC 8032), 32 bytes.
public struct PublicKey: Hashable, Sendable {
    /// Public key size in bytes.
    public static let byteCount = 32
    /// Signature size in bytes.
    public static let signatureByteCount = 64

    /// The 32 encoded key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes; nil for any other length. The point itself is checked when verifying.
    public init?(bytes: [UInt8]) {
        guard bytes.count == PublicKey.byteCount else { return nil }
        self.bytes = bytes
    }

    /// True when `signature` is a valid Ed25519 signature of `message` by this key.
    ///
    /// The verdict is exactly that of libsodium's `crypto_sign_verify_detached`, which rejects
    /// non-canonical `S`, small-order `R` and `A`, and non-canonical encodings (see `Specs/crypto.md`).
    /// A key that signs often is checked against its precomputed table (§2.2); whatever the table does
    /// not accept is decided by libsodium.
    public func isValidSignature(_ signature: [UInt8], for message: some Collection<UInt8>) -> Bool {
        isValidSignature(signature, for: message, signers: .shared)
    }

    /// As above, with the tables of `signers`.
    func isValidSignature(_ signature: [UInt8], for message: some Collection<UInt8>, signers: RepeatedSigners) -> Bool {
        guard signature.count == PublicKey.signatureByteCount else { return false }
        Sodium.ensure()
        let check: (UnsafeBufferPointer<UInt8>) -> Bool = { m in
            if let table = signers.table(for: self.bytes), table.accepts(signature, message: m) {
                return true
            }
            let ok = crypto_sign_verify_detached(signature, m.baseAddress, UInt64(m.count), self.bytes) == 0
            if ok { signers.noteAccepted(self.bytes) }
            return ok
        }
        if let r = message.withContiguousStorageIfAvailable(check) { return r }
        return Array(message).withUnsafeBufferPointer(check)
    }

    /// libsodium's `crypto_sign_verify_detached` alone, never a table: the reference the tables are
    /// measured against in the benchmarks.
    public func libsodiumAccepts(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == PublicKey.signatureByteCount else { return false }
        Sodium.ensure()
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), bytes) == 0
    }
}

/// An Ed25519 secret key held in libsodium guarded memory and wiped when released.
public final class SecretKey: @unchecked Sendable {
    // Immutable after init; libsodium signing only reads it, so sharing across threads is safe.
    private let secret: UnsafeMutablePointer<UInt8>  // 64 bytes: seed ‖ public key
    /// The matching public key.
    public let publicKey: PublicKey

    /// Derives the key pair from a 32-byte seed (RFC 8032 private key); nil for another length.
    public init?(seed: [UInt8]) {
        guard seed.count == 32 else { return nil }
        Sodium.ensure()
        guard let raw = sodium_malloc(64) else { return nil }
        secret = raw.bindMemory(to: UInt8.self, capacity: 64)
        var pk = [UInt8](repeating: 0, count: 32)
        crypto_sign_seed_keypair(&pk, secret, seed)
        publicKey = PublicKey(bytes: pk)!
    }

    /// Generates a fresh key pair from the system's secure random source.
    public static func generate() -> SecretKey {
        var seed = SecureRandom.bytes(32)
        defer { secureZero(&seed) }
        return SecretKey(seed: seed)!
    }

    deinit { sodium_free(secret) }

    /// The 32-byte seed. Callers must wipe the copy with `secureZero` when done.
    public func seedBytes() -> [UInt8] { Array(UnsafeBufferPointer(start: secret, count: 32)) }

    /// Signs `message` (deterministic Ed25519, RFC 8032).
    public func sign(_ message: some Collection<UInt8>) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: 64)
        let run: (UnsafeBufferPointer<UInt8>) -> Void = { m in
            _ = crypto_sign_detached(&sig, nil, m.baseAddress, UInt64(m.count), self.secret)
        }
        if message.withContiguousStorageIfAvailable(run) == nil { Array(message).withUnsafeBufferPointer(run) }
        return sig
    }
}

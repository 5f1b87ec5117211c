import CEd25519
import CSodium
import Synchronization

/// A precomputed table of multiples of one public key, so that checking its signatures needs no
/// doublings (`Sources/CEd25519`, `Specs/crypto.md` §2.2). About 3× faster than libsodium's check.
final class KeyTable: @unchecked Sendable {
    // Written once by `suyuan_ed25519_table_new`, then only read; freed with the last reference.
    private let table: OpaquePointer
    /// The encoded key A the table is of.
    let key: [UInt8]

    /// A table for `key`; nil when libsodium would refuse the bytes as a public key (non-canonical,
    /// of small order, not a curve point) or memory is short.
    init?(key: [UInt8]) {
        guard key.count == PublicKey.byteCount, let t = suyuan_ed25519_table_new(key) else { return nil }
        table = t
        self.key = key
    }

    deinit { suyuan_ed25519_table_free(table) }

    /// True when `[S]B − [k]A` encodes to `R`, `k = SHA-512(R ‖ A ‖ M) mod L`, with `S` canonical and
    /// `R` not of small order: libsodium's rule for a key it has accepted. False never decides a refusal.
    func accepts(_ signature: UnsafePointer<UInt8>, message: UnsafeBufferPointer<UInt8>) -> Bool {
        guard suyuan_ed25519_scalar_is_canonical(signature + 32) == 1,
              suyuan_ed25519_has_small_order(signature) == 0 else { return false }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 96) { buffer in
            let digest = buffer.baseAddress!, k = digest + 64
            var state = crypto_hash_sha512_state()
            crypto_hash_sha512_init(&state)
            crypto_hash_sha512_update(&state, signature, 32)
            crypto_hash_sha512_update(&state, key, 32)
            crypto_hash_sha512_update(&state, message.baseAddress, UInt64(message.count))
            crypto_hash_sha512_final(&state, digest)
            crypto_core_ed25519_scalar_reduce(k, digest)
            return equationHolds(signature, k: k)
        }
    }

    /// True when `[S]B − [k]A` encodes to `R`; requires `S` and `k` below L.
    func equationHolds(_ signature: UnsafePointer<UInt8>, k: UnsafePointer<UInt8>) -> Bool {
        suyuan_ed25519_table_check(table, signature, signature + 32, k) == 1
    }
}

/// The tables of keys that sign often. A key gets one after libsodium has accepted `threshold` of its
/// signatures, so its encoding is known to pass libsodium's checks on `A`. At most `capacity` tables are
/// kept (about 280 KB each) and signatures are counted for at most `counted` keys; each starts again
/// when it is full.
final class RepeatedSigners: Sendable {
    /// The set `PublicKey.isValidSignature` uses.
    static let shared = RepeatedSigners(threshold: 32, capacity: 64, counted: 4096)

    let threshold: Int, capacity: Int, counted: Int

    private struct State {
        var accepted: [[UInt8]: Int] = [:]
        var tables: [[UInt8]: KeyTable] = [:]
    }
    private let state = Mutex(State())

    init(threshold: Int, capacity: Int, counted: Int) {
        self.threshold = threshold
        self.capacity = capacity
        self.counted = counted
    }

    func table(for key: [UInt8]) -> KeyTable? { state.withLock { $0.tables[key] } }

    /// Counts one signature libsodium accepted; the call that reaches the threshold builds the table.
    func noteAccepted(_ key: [UInt8]) {
        let reached = state.withLock { s -> Bool in
            // Another thread may have built it while this signature was checked by libsodium.
            guard s.tables[key] == nil else { return false }
            let n = s.accepted[key, default: 0] + 1
            if n == 1 && s.accepted.count >= counted { s.accepted.removeAll(keepingCapacity: true) }
            s.accepted[key] = n < threshold ? n : nil
            return n == threshold
        }
        guard reached, let table = KeyTable(key: key) else { return }
        state.withLock { s in
            guard s.tables[key] == nil else { return }
            if s.tables.count >= capacity { s.tables.removeAll(keepingCapacity: true) }
            s.tables[key] = table
        }
    }
}

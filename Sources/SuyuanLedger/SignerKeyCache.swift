import Synchronization
import SuyuanCrypto

/// Decoded signer keys by `did:key` string: signers repeat, so base58 decoding need not. Thread-safe,
/// bounded (cleared when it reaches 4,096 keys).
public final class SignerKeyCache: Sendable {
    private let keys = Mutex<[String: PublicKey]>([:])

    public init() {}

    /// The public key named by the statement's `signer`.
    public func key(of statement: Statement) throws(LedgerError) -> PublicKey {
        if let k = keys.withLock({ $0[statement.signer] }) { return k }
        let k = try statement.signerKey()
        keys.withLock { cache in
            if cache.count >= 4096 { cache.removeAll(keepingCapacity: true) }
            cache[statement.signer] = k
        }
        return k
    }
}

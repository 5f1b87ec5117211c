import Synchronization
import SuyuanFormats
import SuyuanLedger

/// Computed product verifications (and bundles), served again while they still hold: the ledger has
/// neither grown nor signed a new checkpoint since, and they are younger than the lifetime (a verdict
/// depends on the time, as validity periods end). Any append makes every entry stale, so a response
/// never hides a recall or a revocation recorded since. Bounded: at most `capacity` entries.
public final class VerificationCache: Sendable {
    /// 60 seconds.
    public static let defaultLifetime: Int64 = 60
    static let capacity = 4096

    struct Key: Hashable {
        let code: String
        let bundle: Bool
    }

    private struct Cached {
        let body: [UInt8]
        let head: LedgerHead
        let computedAt: Timestamp
    }

    private let lifetime: Int64
    private let entries = Mutex<[Key: Cached]>([:])

    init(lifetime seconds: Int64) { lifetime = seconds }

    /// The cached response for `key` if it was computed over the ledger as of `head` (its size and
    /// latest checkpoint), less than the lifetime before `now`.
    func lookup(_ key: Key, head: LedgerHead, now: Timestamp) -> [UInt8]? {
        entries.withLock { e in
            guard let c = e[key] else { return nil }
            guard c.head == head, isFresh(c, now) else {
                e[key] = nil
                return nil
            }
            return c.body
        }
    }

    func store(_ key: Key, _ body: [UInt8], head: LedgerHead, now: Timestamp) {
        guard lifetime > 0 else { return }
        entries.withLock { e in
            if e.count >= Self.capacity {
                // Drop what no longer holds; if everything still does, drop half, arbitrarily.
                e = e.filter { $0.value.head == head && isFresh($0.value, now) }
                if e.count >= Self.capacity { e = Dictionary(uniqueKeysWithValues: e.prefix(Self.capacity / 2).map { ($0.key, $0.value) }) }
            }
            e[key] = Cached(body: body, head: head, computedAt: now)
        }
    }

    private func isFresh(_ c: Cached, _ now: Timestamp) -> Bool {
        now >= c.computedAt && now < c.computedAt.adding(seconds: lifetime)
    }
}

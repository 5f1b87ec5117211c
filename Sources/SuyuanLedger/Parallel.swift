import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Order-preserving parallel map over all cores, for CPU-bound work such as signature checks.
public enum Parallel {
    /// The number of online cores.
    public static let cores: Int = {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return n > 0 ? Int(n) : 1
    }()

    /// Maps `items` with `transform` on all cores; the result is in the order of `items`.
    ///
    /// Workers take small runs of items from a shared counter rather than fixed shares, so when another
    /// thread of the process (a pipeline's ordered stage) takes a core for a while, the workers still
    /// finish together instead of one idling while the other catches up.
    public static func map<T: Sendable, U: Sendable>(_ items: [T], _ transform: @Sendable (T) -> U) -> [U] {
        let n = items.count
        let workers = Swift.min(n, cores)
        if workers <= 1 || n < 8 { return items.map(transform) }
        let run = Swift.max(1, Swift.min(8, n / (workers * 8)))
        let next = Atomic<Int>(0)
        return [U](unsafeUninitializedCapacity: n) { buffer, count in
            nonisolated(unsafe) let out = buffer  // each index is initialised by exactly one worker
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let start = next.add(run, ordering: .relaxed).oldValue
                    if start >= n { break }
                    for i in start..<Swift.min(start + run, n) { (out.baseAddress! + i).initialize(to: transform(items[i])) }
                }
            }
            count = n
        }
    }

    /// Maps `items` part by part, in order, on a background thread (each part on all cores): a caller
    /// that consumes the parts in order works on one part while the cores map the next ones.
    public final class Ahead<T: Sendable, U: Sendable>: Sendable {
        /// The bounds of each part in the items.
        public let parts: [Range<Int>]
        private let results: Mutex<[[U]?]>
        private let ready: [DispatchSemaphore]
        /// Nil once stopped or done: the background work then holds nothing of the caller's.
        private let transform: Mutex<(@Sendable (T) -> U)?>
        private let finished = DispatchSemaphore(value: 0)

        /// Starts mapping `items` in `partCount` parts of nearly equal size.
        public convenience init(_ items: [T], parts partCount: Int, _ transform: @escaping @Sendable (T) -> U) {
            let n = Swift.max(1, Swift.min(partCount, items.count))
            self.init(items, parts: (0..<n).map { p in (p * items.count / n)..<((p + 1) * items.count / n) }, transform)
        }

        /// Starts mapping `items` in the given parts: consecutive ranges that cover them.
        public init(_ items: [T], parts: [Range<Int>], _ transform: @escaping @Sendable (T) -> U) {
            precondition(parts.first?.lowerBound == 0 && parts.last?.upperBound == items.count
                         && zip(parts, parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "parts must cover the items in order")
            self.parts = parts
            results = Mutex([[U]?](repeating: nil, count: parts.count))
            ready = parts.map { _ in DispatchSemaphore(value: 0) }
            self.transform = Mutex(transform)
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                for (p, r) in parts.enumerated() {
                    let mapped = self.transform.withLock { $0 }.map { Parallel.map(Array(items[r]), $0) } ?? []
                    results.withLock { $0[p] = mapped }
                    ready[p].signal()
                }
                self.transform.withLock { $0 = nil }
                finished.signal()
            }
        }

        /// The mapped items of part `p`, waiting until they are ready.
        public func part(_ p: Int) -> [U] {
            ready[p].wait()
            ready[p].signal()  // a part may be asked for again
            return results.withLock { $0[p]! }
        }

        /// Maps no further part (those not mapped yet are empty) and returns once the background work
        /// has ended: the transform, and whatever it holds (a ledger and its open file), is released
        /// by then, so a process may exit right after.
        public func stop() {
            transform.withLock { $0 = nil }
            finished.wait()
            finished.signal()
        }
    }

    /// Releases `value` on a background thread: tearing down many parsed entries (each a tree of
    /// small objects) takes tens of milliseconds that the caller, done with them, need not wait for.
    /// After `keepReleasesUntilExit()`, keeps it instead.
    public static func releaseInBackground(_ value: some Sendable) {
        if keepingUntilExit.load(ordering: .relaxed) {
            kept.withLock { $0.append(value) }
            return
        }
        releases.enter()
        DispatchQueue.global(qos: .utility).async {
            withExtendedLifetime(value) {}
            releases.leave()
        }
    }

    /// Waits until every value given to `releaseInBackground` so far is released (benchmarks: so that
    /// one run's teardown does not share the cores with the next run).
    public static func waitForBackgroundReleases() { releases.wait() }

    private static let releases = DispatchGroup()

    /// For a process that exits once its one task is done (a command-line verification): what is
    /// given to `releaseInBackground` from now on is kept, not torn down object by object on a core
    /// the task could use; the exit reclaims it all at once.
    public static func keepReleasesUntilExit() { keepingUntilExit.store(true, ordering: .relaxed) }

    /// Tests only: releases are released again (the kept ones stay kept).
    static func stopKeeping() { keepingUntilExit.store(false, ordering: .relaxed) }

    private static let keepingUntilExit = Atomic<Bool>(false)
    private static let kept = Mutex<[any Sendable]>([])
}

import Dispatch

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
    public static func map<T: Sendable, U: Sendable>(_ items: [T], _ transform: @Sendable (T) -> U) -> [U] {
        let n = items.count
        let workers = Swift.min(n, cores)
        if workers <= 1 || n < 8 { return items.map(transform) }
        let out = UnsafeMutableBufferPointer<U?>.allocate(capacity: n)
        out.initialize(repeating: nil)
        defer { out.deinitialize(); out.deallocate() }
        nonisolated(unsafe) let buffer = out  // each index is written by exactly one worker
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w * n / workers
            let end = (w + 1) * n / workers
            while i < end { buffer[i] = transform(items[i]); i += 1 }
        }
        return out.map { $0! }
    }
}

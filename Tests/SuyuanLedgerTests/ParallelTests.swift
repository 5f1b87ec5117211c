import Synchronization
import Testing
@testable import SuyuanLedger

@Suite struct ParallelTests {
    /// Every item is transformed exactly once and the results keep the input order, for sizes around
    /// the serial cut-off and the run length, with work of uneven cost.
    @Test func mapKeepsOrderAndTransformsEachItemOnce() {
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 100, 1_000, 10_007] {
            let calls = Atomic<Int>(0)
            let items = Array(0..<n)
            let out = Parallel.map(items) { i -> String in
                calls.add(1, ordering: .relaxed)
                var x = UInt64(i)
                for _ in 0..<(i % 13) * 50 { x = x &* 6364136223846793005 &+ 1 }  // uneven work
                return "\(i):\(x & 1)"
            }
            #expect(out.count == n)
            #expect(out.map { Int($0.split(separator: ":")[0])! } == items)
            #expect(calls.load(ordering: .relaxed) == n)
        }
    }

    /// `Ahead` maps every part, in order, to what a plain map gives, whether the parts are asked for
    /// in order, again, or not at all after `stop`.
    @Test func aheadMapsEveryPartInOrder() {
        for (n, parts) in [(1, 4), (10, 1), (1_000, 3), (1_000, 8), (5, 5)] {
            let items = Array(0..<n)
            let ahead = Parallel.Ahead(items, parts: parts) { $0 * 3 }
            #expect(ahead.parts.count == min(parts, n))
            #expect(ahead.parts.first?.lowerBound == 0 && ahead.parts.last?.upperBound == n)
            #expect(zip(ahead.parts, ahead.parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty })
            let mapped = ahead.parts.indices.flatMap { ahead.part($0) }
            #expect(mapped == items.map { $0 * 3 })
            #expect(ahead.part(0) == Array(items[ahead.parts[0]].map { $0 * 3 }))  // asked for again
        }
        let stopped = Parallel.Ahead(Array(0..<1_000), parts: 8) { $0 }
        _ = stopped.part(0)
        stopped.stop()
        // Every part is still answered, no wait forever: whole, or empty if mapping stopped before it.
        for p in stopped.parts.indices {
            let got = stopped.part(p)
            #expect(got.isEmpty || got == Array(stopped.parts[p]), "part \(p)")
        }
        #expect(stopped.part(0) == Array(stopped.parts[0]))
    }

    /// A batch's parts cover it in order, none larger than twice `statementsPerPart`; a batch of more
    /// than one part ends in parts halving down to about an eighth of the last full one, so little is
    /// left to write once the last part is checked, and each part is at least half the one before.
    @Test func aBatchsPartsCoverItAndEndSmall() {
        let full = Ledger.statementsPerPart
        for n in [0, 1, full - 1, full, full + 1, 300, 2 * full - 1, 773, 2_000, 10_007] {
            let parts = Ledger.parts(of: n), sizes = parts.map(\.count)
            #expect(parts.first?.lowerBound == 0 && parts.last?.upperBound == n, "n = \(n)")
            #expect(zip(parts, parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty && !$1.isEmpty }, "n = \(n)")
            #expect(sizes.allSatisfy { $0 <= 2 * full }, "n = \(n): \(sizes)")
            if n > full {
                let cut = sizes.suffix(4).reduce(0, +)  // the last full part, cut in four
                #expect(sizes.count >= 4 && 8 * sizes.last! <= cut + 8, "n = \(n): \(sizes)")
                #expect(zip(sizes, sizes.dropFirst()).allSatisfy { 2 * $1 + 1 >= $0 }, "n = \(n): \(sizes)")  // half, rounded
            } else {
                #expect(parts.count == 1, "n = \(n)")
            }
        }
        #expect(Ledger.parts(of: 2_000).map(\.count) == [285, 286, 286, 285, 286, 286, 143, 72, 36, 35])
    }

    /// Once `stop` returns, the transform and what it holds are released, whether the caller stopped
    /// early or took every part: a command that then exits closes its ledger first.
    @Test func aheadHoldsNothingOnceStopped() {
        final class Counted: Sendable { let count = Mutex(0) }
        final class Probe: Sendable {
            let counter: Counted
            init(_ c: Counted) { counter = c }
            deinit { counter.count.withLock { $0 += 1 } }
        }
        let counter = Counted()
        for takeAll in [false, true] {
            var probe: Probe? = Probe(counter)
            let ahead = Parallel.Ahead(Array(0..<2_000), parts: 8) { [probe] i in withExtendedLifetime(probe) { i } }
            probe = nil
            if takeAll { for p in ahead.parts.indices { _ = ahead.part(p) } } else { _ = ahead.part(0) }
            ahead.stop()
            #expect(counter.count.withLock { $0 } == (takeAll ? 2 : 1))
        }
    }

    /// After `keepReleasesUntilExit`, what is given to `releaseInBackground` is not torn down.
    @Test func releasesAreKeptUntilExitOnceAsked() async throws {
        final class Counted: Sendable {
            let count = Mutex(0)
        }
        final class Probe: Sendable {
            let counter: Counted
            init(_ c: Counted) { counter = c }
            deinit { counter.count.withLock { $0 += 1 } }
        }
        let counter = Counted()
        Parallel.releaseInBackground(Probe(counter))
        for _ in 0..<500 where counter.count.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(counter.count.withLock { $0 } == 1)
        Parallel.keepReleasesUntilExit()
        defer { Parallel.stopKeeping() }
        Parallel.releaseInBackground(Probe(counter))
        try await Task.sleep(for: .milliseconds(200))
        #expect(counter.count.withLock { $0 } == 1)
    }
}

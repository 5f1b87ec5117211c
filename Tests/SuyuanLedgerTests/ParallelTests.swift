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
}

import Testing
@testable import SuyuanAudit

@Suite struct BloomFilterTests {
    /// A statement seen before is always reported; distinct statements almost never are (about 10⁻⁷
    /// each at the sized load: none expected among 200,000).
    @Test func repeatsAreAlwaysSeenAndDistinctStatementsAlmostNever() {
        let n = 200_000
        var filter = BloomFilter(expectedCount: UInt64(n))
        var falseRepeats = 0
        for i in 0..<n where filter.insert(BloomFilter.Key(Array("statement \(i)".utf8))) { falseRepeats += 1 }
        #expect(falseRepeats <= 2, "\(falseRepeats) false repeats")
        for i in stride(from: 0, to: n, by: 997) {
            let seen = filter.insert(BloomFilter.Key(Array("statement \(i)".utf8)))
            #expect(seen, "statement \(i) was inserted before")
        }
        #expect(BloomFilter.Key([1, 2, 3]) == BloomFilter.Key([1, 2, 3]) && BloomFilter.Key([1, 2, 3]) != BloomFilter.Key([1, 2, 4]))
    }
}

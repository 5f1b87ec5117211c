import SuyuanCrypto

/// RFC 6962 / RFC 9162 Merkle tree hashing, roots and proofs (SHA-256). See `Specs/merkle.md`.
///
/// Proof generation reads stored hashes of complete subtrees through a `HashReader`: every range of
/// leaves that the RFC 9162 §2.1.3.1 / §2.1.4.1 recursion visits starts at an aligned offset, so its
/// hash is the right fold of the complete subtrees of the binary decomposition of its length. A proof
/// first collects every `NodeID` it needs, reads them with one `hashes(for:)` call, then folds.
public enum RFC6962 {
    /// Domain-separation prefix of leaf hashes (RFC 9162 §2.1.1).
    public static let leafPrefix: UInt8 = 0x00
    /// Domain-separation prefix of interior node hashes (RFC 9162 §2.1.1).
    public static let nodePrefix: UInt8 = 0x01

    /// The leaf hash `SHA-256(0x00 ‖ entry)`.
    public static func leafHash(_ entry: some Collection<UInt8>) -> Hash {
        SHA256.hash(prefix: leafPrefix, entry)
    }

    /// The interior node hash `SHA-256(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: Hash, _ right: Hash) -> Hash {
        SHA256.hash(prefix: nodePrefix, left, right)
    }

    /// The root of the empty tree: `SHA-256("")`
    /// (e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855).
    public static let emptyRoot: Hash = SHA256.hash([UInt8]())

    // MARK: - Roots

    /// Root computed from all leaf hashes in memory, by the plain RFC 9162 §2.1.1 recursion
    /// (for tests, audit and small trees).
    public static func root(leafHashes: [Hash]) -> Hash {
        root(leafHashes: leafHashes[...])
    }

    /// As `root(leafHashes:)`, for a slice.
    public static func root(leafHashes: ArraySlice<Hash>) -> Hash {
        leafHashes.isEmpty ? emptyRoot : mth(leafHashes)
    }

    private static func mth(_ leaves: ArraySlice<Hash>) -> Hash {
        if leaves.count == 1 { return leaves[leaves.startIndex] }
        let k = Int(largestPowerOfTwo(below: UInt64(leaves.count)))
        let mid = leaves.startIndex + k
        return nodeHash(mth(leaves[..<mid]), mth(leaves[mid...]))
    }

    /// Root of the first `size` leaves, from stored complete subtrees (one read of popcount(size) IDs;
    /// no read for size 0).
    public static func root(size: UInt64, reader: some HashReader) throws -> Hash {
        if size == 0 { return emptyRoot }
        let span = decomposition(start: 0, count: size)
        let table = try read(span, from: reader)
        return fold(span, table)
    }

    // MARK: - Proof generation

    /// The inclusion proof (audit path) of leaf `index` in the tree of the first `size` leaves,
    /// RFC 9162 §2.1.3.1, ordered from the leaf's sibling up to the root's child.
    /// Reads at most 2·⌈log2 size⌉ node hashes in a single `hashes(for:)` call (none for size 1).
    public static func inclusionProof(index: UInt64, size: UInt64, reader: some HashReader) throws -> [Hash] {
        guard index < size else { throw MerkleError.indexOutOfRange(index: index, size: size) }
        let spans = inclusionSpans(index: index, size: size)
        return try resolve(spans, reader)
    }

    /// The inclusion proofs of many leaves in one tree, in the order of `indexes`: every node hash
    /// they need is read once, in a single `hashes(for:)` call (their upper nodes are shared), by one
    /// `walk` over the sorted distinct leaves, which appends each half's hash to the proofs of the
    /// leaves in the other half. For thousands of proofs this costs a fraction of building them one by one.
    public static func inclusionProofs(indexes: [UInt64], size: UInt64, reader: some HashReader) throws -> [[Hash]] {
        if let bad = indexes.first(where: { $0 >= size }) { throw MerkleError.indexOutOfRange(index: bad, size: size) }
        if indexes.isEmpty { return [] }
        let leaves = Array(Set(indexes)).sorted()
        var proofs = [[Hash]](repeating: [], count: leaves.count)
        let depth = 64 - (size - 1).leadingZeroBitCount  // the longest proof in a tree of `size` leaves
        for i in proofs.indices { proofs[i].reserveCapacity(depth) }
        _ = try walk(leaves: leaves, size: size, leafHashes: nil, reader: reader) { t, s, left, right in
            for i in t.lowerBound..<s { proofs[i].append(right) }
            for i in s..<t.upperBound { proofs[i].append(left) }
        }
        let position = Dictionary(uniqueKeysWithValues: leaves.enumerated().map { ($1, $0) })
        return indexes.map { proofs[position[$0]!] }
    }

    /// One walk down the tree of `size` leaves over `leaves` (sorted, distinct, each below `size`),
    /// returning the root. A range holding none of the leaves is a sibling some proof needs: its hash
    /// is read, as the complete subtrees it decomposes into. A range holding some is split and its hash
    /// computed from its halves; `split(t, s, left, right)` is then given the halves' hashes, where
    /// `leaves[t]` lie in the range and `leaves[s...]` in its right half. A leaf's own hash is
    /// `leafHashes[i]` when given (none is read then), else read. Every hash is read once, in one
    /// `hashes(for:)` call, and no per-node table is built.
    static func walk(leaves: [UInt64], size: UInt64, leafHashes: [Hash]?, reader: some HashReader,
                     split visit: (_ t: Range<Int>, _ s: Int, _ left: Hash, _ right: Hash) -> Void) throws -> Hash {
        precondition(leafHashes == nil || leafHashes!.count == leaves.count)
        /// The position in `t` of the first leaf at or past `boundary` (`t` is sorted).
        func split(_ t: Range<Int>, at boundary: UInt64) -> Int {
            var (lo, hi) = (t.lowerBound, t.upperBound)
            while lo < hi {
                let mid = (lo + hi) / 2
                if leaves[mid] < boundary { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        // Pass 1: what to read, in the order pass 2 will use it.
        var wanted: [NodeID] = []
        func collect(_ lo: UInt64, _ n: UInt64, _ t: Range<Int>) {
            if t.isEmpty { wanted += decomposition(start: lo, count: n); return }
            if n == 1 { if leafHashes == nil { wanted.append(NodeID(level: 0, index: lo)) }; return }
            let k = largestPowerOfTwo(below: n)
            let s = split(t, at: lo + k)
            collect(lo, k, t.lowerBound..<s)
            collect(lo + k, n - k, s..<t.upperBound)
        }
        collect(0, size, 0..<leaves.count)
        let hashes = try reader.hashes(for: wanted)
        guard hashes.count == wanted.count else { throw MerkleError.wrongHashCount(expected: wanted.count, got: hashes.count) }
        // Pass 2: the same walk, consuming `hashes` in order.
        var next = 0
        func walk(_ lo: UInt64, _ n: UInt64, _ t: Range<Int>) -> Hash {
            if t.isEmpty {
                // The right fold node(P1, node(P2, … Pk)) of the range's complete subtrees.
                let parts = n.nonzeroBitCount
                var acc = hashes[next + parts - 1]
                for i in stride(from: next + parts - 2, through: next, by: -1) { acc = nodeHash(hashes[i], acc) }
                next += parts
                return acc
            }
            if n == 1 {
                if let given = leafHashes { return given[t.lowerBound] }
                next += 1
                return hashes[next - 1]
            }
            let k = largestPowerOfTwo(below: n)
            let s = split(t, at: lo + k)
            let left = walk(lo, k, t.lowerBound..<s)
            let right = walk(lo + k, n - k, s..<t.upperBound)
            visit(t, s, left, right)
            return nodeHash(left, right)
        }
        return walk(0, size, 0..<leaves.count)
    }

    /// The consistency proof between the trees of the first `old` and first `new` leaves,
    /// RFC 9162 §2.1.4.1. Empty when `old == new`; throws for `old == 0` or `old > new`.
    public static func consistencyProof(from old: UInt64, to new: UInt64, reader: some HashReader) throws -> [Hash] {
        guard old <= new else { throw MerkleError.sizeOutOfRange }
        guard old > 0 else { throw MerkleError.consistencyFromEmptyTree }
        let spans = consistencySpans(old: old, new: new)
        return try resolve(spans, reader)
    }

    /// The ranges (as complete-subtree decompositions) whose hashes form the inclusion proof.
    static func inclusionSpans(index: UInt64, size: UInt64) -> [[NodeID]] {
        inclusionSubtrees(index: index, size: size).map { decomposition(start: $0.start, count: $0.count) }
    }

    /// A subtree of the RFC 9162 recursion, complete or at the right edge: leaves `start ..< start + count`.
    struct Subtree: Hashable {
        let start: UInt64
        let count: UInt64
    }

    /// The subtrees whose hashes make up the inclusion proof of leaf `index` in a tree of `size`
    /// leaves, in proof order (from the leaf up): RFC 9162 §2.1.3.1's PATH recursion.
    static func inclusionSubtrees(index: UInt64, size: UInt64) -> [Subtree] {
        // Walk from the root down to the leaf: range [lo, lo + n) holds the leaf.
        var lo: UInt64 = 0, n = size
        var topDown: [Subtree] = []
        while n > 1 {
            let k = largestPowerOfTwo(below: n)
            if index < lo + k {
                topDown.append(Subtree(start: lo + k, count: n - k))  // right sibling range
                n = k
            } else {
                topDown.append(Subtree(start: lo, count: k))          // left sibling: complete
                lo += k; n -= k
            }
        }
        return topDown.reversed()
    }

    /// The ranges whose hashes form the consistency proof, following SUBPROOF(m, D[n], true).
    static func consistencySpans(old: UInt64, new: UInt64) -> [[NodeID]] {
        var lo: UInt64 = 0, n = new, m = old
        var startsAtOldRoot = true  // the `b` flag of SUBPROOF
        var topDown: [[NodeID]] = []
        while m != n {
            let k = largestPowerOfTwo(below: n)
            if m <= k {
                topDown.append(decomposition(start: lo + k, count: n - k))
                n = k
            } else {
                topDown.append(decomposition(start: lo, count: k))
                lo += k; m -= k; n -= k
                startsAtOldRoot = false
            }
        }
        var spans: [[NodeID]] = []
        if !startsAtOldRoot { spans.append(decomposition(start: lo, count: n)) }
        spans.append(contentsOf: topDown.reversed())
        return spans
    }

    // MARK: - Helpers

    /// The complete subtrees covering `[start, start + count)`, largest (leftmost) first: one per set
    /// bit of `count`. Requires `start` to be a multiple of the largest power of two <= `count`.
    static func decomposition(start: UInt64, count: UInt64) -> [NodeID] {
        var ids: [NodeID] = []
        var pos = start
        var rest = count
        while rest != 0 {
            let level = 63 - rest.leadingZeroBitCount
            let width: UInt64 = 1 << UInt64(level)
            assert(pos & (width - 1) == 0, "unaligned range")
            ids.append(NodeID(level: level, index: pos >> UInt64(level)))
            pos &+= width
            rest -= width
        }
        return ids
    }

    /// The largest power of two strictly less than `n` (`n >= 2`).
    static func largestPowerOfTwo(below n: UInt64) -> UInt64 {
        precondition(n >= 2)
        return 1 << UInt64(63 - (n - 1).leadingZeroBitCount)
    }

    /// Reads the distinct IDs of all spans in one call.
    private static func resolve(_ spans: [[NodeID]], _ reader: some HashReader) throws -> [Hash] {
        let table = try read(spans.flatMap { $0 }, from: reader)
        return spans.map { fold($0, table) }
    }

    private static func read(_ ids: [NodeID], from reader: some HashReader) throws -> [NodeID: Hash] {
        var seen = Set<NodeID>()
        let unique = ids.filter { seen.insert($0).inserted }
        if unique.isEmpty { return [:] }
        let hashes = try reader.hashes(for: unique)
        guard hashes.count == unique.count else {
            throw MerkleError.wrongHashCount(expected: unique.count, got: hashes.count)
        }
        return Dictionary(uniqueKeysWithValues: zip(unique, hashes))
    }

    /// Right fold: node(P1, node(P2, … Pk)).
    private static func fold(_ span: [NodeID], _ table: [NodeID: Hash]) -> Hash {
        var acc = table[span[span.count - 1]]!
        for id in span.dropLast().reversed() { acc = nodeHash(table[id]!, acc) }
        return acc
    }
}

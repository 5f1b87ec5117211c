import SuyuanCrypto

extension RFC6962 {
    // MARK: - Inclusion (RFC 9162 §2.1.3.2)

    /// Verifies that `leafHash` is the leaf at `index` of the tree of `size` leaves with root `root`.
    /// Throws `MerkleError` on any failure: index out of range, wrong proof length, root mismatch.
    public static func verifyInclusion(leafHash: Hash, index: UInt64, size: UInt64, proof: [Hash], root: Hash) throws {
        let computed = try rootFromInclusionProof(leafHash: leafHash, index: index, size: size, proof: proof)
        guard computed == root else { throw MerkleError.rootMismatch(expected: root, computed: computed) }
    }

    /// Verifies many inclusion proofs against one root: for each leaf, nil when its proof verifies,
    /// else the error `verifyInclusion` throws for it. The answer is the same as `verifyInclusion`'s,
    /// leaf by leaf, but the upper parts of the paths that the proofs share are hashed once: the leaves
    /// are walked down the tree in index order (as `inclusionProofs` builds the proofs); each subtree
    /// holding some of them is hashed once, from its halves — a half with none of the leaves is the
    /// sibling their proofs give, and every proof element must equal the hash of the subtree it stands
    /// for. Then every proof hashes up its path to the walk's root, so a root equal to `root` verifies
    /// them all. On any disagreement each leaf is checked alone, to say which fail.
    public static func verifyInclusions(_ leaves: [(index: UInt64, leafHash: Hash, proof: [Hash])], size: UInt64, root: Hash) -> [(any Error)?] {
        func oneByOne() -> [(any Error)?] {
            leaves.map { l in
                do {
                    try verifyInclusion(leafHash: l.leafHash, index: l.index, size: size, proof: l.proof, root: root)
                    return nil
                } catch { return error }
            }
        }
        let order = leaves.indices.sorted { leaves[$0].index < leaves[$1].index }
        // Each leaf once, inside the tree, with a proof of its path's length.
        for (a, b) in zip(order, order.dropFirst()) where leaves[a].index == leaves[b].index { return oneByOne() }
        guard let last = order.last, leaves[last].index < size,
              leaves.allSatisfy({ $0.proof.count == inclusionProofSize(index: $0.index, size: size) }) else { return oneByOne() }
        /// The position in `order` of the first leaf at or past `boundary`, within `t`.
        func split(_ t: Range<Int>, at boundary: UInt64) -> Int {
            var (lo, hi) = (t.lowerBound, t.upperBound)
            while lo < hi {
                let mid = (lo + hi) / 2
                if leaves[order[mid]].index < boundary { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        /// The proof element of the leaves in `t` for the split at `depth` (0 at the root): the
        /// sibling subtree's hash, which they must all give alike.
        func sibling(_ t: Range<Int>, depth: Int) -> Hash? {
            func given(_ j: Int) -> Hash { let p = leaves[order[j]].proof; return p[p.count - 1 - depth] }
            let first = given(t.lowerBound)
            for j in t.dropFirst() where given(j) != first { return nil }
            return first
        }
        /// The hash of the subtree of leaves `lo ..< lo + n`, which holds the leaves `t` (at least one).
        func walk(_ lo: UInt64, _ n: UInt64, _ t: Range<Int>, depth: Int) -> Hash? {
            if n == 1 { return leaves[order[t.lowerBound]].leafHash }
            let k = largestPowerOfTwo(below: n)
            let s = split(t, at: lo + k)
            let (l, r) = (t.lowerBound..<s, s..<t.upperBound)
            guard let left = l.isEmpty ? sibling(r, depth: depth) : walk(lo, k, l, depth: depth + 1),
                  let right = r.isEmpty ? sibling(l, depth: depth) : walk(lo + k, n - k, r, depth: depth + 1),
                  l.isEmpty || sibling(l, depth: depth) == right, r.isEmpty || sibling(r, depth: depth) == left else { return nil }
            return nodeHash(left, right)
        }
        if order.isEmpty { return [] }
        guard walk(0, size, order.indices, depth: 0) == root else { return oneByOne() }
        return leaves.map { _ in nil }
    }

    /// Verifies that each `(index, leafHash)` is the leaf at `index` of the tree of `size` leaves with
    /// root `root`, reading from `reader` only the hashes of the subtrees that hold none of these
    /// leaves: one `walk`, as `inclusionProofs` makes, but from the given leaf hashes, so no proof is
    /// built and each node on the leaves' paths is hashed once. The answer is leaf by leaf, as
    /// `verifyInclusions(_:size:root:)`'s: nil when the leaf is included. When the walk's root is not
    /// `root` (or reading fails), each leaf's proof is read and checked alone, to say which fail.
    public static func verifyInclusions(_ leaves: [(index: UInt64, leafHash: Hash)], size: UInt64, root: Hash,
                                        reader: some HashReader) -> [(any Error)?] {
        if leaves.isEmpty { return [] }
        let order = leaves.indices.sorted { leaves[$0].index < leaves[$1].index }
        if zip(order, order.dropFirst()).allSatisfy({ leaves[$0].index != leaves[$1].index }), leaves[order.last!].index < size,
           let computed = try? walk(leaves: order.map { leaves[$0].index }, size: size, leafHashes: order.map { leaves[$0].leafHash },
                                    reader: reader, split: { _, _, _, _ in }),
           computed == root {
            return leaves.map { _ in nil }
        }
        // Each proof read alone (batched proofs would share hashes computed from the very nodes that
        // may be wrong), so a leaf fails only if its own proof does.
        return leaves.map { l in
            do {
                let proof = try inclusionProof(index: l.index, size: size, reader: reader)
                try verifyInclusion(leafHash: l.leafHash, index: l.index, size: size, proof: proof, root: root)
                return nil
            } catch { return error }
        }
    }

    /// The root that an inclusion proof implies (RFC 9162 §2.1.3.2 steps 1–4), after checking that the
    /// proof has exactly the length that `index` and `size` determine.
    public static func rootFromInclusionProof(leafHash: Hash, index: UInt64, size: UInt64, proof: [Hash]) throws -> Hash {
        guard index < size else { throw MerkleError.indexOutOfRange(index: index, size: size) }
        let expected = inclusionProofSize(index: index, size: size)
        guard proof.count == expected else {
            throw MerkleError.wrongProofSize(expected: expected, got: proof.count)
        }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { throw MerkleError.wrongProofSize(expected: expected, got: proof.count) }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw MerkleError.wrongProofSize(expected: expected, got: proof.count) }
        return r
    }

    /// The length of the inclusion proof for leaf `index` in a tree of `size` leaves (`index < size`):
    /// the levels below the point where the paths to `index` and `size - 1` diverge, plus one hash
    /// per set bit of `index` above it.
    static func inclusionProofSize(index: UInt64, size: UInt64) -> Int {
        let inner = 64 - (index ^ (size - 1)).leadingZeroBitCount
        let border = (index >> UInt64(inner)).nonzeroBitCount
        return inner + border
    }

    // MARK: - A run of consecutive leaves, from two inclusion proofs

    /// Verifies that `leafHashes` are the consecutive leaves `from ..< from + leafHashes.count` of the
    /// tree of `size` leaves with root `root`, given only the inclusion proofs of the first and the last
    /// of them (RFC 9162 §2.1.3.1 each; equal for a run of one).
    ///
    /// Each proof is first checked on its own, so every hash in it counts. Then the root is recomputed
    /// from the run's own leaves and the two proofs' hashes, each placed at the subtree it stands for,
    /// and must equal `root`: every subtree that holds none of the run's leaves and whose hash the root
    /// needs is a sibling on the path of the first or the last leaf (its parent holds leaves on both
    /// sides of an edge of the run). Throws `MerkleError` on any failure. An empty run needs no proof
    /// and passes.
    public static func verifyRange(leafHashes: [Hash], from: UInt64, size: UInt64, firstProof: [Hash], lastProof: [Hash], root: Hash) throws {
        guard !leafHashes.isEmpty else { return }
        let count = UInt64(leafHashes.count)
        guard from < size, count <= size - from else {
            throw MerkleError.indexOutOfRange(index: from < size ? size : from, size: size)
        }
        let end = from + count
        try verifyInclusion(leafHash: leafHashes[0], index: from, size: size, proof: firstProof, root: root)
        try verifyInclusion(leafHash: leafHashes[leafHashes.count - 1], index: end - 1, size: size, proof: lastProof, root: root)
        // The hash each proof gives for each subtree it covers (the checks above fixed their lengths).
        var known: [Subtree: Hash] = [:]
        for (index, proof) in [(from, firstProof), (end - 1, lastProof)] {
            for (t, h) in zip(inclusionSubtrees(index: index, size: size), proof) {
                if let other = known.updateValue(h, forKey: t), other != h {
                    throw MerkleError.proofsDisagree(first: t.start, count: t.count)
                }
            }
        }
        func hash(_ start: UInt64, _ n: UInt64) throws -> Hash {
            if start >= from && start + n <= end {
                let i = Int(start - from)
                return Self.root(leafHashes: Array(leafHashes[i..<i + Int(n)]))
            }
            if start + n <= from || start >= end {
                // Outside the run: by the argument above, one of the proofs holds it.
                guard let h = known[Subtree(start: start, count: n)] else { throw MerkleError.proofsDisagree(first: start, count: n) }
                return h
            }
            let k = largestPowerOfTwo(below: n)
            return nodeHash(try hash(start, k), try hash(start + k, n - k))
        }
        let computed = try hash(0, size)
        guard computed == root else { throw MerkleError.rootMismatch(expected: root, computed: computed) }
    }

    // MARK: - Consistency (RFC 9162 §2.1.4.2)

    /// Verifies that the tree of `newSize` leaves with root `newRoot` extends the tree of `oldSize`
    /// leaves with root `oldRoot`. Requires `0 < oldSize <= newSize`; for equal sizes the proof must
    /// be empty and the roots equal. Throws `MerkleError` on any failure.
    public static func verifyConsistency(oldSize: UInt64, newSize: UInt64, oldRoot: Hash, newRoot: Hash, proof: [Hash]) throws {
        guard oldSize <= newSize else { throw MerkleError.sizeOutOfRange }
        guard oldSize > 0 else { throw MerkleError.consistencyFromEmptyTree }
        if oldSize == newSize {
            guard proof.isEmpty else { throw MerkleError.wrongProofSize(expected: 0, got: proof.count) }
            guard oldRoot == newRoot else { throw MerkleError.rootMismatch(expected: newRoot, computed: oldRoot) }
            return
        }
        let expected = consistencyProofSize(old: oldSize, new: newSize)
        guard proof.count == expected else {
            throw MerkleError.wrongProofSize(expected: expected, got: proof.count)
        }
        // Step 2: a power-of-two old tree is itself a node of the new tree; its root seeds the chain.
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        // Steps 3–4.
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        // Steps 5–6.
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { throw MerkleError.wrongProofSize(expected: expected, got: proof.count) }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        // Step 7.
        guard sn == 0 else { throw MerkleError.wrongProofSize(expected: expected, got: proof.count) }
        guard fr == oldRoot else { throw MerkleError.oldRootMismatch(expected: oldRoot, computed: fr) }
        guard sr == newRoot else { throw MerkleError.rootMismatch(expected: newRoot, computed: sr) }
    }

    /// The length of the consistency proof between sizes `old` and `new` (`0 < old < new`).
    static func consistencyProofSize(old: UInt64, new: UInt64) -> Int {
        let inner = 64 - ((old - 1) ^ (new - 1)).leadingZeroBitCount
        let border = ((old - 1) >> UInt64(inner)).nonzeroBitCount
        let shift = old.trailingZeroBitCount
        let seed = old & (old - 1) == 0 ? 0 : 1  // the old tree's own root is not sent when it is a node
        return seed + (inner - shift) + border
    }
}

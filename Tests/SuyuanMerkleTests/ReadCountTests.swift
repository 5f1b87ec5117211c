import SuyuanCrypto
import SuyuanMerkle
import Testing

/// Proofs over a large tree read O(log n) stored hashes in one call, without rebuilding anything.
@Suite struct ReadCountTests {
    static let size: UInt64 = 1_000_003
    static let tree: (leaves: [Hash], nodes: [NodeID: Hash], frontier: MerkleFrontier) = {
        let leaves = testLeafHashes(Int(size))
        let (nodes, frontier) = buildNodes(leaves)
        return (leaves, nodes, frontier)
    }()

    @Test func inclusionProofsReadOnce() throws {
        let (leaves, nodes, frontier) = Self.tree
        let n = Self.size
        let bound = 2 * ceilLog2(n)
        let reader = CountingReader(nodes: nodes)
        #expect(try RFC6962.root(size: n, reader: reader) == frontier.root)
        #expect(reader.calls == 1)
        #expect(reader.lastIDs.count == n.nonzeroBitCount)

        for index: UInt64 in [0, 1, 2, 511, 524_287, 524_288, 777_777, 999_999, 1_000_000, 1_000_001, 1_000_002] {
            reader.calls = 0
            let proof = try RFC6962.inclusionProof(index: index, size: n, reader: reader)
            #expect(reader.calls == 1, "index \(index)")
            #expect(reader.lastIDs.count <= bound, "index \(index): \(reader.lastIDs.count) ids")
            #expect(Set(reader.lastIDs).count == reader.lastIDs.count)
            try RFC6962.verifyInclusion(leafHash: leaves[Int(index)], index: index, size: n, proof: proof,
                                        root: frontier.root)
        }
    }

    /// Many proofs at once: one read of each distinct node, the same proofs as one by one.
    @Test func batchedInclusionProofsReadEachNodeOnce() throws {
        let nodes = Self.tree.nodes
        let n = Self.size
        let indexes: [UInt64] = [999_999, 0, 1, 2, 511, 512, 524_287, 524_288, 777_777, 1_000_002, 1]
        let one = CountingReader(nodes: nodes)
        let separately = try indexes.map { try RFC6962.inclusionProof(index: $0, size: n, reader: one) }
        #expect(one.calls == indexes.count)
        let batch = CountingReader(nodes: nodes)
        let together = try RFC6962.inclusionProofs(indexes: indexes, size: n, reader: batch)
        #expect(together == separately)
        #expect(batch.calls == 1)
        #expect(Set(batch.lastIDs).count == batch.lastIDs.count)
        #expect(batch.lastIDs.count < indexes.count * 2 * ceilLog2(n))
        #expect(try RFC6962.inclusionProofs(indexes: [], size: n, reader: batch) == [])
        #expect(throws: MerkleError.indexOutOfRange(index: n, size: n)) {
            try RFC6962.inclusionProofs(indexes: [3, n], size: n, reader: batch)
        }
    }

    @Test func consistencyProofsReadOnce() throws {
        let (leaves, nodes, frontier) = Self.tree
        let n = Self.size
        let bound = 2 * ceilLog2(n)
        let reader = CountingReader(nodes: nodes)
        // Old roots from the frontier as it was at each old size.
        let olds: [UInt64] = [1, 2, 3, 1_000, 65_536, 524_287, 524_288, 999_999, 1_000_002, 1_000_003]
        var f = MerkleFrontier()
        var oldRoots: [UInt64: Hash] = [:]
        for (i, leaf) in leaves.enumerated() {
            _ = f.append(leafHash: leaf)
            if olds.contains(UInt64(i + 1)) { oldRoots[UInt64(i + 1)] = f.root }
        }
        for old in olds {
            reader.calls = 0
            let proof = try RFC6962.consistencyProof(from: old, to: n, reader: reader)
            if old < n {
                #expect(reader.calls == 1, "old \(old)")
                #expect(reader.lastIDs.count <= bound, "old \(old): \(reader.lastIDs.count) ids")
            } else {
                #expect(reader.calls == 0)
            }
            try RFC6962.verifyConsistency(oldSize: old, newSize: n, oldRoot: oldRoots[old]!, newRoot: frontier.root,
                                          proof: proof)
        }
    }
}

import SuyuanCrypto
import SuyuanMerkle
import Testing

/// MerkleFrontier as storage uses it: append, persist what it reports, prove from that alone.
@Suite struct FrontierTests {
    @Test func appendingThreeHundredLeaves() throws {
        let leaves = testLeafHashes(300)
        var frontier = MerkleFrontier()
        var nodes: [NodeID: Hash] = [:]
        var roots: [Hash] = [RFC6962.emptyRoot]
        for (i, leaf) in leaves.enumerated() {
            let completed = frontier.append(leafHash: leaf)
            let n = i + 1
            let size = UInt64(n)
            #expect(frontier.size == size)

            // Reported subtrees: the leaf first, then levels 1, 2, …, one per trailing one bit of i,
            // each with the hash of exactly the leaves it covers.
            #expect(completed.count == 1 + UInt64(i).trailingZeroBitCount(ofOnes: true))
            for (k, (id, hash)) in completed.enumerated() {
                #expect(id.level == k)
                #expect(id.firstLeaf + id.leafCount == size)
                #expect(nodes[id] == nil, "reported twice: \(id)")
                let covered = Array(leaves[Int(id.firstLeaf)..<Int(id.firstLeaf + id.leafCount)])
                #expect(hash == RFC6962.root(leafHashes: covered), "\(id)")
                nodes[id] = hash
            }
            #expect(completed.first?.0 == NodeID(level: 0, index: UInt64(i)))
            #expect(completed.first?.1 == leaf)

            // Root at every size equals the independent recursive root.
            let want = RFC6962.root(leafHashes: Array(leaves.prefix(n)))
            #expect(frontier.root == want, "size \(n)")
            roots.append(want)

            // nodeIDs(forSize:) names exactly the frontier hashes, and reloading gives the same frontier.
            let ids = MerkleFrontier.nodeIDs(forSize: size)
            #expect(ids.count == size.nonzeroBitCount)
            #expect(ids.map { nodes[$0] } == frontier.hashes.map { Optional($0) })
            #expect(try MerkleFrontier(size: size, hashes: ids.map { nodes[$0]! }) == frontier)

            // The stored subtrees suffice for every proof at this size.
            let reader = BoundedReader(nodes: nodes, size: size)
            #expect(try RFC6962.root(size: size, reader: reader) == want)
            let step = n <= 100 ? 1 : 7
            for index in stride(from: 0, to: n, by: step) + [n - 1] {
                let proof = try RFC6962.inclusionProof(index: UInt64(index), size: size, reader: reader)
                try RFC6962.verifyInclusion(leafHash: leaves[index], index: UInt64(index), size: size,
                                            proof: proof, root: want)
            }
            for old in stride(from: 1, through: n, by: step) + [n] {
                let proof = try RFC6962.consistencyProof(from: UInt64(old), to: size, reader: reader)
                try RFC6962.verifyConsistency(oldSize: UInt64(old), newSize: size, oldRoot: roots[old],
                                              newRoot: want, proof: proof)
            }
        }
        // Storage holds exactly 2n - popcount(n) subtrees.
        #expect(nodes.count == 2 * 300 - UInt64(300).nonzeroBitCount)
    }

    @Test func reloadedFrontierContinues() throws {
        let leaves = testLeafHashes(50)
        let (nodes, full) = buildNodes(leaves)
        for cut in 0...50 {
            let ids = MerkleFrontier.nodeIDs(forSize: UInt64(cut))
            var f = try MerkleFrontier(size: UInt64(cut), hashes: ids.map { nodes[$0]! })
            for leaf in leaves[cut...] { _ = f.append(leafHash: leaf) }
            #expect(f == full, "cut \(cut)")
        }
    }

    @Test func invalidFrontier() {
        #expect(throws: MerkleError.invalidFrontier(size: 3, expectedHashes: 2, got: 1)) {
            try MerkleFrontier(size: 3, hashes: [Hash.zero])
        }
        #expect(throws: MerkleError.invalidFrontier(size: 0, expectedHashes: 0, got: 1)) {
            try MerkleFrontier(size: 0, hashes: [Hash.zero])
        }
        #expect(MerkleFrontier.nodeIDs(forSize: 0).isEmpty)
        #expect(MerkleFrontier.nodeIDs(forSize: 13) == [
            NodeID(level: 3, index: 0), NodeID(level: 2, index: 2), NodeID(level: 0, index: 12),
        ])
    }

    @Test func inMemoryStore() throws {
        var store = InMemoryHashStore()
        #expect(store.size == 0)
        let leaves = testLeafHashes(21)
        for l in leaves { store.append(leafHash: l) }
        #expect(store.size == 21)
        #expect(store.root == RFC6962.root(leafHashes: leaves))
        #expect(try store.hashes(for: [NodeID(level: 0, index: 20), NodeID(level: 4, index: 0)])
                == [leaves[20], RFC6962.root(leafHashes: Array(leaves.prefix(16)))])
        #expect(throws: MerkleError.missingNode(NodeID(level: 1, index: 10))) {
            try store.hashes(for: [NodeID(level: 1, index: 10)])
        }
    }
}

extension UInt64 {
    /// Number of trailing one bits.
    fileprivate func trailingZeroBitCount(ofOnes: Bool) -> Int { (~self).trailingZeroBitCount }
}

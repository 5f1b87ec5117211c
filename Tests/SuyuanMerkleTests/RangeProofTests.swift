import SuyuanCrypto
import SuyuanMerkle
import Testing

/// A run of consecutive leaves proved with the inclusion proofs of its first and last leaf, for every
/// run of every tree of 1...40 leaves; any changed leaf, proof hash, bound or root is refused.
@Suite struct RangeProofTests {
    static let maxSize = 40
    static let leafHashes = testLeafHashes(maxSize)
    static let nodes = buildNodes(leafHashes).nodes

    @Test func everyRunOfEveryTree() throws {
        let t = Tally()
        for n in 1...Self.maxSize {
            let size = UInt64(n)
            let root = RFC6962.root(leafHashes: Array(Self.leafHashes.prefix(n)))
            let reader = BoundedReader(nodes: Self.nodes, size: size)
            let proofs = try (0..<size).map { try RFC6962.inclusionProof(index: $0, size: size, reader: reader) }
            for from in 0..<n {
                for end in (from + 1)...n {
                    let run = Array(Self.leafHashes[from..<end])
                    let (first, last) = (proofs[from], proofs[end - 1])
                    let what = "n=\(n) run \(from)..<\(end)"
                    do {
                        try RFC6962.verifyRange(leafHashes: run, from: UInt64(from), size: size, firstProof: first, lastProof: last, root: root)
                        t.verified += 1
                    } catch { t.failures.append("\(what): \(error)") }
                    // Sampled tampering (every kind for the small trees, one salt-chosen position otherwise).
                    guard n <= 12 || (from + end) % 7 == 0 else { continue }
                    for i in (n <= 12 ? Array(run.indices) : [(from * 31 + end) % run.count]) {
                        var bad = run
                        bad[i] = flipping(bad[i], bit: (i * 53) % 256)
                        t.mustReject("\(what), leaf \(from + i) changed") {
                            try RFC6962.verifyRange(leafHashes: bad, from: UInt64(from), size: size, firstProof: first, lastProof: last, root: root)
                        }
                    }
                    for (which, proof) in [("first", first), ("last", last)] where !proof.isEmpty {
                        for j in proof.indices {
                            var bad = proof
                            bad[j] = flipping(bad[j], bit: (j * 29 + from) % 256)
                            t.mustReject("\(what), \(which) proof hash \(j) changed") {
                                try RFC6962.verifyRange(leafHashes: run, from: UInt64(from), size: size,
                                                        firstProof: which == "first" ? bad : first, lastProof: which == "last" ? bad : last, root: root)
                            }
                        }
                        t.mustReject("\(what), \(which) proof one hash short") {
                            try RFC6962.verifyRange(leafHashes: run, from: UInt64(from), size: size,
                                                    firstProof: which == "first" ? Array(proof.dropLast()) : first,
                                                    lastProof: which == "last" ? Array(proof.dropLast()) : last, root: root)
                        }
                    }
                    t.mustReject("\(what), another root") {
                        try RFC6962.verifyRange(leafHashes: run, from: UInt64(from), size: size, firstProof: first, lastProof: last,
                                                root: flipping(root, bit: from % 256))
                    }
                    if end < n {
                        // The same leaves claimed one position later (with the proofs of that position).
                        t.mustReject("\(what), shifted by one") {
                            try RFC6962.verifyRange(leafHashes: run, from: UInt64(from + 1), size: size,
                                                    firstProof: proofs[from + 1], lastProof: proofs[end], root: root)
                        }
                        // A leaf left out of the middle or the end: the run then ends one leaf early.
                        t.mustReject("\(what), run extended by a leaf not in it") {
                            try RFC6962.verifyRange(leafHashes: run + [Self.leafHashes[0]],
                                                    from: UInt64(from), size: size, firstProof: first, lastProof: proofs[end], root: root)
                        }
                    }
                }
            }
        }
        #expect(t.failures.isEmpty, "\(t.failures.prefix(10))")
        #expect(t.verified == (1...Self.maxSize).reduce(0) { $0 + $1 * ($1 + 1) / 2 })
        #expect(t.rejected > 10_000)
    }

    @Test func boundsAndTheEmptyRun() throws {
        let leaves = Array(Self.leafHashes.prefix(8))
        let root = RFC6962.root(leafHashes: leaves)
        let reader = BoundedReader(nodes: Self.nodes, size: 8)
        let p0 = try RFC6962.inclusionProof(index: 0, size: 8, reader: reader)
        let p7 = try RFC6962.inclusionProof(index: 7, size: 8, reader: reader)
        try RFC6962.verifyRange(leafHashes: [], from: 3, size: 8, firstProof: [], lastProof: [], root: root)
        #expect(throws: MerkleError.self) {
            try RFC6962.verifyRange(leafHashes: leaves + [leaves[0]], from: 0, size: 8, firstProof: p0, lastProof: p7, root: root)
        }
        #expect(throws: MerkleError.indexOutOfRange(index: 8, size: 8)) {
            try RFC6962.verifyRange(leafHashes: [leaves[0]], from: 8, size: 8, firstProof: p0, lastProof: p0, root: root)
        }
        // Proofs that disagree on a subtree both cover (the last proof's hash of leaves 0–3 changed).
        var bad7 = p7
        bad7[2] = flipping(bad7[2], bit: 0)
        #expect(throws: MerkleError.self) {
            try RFC6962.verifyRange(leafHashes: [leaves[5], leaves[6], leaves[7]], from: 5, size: 8,
                                    firstProof: try RFC6962.inclusionProof(index: 5, size: 8, reader: reader), lastProof: bad7, root: root)
        }
        // The whole tree: recomputed from its leaves alone, and the proofs still checked.
        try RFC6962.verifyRange(leafHashes: leaves, from: 0, size: 8, firstProof: p0, lastProof: p7, root: root)
    }
}

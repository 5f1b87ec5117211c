import SuyuanCrypto
import SuyuanMerkle
import Testing

/// Every inclusion proof and every consistency proof of every tree of 1...64 leaves.
@Suite struct ExhaustiveProofTests {
    static let maxSize = 64
    static let leafHashes = testLeafHashes(maxSize)
    static let nodes = buildNodes(leafHashes).nodes
    /// roots[n] = root of the first n leaves, by the independent recursive implementation.
    static let roots: [Hash] = (0...maxSize).map { RFC6962.root(leafHashes: Array(leafHashes.prefix($0))) }

    /// Which bits of a proof hash to flip: all 256 for trees of up to 8 leaves, otherwise the first and
    /// last bit and two that move with `salt` (every bit of a hash feeds SHA-256 alike; a full sweep
    /// over all 64 sizes would take minutes in debug builds).
    static func bitsToFlip(n: Int, salt: Int) -> [Int] {
        n <= 8 ? Array(0..<256) : [0, 255, (salt &* 37) % 256, (salt &* 101 &+ 128) % 256]
    }

    /// Batched proofs (one walk over many leaves) equal the proofs made one by one, for every tree of
    /// 1...64 leaves and, in each, every set of leaves whose indexes are the set bits of a mask, for a
    /// spread of masks (all of them up to 8 leaves), with repeats and any order in the request.
    @Test func batchedInclusionProofsEqualSingleOnes() throws {
        var compared = 0
        for n in 1...Self.maxSize {
            let size = UInt64(n)
            let reader = BoundedReader(nodes: Self.nodes, size: size)
            let single = try (0..<size).map { try RFC6962.inclusionProof(index: $0, size: size, reader: reader) }
            let masks: [UInt64] = n <= 8 ? Array(1..<(1 << UInt64(n)))
                : [1, 1 << UInt64(n - 1), 0x5555_5555_5555_5555, 0xF0F0_F0F0_0F0F_0F0F, 0x8000_0000_0000_0001, UInt64.max, 0x0123_4567_89AB_CDEF]
            for mask in masks {
                var set = (0..<size).filter { mask & (1 << $0) != 0 }
                if set.isEmpty { continue }
                set = set.reversed() + [set[0]]   // any order, with a repeat
                let batch = try RFC6962.inclusionProofs(indexes: set, size: size, reader: reader)
                #expect(batch == set.map { single[Int($0)] }, "n=\(n) mask=\(String(mask, radix: 16))")
                compared += set.count
            }
        }
        #expect(compared > 1000)
    }

    /// Many proofs verified at once say, leaf by leaf, what each proof verified alone says: for every
    /// tree of 1...64 leaves and a spread of leaf sets, the sound proofs all verify; a flipped bit in
    /// one proof element (low, middle and top of its path), a wrong leaf hash, a proof one element
    /// short or long, a leaf past the tree, a repeated leaf and a wrong root each fail exactly the
    /// leaves that fail alone, with the same error.
    @Test func manyProofsVerifiedAtOnceAgreeWithEachAlone() throws {
        typealias Leaf = (index: UInt64, leafHash: Hash, proof: [Hash])
        func alone(_ leaves: [Leaf], _ size: UInt64, _ root: Hash) -> [String?] {
            leaves.map { l in
                do { try RFC6962.verifyInclusion(leafHash: l.leafHash, index: l.index, size: size, proof: l.proof, root: root); return nil }
                catch { return "\(error)" }
            }
        }
        var cases = 0, failing = 0
        for n in 1...Self.maxSize {
            let size = UInt64(n), root = Self.roots[n]
            let reader = BoundedReader(nodes: Self.nodes, size: size)
            let masks: [UInt64] = n <= 6 ? Array(1..<(1 << UInt64(n))) : [1, 1 << UInt64(n - 1), 0x5555_5555_5555_5555, 0x0123_4567_89AB_CDEF, UInt64.max]
            for mask in masks {
                let set = (0..<size).filter { mask & (1 << $0) != 0 }
                if set.isEmpty { continue }
                let proofs = try RFC6962.inclusionProofs(indexes: set, size: size, reader: reader)
                let sound: [Leaf] = zip(set, proofs).map { ($0, Self.leafHashes[Int($0)], $1) }.reversed()  // any order
                var variants: [(String, [Leaf], UInt64, Hash)] = [("sound", sound, size, root)]
                let j = (n * 7 + Int(mask % 13)) % sound.count
                for at in Set([0, sound[j].proof.count / 2, sound[j].proof.count - 1]) where !sound[j].proof.isEmpty {
                    var v = sound
                    v[j].proof[at] = Hash(bytes: v[j].proof[at].bytes.enumerated().map { $0 == 31 ? $1 ^ 0x80 : $1 })!
                    variants.append(("bit flipped in element \(at)", v, size, root))
                }
                var v = sound
                v[j].leafHash = Self.leafHashes[(Int(v[j].index) + 1) % Self.maxSize]
                variants.append(("wrong leaf hash", v, size, root))
                v = sound; v[j].proof.append(root); variants.append(("one element long", v, size, root))
                if !sound[j].proof.isEmpty { v = sound; v[j].proof.removeLast(); variants.append(("one element short", v, size, root)) }
                v = sound; v[j].index = size; variants.append(("past the tree", v, size, root))
                if sound.count > 1 { v = sound; v[0] = v[1]; variants.append(("a repeat", v, size, root)) }
                variants.append(("wrong root", sound, size, Self.roots[n - 1]))
                for (what, leaves, size, root) in variants {
                    let expected = alone(leaves, size, root)
                    let batch = RFC6962.verifyInclusions(leaves, size: size, root: root).map { $0.map { "\($0)" } }
                    #expect(batch == expected, "n=\(n) mask=\(String(mask, radix: 16)) \(what)")
                    if what == "sound" { #expect(expected.allSatisfy { $0 == nil }) } else if what != "a repeat" { #expect(expected[j] != nil, "\(what)") }
                    cases += 1
                    failing += expected.count { $0 != nil }
                }
            }
        }
        #expect(cases > 1000 && failing > 1000)
        #expect(RFC6962.verifyInclusions([], size: 5, root: Self.roots[5]).isEmpty)
    }

    /// Leaves checked in one walk over a stored tree (`verifyInclusions(_:size:root:reader:)`) say,
    /// leaf by leaf, what their proofs read from that tree and checked alone say: for every tree of
    /// 1...64 leaves and a spread of leaf sets, the sound leaves all verify in one read that asks for
    /// none of the leaves themselves; a wrong leaf hash, a changed stored node on the leaves' paths, a
    /// leaf past the tree, a repeated leaf and a wrong root each fail exactly the leaves that fail alone.
    @Test func leavesCheckedInOneWalkOverAStoredTreeAgreeWithTheirProofs() throws {
        typealias Leaf = (index: UInt64, leafHash: Hash)
        func alone(_ leaves: [Leaf], _ size: UInt64, _ root: Hash, _ reader: some HashReader) -> [String?] {
            leaves.map { l in
                do {
                    let proof = try RFC6962.inclusionProof(index: l.index, size: size, reader: reader)
                    try RFC6962.verifyInclusion(leafHash: l.leafHash, index: l.index, size: size, proof: proof, root: root)
                    return nil
                } catch { return "\(error)" }
            }
        }
        var cases = 0, failing = 0
        for n in 1...Self.maxSize {
            let size = UInt64(n), root = Self.roots[n]
            let masks: [UInt64] = n <= 6 ? Array(1..<(1 << UInt64(n))) : [1, 1 << UInt64(n - 1), 0x5555_5555_5555_5555, 0x0123_4567_89AB_CDEF, UInt64.max]
            for mask in masks {
                let set = (0..<size).filter { mask & (1 << $0) != 0 }
                let sound: [Leaf] = set.map { ($0, Self.leafHashes[Int($0)]) }.reversed()  // any order
                let counting = CountingReader(nodes: Self.nodes)
                #expect(RFC6962.verifyInclusions(sound, size: size, root: root, reader: counting).allSatisfy { $0 == nil }, "n=\(n)")
                #expect(counting.calls == 1 && !counting.lastIDs.contains { $0.level == 0 && set.contains($0.index) }, "n=\(n)")
                let j = (n * 7 + Int(mask % 13)) % sound.count
                var variants: [(String, [Leaf], [NodeID: Hash], Hash)] = [("sound", sound, Self.nodes, root)]
                var v = sound
                v[j].leafHash = Self.leafHashes[(Int(v[j].index) + 1) % Self.maxSize]
                variants.append(("wrong leaf hash", v, Self.nodes, root))
                // A stored node the walk reads (none when every leaf is given), one bit changed.
                if let read = counting.lastIDs.first {
                    var changed = Self.nodes
                    changed[read] = Hash(bytes: Self.nodes[read]!.bytes.enumerated().map { $0 == 0 ? $1 ^ 1 : $1 })!
                    variants.append(("changed stored node", sound, changed, root))
                }
                v = sound; v[j].index = size; variants.append(("past the tree", v, Self.nodes, root))
                if sound.count > 1 { v = sound; v[0] = v[1]; variants.append(("a repeat", v, Self.nodes, root)) }
                variants.append(("wrong root", sound, Self.nodes, Self.roots[n - 1]))
                for (what, leaves, nodes, root) in variants {
                    let reader = BoundedReader(nodes: nodes, size: size)
                    let expected = alone(leaves, size, root, reader)
                    let walked = RFC6962.verifyInclusions(leaves, size: size, root: root, reader: reader).map { $0.map { "\($0)" } }
                    #expect(walked == expected, "n=\(n) mask=\(String(mask, radix: 16)) \(what)")
                    if what == "sound" { #expect(expected.allSatisfy { $0 == nil }) }
                    else if what == "changed stored node" { #expect(expected.contains { $0 != nil }, "n=\(n) \(what)") }
                    else if what != "a repeat" { #expect(expected[j] != nil, "n=\(n) \(what)") }
                    cases += 1
                    failing += expected.count { $0 != nil }
                }
            }
        }
        #expect(cases > 1000 && failing > 1000)
        #expect(RFC6962.verifyInclusions([(index: UInt64, leafHash: Hash)](), size: 5, root: Self.roots[5], reader: BoundedReader(nodes: Self.nodes, size: 5)).isEmpty)
    }

    @Test func inclusionProofsForEveryIndex() throws {
        let t = Tally()
        for n in 1...Self.maxSize {
            let size = UInt64(n)
            let root = Self.roots[n]
            let reader = BoundedReader(nodes: Self.nodes, size: size)
            #expect(try RFC6962.root(size: size, reader: reader) == root)
            for i in 0..<n {
                let index = UInt64(i)
                let proof = try RFC6962.inclusionProof(index: index, size: size, reader: reader)
                if proof.count > ceilLog2(size) { t.failures.append("n=\(n) i=\(i): proof of \(proof.count) hashes") }
                let leaf = Self.leafHashes[i]
                do {
                    try RFC6962.verifyInclusion(leafHash: leaf, index: index, size: size, proof: proof, root: root)
                    t.verified += 1
                } catch {
                    t.failures.append("n=\(n) i=\(i): \(error)")
                }
                // Wrong index: every other index of the tree, and the first one past it.
                for j in 0...n where j != i {
                    t.mustReject("n=\(n) i=\(i) as j=\(j)") {
                        try RFC6962.verifyInclusion(leafHash: leaf, index: UInt64(j), size: size, proof: proof, root: root)
                    }
                }
                // Wrong leaf, wrong root, doubled size, extra hash.
                let other = Self.leafHashes[(i + 1) % Self.maxSize]
                t.mustReject("n=\(n) i=\(i) wrong leaf") {
                    try RFC6962.verifyInclusion(leafHash: other, index: index, size: size, proof: proof, root: root)
                }
                t.mustReject("n=\(n) i=\(i) wrong root") {
                    try RFC6962.verifyInclusion(leafHash: leaf, index: index, size: size, proof: proof,
                                                root: Self.roots[n - 1])
                }
                t.mustReject("n=\(n) i=\(i) size*2") {
                    try RFC6962.verifyInclusion(leafHash: leaf, index: index, size: size * 2, proof: proof, root: root)
                }
                t.mustReject("n=\(n) i=\(i) extra hash") {
                    try RFC6962.verifyInclusion(leafHash: leaf, index: index, size: size, proof: proof + [leaf], root: root)
                }
                if !proof.isEmpty {
                    t.mustReject("n=\(n) i=\(i) truncated") {
                        try RFC6962.verifyInclusion(leafHash: leaf, index: index, size: size, proof: Array(proof.dropLast()),
                                                    root: root)
                    }
                }
                // A single bit flipped in any hash of the proof.
                for k in proof.indices {
                    for bit in Self.bitsToFlip(n: n, salt: i &* 31 &+ k) {
                        var bad = proof
                        bad[k] = flipping(bad[k], bit: bit)
                        t.mustReject("n=\(n) i=\(i) k=\(k) bit=\(bit)") {
                            try RFC6962.verifyInclusion(leafHash: leaf, index: index, size: size, proof: bad, root: root)
                        }
                    }
                }
            }
        }
        #expect(t.failures.isEmpty, "\(t.failures.count) failures, first: \(t.failures.prefix(10))")
        #expect(t.verified == (1...Self.maxSize).reduce(0, +))
        #expect(t.rejected > 10_000)
    }

    @Test func consistencyProofsForEveryPair() throws {
        let t = Tally()
        for n in 1...Self.maxSize {
            let new = UInt64(n)
            let newRoot = Self.roots[n]
            let reader = BoundedReader(nodes: Self.nodes, size: new)
            for m in 1...n {
                let old = UInt64(m)
                let oldRoot = Self.roots[m]
                let proof = try RFC6962.consistencyProof(from: old, to: new, reader: reader)
                if proof.count > ceilLog2(new) + 1 || proof.isEmpty != (m == n) {
                    t.failures.append("m=\(m) n=\(n): proof of \(proof.count) hashes")
                }
                do {
                    try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
                    t.verified += 1
                } catch {
                    t.failures.append("m=\(m) n=\(n): \(error)")
                }
                // A single bit flipped in any hash of the proof.
                for k in proof.indices {
                    for bit in Self.bitsToFlip(n: n, salt: m &* 31 &+ k) {
                        var bad = proof
                        bad[k] = flipping(bad[k], bit: bit)
                        t.mustReject("m=\(m) n=\(n) k=\(k) bit=\(bit)") {
                            try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot,
                                                          proof: bad)
                        }
                    }
                }
                // Wrong roots, wrong old size, truncated / extended proofs.
                t.mustReject("m=\(m) n=\(n) bad old root") {
                    try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: flipping(oldRoot, bit: 7),
                                                  newRoot: newRoot, proof: proof)
                }
                t.mustReject("m=\(m) n=\(n) bad new root") {
                    try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot,
                                                  newRoot: flipping(newRoot, bit: 7), proof: proof)
                }
                t.mustReject("m=\(m) n=\(n) trailing hash") {
                    try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot,
                                                  proof: proof + [oldRoot])
                }
                t.mustReject("m=\(m) n=\(n) preceding hash") {
                    try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot,
                                                  proof: [oldRoot] + proof)
                }
                if m < n {
                    t.mustReject("m=\(m) n=\(n) swapped roots") {
                        try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: newRoot, newRoot: oldRoot,
                                                      proof: proof)
                    }
                    t.mustReject("m=\(m) n=\(n) old+1") {
                        try RFC6962.verifyConsistency(oldSize: old + 1, newSize: new, oldRoot: oldRoot, newRoot: newRoot,
                                                      proof: proof)
                    }
                    if m > 1 {
                        t.mustReject("m=\(m) n=\(n) old-1") {
                            try RFC6962.verifyConsistency(oldSize: old - 1, newSize: new, oldRoot: oldRoot,
                                                          newRoot: newRoot, proof: proof)
                        }
                    }
                    t.mustReject("m=\(m) n=\(n) truncated") {
                        try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot,
                                                      proof: Array(proof.dropLast()))
                    }
                    t.mustReject("m=\(m) n=\(n) empty") {
                        try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot,
                                                      proof: [])
                    }
                    // (No probe with a different new size: the proof treats the new tree's right part as
                    // opaque hashes, so e.g. the 4 → 5 proof [leaf 4] also checks out as a 4 → 6 or
                    // 4 → 8 proof for the same root. The new size is bound by the signed checkpoint.)
                }
            }
        }
        #expect(t.failures.isEmpty, "\(t.failures.count) failures, first: \(t.failures.prefix(10))")
        #expect(t.verified == (1...Self.maxSize).reduce(0, +))
        #expect(t.rejected > 10_000)
    }

    @Test func errors() throws {
        let reader = BoundedReader(nodes: Self.nodes, size: 10)
        #expect(throws: MerkleError.indexOutOfRange(index: 10, size: 10)) {
            try RFC6962.inclusionProof(index: 10, size: 10, reader: reader)
        }
        #expect(throws: MerkleError.indexOutOfRange(index: 0, size: 0)) {
            try RFC6962.inclusionProof(index: 0, size: 0, reader: reader)
        }
        #expect(throws: MerkleError.sizeOutOfRange) {
            try RFC6962.consistencyProof(from: 5, to: 3, reader: reader)
        }
        #expect(throws: MerkleError.consistencyFromEmptyTree) {
            try RFC6962.consistencyProof(from: 0, to: 3, reader: reader)
        }
        // The reader refuses nodes beyond size 10.
        #expect(throws: MerkleError.missingNode(NodeID(level: 0, index: 10))) {
            try RFC6962.inclusionProof(index: 0, size: 11, reader: reader)
        }
        let leaf = Self.leafHashes[3]
        #expect(throws: MerkleError.indexOutOfRange(index: 3, size: 3)) {
            try RFC6962.verifyInclusion(leafHash: leaf, index: 3, size: 3, proof: [], root: Self.roots[3])
        }
        #expect(throws: MerkleError.wrongProofSize(expected: 3, got: 0)) {
            try RFC6962.verifyInclusion(leafHash: leaf, index: 3, size: 8, proof: [], root: Self.roots[8])
        }
        let proof = try RFC6962.inclusionProof(index: 3, size: 8, reader: BoundedReader(nodes: Self.nodes, size: 8))
        #expect(throws: MerkleError.rootMismatch(expected: Self.roots[7], computed: Self.roots[8])) {
            try RFC6962.verifyInclusion(leafHash: leaf, index: 3, size: 8, proof: proof, root: Self.roots[7])
        }
        #expect(throws: MerkleError.sizeOutOfRange) {
            try RFC6962.verifyConsistency(oldSize: 2, newSize: 1, oldRoot: Self.roots[2], newRoot: Self.roots[1], proof: [])
        }
        #expect(throws: MerkleError.consistencyFromEmptyTree) {
            try RFC6962.verifyConsistency(oldSize: 0, newSize: 0, oldRoot: RFC6962.emptyRoot, newRoot: RFC6962.emptyRoot,
                                          proof: [])
        }
        #expect(throws: MerkleError.rootMismatch(expected: Self.roots[4], computed: Self.roots[3])) {
            try RFC6962.verifyConsistency(oldSize: 3, newSize: 3, oldRoot: Self.roots[3], newRoot: Self.roots[4], proof: [])
        }
        #expect(throws: MerkleError.wrongProofSize(expected: 0, got: 1)) {
            try RFC6962.verifyConsistency(oldSize: 3, newSize: 3, oldRoot: Self.roots[3], newRoot: Self.roots[3],
                                          proof: [leaf])
        }
        let cproof = try RFC6962.consistencyProof(from: 3, to: 7, reader: BoundedReader(nodes: Self.nodes, size: 7))
        #expect(throws: MerkleError.oldRootMismatch(expected: Self.roots[2], computed: Self.roots[3])) {
            try RFC6962.verifyConsistency(oldSize: 3, newSize: 7, oldRoot: Self.roots[2], newRoot: Self.roots[7],
                                          proof: cproof)
        }
        for e: MerkleError in [.indexOutOfRange(index: 3, size: 2), .sizeOutOfRange, .consistencyFromEmptyTree,
                               .wrongProofSize(expected: 2, got: 3), .rootMismatch(expected: .zero, computed: leaf),
                               .oldRootMismatch(expected: .zero, computed: leaf), .missingNode(NodeID(level: 2, index: 5)),
                               .wrongHashCount(expected: 2, got: 1), .invalidFrontier(size: 3, expectedHashes: 2, got: 1)] {
            #expect(!e.description.isEmpty)
        }
        #expect(MerkleError.indexOutOfRange(index: 3, size: 2).description.contains("3"))
        #expect(MerkleError.rootMismatch(expected: .zero, computed: leaf).description.contains(leaf.hex))
    }

    @Test func readerReturningWrongCountIsAnError() {
        struct Short: HashReader {
            func hashes(for ids: [NodeID]) throws -> [Hash] { Array(repeating: Hash.zero, count: ids.count - 1) }
        }
        #expect(throws: MerkleError.wrongHashCount(expected: 3, got: 2)) {
            try RFC6962.inclusionProof(index: 0, size: 8, reader: Short())
        }
    }

    @Test func nodeIDBasics() {
        let id = NodeID(level: 3, index: 5)
        #expect(id.firstLeaf == 40)
        #expect(id.leafCount == 8)
        #expect(NodeID(level: 0, index: 9) < NodeID(level: 1, index: 0))
        #expect(NodeID(level: 1, index: 2) < NodeID(level: 1, index: 3))
    }
}

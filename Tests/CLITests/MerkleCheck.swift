import SuyuanCrypto

/// An independent RFC 9162 (§2.1) Merkle tree hash and proof verifier, so the CLI's proofs are checked by
/// code that shares nothing with SuyuanMerkle but SHA-256.
enum MerkleCheck {
    static func node(_ l: Hash, _ r: Hash) -> Hash { SHA256.hash(prefix: 1, l, r) }

    /// MTH(D[n]) over leaf hashes (RFC 9162 §2.1.1): split at the largest power of two below n.
    static func root(_ leaves: ArraySlice<Hash>) -> Hash {
        if leaves.isEmpty { return SHA256.hash([UInt8]()) }
        if leaves.count == 1 { return leaves.first! }
        var k = 1
        while k << 1 < leaves.count { k <<= 1 }
        let mid = leaves.startIndex + k
        return node(root(leaves[leaves.startIndex..<mid]), root(leaves[mid...]))
    }

    static func root(_ leaves: [Hash]) -> Hash { root(leaves[...]) }

    /// RFC 9162 §2.1.3.2: verifies an inclusion proof.
    static func verifyInclusion(leaf: Hash, index: UInt64, size: UInt64, proof: [Hash], root: Hash) -> Bool {
        guard index < size else { return false }
        var fn = index, sn = size - 1
        var r = leaf
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                r = node(r, p)
            }
            fn >>= 1; sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// RFC 9162 §2.1.4.2: verifies a consistency proof between two tree sizes.
    static func verifyConsistency(size1: UInt64, size2: UInt64, root1: Hash, root2: Hash, proof: [Hash]) -> Bool {
        guard size1 >= 1, size1 <= size2 else { return false }
        if size1 == size2 { return proof.isEmpty && root1 == root2 }
        guard !proof.isEmpty else { return false }
        var path = proof
        if size1 & (size1 - 1) == 0 { path.insert(root1, at: 0) }
        var fn = size1 - 1, sn = size2 - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = node(c, fr)
                sr = node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                sr = node(sr, c)
            }
            fn >>= 1; sn >>= 1
        }
        return fr == root1 && sr == root2 && sn == 0
    }
}

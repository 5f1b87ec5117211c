import SuyuanCrypto

/// Everything that can go wrong when building or checking Merkle roots and proofs.
public enum MerkleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A leaf index is not inside the tree (`index >= size`).
    case indexOutOfRange(index: UInt64, size: UInt64)
    /// A consistency proof was asked for or checked with an old size larger than the new size.
    case sizeOutOfRange
    /// A consistency proof from the empty tree (old size 0) was asked for or checked; RFC 9162
    /// §2.1.4 defines consistency proofs only for `0 < old size`.
    case consistencyFromEmptyTree
    /// The proof does not have the number of hashes that the sizes / index determine.
    case wrongProofSize(expected: Int, got: Int)
    /// The root computed from the proof differs from the given (new) root.
    case rootMismatch(expected: Hash, computed: Hash)
    /// In a consistency proof, the old root recomputed from the proof differs from the given old root.
    case oldRootMismatch(expected: Hash, computed: Hash)
    /// A `HashReader` does not hold the hash of this complete subtree.
    case missingNode(NodeID)
    /// A `HashReader` returned a different number of hashes than node IDs it was asked for.
    case wrongHashCount(expected: Int, got: Int)
    /// A frontier must hold one hash per set bit of its size.
    case invalidFrontier(size: UInt64, expectedHashes: Int, got: Int)
    /// Two inclusion proofs of one tree give different hashes for the same subtree (or neither gives
    /// one a range check needs).
    case proofsDisagree(first: UInt64, count: UInt64)

    public var description: String {
        switch self {
        case let .indexOutOfRange(index, size):
            return "leaf index \(index) is out of range for a tree of \(size) leaves"
        case .sizeOutOfRange:
            return "tree sizes out of range: the old size must not exceed the new size"
        case .consistencyFromEmptyTree:
            return "a consistency proof from the empty tree (old size 0) is meaningless"
        case let .wrongProofSize(expected, got):
            return "wrong proof size: expected \(expected) hashes, got \(got)"
        case let .rootMismatch(expected, computed):
            return "root mismatch: expected \(expected.hex), computed \(computed.hex)"
        case let .oldRootMismatch(expected, computed):
            return "old root mismatch: expected \(expected.hex), computed \(computed.hex)"
        case let .missingNode(id):
            return "no stored hash for complete subtree at level \(id.level), index \(id.index)"
        case let .wrongHashCount(expected, got):
            return "hash reader returned \(got) hashes for \(expected) node IDs"
        case let .invalidFrontier(size, expectedHashes, got):
            return "a frontier of size \(size) needs \(expectedHashes) hashes, got \(got)"
        case let .proofsDisagree(first, count):
            return "the inclusion proofs disagree on the hash of leaves \(first)–\(first + count - 1)"
        }
    }
}

import SuyuanCrypto

/// The right edge of a tree of `size` leaves: the hashes of its complete subtrees, largest first
/// (one per set bit of `size`). Appending a leaf returns the complete subtrees that the append
/// completes, so storage can persist them; the frontier also gives the root in O(log n) without reads.
public struct MerkleFrontier: Sendable, Equatable {
    /// Number of leaves.
    public private(set) var size: UInt64
    /// Hashes of the complete subtrees `MerkleFrontier.nodeIDs(forSize: size)`, largest subtree first.
    public private(set) var hashes: [Hash]

    /// The empty tree.
    public init() {
        size = 0
        hashes = []
    }

    /// A frontier loaded from storage: `hashes` are those of `nodeIDs(forSize: size)`, in that order.
    /// Throws `MerkleError.invalidFrontier` unless there is exactly one hash per set bit of `size`.
    public init(size: UInt64, hashes: [Hash]) throws {
        guard hashes.count == size.nonzeroBitCount else {
            throw MerkleError.invalidFrontier(size: size, expectedHashes: size.nonzeroBitCount, got: hashes.count)
        }
        self.size = size
        self.hashes = hashes
    }

    /// The NodeIDs whose hashes form the frontier of a tree of `size` leaves, largest first:
    /// for each set bit `b` of `size` from the top, the level-`b` subtree that starts right after the
    /// previous ones.
    public static func nodeIDs(forSize size: UInt64) -> [NodeID] {
        RFC6962.decomposition(start: 0, count: size)
    }

    /// Appends a leaf hash. Returns every newly completed subtree as (NodeID, Hash): the leaf itself
    /// (level 0) first, then level 1, 2, … (one per trailing one bit of the old size).
    public mutating func append(leafHash: Hash) -> [(NodeID, Hash)] {
        let leafIndex = size
        var completed: [(NodeID, Hash)] = [(NodeID(level: 0, index: leafIndex), leafHash)]
        var carry = leafHash
        var level = 0
        // Each trailing one bit of the old size is a subtree of that level that the new leaf's
        // subtree now completes; the smallest frontier entry is always the lowest set bit.
        while (leafIndex >> UInt64(level)) & 1 == 1 {
            carry = RFC6962.nodeHash(hashes.removeLast(), carry)
            level += 1
            completed.append((NodeID(level: level, index: leafIndex >> UInt64(level)), carry))
        }
        hashes.append(carry)
        size += 1
        return completed
    }

    /// The root of the tree: the right fold node(H1, node(H2, … Hk)) of the frontier hashes;
    /// `RFC6962.emptyRoot` for size 0.
    public var root: Hash {
        guard var acc = hashes.last else { return RFC6962.emptyRoot }
        for h in hashes.dropLast().reversed() { acc = RFC6962.nodeHash(h, acc) }
        return acc
    }
}

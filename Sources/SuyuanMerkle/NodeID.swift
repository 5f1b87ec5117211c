import SuyuanCrypto

/// A complete (perfect, aligned) subtree of the Merkle tree: it covers the leaves
/// `[index << level, (index + 1) << level)`. Level 0 is a single leaf (`index` is the leaf index);
/// level `l` holds `2^l` leaves. Its hash never changes once the tree has grown past its last leaf,
/// which is why storage keeps exactly these hashes. See `Specs/merkle.md`.
public struct NodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Height above the leaves (0 = a leaf).
    public let level: Int
    /// Position among the subtrees of this level, counted from the left (0-based).
    public let index: UInt64

    public init(level: Int, index: UInt64) {
        precondition(level >= 0 && level < 64, "NodeID level must be in 0..<64")
        self.level = level
        self.index = index
    }

    /// Index of the first leaf covered.
    public var firstLeaf: UInt64 { index << UInt64(level) }

    /// Number of leaves covered (`2^level`).
    public var leafCount: UInt64 { 1 << UInt64(level) }

    /// Ordered by level, then by index.
    public static func < (a: NodeID, b: NodeID) -> Bool {
        (a.level, a.index) < (b.level, b.index)
    }

    public var description: String { "node(level: \(level), index: \(index))" }
}

/// Reads stored hashes of complete subtrees. Storage implements this; proofs and roots are computed
/// from it with a single call carrying O(log n) node IDs.
public protocol HashReader {
    /// The hashes of the given complete subtrees, in the same order as `ids`.
    /// Throws if any of them is not stored.
    func hashes(for ids: [NodeID]) throws -> [Hash]
}

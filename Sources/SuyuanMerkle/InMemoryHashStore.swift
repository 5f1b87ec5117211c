import SuyuanCrypto

/// An in-memory `HashReader` over a dictionary of complete-subtree hashes, for tests and small trees.
/// It stores exactly what `MerkleFrontier.append(leafHash:)` reports, as a persistent store would.
public struct InMemoryHashStore: HashReader, Sendable {
    private var nodes: [NodeID: Hash] = [:]
    private var frontier = MerkleFrontier()

    /// An empty tree.
    public init() {}

    /// Appends a leaf hash and stores every subtree it completes.
    public mutating func append(leafHash: Hash) {
        for (id, hash) in frontier.append(leafHash: leafHash) { nodes[id] = hash }
    }

    /// Number of leaves.
    public var size: UInt64 { frontier.size }

    /// The current root (from the frontier, no reads).
    public var root: Hash { frontier.root }

    /// The stored hashes of `ids`, in order; throws `MerkleError.missingNode` for any not stored.
    public func hashes(for ids: [NodeID]) throws -> [Hash] {
        try ids.map { id in
            guard let h = nodes[id] else { throw MerkleError.missingNode(id) }
            return h
        }
    }
}

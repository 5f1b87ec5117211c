import SuyuanCrypto
import SuyuanMerkle

/// Leaf data for test trees: the 8 bytes of `i`, little-endian.
func testLeafHashes(_ count: Int) -> [Hash] {
    (0..<count).map { i in
        RFC6962.leafHash((0..<8).map { UInt8(truncatingIfNeeded: UInt64(i) >> (8 * UInt64($0))) })
    }
}

/// A HashReader over a dictionary that refuses any node not complete within the first `size` leaves,
/// so a proof generator that peeks past the tree size is caught.
struct BoundedReader: HashReader {
    let nodes: [NodeID: Hash]
    let size: UInt64

    func hashes(for ids: [NodeID]) throws -> [Hash] {
        try ids.map { id in
            let end = (id.index + 1) << UInt64(id.level)
            guard end <= size, let h = nodes[id] else { throw MerkleError.missingNode(id) }
            return h
        }
    }
}

/// A HashReader that counts its calls and the IDs requested.
final class CountingReader: HashReader {
    let nodes: [NodeID: Hash]
    var calls = 0
    var lastIDs: [NodeID] = []

    init(nodes: [NodeID: Hash]) { self.nodes = nodes }

    func hashes(for ids: [NodeID]) throws -> [Hash] {
        calls += 1
        lastIDs = ids
        return try ids.map { id in
            guard let h = nodes[id] else { throw MerkleError.missingNode(id) }
            return h
        }
    }
}

/// Builds the dictionary of every complete subtree hash, as storage would, via MerkleFrontier.
func buildNodes(_ leafHashes: [Hash]) -> (nodes: [NodeID: Hash], frontier: MerkleFrontier) {
    var frontier = MerkleFrontier()
    var nodes: [NodeID: Hash] = [:]
    nodes.reserveCapacity(leafHashes.count * 2)
    for h in leafHashes {
        for (id, hash) in frontier.append(leafHash: h) { nodes[id] = hash }
    }
    return (nodes, frontier)
}

/// `h` with bit `bit` (0 = most significant bit of byte 0) flipped.
func flipping(_ h: Hash, bit: Int) -> Hash {
    var b = h.bytes
    b[bit / 8] ^= UInt8(0x80) >> UInt8(bit % 8)
    return Hash(unchecked: b)
}

/// ⌈log2 n⌉ for n >= 1.
func ceilLog2(_ n: UInt64) -> Int {
    n <= 1 ? 0 : 64 - (n - 1).leadingZeroBitCount
}

/// The outcome of checks over many generated cases, collected rather than one `#expect` each, to keep
/// debug runs fast.
final class Tally {
    var failures: [String] = []
    var verified = 0
    var rejected = 0

    /// `body` must throw a `MerkleError`; anything else is a failure named by `what`.
    func mustReject(_ what: @autoclosure () -> String, _ body: () throws -> Void) {
        do { try body(); failures.append("accepted: \(what())") } catch is MerkleError { rejected += 1 } catch {
            failures.append("non-MerkleError \(error): \(what())")
        }
    }
}

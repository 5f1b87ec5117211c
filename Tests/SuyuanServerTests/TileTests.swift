import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanServer
import Testing

@Suite("C2SP tlog-tiles paths")
struct TilePathTests {
    @Test("the index is written as zero-padded 3-digit elements, all but the last prefixed with x")
    func encoding() throws {
        #expect(TilePath(level: 0, index: 1_234_067).description == "tile/0/x001/x234/067")
        #expect(TilePath(level: 0, index: 0).description == "tile/0/000")
        #expect(TilePath(level: 2, index: 1000, width: 17).description == "tile/2/x001/000.p/17")
        #expect(TilePath(level: nil, index: 5).description == "tile/entries/005")
        #expect(TilePath(level: 0, index: UInt64.max).description == "tile/0/x018/x446/x744/x073/x709/x551/615")
        for t in [TilePath(level: 0, index: 1_234_067), TilePath(level: 63, index: 999, width: 1), TilePath(level: nil, index: 1000, width: 255),
                  TilePath(level: 0, index: UInt64.max)] {
            #expect(try TilePath(path: "/" + t.description) == t)
        }
    }

    @Test("non-canonical and hostile paths are refused", arguments: [
        "/tile/0", "/tile/", "/tile//000", "/tile/0/00", "/tile/0/0000", "/tile/0/x000/001", "/tile/00/000", "/tile/64/000",
        "/tile/0/000.p/0", "/tile/0/000.p/256", "/tile/0/000.p/010", "/tile/0/000.p", "/tile/0/001/002", "/tile/0/x001",
        "/tile/0/x1/000", "/tile/0/X001/000", "/tile/0/x001/x002/x003/x004/x005/x006/x007/008", "/tile/0/x018/x446/x744/x073/x709/x551/616",
        "/tile/../..", "/tile/0/../../etc/passwd", "/tile/./0/000", "/tile/0/%2e%2e/000", "/tile/..%2F..%2Fetc%2Fpasswd",
        "/tile/entries", "/tile/entries/000.p/5/6", "/tile/0/000/", "/tile/0/000.p/5/", "/tile/-1/000", "/tile/0/-01",
        "/tile/0/000?x", "/tile/0/000;x", "/tile/0/\u{0}00", "/tile/0/ 000",
    ])
    func refused(_ path: String) {
        #expect(throws: TilePath.ParseError.self) { try TilePath(path: path) }
    }

    @Test("a tile exists only when the tree has all of its hashes")
    func existence() {
        // A tree of 70,000: 273 full level-0 tiles and a partial one of 112; a full level-1 tile and a
        // partial one of 17; a partial level-2 tile of 1 (the example of the C2SP spec).
        let n: UInt64 = 70_000
        #expect(TilePath(level: 0, index: 272).nodeIDs(treeSize: n) != nil)
        #expect(TilePath(level: 0, index: 273).nodeIDs(treeSize: n) == nil)
        #expect(TilePath(level: 0, index: 273, width: 112).nodeIDs(treeSize: n)?.count == 112)
        #expect(TilePath(level: 0, index: 273, width: 113).nodeIDs(treeSize: n) == nil)
        #expect(TilePath(level: 1, index: 0).nodeIDs(treeSize: n)?.last == NodeID(level: 8, index: 255))
        #expect(TilePath(level: 1, index: 1, width: 17).nodeIDs(treeSize: n)?.first == NodeID(level: 8, index: 256))
        #expect(TilePath(level: 2, index: 0, width: 1).nodeIDs(treeSize: n) == [NodeID(level: 16, index: 0)])
        #expect(TilePath(level: 2, index: 0, width: 2).nodeIDs(treeSize: n) == nil)
        #expect(TilePath(level: 8, index: 0, width: 1).nodeIDs(treeSize: UInt64.max) == nil)
        #expect(TilePath(level: 0, index: UInt64.max).nodeIDs(treeSize: UInt64.max) == nil)
    }
}

/// Merkle hashes read from tiles alone (as a client of a static tile server would), for a tree of `size`.
struct TileReader: HashReader {
    let size: UInt64
    /// Tile hashes by level and tile index.
    var tiles: [Int: [UInt64: [Hash]]] = [:]

    /// Fetches every tile a tree of `size` has (full ones, and the partial ones its size needs).
    static func fetch(size: UInt64, from client: any TestClientProtocol) async throws -> TileReader {
        var r = TileReader(size: size)
        var level = 0
        while size >> UInt64(8 * level) > 0 {
            let nodes = size >> UInt64(8 * level)
            var tilesAtLevel: [UInt64: [Hash]] = [:]
            for i in 0..<(nodes / 256) + (nodes % 256 == 0 ? 0 : 1) {
                let width = i < nodes / 256 ? 256 : Int(nodes % 256)
                let path = "/" + TilePath(level: level, index: i, width: width).description
                let resp = try await client.get(path)
                #expect(resp.status == .ok, "\(path): \(resp.text)")
                #expect(resp.contentType == "application/octet-stream")
                let bytes = resp.bytes
                #expect(bytes.count == 32 * width, "\(path)")
                tilesAtLevel[i] = stride(from: 0, to: bytes.count, by: 32).map { Hash(unchecked: Array(bytes[$0..<$0 + 32])) }
            }
            r.tiles[level] = tilesAtLevel
            level += 1
        }
        return r
    }

    func hashes(for ids: [NodeID]) throws -> [Hash] {
        try ids.map { id in
            let tileLevel = id.level / 8, r = id.level % 8
            let first = id.index << UInt64(r), count = UInt64(1) << UInt64(r)
            let base = try (first..<first + count).map { j -> Hash in
                guard let h = tiles[tileLevel]?[j / 256], Int(j % 256) < h.count else { throw MerkleError.missingNode(id) }
                return h[Int(j % 256)]
            }
            return RFC6962.root(leafHashes: base)
        }
    }
}

@Suite("C2SP tlog-tiles read API")
struct TileAPITests {
    @Test("the root and inclusion proofs rebuilt from tiles alone match the checkpoint and the database")
    func rebuildFromTiles() async throws {
        let t = try TestLedger(entries: 699)  // 700 entries: tiles 0/000, 0/001, 0/002.p/188, 1/000.p/2
        let app = buildApplication(t.configuration())
        try await app.test(.router) { client in
            let note = try await client.get("/checkpoint")
            #expect(note.contentType == "text/plain; charset=utf-8")
            let cp = try Checkpoint.verify(note.bytes, trusting: [Fixture.operatorVerifier]).checkpoint
            #expect(cp.size == 700)
            let reader = try await TileReader.fetch(size: cp.size, from: client)
            #expect(reader.tiles[0]?.count == 3 && reader.tiles[1]?[0]?.count == 2)
            #expect(try RFC6962.root(size: cp.size, reader: reader) == cp.root)
            // A level-1 hash is the root of the full level-0 tile below it.
            #expect(reader.tiles[1]![0]![1] == RFC6962.root(leafHashes: reader.tiles[0]![1]!))
            for size in [1, 255, 256, 257, 512, 699, 700] as [UInt64] {
                #expect(try RFC6962.root(size: size, reader: reader) == (try t.ledger.root(size: size)))
            }
            for index in [0, 1, 255, 256, 511, 600, 699] as [UInt64] {
                let fromTiles = try RFC6962.inclusionProof(index: index, size: cp.size, reader: reader)
                #expect(fromTiles == (try t.ledger.inclusionProof(index: index, size: cp.size)))
                let api = try await client.get("/api/v1/proofs/inclusion?index=\(index)&size=\(cp.size)")
                #expect(try #require(api.json["proof"]?.arrayValue).compactMap { hash64($0) } == fromTiles)
                let leaf = reader.tiles[0]![index / 256]![Int(index % 256)]
                try RFC6962.verifyInclusion(leafHash: leaf, index: index, size: cp.size, proof: fromTiles, root: cp.root)
            }
            #expect(try RFC6962.consistencyProof(from: 300, to: 700, reader: reader) == (try t.ledger.consistencyProof(from: 300, to: 700)))

            // Entry bundles: uint16 big-endian length-prefixed entries hashing to the level-0 tile.
            for (i, width) in [(0, 256), (1, 256), (2, 188)] as [(UInt64, Int)] {
                let resp = try await client.get("/" + TilePath(level: nil, index: i, width: width).description)
                #expect(resp.status == .ok)
                var bytes = resp.bytes[...]
                var n = 0
                while !bytes.isEmpty {
                    let len = Int(bytes[bytes.startIndex]) << 8 | Int(bytes[bytes.startIndex + 1])
                    let entry = bytes.dropFirst(2).prefix(len)
                    #expect(entry.count == len)
                    #expect(RFC6962.leafHash(entry) == reader.tiles[0]![i]![n])
                    let stored = try t.ledger.store.entry(at: i * 256 + UInt64(n))
                    #expect(stored?.bytes == Array(entry))
                    bytes = bytes.dropFirst(2 + len)
                    n += 1
                }
                #expect(n == width)
            }
            // A narrower partial tile than the tree's is a prefix of it; the full tile does not exist yet.
            let narrow = try await client.get("/tile/0/002.p/10")
            #expect(narrow.bytes == reader.tiles[0]![2]!.prefix(10).flatMap(\.bytes))
            #expect(narrow.headers[.cacheControl]?.contains("immutable") == true)
            for missing in ["/tile/0/002", "/tile/0/003", "/tile/0/002.p/189", "/tile/1/000", "/tile/2/000.p/1", "/tile/8/000",
                            "/tile/63/000.p/1", "/tile/entries/002", "/tile/entries/003.p/1", "/tile/0/x018/x446/x744/x073/x709/x551/615"] {
                let r = try await client.get(missing)
                #expect(r.status == .notFound, "\(missing): \(r.text)")
                #expect(r.json["error"]?.stringValue != nil)
            }
        }
    }

    @Test("path traversal and malformed tile paths get 4xx, never a file or a crash", arguments: [
        "/tile/../..", "/tile/../../etc/passwd", "/tile/0/../../../etc/passwd", "/tile/..%2F..%2Fetc%2Fpasswd",
        "/tile/%2e%2e/%2e%2e/etc/passwd", "/tile/0/%2e%2e%2f000", "/tile/0/000%00", "/tile/0/x000/000", "/tile/0/000.p/999",
        "/tile/99999999999999999999/000", "/tile/0/" + String(repeating: "x001/", count: 50) + "000", "/../tile/0/000", "/tile/0/000/..",
    ])
    func traversal(_ path: String) async throws {
        let t = try TestLedger(entries: 3)
        let app = buildApplication(t.configuration())
        try await app.test(.router) { client in
            let r = try await client.get(path)
            #expect((400..<500).contains(r.status.code), "\(path): \(r.status) \(r.text)")
            #expect(r.contentType == "application/json")
        }
    }
}

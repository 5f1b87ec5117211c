import SuyuanCrypto
import SuyuanMerkle
import Testing

/// The RFC 6962 8-leaf test tree, with the roots and proofs published in transparency-dev/merkle's tests.
@Suite struct ReferenceTreeTests {
    static let leaves: [[UInt8]] = [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
    ].map { Hex.decode($0)! }

    /// Root of the first n leaves, n = 1...8.
    static let roots: [String] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static func h(_ hex: String) -> Hash { Hash(hex: hex)! }

    static var leafHashes: [Hash] { leaves.map { RFC6962.leafHash($0) } }

    static var store: InMemoryHashStore {
        var s = InMemoryHashStore()
        for l in leafHashes { s.append(leafHash: l) }
        return s
    }

    @Test func hashingPrimitives() throws {
        #expect(RFC6962.emptyRoot.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(RFC6962.root(leafHashes: []) == RFC6962.emptyRoot)
        #expect(MerkleFrontier().root == RFC6962.emptyRoot)
        #expect(try RFC6962.root(size: 0, reader: InMemoryHashStore()) == RFC6962.emptyRoot)
        // leaf = SHA-256(0x00 ‖ data); node = SHA-256(0x01 ‖ l ‖ r)
        #expect(RFC6962.leafHash([UInt8]()) == SHA256.hash([0x00]))
        #expect(RFC6962.leafHash([UInt8]()).hex == Self.roots[0])
        let a = RFC6962.leafHash([1]), b = RFC6962.leafHash([2])
        #expect(RFC6962.nodeHash(a, b) == SHA256.hash([0x01] + a.bytes + b.bytes))
        #expect(RFC6962.nodeHash(a, b) != RFC6962.nodeHash(b, a))
    }

    @Test func rootsOfEverySize() throws {
        let store = Self.store
        var frontier = MerkleFrontier()
        for n in 1...8 {
            _ = frontier.append(leafHash: Self.leafHashes[n - 1])
            let want = Self.h(Self.roots[n - 1])
            #expect(RFC6962.root(leafHashes: Array(Self.leafHashes.prefix(n))) == want, "size \(n)")
            #expect(try RFC6962.root(size: UInt64(n), reader: store) == want, "size \(n)")
            #expect(frontier.root == want, "size \(n)")
        }
        #expect(store.root == Self.h(Self.roots[7]))
    }

    @Test(arguments: [
        (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
        (0, 1, []),
    ] as [(UInt64, UInt64, [String])])
    func publishedInclusionProofs(index: UInt64, size: UInt64, proof: [String]) throws {
        let got = try RFC6962.inclusionProof(index: index, size: size, reader: Self.store)
        #expect(got.map(\.hex) == proof)
        try RFC6962.verifyInclusion(leafHash: Self.leafHashes[Int(index)], index: index, size: size,
                                    proof: got, root: Self.h(Self.roots[Int(size) - 1]))
    }

    @Test(arguments: [
        (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
        (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (1, 1, []),
        (8, 8, []),
    ] as [(UInt64, UInt64, [String])])
    func publishedConsistencyProofs(old: UInt64, new: UInt64, proof: [String]) throws {
        let got = try RFC6962.consistencyProof(from: old, to: new, reader: Self.store)
        #expect(got.map(\.hex) == proof)
        try RFC6962.verifyConsistency(oldSize: old, newSize: new, oldRoot: Self.h(Self.roots[Int(old) - 1]),
                                      newRoot: Self.h(Self.roots[Int(new) - 1]), proof: got)
    }
}

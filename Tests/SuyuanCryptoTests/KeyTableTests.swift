import CSodium
import Foundation
import Testing
@testable import SuyuanCrypto

/// The per-key tables (`Specs/crypto.md` §2.2) must give libsodium's verdict on every signature by a
/// key libsodium accepts: honest, corrupted and crafted ones, including keys and nonces with a torsion
/// component, where the cofactorless equation holds for only some messages.
@Suite struct KeyTableTests {
    /// libsodium's verdict, and the table's.
    private static func verdicts(_ table: KeyTable, key: [UInt8], sig: [UInt8], msg: [UInt8]) -> (sodium: Bool, table: Bool) {
        let sodium = crypto_sign_verify_detached(sig, msg, UInt64(msg.count), key) == 0
        let fast = msg.withUnsafeBufferPointer { table.accepts(sig, message: $0) }
        return (sodium, fast)
    }

    private static func scalar(_ f: (UnsafeMutablePointer<UInt8>) -> Void) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { f($0.baseAddress!) }
        return out
    }

    /// k = SHA-512(R ‖ A ‖ M) mod L.
    private static func challenge(_ r: [UInt8], _ a: [UInt8], _ m: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 64)
        let input = r + a + m
        crypto_hash_sha512(&digest, input, UInt64(input.count))
        return scalar { crypto_core_ed25519_scalar_reduce($0, digest) }
    }

    /// A signature `R ‖ S` with `S = r + k·a`, for any R and A, as a signer knowing `a` would make it.
    private static func sign(a: [UInt8], publicKey: [UInt8], nonce r: [UInt8], R: [UInt8], msg: [UInt8]) -> [UInt8] {
        let k = challenge(R, publicKey, msg)
        let ka = scalar { crypto_core_ed25519_scalar_mul($0, k, a) }
        return R + scalar { crypto_core_ed25519_scalar_add($0, r, ka) }
    }

    /// A point of order 8 (its y coordinate; x even).
    static let order8: [UInt8] = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
        0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ]

    @Test func honestAndCorruptedSignaturesGetLibsodiumsVerdict() throws {
        let key = SecretKey.generate(), pk = key.publicKey.bytes
        let table = try #require(KeyTable(key: pk))
        let l: [UInt8] = [0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14]
            + [UInt8](repeating: 0, count: 15) + [0x10]
        var accepted = 0, cases = 0
        for i in 0..<300 {
            let msg = SecureRandom.bytes(i * 3)
            let sig = key.sign(msg)
            var variants = [(sig, msg)]
            var flipped = sig
            flipped[i % 64] ^= UInt8(1 << (i % 8))
            variants.append((flipped, msg))
            if !msg.isEmpty { variants.append((sig, [msg[0] ^ 1] + msg.dropFirst())) }
            // S + L: the same point equation, refused as non-canonical.
            var carry = 0
            var malleated = sig
            for j in 0..<32 {
                carry += Int(sig[32 + j]) + Int(l[j])
                malleated[32 + j] = UInt8(carry & 0xff)
                carry >>= 8
            }
            variants.append((malleated, msg))
            for (s, m) in variants {
                let v = Self.verdicts(table, key: pk, sig: s, msg: m)
                #expect(v.sodium == v.table, "case \(i)")
                cases += 1
                if v.sodium { accepted += 1 }
            }
        }
        #expect(accepted == 300 && cases > 1000)
    }

    @Test func torsionComponentsGetLibsodiumsVerdict() throws {
        // A' = aB + T and R' = rB (+ T): the cofactorless equation holds only when [k]T cancels, so
        // libsodium accepts some of these signatures and refuses the rest, by k mod 8.
        var accepted = 0, refused = 0
        for variant in 0..<4 {
            let a = Self.scalar { crypto_core_ed25519_scalar_random($0) }
            let aB = Self.scalar { _ = crypto_scalarmult_ed25519_base_noclamp($0, a) }
            var t = Self.order8
            if variant & 1 == 1 { t[31] |= 0x80 }
            let pk = Self.scalar { #expect(crypto_core_ed25519_add($0, aB, t) == 0) }
            let table = try #require(KeyTable(key: pk))
            for i in 0..<120 {
                let r = Self.scalar { crypto_core_ed25519_scalar_random($0) }
                var R = Self.scalar { _ = crypto_scalarmult_ed25519_base_noclamp($0, r) }
                if variant >= 2 && i % 2 == 0 { R = Self.scalar { #expect(crypto_core_ed25519_add($0, R, t) == 0) } }
                let msg = SecureRandom.bytes(i)
                let sig = Self.sign(a: a, publicKey: pk, nonce: r, R: R, msg: msg)
                let v = Self.verdicts(table, key: pk, sig: sig, msg: msg)
                #expect(v.sodium == v.table, "variant \(variant) case \(i)")
                if v.sodium { accepted += 1 } else { refused += 1 }
            }
        }
        // Both outcomes occur, so the comparison above decided something each way.
        #expect(accepted > 10 && refused > 100)
    }

    @Test func smallOrderNonceIsRefusedThoughTheEquationHolds() throws {
        // R = the identity with S = k·a satisfies [S]B − [k]A = R; libsodium refuses R of small order.
        let a = Self.scalar { crypto_core_ed25519_scalar_random($0) }
        let pk = Self.scalar { _ = crypto_scalarmult_ed25519_base_noclamp($0, a) }
        let table = try #require(KeyTable(key: pk))
        let identity: [UInt8] = [1] + [UInt8](repeating: 0, count: 31)
        let msg = Array("small order R".utf8)
        let k = Self.challenge(identity, pk, msg)
        let sig = identity + Self.scalar { crypto_core_ed25519_scalar_mul($0, k, a) }
        // The table's own equation holds: only the small-order rule refuses it.
        #expect(table.equationHolds(sig, k: k))
        let v = Self.verdicts(table, key: pk, sig: sig, msg: msg)
        #expect(!v.sodium && !v.table)
    }

    @Test func publishedEdgeCaseVectorsGetLibsodiumsVerdict() throws {
        // C2SP CCTV: every vector whose key libsodium can accept (the tables are only built for those).
        struct Vector: Decodable { let number: Int; let key: String; let sig: String; let msg: String; let flags: [String]? }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("Specs/vectors/published/ed25519/ed25519vectors.json"))
        let vectors = try JSONDecoder().decode([Vector].self, from: data)
        var compared = 0, accepted = 0
        var refusedKeys = 0
        for v in vectors {
            let flags = Set(v.flags ?? [])
            let pk = try #require(Hex.decode(v.key)), sig = try #require(Hex.decode(v.sig))
            guard flags.isDisjoint(with: ["low_order_A", "non_canonical_A"]) else {
                // No table for a key libsodium refuses, whatever the caller does.
                #expect(KeyTable(key: pk) == nil, "vector \(v.number) flags \(flags.sorted())")
                refusedKeys += 1
                continue
            }
            let table = try #require(KeyTable(key: pk))
            let verdict = Self.verdicts(table, key: pk, sig: sig, msg: Array(v.msg.utf8))
            #expect(verdict.sodium == verdict.table, "vector \(v.number) flags \(flags.sorted())")
            compared += 1
            if verdict.sodium { accepted += 1 }
        }
        #expect(compared > 100 && accepted == 43 && refusedKeys > 100)
    }

    @Test func aKeyGetsItsTableAfterEnoughAcceptedSignaturesAndKeepsItsVerdicts() {
        // A set of its own, so that other tests running meanwhile cannot start it again.
        let signers = RepeatedSigners(threshold: 32, capacity: 64, counted: 4096)
        let key = SecretKey.generate(), pk = key.publicKey
        let other = SecretKey.generate()
        #expect(signers.table(for: pk.bytes) == nil)
        // Refused signatures never count.
        for i in 0..<(2 * signers.threshold) {
            let m = Array("forged \(i)".utf8)
            #expect(!pk.isValidSignature(other.sign(m), for: m, signers: signers))
        }
        #expect(signers.table(for: pk.bytes) == nil)
        for i in 0..<signers.threshold {
            let m = Array("statement \(i)".utf8)
            #expect(pk.isValidSignature(key.sign(m), for: m, signers: signers))
        }
        #expect(signers.table(for: pk.bytes) != nil)
        // Now through the table: valid, corrupted, another signer's, another message, too short.
        let m = Array("after".utf8), sig = key.sign(m)
        #expect(pk.isValidSignature(sig, for: m, signers: signers))
        #expect(sig.withUnsafeBufferPointer { s in m.withUnsafeBufferPointer { signers.table(for: pk.bytes)!.accepts(s.baseAddress!, message: $0) } })
        var bad = sig
        bad[40] ^= 4
        #expect(!pk.isValidSignature(bad, for: m, signers: signers))
        #expect(!pk.isValidSignature(other.sign(m), for: m, signers: signers))
        #expect(!pk.isValidSignature(sig, for: m + [0], signers: signers))
        #expect(!pk.isValidSignature(Array(sig.prefix(63)), for: m, signers: signers))
        // Non-contiguous message bytes take the same path.
        #expect(pk.isValidSignature(sig, for: m.lazy.map { $0 }, signers: signers))
    }

    @Test func tablesAndCountsStartAgainWhenFull() throws {
        let signers = RepeatedSigners(threshold: 3, capacity: 2, counted: 2)
        let keys = (0..<4).map { _ in SecretKey.generate() }
        func sign(_ k: Int, times: Int) {
            for i in 0..<times {
                let m = Array("m\(i)".utf8)
                #expect(keys[k].publicKey.isValidSignature(keys[k].sign(m), for: m, signers: signers))
            }
        }
        func hasTable(_ k: Int) -> Bool { signers.table(for: keys[k].publicKey.bytes) != nil }
        sign(0, times: 3)
        sign(1, times: 3)
        #expect(hasTable(0) && hasTable(1))
        // A third table: the set is full, so it starts again with the new one alone.
        sign(2, times: 3)
        #expect(!hasTable(0) && !hasTable(1) && hasTable(2))
        // Counting: key 0 counts 2 and key 1 one, which fills the count; a new key starts it again, so
        // key 0 needs three more.
        sign(0, times: 2)
        sign(1, times: 1)
        sign(3, times: 1)
        #expect(!hasTable(0))
        sign(0, times: 1)
        #expect(!hasTable(0))
        sign(0, times: 2)
        #expect(hasTable(0))
    }

    @Test func concurrentChecksWhileTablesAreBuiltAndDropped() async {
        // 40 keys on 4 threads, with room for 8 tables: tables are built, used and dropped meanwhile.
        let signers = RepeatedSigners(threshold: 4, capacity: 8, counted: 64)
        let keys = (0..<40).map { _ in SecretKey.generate() }
        let (mismatches, accepted) = await withTaskGroup(of: (Int, Int).self) { group in
            for w in 0..<4 {
                group.addTask {
                    var bad = 0, ok = 0
                    for i in 0..<1000 {
                        let key = keys[(i * 7 + w) % keys.count], other = keys[(i + w + 1) % keys.count]
                        let m = Array("c \(w) \(i)".utf8)
                        var sig = (i % 4 == 3 ? other : key).sign(m)
                        if i % 9 == 8 { sig[(i / 9) % 64] ^= 0x10 }
                        let verdict = key.publicKey.isValidSignature(sig, for: m, signers: signers)
                        if verdict != key.publicKey.libsodiumAccepts(sig, for: m) { bad += 1 }
                        if verdict { ok += 1 }
                    }
                    return (bad, ok)
                }
            }
            var total = (0, 0)
            for await r in group { total.0 += r.0; total.1 += r.1 }
            return total
        }
        #expect(mismatches == 0 && accepted > 2000)
    }
}

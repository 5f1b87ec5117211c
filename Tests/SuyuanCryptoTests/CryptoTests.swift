import Foundation
import Testing
import SuyuanCrypto

@Suite struct SHA256Tests {
    @Test func knownAnswers() {
        // FIPS 180-4 examples.
        #expect(SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func prefixedAndPartsAgreeWithPlainHashing() {
        let data = Array("suyuan".utf8)
        let l = SHA256.hash(Array("l".utf8)), r = SHA256.hash(Array("r".utf8))
        #expect(SHA256.hash(prefix: 0x00, data) == SHA256.hash([0x00] + data))
        #expect(SHA256.hash(prefix: 0x01, l, r) == SHA256.hash([0x01] + l.bytes + r.bytes))
        #expect(SHA256.hash(parts: [[0x01], l.bytes, r.bytes]) == SHA256.hash(prefix: 0x01, l, r))
        // Non-contiguous input.
        #expect(SHA256.hash(data.lazy.map { $0 }) == SHA256.hash(data))
    }

    @Test func hashHexParsing() {
        let h = SHA256.hash(Array("x".utf8))
        #expect(Hash(hex: h.hex) == h)
        #expect(Hash(hex: h.hex.uppercased()) == nil)  // lowercase only
        #expect(Hash(hex: String(h.hex.dropLast())) == nil)
        #expect(Hash(hex: h.hex + "00") == nil)
        #expect(Hash(hex: String(h.hex.dropLast()) + "g") == nil && Hash(hex: String(h.hex.dropLast()) + "/") == nil)
        #expect(Hash(lowercaseHex: Array(h.hex.utf8)[...]) == h)
        #expect(Hash(bytes: [1, 2, 3]) == nil)
        #expect(Hex.decode("0g") == nil && Hex.decode("abc") == nil && Hex.decode("ABcd") == [0xab, 0xcd])
    }
}

@Suite struct Ed25519Tests {
    /// RFC 8032 §7.1, TEST 1 and TEST 2.
    @Test func rfc8032Vectors() throws {
        let cases: [(seed: String, pub: String, msg: String, sig: String)] = [
            ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
             "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
             "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
            ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
             "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
             "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ]
        for c in cases {
            let key = try #require(SecretKey(seed: Hex.decode(c.seed)!))
            #expect(Hex.encode(key.publicKey.bytes) == c.pub)
            let msg = Hex.decode(c.msg)!
            let sig = key.sign(msg)
            #expect(Hex.encode(sig) == c.sig)
            #expect(key.publicKey.isValidSignature(sig, for: msg))
            var bad = sig
            bad[0] ^= 1
            #expect(!key.publicKey.isValidSignature(bad, for: msg))
            #expect(!key.publicKey.isValidSignature(sig, for: msg + [0]))
            #expect(!key.publicKey.isValidSignature(Array(sig.dropLast()), for: msg))
        }
    }

    @Test func generatedKeysAreDistinctAndWork() {
        let a = SecretKey.generate(), b = SecretKey.generate()
        #expect(a.publicKey != b.publicKey)
        let m = Array("statement".utf8)
        #expect(a.publicKey.isValidSignature(a.sign(m), for: m))
        #expect(!b.publicKey.isValidSignature(a.sign(m), for: m))
        #expect(SecretKey(seed: [1, 2, 3]) == nil)
        #expect(PublicKey(bytes: [UInt8](repeating: 0, count: 31)) == nil)
    }

    @Test func randomAndHelpers() {
        #expect(SecureRandom.bytes(32).count == 32)
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
        #expect(SecureRandom.bytes(0).isEmpty)
        var secret: [UInt8] = [1, 2, 3]
        secureZero(&secret)
        #expect(secret == [0, 0, 0])
        #expect(constantTimeEquals([1, 2], [1, 2]) && !constantTimeEquals([1, 2], [1, 3]) && !constantTimeEquals([1], [1, 2]))
    }
}

@Suite struct KeyFileTests {
    let pass = Array("correct horse battery staple".utf8)

    @Test func sealAndOpenRoundTrip() throws {
        let key = SecretKey.generate()
        let file = try KeyFile.seal(key, name: "gd.example/regulator", passphrase: pass)
        let parsed = try KeyFile.parse(file.encoded())
        #expect(parsed == file)
        #expect(parsed.publicKeyValue == key.publicKey)
        let opened = try parsed.open(passphrase: pass)
        #expect(opened.publicKey == key.publicKey)
        let m = Array("m".utf8)
        #expect(opened.sign(m) == key.sign(m))
        // The encoded file never contains the seed in the clear.
        var seed = key.seedBytes()
        defer { secureZero(&seed) }
        let text = String(decoding: file.encoded(), as: UTF8.self)
        #expect(!text.contains(Data(seed).base64EncodedString()))
        #expect(!text.contains(Hex.encode(seed)))
    }

    @Test func wrongPassphraseAndTampering() throws {
        let key = SecretKey.generate()
        let file = try KeyFile.seal(key, name: "k", passphrase: pass)
        #expect(throws: KeyFile.Error.wrongPassphrase) { _ = try file.open(passphrase: Array("wrong".utf8)) }
        #expect(throws: KeyFile.Error.emptyPassphrase) { _ = try file.open(passphrase: []) }
        #expect(throws: KeyFile.Error.emptyPassphrase) { _ = try KeyFile.seal(key, name: "k", passphrase: []) }
        // A substituted public key is detected after decryption.
        var swapped = file
        swapped.publicKey = Data(SecretKey.generate().publicKey.bytes).base64EncodedString()
        #expect { _ = try swapped.open(passphrase: self.pass) } throws: { "\($0)".contains("does not match") }
        // A modified ciphertext fails authentication.
        var flipped = file
        var ct = [UInt8](Data(base64Encoded: file.cipher.ciphertext)!)
        ct[5] ^= 1
        flipped.cipher.ciphertext = Data(ct).base64EncodedString()
        #expect(throws: KeyFile.Error.wrongPassphrase) { _ = try flipped.open(passphrase: self.pass) }
        // Hostile KDF limits are refused before any work.
        var costly = file
        costly.kdf.memlimit = 1 << 40
        #expect { _ = try costly.open(passphrase: self.pass) } throws: { "\($0)".contains("KDF limits") }
    }

    @Test func malformedFilesAreRefused() throws {
        let good = try KeyFile.seal(SecretKey.generate(), name: "k", passphrase: pass)
        let text = String(decoding: good.encoded(), as: UTF8.self)
        let cases: [(String, String)] = [
            ("not json", "not the expected JSON"),
            (text.replacingOccurrences(of: "suyuan-key-v1", with: "suyuan-key-v9"), "format"),
            (text.replacingOccurrences(of: "argon2id13", with: "scrypt"), "KDF"),
            (text.replacingOccurrences(of: "xsalsa20poly1305", with: "aes"), "cipher"),
            (text.replacingOccurrences(of: "\"name\" : \"k\"", with: "\"name\" : \"\""), "empty name"),
            (String(repeating: " ", count: 5000), "larger than"),
        ]
        for (input, fragment) in cases {
            #expect { _ = try KeyFile.parse(Array(input.utf8)) } throws: { "\($0)".contains(fragment) }
        }
    }
}

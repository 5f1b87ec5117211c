import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

@Suite struct KeyTests {
    /// The bytes as a String, or nil when they are not valid UTF-8 (such input can never reach a parser
    /// that takes a String, which counts as rejected).
    static func utf8String(_ bytes: [UInt8]) -> String? {
        let s = String(decoding: bytes, as: UTF8.self)
        return Array(s.utf8) == bytes ? s : nil
    }

    /// The mangling rule of the vectors file: every strict substring, and every copy with one byte
    /// incremented, must be rejected. Returns the number of mangled forms checked.
    @discardableResult
    static func checkMangling(_ key: String) -> Int {
        let u = Array(key.utf8)
        var checked = 0
        for i in 0..<u.count {
            for j in (i + 1)...u.count where j - i < u.count {
                checked += 1
                guard let s = utf8String(Array(u[i..<j])) else { continue }
                #expect(throws: NoteError.self, "substring [\(i), \(j)) \(s.debugDescription)") { try VerifierKey(parsing: s) }
            }
            var m = u
            m[i] &+= 1
            checked += 1
            guard let s = utf8String(m) else { continue }
            #expect(throws: NoteError.self, "byte \(i) incremented: \(s.debugDescription)") { try VerifierKey(parsing: s) }
        }
        // The empty string, the shortest strict substring of all.
        #expect(throws: NoteError.self) { try VerifierKey(parsing: "") }
        return checked
    }

    // MARK: Verifier keys

    @Test func publishedVerifierKeys() throws {
        let file = try NoteVectorFiles.signedNote()
        let want = [("example.com/foo", "530d903a"), ("PeterNeumann", "c74f20a3")]
        for (c, (name, id)) in zip(file.notes, want) {
            let k = try VerifierKey(parsing: c.verifierKey)
            #expect(k.name == name)
            #expect(k.keyIDHex == id)
            #expect(k.keyID == Hex.decode(id))
            #expect(k.algorithm == .ed25519)
            #expect(k.description == c.verifierKey)
            #expect(try VerifierKey(name: name, publicKey: k.publicKey) == k)
        }
    }

    @Test func publishedBadVerifierKeysAreRejected() throws {
        let file = try NoteVectorFiles.signedNote()
        #expect(file.badVerifierKeys.count == 2)
        for bad in file.badVerifierKeys {
            #expect(throws: NoteError.self, "\(bad.why)") { try VerifierKey(parsing: bad.key) }
        }
        #expect(throws: NoteError.unknownKeyAlgorithm(0x65)) { try VerifierKey(parsing: file.badVerifierKeys[1].key) }
    }

    @Test func manglingRuleForEveryPublishedVerifierKey() throws {
        let file = try NoteVectorFiles.signedNote()
        #expect(file.manglingRule.contains("strict substring"))
        for c in file.notes {
            _ = try VerifierKey(parsing: c.verifierKey)
            #expect(Self.checkMangling(c.verifierKey) > 1000)
        }
    }

    @Test func manglingRuleForCosignerAndNonASCIIKeys() throws {
        let pub = NoteVectorFiles.exampleKey().publicKey
        let cosigner = try VerifierKey(name: "witness.example/w1", publicKey: pub, algorithm: .cosignatureV1)
        #expect(cosigner.algorithm == .cosignatureV1)
        #expect(try VerifierKey(parsing: cosigner.description) == cosigner)
        Self.checkMangling(cosigner.description)
        // Incrementing bytes of a non-ASCII name yields invalid UTF-8 or a different name.
        let unicode = try VerifierKey(name: "溯源.example/ledger", publicKey: pub)
        #expect(try VerifierKey(parsing: unicode.description) == unicode)
        Self.checkMangling(unicode.description)
    }

    @Test func verifierKeyStrictness() throws {
        let good = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
        _ = try VerifierKey(parsing: good)
        for bad in [
            "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // uppercase hex
            "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   // 7 hex digits
            "example.com/foo+530d903a0+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", // 9 hex digits
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k=", // bad padding
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k\n", // newline
            " example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // leading space
            "example.com/foo+530d903a+",                                                // no key
            "example.com/foo+530d903a",                                                 // no key at all
            "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",                   // empty name
            "example.com/fo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",    // other name
        ] {
            #expect(throws: NoteError.self, "\(bad.debugDescription)") { try VerifierKey(parsing: bad) }
        }
        let renamed = try VerifierKey(name: "example.com/fo", publicKey: VerifierKey(parsing: good).publicKey)
        #expect(throws: NoteError.keyIDMismatch(name: "example.com/fo", found: "530d903a", computed: renamed.keyIDHex)) {
            try VerifierKey(parsing: "example.com/fo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
        }
    }

    @Test func keyNames() throws {
        let pub = NoteVectorFiles.exampleKey().publicKey
        for ok in ["a", "example.com/log", "溯源", "a-b_c.d/e:f@g", "\u{7f}"] {
            #expect(try VerifierKey(name: ok, publicKey: pub).name == ok)
        }
        for bad in ["", " ", "a b", "a+b", "+", "a\tb", "a\nb", "a\rb", "a\u{0}b", "a\u{1b}b", "a\u{85}b", "a\u{a0}b",
                    "a\u{1680}b", "a\u{2000}b", "a\u{200a}b", "a\u{2028}b", "a\u{2029}b", "a\u{202f}b", "a\u{205f}b", "a\u{3000}b"] {
            #expect(throws: NoteError.self, "\(bad.debugDescription)") { try VerifierKey(name: bad, publicKey: pub) }
        }
    }

    // MARK: Base64

    @Test func base64KnownAnswersAndStrictness() {
        // RFC 4648 section 10.
        let kat = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                   ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, enc) in kat {
            #expect(Base64.encode(Array(plain.utf8)) == enc)
            #expect(Base64.decode(enc) == Array(plain.utf8))
        }
        #expect(Base64.encode([0xfb, 0xff, 0xfe]) == "+//+")
        #expect(Base64.decode("+//+") == [0xfb, 0xff, 0xfe])
        for bad in ["Zg", "Zg=", "Zh==", "Zm9=", "Zm8", "Zm8==", "Z===", "====", "=Zg=", "Zg==Zg==", "Zm9v\n", " Zm9v",
                    "Zm 9v", "-_-_", "Zm9v====", "Zg=a", "Zm9vY", "é===", "Zm\u{0}v"] {
            #expect(Base64.decode(bad) == nil, "\(bad.debugDescription)")
        }
        for _ in 0..<200 {
            let n = Int.random(in: 0..<70)
            let b = (0..<n).map { _ in UInt8.random(in: 0...255) }
            #expect(Base64.decode(Base64.encode(b)) == b)
            #expect(Base64.encode(b) == Data(b).base64EncodedString())
        }
    }

    @Test func base64DecodesExactlyTheCanonicalStrings() {
        // Random strings of whole groups, mostly of the alphabet, some ending in one or two "=", some with
        // a stray byte: accepted exactly when Foundation decodes them and encodes the result back to the
        // same string.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let stray: [Character] = ["=", "-", "_", " ", "\n", "é", "\u{0}"]
        var accepted = 0, refused = 0
        for n in 0..<4000 {
            var text = (0..<(4 * Int.random(in: 1...4))).map { _ in alphabet.randomElement()! }
            if n % 3 == 0 { text[text.count - 1] = "=" }
            if n % 6 == 0 { text[text.count - 2] = "=" }
            if n % 5 == 0 { text[Int.random(in: 0..<text.count)] = stray.randomElement()! }
            let t = String(text)
            let foundation = Data(base64Encoded: t).flatMap { $0.base64EncodedString() == t ? [UInt8]($0) : nil }
            #expect(Base64.decode(t) == foundation, "\(t.debugDescription)")
            if foundation != nil { accepted += 1 } else { refused += 1 }
        }
        #expect(accepted > 1000 && refused > 1000)
    }

    // MARK: Base58 and did:key

    @Test func base58KnownAnswers() throws {
        // draft-msporny-base58 examples, and edge cases.
        let kat: [([UInt8], String)] = [
            ([], ""),
            ([0], "1"),
            ([0, 0, 0], "111"),
            ([57], "z"),
            ([58], "21"),
            (Array("Hello World!".utf8), "2NEpo7TZRRrLZSi2U"),
            (Array("The quick brown fox jumps over the lazy dog.".utf8),
             "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"),
            ([0x00, 0x00, 0x28, 0x7f, 0xb4, 0xcd], "11233QC4"),
        ]
        for (bytes, text) in kat {
            #expect(Base58BTC.encode(bytes) == text)
            #expect(Base58BTC.decode(text) == bytes)
        }
        for bad in ["0", "O", "I", "l", "1 ", "+", "z0", "é"] {
            #expect(Base58BTC.decode(bad) == nil, "\(bad)")
        }
        // W3C eddsa-jcs-2022: the proof value is the base58btc (multibase 'z') form of the signature.
        let b58 = try String(decoding: NoteVectorFiles.data("eddsa-jcs-2022/sigBTC58JCS.txt"), as: UTF8.self)
        let hex = try String(decoding: NoteVectorFiles.data("eddsa-jcs-2022/sigHexJCS.txt"), as: UTF8.self)
        #expect(b58.hasPrefix("z"))
        #expect(Base58BTC.decode(String(b58.dropFirst())) == Hex.decode(hex))
        #expect("z" + Base58BTC.encode(Hex.decode(hex)!) == b58)
        for _ in 0..<100 {
            let b = [UInt8](repeating: 0, count: Int.random(in: 0..<3)) + (0..<Int.random(in: 0..<40)).map { _ in UInt8.random(in: 0...255) }
            #expect(Base58BTC.decode(Base58BTC.encode(b)) == b)
        }
    }

    @Test func didKeyW3CVector() throws {
        struct KeyPair: Decodable { let publicKeyMultibase: String; let privateKeyMultibase: String }
        let kp = try JSONDecoder().decode(KeyPair.self, from: NoteVectorFiles.data("eddsa-jcs-2022/keyPair.json"))
        var seed = try DIDKey.decodeMultibaseSecretKey(kp.privateKeyMultibase)
        #expect(seed.count == 32)
        let key = try #require(SecretKey(seed: seed))
        secureZero(&seed)
        #expect(DIDKey.multibase(key.publicKey) == kp.publicKeyMultibase)
        #expect(DIDKey.encode(key.publicKey) == "did:key:" + kp.publicKeyMultibase)
        #expect(try DIDKey.decode("did:key:" + kp.publicKeyMultibase) == key.publicKey)
        #expect(try DIDKey.decodeMultibase(kp.publicKeyMultibase) == key.publicKey)

        // The signed credential's verification method resolves to the same key, and its proof verifies
        // over the published hash data (proof config hash ‖ document hash).
        let signed = try JSONSerialization.jsonObject(with: NoteVectorFiles.data("eddsa-jcs-2022/signedJCS.json")) as? [String: Any]
        let vm = try #require((signed?["proof"] as? [String: Any])?["verificationMethod"] as? String)
        #expect(vm == "did:key:\(kp.publicKeyMultibase)#\(kp.publicKeyMultibase)")
        #expect(try DIDKey.decode(vm) == key.publicKey)
        let sig = try #require(Hex.decode(String(decoding: NoteVectorFiles.data("eddsa-jcs-2022/sigHexJCS.txt"), as: UTF8.self)))
        let hashData = try #require(Hex.decode(String(decoding: NoteVectorFiles.data("eddsa-jcs-2022/combinedHashJCS.txt"), as: UTF8.self)))
        #expect(key.publicKey.isValidSignature(sig, for: hashData))
        #expect(key.sign(hashData) == sig)
    }

    @Test func didKeyRejectsMalformed() throws {
        let pub = NoteVectorFiles.exampleKey().publicKey
        let did = DIDKey.encode(pub)
        #expect(did.hasPrefix("did:key:z6Mk"))
        #expect(try DIDKey.decode(did) == pub)
        let mb = DIDKey.multibase(pub)
        let other = DIDKey.multibase(SecretKey.generate().publicKey)
        #expect(throws: DIDKeyError.fragmentMismatch) { try DIDKey.decode(did + "#" + other) }
        #expect(throws: DIDKeyError.fragmentMismatch) { try DIDKey.decode(did + "#") }
        #expect(throws: DIDKeyError.fragmentMismatch) { try DIDKey.decode(did + "#key-1") }
        #expect(throws: DIDKeyError.notBase58BTC) { try DIDKey.decode("did:key:" + "u" + mb.dropFirst()) }
        #expect(throws: DIDKeyError.notBase58BTC) { try DIDKey.decode("did:key:") }
        #expect(throws: DIDKeyError.self) { try DIDKey.decode("did:web:example.com") }
        #expect(throws: DIDKeyError.self) { try DIDKey.decode("DID:KEY:" + mb) }
        #expect(throws: DIDKeyError.self) { try DIDKey.decode(mb) }
        #expect(throws: DIDKeyError.invalidBase58) { try DIDKey.decode(did + "0") }
        #expect(throws: DIDKeyError.invalidBase58) { try DIDKey.decode("did:key:z" + String(repeating: "2", count: 200)) }
        // A secp256k1 key (multicodec 0xe7) is not Ed25519.
        #expect(throws: DIDKeyError.wrongMulticodec(expected: "ed25519-pub (0xed)")) {
            try DIDKey.decode("did:key:z" + Base58BTC.encode([0xe7, 0x01, 0x02] + pub.bytes))
        }
        // Wrong lengths with the right prefix.
        #expect(throws: DIDKeyError.wrongLength(31, expected: 32)) {
            try DIDKey.decodeMultibase("z" + Base58BTC.encode([0xed, 0x01] + pub.bytes.dropLast()))
        }
        #expect(throws: DIDKeyError.wrongLength(33, expected: 32)) {
            try DIDKey.decodeMultibase("z" + Base58BTC.encode([0xed, 0x01] + pub.bytes + [0]))
        }
        // A public key is not a private key and vice versa.
        #expect(throws: DIDKeyError.self) { try DIDKey.decodeMultibaseSecretKey(mb) }
        #expect(throws: DIDKeyError.self) { try DIDKey.decodeMultibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq") }
    }

    // MARK: Ed25519 acceptance policy (C2SP CCTV vectors)

    struct EdVector: Decodable {
        let number: Int
        let key: String
        let sig: String
        let msg: String
        let flags: [String]?
    }

    /// The flags whose presence makes libsodium 1.0.18 (`crypto_sign_verify_detached`) reject a vector;
    /// see Specs/crypto.md. Every vector with none of these flags is accepted.
    static let rejectedFlags: Set<String> = ["low_order_A", "low_order_R", "non_canonical_A", "non_canonical_R", "low_order_residue"]

    @Test func ed25519AcceptancePolicy() throws {
        let vectors = try JSONDecoder().decode([EdVector].self, from: NoteVectorFiles.data("ed25519/ed25519vectors.json"))
        #expect(vectors.count == 914)
        var accepted = 0
        for v in vectors {
            let key = try #require(PublicKey(bytes: Hex.decode(v.key)!))
            let sig = try #require(Hex.decode(v.sig))
            let ok = key.isValidSignature(sig, for: Array(v.msg.utf8))
            let flags = Set(v.flags ?? [])
            #expect(ok == flags.isDisjoint(with: Self.rejectedFlags), "vector \(v.number) flags \(flags.sorted())")
            if ok { accepted += 1 }
        }
        #expect(accepted == 43)
        // The smaller rule "no low_order_A, low_order_R or low_order_residue" is equivalent on this file:
        // every non-canonical encoding in it is also a low-order point.
        for v in vectors {
            let f = Set(v.flags ?? [])
            if f.contains("non_canonical_A") { #expect(f.contains("low_order_A")) }
            if f.contains("non_canonical_R") { #expect(f.contains("low_order_R")) }
        }
    }

    @Test func ed25519RejectsMalleatedS() throws {
        let key = NoteVectorFiles.exampleKey()
        let msg = Array("malleability".utf8)
        let sig = key.sign(msg)
        #expect(key.publicKey.isValidSignature(sig, for: msg))
        // S + L (group order, little-endian) is the same scalar mod L but not canonical: rejected.
        let order: [UInt8] = Hex.decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")!
        var s = Array(sig[32...])
        var carry = 0
        for i in 0..<32 {
            let t = Int(s[i]) + Int(order[i]) + carry
            s[i] = UInt8(t & 0xff)
            carry = t >> 8
        }
        #expect(carry == 0)
        #expect(!key.publicKey.isValidSignature(Array(sig[..<32]) + s, for: msg))
        // Wrong lengths.
        #expect(!key.publicKey.isValidSignature(Array(sig.dropLast()), for: msg))
        #expect(!key.publicKey.isValidSignature(sig + [0], for: msg))
    }
}

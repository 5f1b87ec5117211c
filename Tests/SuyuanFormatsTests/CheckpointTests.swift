import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

@Suite struct CheckpointTests {
    static let rootB64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="

    @Test func publishedCosignedCheckpoint() throws {
        let c = try NoteVectorFiles.signedNote().checkpointWithCosignature
        let note = try Note.parse(Array(c.note.utf8))
        #expect(note.encoded == c.note)
        #expect(note.signatures.count == 2)
        let cp = try Checkpoint.parse(body: note.text)
        #expect(cp.origin == c.wantOrigin)
        #expect(cp.size == c.wantSize)
        #expect(Base64.encode(cp.root.bytes) == Self.rootB64)
        #expect(cp.extensions.isEmpty)
        #expect(cp.body == note.text)

        // The log's own signature: a plain Ed25519 note signature.
        #expect(note.signatures[0].name == "example.com/behind-the-sofa")
        #expect(note.signatures[0].signature.count == 64)
        #expect(Cosignature(from: note.signatures[0]) == nil)

        // The witness cosignature.
        let cosig = try #require(Cosignature(from: note.signatures[1]))
        #expect(cosig.name == "witness.example.com/w1")
        #expect(Hex.encode(cosig.keyID) == c.wantCosignerKeyID)
        #expect(note.signatures[1].keyIDHex == c.wantCosignerKeyID)
        #expect(cosig.timestamp == c.wantCosignatureTimestamp)
        #expect(cosig.signature.count == 64)
        #expect(Cosignature.message(checkpointBody: note.text, timestamp: cosig.timestamp) == Array(c.cosignedMessage.utf8))

        // Neither key is published: nothing is trusted, and the error names both signers.
        #expect(throws: NoteError.untrustedCheckpoint(signers: ["example.com/behind-the-sofa+033de0ae", "witness.example.com/w1+8d66cf3f"])) {
            try Checkpoint.verify(Array(c.note.utf8), trusting: [])
        }
    }

    @Test func untrustedCheckpointMessage() throws {
        let log = try NoteSigner(name: "hk.example/ledger", key: NoteVectorFiles.exampleKey())
        let cp = try Checkpoint(origin: "hk.example/ledger", size: 1, root: SHA256.hash([UInt8]()))
        let note = try cp.sign(with: log)
        do {
            _ = try Checkpoint.verify(Array(note.encoded.utf8), trusting: [])
            Issue.record("verified without trusted keys")
        } catch let e as NoteError {
            #expect(e == .untrustedCheckpoint(signers: ["hk.example/ledger+\(log.verifierKey.keyIDHex)"]))
            #expect(e.description == "checkpoint signed by unknown key `hk.example/ledger+\(log.verifierKey.keyIDHex)`; pass its verifier key with --trust")
        }
    }

    @Test func strictBodyParsing() throws {
        let r = Self.rootB64
        let good = "example.com/log\n20852163\n\(r)\n"
        #expect(try Checkpoint.parse(body: good).size == 20852163)
        #expect(try Checkpoint.parse(body: "o\n0\n\(r)\n").size == 0)
        let empty = try Checkpoint(origin: "o", size: 0, root: SHA256.hash([UInt8]()))
        #expect(empty.body == "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
        #expect(try Checkpoint.parse(body: "o\n18446744073709551615\n\(r)\n").size == UInt64.max)
        let ext = try Checkpoint.parse(body: "o\n5\n\(r)\nextension one\nextension two\n")
        #expect(ext.extensions == ["extension one", "extension two"])
        #expect(ext.body == "o\n5\n\(r)\nextension one\nextension two\n")

        let bad: [(String, String)] = [
            ("leading zero", "o\n05\n\(r)\n"),
            ("double zero", "o\n00\n\(r)\n"),
            ("plus sign", "o\n+5\n\(r)\n"),
            ("minus sign", "o\n-5\n\(r)\n"),
            ("space", "o\n 5\n\(r)\n"),
            ("hex size", "o\n0x5\n\(r)\n"),
            ("empty size", "o\n\n\(r)\n"),
            ("size overflow", "o\n18446744073709551616\n\(r)\n"),
            ("bad base64 root", "o\n5\n\(r.dropLast())\n"),
            ("url-safe base64 root", "o\n5\n\(r.replacingOccurrences(of: "/", with: "_"))\n"),
            ("non-canonical base64 root", "o\n5\n\(r.replacingOccurrences(of: "I=", with: "J="))\n"),
            ("31-byte root", "o\n5\n\(Base64.encode([UInt8](repeating: 7, count: 31)))\n"),
            ("33-byte root", "o\n5\n\(Base64.encode([UInt8](repeating: 7, count: 33)))\n"),
            ("hex root", "o\n5\n\(Hash.zero.hex)\n"),
            ("empty origin", "\n5\n\(r)\n"),
            ("missing root line", "o\n5\n"),
            ("only origin", "o\n"),
            ("empty body", ""),
            ("no final newline", "o\n5\n\(r)"),
            ("empty extension line", "o\n5\n\(r)\n\n"),
            ("empty extension line in the middle", "o\n5\n\(r)\na\n\nb\n"),
            ("control character in origin", "o\u{7}\n5\n\(r)\n"),
            ("CRLF", "o\r\n5\r\n\(r)\r\n"),
        ]
        for (why, body) in bad {
            #expect(throws: NoteError.self, "\(why)") { try Checkpoint.parse(body: body) }
        }
        #expect(throws: NoteError.malformedCheckpoint(reason: "the tree size has a leading zero")) {
            try Checkpoint.parse(body: "o\n05\n\(r)\n")
        }
        #expect(throws: NoteError.malformedCheckpoint(reason: "the root hash is 31 bytes, not 32")) {
            try Checkpoint.parse(body: "o\n5\n\(Base64.encode([UInt8](repeating: 7, count: 31)))\n")
        }
        #expect(throws: NoteError.malformedCheckpoint(reason: "the origin line is empty")) {
            try Checkpoint.parse(body: "\n5\n\(r)\n")
        }
    }

    @Test func initValidatesLines() throws {
        let root = SHA256.hash(Array("x".utf8))
        #expect(throws: NoteError.self) { try Checkpoint(origin: "", size: 1, root: root) }
        #expect(throws: NoteError.self) { try Checkpoint(origin: "a\nb", size: 1, root: root) }
        #expect(throws: NoteError.self) { try Checkpoint(origin: "o", size: 1, root: root, extensions: [""]) }
        #expect(throws: NoteError.self) { try Checkpoint(origin: "o", size: 1, root: root, extensions: ["a\nb"]) }
        let cp = try Checkpoint(origin: "o", size: 1, root: root, extensions: ["e"])
        #expect(try Checkpoint.parse(body: cp.body) == cp)
    }

    @Test func signAndVerifyRoundTrip() throws {
        let log = try NoteSigner(name: "example.com/log", key: SecretKey.generate())
        let other = try VerifierKey(name: "example.com/other", publicKey: SecretKey.generate().publicKey)
        let cp = try Checkpoint(origin: "example.com/log", size: 42, root: SHA256.hash(Array("tree".utf8)))
        let note = try cp.sign(with: log)
        #expect(note.text == cp.body)
        let v = try Checkpoint.verify(Array(note.encoded.utf8), trusting: [other, log.verifierKey])
        #expect(v.checkpoint == cp)
        #expect(v.note == note)
        #expect(v.verifiedBy == [log.verifierKey])

        // Tampering with the size is detected.
        let tampered = note.encoded.replacingOccurrences(of: "\n42\n", with: "\n43\n")
        #expect(throws: NoteError.invalidSignature(key: log.verifierKey.shortName)) {
            try Checkpoint.verify(Array(tampered.utf8), trusting: [log.verifierKey])
        }
        // A validly signed note whose text is not a checkpoint is rejected after verification.
        let notCheckpoint = try Note.sign(text: "hello\n", signers: [log])
        #expect(throws: NoteError.self) { try Checkpoint.verify(Array(notCheckpoint.encoded.utf8), trusting: [log.verifierKey]) }
    }

    @Test func cosignatureRoundTrip() throws {
        let logKey = SecretKey.generate()
        let log = try NoteSigner(name: "example.com/log", key: logKey)
        let witnessKey = SecretKey.generate()
        let witness = try VerifierKey(name: "witness.example/w1", publicKey: witnessKey.publicKey, algorithm: .cosignatureV1)
        #expect(witness.description.split(separator: "+")[2].hasPrefix("B"))  // base64 of 0x04 ‖ key
        #expect(try VerifierKey(parsing: witness.description) == witness)

        let cp = try Checkpoint(origin: "example.com/log", size: 7, root: SHA256.hash(Array("t".utf8)))
        let t: UInt64 = 1_700_000_000
        let line = try Cosignature.sign(checkpointBody: cp.body, timestamp: t, name: witness.name, key: witnessKey)
        #expect(line.keyID == witness.keyID)
        #expect(line.signature.count == 72)
        let cosig = try #require(Cosignature(from: line))
        #expect(cosig.timestamp == t)
        #expect(cosig.verify(checkpointBody: cp.body, key: witness))
        #expect(!cosig.verify(checkpointBody: cp.body.replacingOccurrences(of: "\n7\n", with: "\n8\n"), key: witness))
        // Same public key as a plain Ed25519 verifier: different type, so not a match.
        let plain = try VerifierKey(name: witness.name, publicKey: witnessKey.publicKey)
        #expect(plain.keyID != witness.keyID)
        #expect(!cosig.verify(checkpointBody: cp.body, key: plain))
        // Another cosigner key.
        let stranger = try VerifierKey(name: witness.name, publicKey: SecretKey.generate().publicKey, algorithm: .cosignatureV1)
        #expect(!cosig.verify(checkpointBody: cp.body, key: stranger))
        // A different timestamp in the line breaks the signature.
        let shifted = try NoteSignature(name: line.name, keyID: line.keyID,
                                        signature: [0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x01] + Array(line.signature[8...]))
        #expect(!(Cosignature(from: shifted)!.verify(checkpointBody: cp.body, key: witness)))

        // In a note: the log signs, the witness cosigns; either key alone is enough to verify.
        let note = try cp.sign(with: log).adding([line])
        let bytes = Array(note.encoded.utf8)
        #expect(try Checkpoint.verify(bytes, trusting: [witness]).verifiedBy == [witness])
        #expect(try Checkpoint.verify(bytes, trusting: [log.verifierKey, witness]).verifiedBy == [log.verifierKey, witness])
        // A cosignature line whose signature fails under a trusted cosigner key rejects the note.
        let broken = try cp.sign(with: log).adding([shifted])
        #expect(throws: NoteError.invalidSignature(key: witness.shortName)) {
            try Checkpoint.verify(Array(broken.encoded.utf8), trusting: [log.verifierKey, witness])
        }

        // Timestamps above 2^63 - 1 are refused both ways.
        #expect(throws: NoteError.invalidTimestamp(1 << 63)) {
            try Cosignature.sign(checkpointBody: cp.body, timestamp: 1 << 63, name: "w", key: witnessKey)
        }
        let huge = try NoteSignature(name: line.name, keyID: line.keyID, signature: [0x80] + Array(line.signature[1...]))
        #expect(Cosignature(from: huge) == nil)
        // Wrong payload sizes.
        let short = try NoteSignature(name: line.name, keyID: line.keyID, signature: Array(line.signature.dropLast()))
        #expect(Cosignature(from: short) == nil)
    }

    /// Pins the worked example in Specs/checkpoint.md (log key seed 32 × 0x01, witness key seed 32 × 0x02;
    /// cross-checked with an independent Ed25519 implementation, Python `cryptography`).
    @Test func specWorkedExample() throws {
        let log = try NoteSigner(name: "example.com/ledger", key: NoteVectorFiles.exampleKey())
        let witnessKey = SecretKey(seed: [UInt8](repeating: 0x02, count: 32))!
        let root = SHA256.hash(prefix: 0x00, Array("hello".utf8))  // RFC 6962 leaf hash of "hello"
        let cp = try Checkpoint(origin: "example.com/ledger", size: 1, root: root)
        let witness = try VerifierKey(name: "witness.example/w1", publicKey: witnessKey.publicKey, algorithm: .cosignatureV1)
        let cosig = try Cosignature.sign(checkpointBody: cp.body, timestamp: 1_700_000_000, name: witness.name, key: witnessKey)
        let note = try cp.sign(with: log).adding([cosig])
        #expect(log.verifierKey.description == "example.com/ledger+3481d542+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c")
        #expect(witness.description == "witness.example/w1+df1c0a35+BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU")
        #expect(Hex.encode(root.bytes) == "8a2a5c9b768827de5a9552c38a044c66959c68f6d2f21b5260af54d2f87db827")
        #expect(String(decoding: Cosignature.message(checkpointBody: cp.body, timestamp: 1_700_000_000), as: UTF8.self)
                == "cosignature/v1\ntime 1700000000\nexample.com/ledger\n1\niipcm3aIJ95alVLDigRMZpWcaPbS8htSYK9U0vh9uCc=\n")
        #expect(note.encoded == """
            example.com/ledger
            1
            iipcm3aIJ95alVLDigRMZpWcaPbS8htSYK9U0vh9uCc=

            — example.com/ledger NIHVQuskDGgGrycibVn0lfkDjpmjAHCbcXplk504vc8Fic+LUq23nRr5ygXzZmKbkUQX2mnmIANyi9hBhiEGyms5UAY=
            — witness.example/w1 3xwKNQAAAABlU/EArLp7/RHvtqFFG65PgEFfC9QN96vuK5txhfXR/OGTuZ+04o00KlgvvQeYmUNtxNz0pB4TPCn/ynNVRU/NsPz2Dg==

            """)
        #expect(cp.body.utf8.count == 66)
        let v = try Checkpoint.verify(Array(note.encoded.utf8), trusting: [log.verifierKey, witness])
        #expect(v.verifiedBy == [log.verifierKey, witness])
        #expect(try Checkpoint.verify(Array(note.encoded.utf8), trusting: [witness]).verifiedBy == [witness])
        #expect(try Checkpoint.verify(Array(note.encoded.utf8), trusting: [log.verifierKey]).verifiedBy == [log.verifierKey])
    }
}

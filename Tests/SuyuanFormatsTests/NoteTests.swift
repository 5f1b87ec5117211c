import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

/// Loads the published vectors used by the note, checkpoint and key tests.
enum NoteVectorFiles {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent("Specs/vectors/published/" + relative))
    }

    struct SignedNoteFile: Decodable {
        struct NoteCase: Decodable {
            let desc: String
            let signerKey: String?
            let verifierKey: String
            let note: String
            let wantText: String
            let wantValid: Bool
        }
        struct BadKey: Decodable {
            let key: String
            let why: String
        }
        struct CheckpointCase: Decodable {
            let desc: String
            let note: String
            let wantOrigin: String
            let wantSize: UInt64
            let wantCosignerKeyID: String
            let wantCosignatureTimestamp: UInt64
            let cosignedMessage: String
        }
        let notes: [NoteCase]
        let badVerifierKeys: [BadKey]
        let manglingRule: String
        let checkpointWithCosignature: CheckpointCase
    }

    static func signedNote() throws -> SignedNoteFile {
        try JSONDecoder().decode(SignedNoteFile.self, from: data("signed-note/vectors.json"))
    }

    /// The deterministic test key used for the worked examples in Specs/: seed = 32 × 0x01.
    static func exampleKey() -> SecretKey { SecretKey(seed: [UInt8](repeating: 0x01, count: 32))! }
}

@Suite struct NoteTests {
    typealias V = NoteVectorFiles

    @Test func publishedNotesVerify() throws {
        let file = try V.signedNote()
        #expect(file.notes.count == 2)
        for c in file.notes {
            let key = try VerifierKey(parsing: c.verifierKey)
            let note = try Note.parse(Array(c.note.utf8))
            #expect(note.text == c.wantText, "\(c.desc)")
            #expect(note.encoded == c.note, "\(c.desc): re-encoding must reproduce the note")
            let verified = try note.verify(trusting: [key])
            #expect(c.wantValid)
            #expect(verified.count == 1)
            #expect(verified.first?.name == key.name)
            #expect(verified.first?.keyID == key.keyID)
        }
    }

    @Test func goTestSignReproducedByteForByte() throws {
        let file = try V.signedNote()
        let c = try #require(file.notes.first { $0.signerKey != nil })
        let signer = try NoteSigner(parsingGoPrivateKey: c.signerKey!)
        #expect(signer.verifierKey.description == c.verifierKey)
        let note = try Note.sign(text: c.wantText, signers: [signer])
        #expect(note.encoded == c.note)
        #expect(try note.verify(trusting: [signer.verifierKey]).count == 1)
    }

    @Test func goPrivateKeyStringIsStrict() throws {
        let file = try V.signedNote()
        let text = try #require(file.notes.first { $0.signerKey != nil }?.signerKey)
        _ = try NoteSigner(parsingGoPrivateKey: text)
        let u = Array(text.utf8)
        for i in 0..<u.count {
            for j in (i + 1)...u.count where j - i < u.count {
                let s = String(decoding: u[i..<j], as: UTF8.self)
                #expect(throws: NoteError.self, "substring \(s)") { try NoteSigner(parsingGoPrivateKey: s) }
            }
            var m = u
            m[i] &+= 1
            let s = String(decoding: m, as: UTF8.self)
            #expect(throws: NoteError.self, "incremented byte \(i)") { try NoteSigner(parsingGoPrivateKey: s) }
        }
        // A verifier key is not a private key.
        #expect(throws: NoteError.self) { try NoteSigner(parsingGoPrivateKey: file.notes[1].verifierKey) }
    }

    @Test func unknownKeysAreIgnoredButOneTrustedSignatureIsRequired() throws {
        let file = try V.signedNote()
        let fooKey = try VerifierKey(parsing: file.notes[0].verifierKey)
        let peterKey = try VerifierKey(parsing: file.notes[1].verifierKey)
        let note = try Note.parse(Array(file.notes[0].note.utf8))

        // Only an unrelated key is trusted: the signature is ignored, then nothing is trusted.
        #expect(throws: NoteError.untrustedNote(signers: ["example.com/foo+530d903a"])) {
            try note.verify(trusting: [peterKey])
        }
        #expect(throws: NoteError.untrustedNote(signers: ["example.com/foo+530d903a"])) {
            try note.verify(trusting: [])
        }
        // Same name, different key (so different key ID): still unknown, must be ignored.
        let impostor = try VerifierKey(name: "example.com/foo", publicKey: SecretKey.generate().publicKey)
        #expect(throws: NoteError.untrustedNote(signers: ["example.com/foo+530d903a"])) {
            try note.verify(trusting: [impostor])
        }
        // Same key ID, different name: also unknown.
        let renamed = try NoteSignature(name: "example.com/bar", keyID: fooKey.keyID, signature: note.signatures[0].signature)
        let renamedNote = try Note(text: note.text, signatures: [renamed])
        #expect(throws: NoteError.untrustedNote(signers: ["example.com/bar+530d903a"])) {
            try renamedNote.verify(trusting: [fooKey])
        }

        // An unknown signature next to a trusted one: kept in the note, ignored by verification.
        let stranger = try NoteSigner(name: "stranger.example/x", key: SecretKey.generate())
        let both = try note.adding([stranger.sign(text: note.text)])
        let reparsed = try Note.parse(Array(both.encoded.utf8))
        #expect(reparsed == both)
        #expect(reparsed.signatures.count == 2)
        let verified = try reparsed.verify(trusting: [fooKey, peterKey])
        #expect(verified == [note.signatures[0]])
    }

    @Test func aFailingSignatureFromATrustedKeyRejectsTheNote() throws {
        let file = try V.signedNote()
        let key = try VerifierKey(parsing: file.notes[0].verifierKey)
        let note = try Note.parse(Array(file.notes[0].note.utf8))
        let good = note.signatures[0]

        var flipped = good.signature
        flipped[10] ^= 0x01
        let bad = try NoteSignature(name: good.name, keyID: good.keyID, signature: flipped)
        #expect(throws: NoteError.invalidSignature(key: "example.com/foo+530d903a")) {
            try Note(text: note.text, signatures: [bad]).verify(trusting: [key])
        }
        // Even when another signature by the same key verifies.
        #expect(throws: NoteError.invalidSignature(key: "example.com/foo+530d903a")) {
            try Note(text: note.text, signatures: [good, bad]).verify(trusting: [key])
        }
        // Wrong signature length from a known key.
        let short = try NoteSignature(name: good.name, keyID: good.keyID, signature: Array(good.signature.prefix(63)))
        #expect(throws: NoteError.invalidSignature(key: "example.com/foo+530d903a")) {
            try Note(text: note.text, signatures: [short]).verify(trusting: [key])
        }
        // Altered text.
        let altered = try Note(text: "This is an example message!\n", signatures: [good])
        #expect(throws: NoteError.invalidSignature(key: "example.com/foo+530d903a")) {
            try altered.verify(trusting: [key])
        }
        // A repeated good signature is accepted and reported once.
        #expect(try Note(text: note.text, signatures: [good, good]).verify(trusting: [key]) == [good])
    }

    @Test func duplicateTrustedKeysAreFine() throws {
        let file = try V.signedNote()
        let key = try VerifierKey(parsing: file.notes[0].verifierKey)
        let note = try Note.parse(Array(file.notes[0].note.utf8))
        // The same key twice is fine.
        #expect(try note.verify(trusting: [key, key]).count == 1)
    }

    @Test func signatureLineLimit() throws {
        let signer = try NoteSigner(name: "example.com/limit", key: NoteVectorFiles.exampleKey())
        let sig = signer.sign(text: "hello\n")
        let atLimit = "hello\n\n" + String(repeating: sig.line + "\n", count: Note.maxSignatures)
        #expect(try Note.parse(Array(atLimit.utf8)).signatures.count == 100)
        let over = "hello\n\n" + String(repeating: sig.line + "\n", count: Note.maxSignatures + 1)
        #expect(throws: NoteError.tooManySignatures(count: 101)) { try Note.parse(Array(over.utf8)) }
        #expect(throws: NoteError.tooManySignatures(count: 101)) {
            try Note(text: "hello\n", signatures: Array(repeating: sig, count: 101))
        }
    }

    @Test func sizeLimit() throws {
        let signer = try NoteSigner(name: "example.com/limit", key: NoteVectorFiles.exampleKey())
        let lineBytes = signer.sign(text: "x\n").line.utf8.count + 1
        // A note of exactly maxSize bytes is accepted.
        let fill = Note.maxSize - 1 - lineBytes - 1  // text = fill × "a" + "\n"
        let text = String(repeating: "a", count: fill) + "\n"
        let note = try Note.sign(text: text, signers: [signer])
        #expect(note.encoded.utf8.count == Note.maxSize)
        #expect(try Note.parse(Array(note.encoded.utf8)).verify(trusting: [signer.verifierKey]).count == 1)
        // One byte more is not.
        let big = "a" + note.encoded
        #expect(throws: NoteError.tooLarge(bytes: Note.maxSize + 1)) { try Note.parse(Array(big.utf8)) }
        #expect(throws: NoteError.tooLarge(bytes: Note.maxSize + 1)) {
            try Note.sign(text: "a" + text, signers: [signer])
        }
    }

    @Test func malformedNotesAreRejected() throws {
        let file = try V.signedNote()
        let good = file.notes[0].note
        let sigLine = String(good.split(separator: "\n").last!)
        func parse(_ s: String) throws -> Note { try Note.parse(Array(s.utf8)) }

        #expect(throws: NoteError.missingFinalNewline) { try parse(String(good.dropLast())) }
        #expect(throws: NoteError.missingSignatures) { try parse("This is an example message.\n") }
        #expect(throws: NoteError.missingSignatures) { try parse("This is an example message.\n\n") }
        #expect(throws: NoteError.missingSignatures) { try parse(sigLine + "\n") }
        #expect(throws: NoteError.missingSignatures) { try parse("") }
        // No blank line between text and signatures.
        #expect(throws: NoteError.missingSignatures) { try parse("text\n" + sigLine + "\n") }
        // The last blank line splits: a blank line after the signatures leaves no signature block.
        #expect(throws: NoteError.missingSignatures) { try parse(good + "\n") }
        // Control characters other than newline, anywhere.
        #expect(throws: NoteError.controlCharacter(byte: 0x0d, offset: 27)) {
            try parse(good.replacingOccurrences(of: ".\n\n", with: ".\r\n\n"))
        }
        #expect(throws: NoteError.controlCharacter(byte: 0x09, offset: 4)) {
            try parse(good.replacingOccurrences(of: "This is", with: "This\tis"))
        }
        // Invalid UTF-8.
        var bytes = Array(good.utf8)
        bytes[2] = 0xff
        #expect(throws: NoteError.invalidUTF8) { try Note.parse(bytes) }
        bytes = Array(good.utf8)
        let dashAt = bytes.firstIndex(of: 0xe2)!
        bytes[dashAt + 1] = 0xc0  // broken em dash
        #expect(throws: NoteError.invalidUTF8) { try Note.parse(bytes) }

        let text = "This is an example message.\n\n"
        let b64 = String(sigLine.split(separator: " ").last!)
        func line(_ l: String) -> String { text + l + "\n" }
        for bad in [
            "- example.com/foo " + b64,              // hyphen instead of em dash
            "\u{2013} example.com/foo " + b64,       // en dash
            "\u{2014}example.com/foo " + b64,        // no space after the dash
            "\u{2014} example.com/foo",              // no signature
            "\u{2014} example.com/foo ",             // empty signature
            "\u{2014}  " + b64,                      // empty name
            "\u{2014} example.com/foo  " + b64,      // two spaces
            "\u{2014} example.com/foo " + b64 + " ", // trailing space
            "\u{2014} example.com/foo " + String(b64.dropLast()),          // bad padding
            "\u{2014} example.com/foo -" + b64.dropFirst(),  // URL-safe alphabet
            "\u{2014} example.com/foo " + b64.replacingOccurrences(of: "M=", with: "N="), // non-canonical
            "\u{2014} example.com/foo AAAAAA==",     // 4 bytes: a key ID and nothing else
            "\u{2014} a+b " + b64,                   // '+' in the name
            "\u{2014} a\u{00A0}b " + b64,            // no-break space in the name
            "\u{2014} a\u{3000}b " + b64,            // ideographic space in the name
        ] {
            #expect(throws: NoteError.self, "\(bad)") { try parse(line(bad)) }
            do { _ = try parse(line(bad)) } catch let e as NoteError {
                if case .malformedSignatureLine(let n, _) = e { #expect(n == 1) } else { Issue.record("\(bad): \(e)") }
            }
        }
        // A malformed second line is reported as line 2.
        #expect(throws: NoteError.malformedSignatureLine(number: 2, reason: "it does not start with an em dash (U+2014) and a space")) {
            try parse(text + sigLine + "\n" + "x\n")
        }
    }

    @Test func signRejectsBadTextsAndNoSigners() throws {
        let signer = try NoteSigner(name: "example.com/s", key: NoteVectorFiles.exampleKey())
        #expect(throws: NoteError.invalidText(reason: "the text is empty")) { try Note.sign(text: "", signers: [signer]) }
        #expect(throws: NoteError.invalidText(reason: "the text does not end with a newline")) {
            try Note.sign(text: "no newline", signers: [signer])
        }
        #expect(throws: NoteError.self) { try Note.sign(text: "a\r\nb\n", signers: [signer]) }
        #expect(throws: NoteError.self) { try Note.sign(text: "a\u{0}\n", signers: [signer]) }
        #expect(throws: NoteError.noSigners) { try Note.sign(text: "a\n", signers: []) }
        #expect(throws: NoteError.noSigners) { try Note(text: "a\n", signatures: []) }
        #expect(throws: NoteError.invalidKeyID(count: 3)) { try NoteSignature(name: "a", keyID: [1, 2, 3], signature: [0]) }
        for bad in ["", "a b", "a+b", "a\tb", "a\nb", "a\u{85}b", "a\u{2028}b", "a\u{1}b"] {
            #expect(throws: NoteError.self, "\(bad.debugDescription)") { try NoteSigner(name: bad, key: SecretKey.generate()) }
        }
    }

    @Test func signParseVerifyRoundTrip() throws {
        let a = try NoteSigner(name: "example.com/a", key: SecretKey.generate())
        let b = try NoteSigner(name: "例え.example/b", key: SecretKey.generate())
        for text in ["x\n", "\n", "two\n\nparagraphs\n", "ends in blank lines\n\n\n", "unicode — 溯源 ✓\n",
                     "\u{2014} looks like a signature line\n"] {
            let note = try Note.sign(text: text, signers: [a, b])
            let parsed = try Note.parse(Array(note.encoded.utf8))
            #expect(parsed == note, "\(text.debugDescription)")
            #expect(parsed.text == text)
            #expect(try parsed.verify(trusting: [b.verifierKey]).map(\.name) == ["例え.example/b"])
            #expect(try parsed.verify(trusting: [a.verifierKey, b.verifierKey]).count == 2)
        }
    }

    /// Pins the worked example in Specs/signed-note.md (key seed 32 × 0x01; cross-checked with an
    /// independent Ed25519 implementation, Python `cryptography`).
    @Test func specWorkedExample() throws {
        let signer = try NoteSigner(name: "example.com/ledger", key: NoteVectorFiles.exampleKey())
        let note = try Note.sign(text: "Hello, transparency.\n", signers: [signer])
        #expect(signer.verifierKey.description == "example.com/ledger+3481d542+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c")
        #expect(signer.verifierKey.keyIDHex == "3481d542")
        #expect(note.encoded == """
            Hello, transparency.

            — example.com/ledger NIHVQuWnXN9L7SX/T27SFHdOCBSNVNQ5YLOqvtDVlqGoakHd5X0EesHCzLc+q8Yy5K3aACeeSdN6CipqLoOAo6brnwc=

            """)
        #expect(note.encoded.utf8.count == 138)
        #expect(try note.verify(trusting: [signer.verifierKey]) == note.signatures)
        do {
            _ = try note.verify(trusting: [])
            Issue.record("verified without trusted keys")
        } catch let e as NoteError {
            #expect(e.description == "note is not signed by any trusted key (signed by `example.com/ledger+3481d542`); pass the signer's verifier key with --trust if you trust it")
        }
        do {
            _ = try Note(text: "Hello, transparency!\n", signatures: note.signatures).verify(trusting: [signer.verifierKey])
            Issue.record("verified altered text")
        } catch let e as NoteError {
            #expect(e == .invalidSignature(key: "example.com/ledger+3481d542"))
            #expect(e.description.hasPrefix("signature by trusted key `example.com/ledger+3481d542` does not verify"))
        }
    }
}

import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

// Tests for W3C Data Integrity `eddsa-jcs-2022` proofs (Specs/data-integrity.md).

/// The published w3c/vc-di-eddsa vector, copied unchanged under Specs/vectors/published/.
private enum EddsaVector {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent() // SuyuanFormatsTests
        .deletingLastPathComponent() // Tests
        .deletingLastPathComponent() // repository root
        .appendingPathComponent("Specs/vectors/published/eddsa-jcs-2022")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// A text file's content without surrounding whitespace.
    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func json(_ name: String) throws -> JSONValue { try JSONValue.parse(try bytes(name)) }

    static func key() throws -> SecretKey {
        var seed = try DIDKey.decodeMultibaseSecretKey(try #require(json("keyPair.json")["privateKeyMultibase"]?.stringValue))
        defer { secureZero(&seed) }
        return try #require(SecretKey(seed: seed))
    }

    /// The signed credential from signedJCS.json.
    static func signed() throws -> JSONValue { try json("signedJCS.json") }

    /// The credential before signing: signedJCS.json without its proof.
    static func unsigned() throws -> JSONValue {
        guard case .object(var members) = try signed() else { throw DataIntegrityError.notAnObject("signedJCS.json") }
        members["proof"] = nil
        return .object(members)
    }

    /// The proof's `created` as a Timestamp.
    static func created() throws -> Timestamp {
        let text = try #require(json("proofConfigJCS.json")["created"]?.stringValue)
        return try #require(Timestamp(parsing: text))
    }

    static var verificationMethod: String {
        let mb = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
        return "did:key:\(mb)#\(mb)"
    }
}

/// `value` with the member at `path` (object keys) replaced by `replacement`, or removed when nil.
private func setting(_ value: JSONValue, _ path: [String], to replacement: JSONValue?) -> JSONValue {
    guard let first = path.first, case .object(var members) = value else { return replacement ?? value }
    if path.count == 1 {
        members[first] = replacement
    } else {
        members[first] = setting(members[first] ?? .object([:]), Array(path.dropFirst()), to: replacement)
    }
    return .object(members)
}

private func failure(_ result: ProofVerification) -> ProofFailure? {
    if case .invalid(let why) = result { return why }
    return nil
}

@Suite struct DataIntegrityVectorTests {
    @Test func everyFileInTheFolderIsChecked() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: EddsaVector.directory.path).sorted()
        #expect(names == [
            "LICENSE.md", "canonDocJCS.txt", "combinedHashJCS.txt", "docHashJCS.txt", "keyPair.json",
            "proofCanonJCS.txt", "proofConfigJCS.json", "proofHashJCS.txt", "sigBTC58JCS.txt",
            "sigHexJCS.txt", "signedJCS.json",
        ])
        #expect(try EddsaVector.text("LICENSE.md").contains("W3C"))
    }

    @Test func keyPairMatchesTheVerificationMethod() throws {
        let key = try EddsaVector.key()
        let publicMultibase = try #require(EddsaVector.json("keyPair.json")["publicKeyMultibase"]?.stringValue)
        #expect(DIDKey.multibase(key.publicKey) == publicMultibase)
        #expect(EddsaVector.verificationMethod == "did:key:\(publicMultibase)#\(publicMultibase)")
    }

    @Test func everyIntermediateIsReproduced() throws {
        let key = try EddsaVector.key()
        let proofConfig = try EddsaVector.json("proofConfigJCS.json")
        let input = try EddsaJcs2022.SigningInput(unsecuredDocument: EddsaVector.unsigned(), proofConfig: proofConfig)

        #expect(input.canonicalDocument == (try EddsaVector.bytes("canonDocJCS.txt")))
        #expect(input.documentHash.hex == (try EddsaVector.text("docHashJCS.txt")))
        #expect(input.canonicalProofConfig == (try EddsaVector.bytes("proofCanonJCS.txt")))
        #expect(input.proofConfigHash.hex == (try EddsaVector.text("proofHashJCS.txt")))
        #expect(Hex.encode(input.hashData) == (try EddsaVector.text("combinedHashJCS.txt")))
        #expect(input.hashData.count == 64)

        let signature = key.sign(input.hashData)
        #expect(Hex.encode(signature) == (try EddsaVector.text("sigHexJCS.txt")))
        #expect("z" + Base58BTC.encode(signature) == (try EddsaVector.text("sigBTC58JCS.txt")))
    }

    @Test func signingReproducesTheSignedDocument() throws {
        let secured = try EddsaJcs2022.sign(
            EddsaVector.unsigned(), key: EddsaVector.key(),
            verificationMethod: EddsaVector.verificationMethod, created: EddsaVector.created())
        #expect(secured == (try EddsaVector.signed()))
        // The proof options are exactly the published proof configuration plus proofValue.
        let proof = try DataIntegrityProof(try #require(secured["proof"]))
        #expect(JSONValue.object(proof.options) == (try EddsaVector.json("proofConfigJCS.json")))
        #expect(proof.proofValue == (try EddsaVector.text("sigBTC58JCS.txt")))
    }

    @Test func publishedSignedDocumentVerifies() throws {
        let result = try EddsaJcs2022.verify(EddsaVector.signed())
        guard case .valid(let signer, let proof, let document) = result else {
            Issue.record("expected valid, got \(result)")
            return
        }
        #expect(signer == (try EddsaVector.key().publicKey))
        #expect(proof.cryptosuite == "eddsa-jcs-2022")
        #expect(proof.proofPurpose == "assertionMethod")
        #expect(proof.created == "2023-02-24T23:36:38Z")
        #expect(proof.expires == nil)
        #expect(proof.verificationMethod == EddsaVector.verificationMethod)
        #expect(document == (try EddsaVector.unsigned()))
    }
}

@Suite struct DataIntegrityRoundTripTests {
    @Test func signThenVerifyWithFreshKeys() throws {
        var rng = SplitMix64(seed: 0xD1_2022)
        for i in 0..<20 {
            let key = SecretKey.generate()
            let method = DIDKey.encode(key.publicKey) + "#" + DIDKey.multibase(key.publicKey)
            let created = Timestamp(nanoseconds: Int64(rng.next() % 4_000_000_000) * 1_000_000_000
                + (i.isMultiple(of: 2) ? 0 : 123_000_000))
            var document: JSONValue = ["id": .string("urn:example:\(i)"), "n": .number(Double(i)), "nested": ["a": [1, 2, "é"]]]
            if i % 3 == 0 { document = setting(document, ["@context"], to: "https://www.w3.org/ns/credentials/v2") }
            let secured = try EddsaJcs2022.sign(document, key: key, verificationMethod: method, created: created,
                                                proofPurpose: i.isMultiple(of: 4) ? "authentication" : "assertionMethod")
            let result = try EddsaJcs2022.verify(secured)
            #expect(result == .valid(signer: key.publicKey, proof: try DataIntegrityProof(try #require(secured["proof"])),
                                     verifiedDocument: document))
            let createdText = try #require(secured["proof"]?["created"]?.stringValue)
            #expect(createdText == (i.isMultiple(of: 2) ? created.secondString : created.millisecondString))
            #expect(secured["proof"]?["@context"] == document["@context"])
        }
    }

    @Test func signRejectsBadInput() throws {
        let key = try EddsaVector.key()
        let method = EddsaVector.verificationMethod
        let created = try EddsaVector.created()
        let unsigned = try EddsaVector.unsigned()
        #expect(throws: DataIntegrityError.notAnObject("the document")) {
            try EddsaJcs2022.sign([1, 2], key: key, verificationMethod: method, created: created)
        }
        #expect(throws: DataIntegrityError.alreadySecured) {
            try EddsaJcs2022.sign(EddsaVector.signed(), key: key, verificationMethod: method, created: created)
        }
        let other = DIDKey.multibase(SecretKey.generate().publicKey)
        #expect(throws: DataIntegrityError.verificationMethodMismatch) {
            try EddsaJcs2022.sign(unsigned, key: key, verificationMethod: "did:key:\(other)#\(other)", created: created)
        }
        for bad in ["did:key:" + DIDKey.multibase(key.publicKey), "https://example.com/key#1", method + "x"] {
            #expect(throws: DataIntegrityError.self) {
                try EddsaJcs2022.sign(unsigned, key: key, verificationMethod: bad, created: created)
            }
        }
    }
}

@Suite struct DataIntegrityRejectionTests {
    @Test func everySignatureByteMutatedFails() throws {
        let signed = try EddsaVector.signed()
        let signature = try #require(Hex.decode(try EddsaVector.text("sigHexJCS.txt")))
        for index in signature.indices {
            for mask: UInt8 in [0x01, 0x80, 0xff] {
                var mutated = signature
                mutated[index] ^= mask
                let value = JSONValue.string("z" + Base58BTC.encode(mutated))
                let result = try EddsaJcs2022.verify(setting(signed, ["proof", "proofValue"], to: value))
                #expect(result == .invalid(.signatureMismatch), "byte \(index) ^ \(mask)")
            }
        }
    }

    @Test func everyProofValueCharacterMutatedFails() throws {
        let signed = try EddsaVector.signed()
        let proofValue = Array(try EddsaVector.text("sigBTC58JCS.txt"))
        let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
        var thrown = 0
        for index in proofValue.indices.dropFirst() {
            for replacement in [alphabet[0], alphabet[29], alphabet[57], "0"] where replacement != proofValue[index] {
                var mutated = proofValue
                mutated[index] = replacement
                let document = setting(signed, ["proof", "proofValue"], to: .string(String(mutated)))
                do {
                    #expect(try EddsaJcs2022.verify(document) == .invalid(.signatureMismatch), "position \(index)")
                } catch {
                    #expect(error as? DataIntegrityError == .invalidProofValue, "position \(index)")
                    thrown += 1
                }
            }
        }
        #expect(thrown >= proofValue.count - 1) // at least every "0" substitution
    }

    @Test func changedDocumentFails() throws {
        let signed = try EddsaVector.signed()
        let changes: [([String], JSONValue?)] = [
            (["credentialSubject", "alumniOf"], "The School of Counterexamples"),
            (["credentialSubject", "id"], nil),
            (["validFrom"], "2023-01-01T00:00:01Z"),
            (["name"], "Alumni Credential "),
            (["extra"], .null),
            (["type"], ["VerifiableCredential"]),
            (["issuer"], ["id": "https://vc.example/issuers/5678"]),
        ]
        for (path, value) in changes {
            let result = try EddsaJcs2022.verify(setting(signed, path, to: value))
            #expect(result == .invalid(.signatureMismatch), "\(path)")
        }
    }

    @Test func contextHandlingFollowsTheProofContext() throws {
        let signed = try EddsaVector.signed()
        let v2: JSONValue = "https://www.w3.org/ns/credentials/v2"
        let examples: JSONValue = "https://www.w3.org/ns/credentials/examples/v2"
        // The document's @context must start with the proof's entries, in order.
        for context: JSONValue? in [nil, [v2], v2, [examples, v2], [v2, "https://other.example/v2"], []] {
            let result = try EddsaJcs2022.verify(setting(signed, ["@context"], to: context))
            #expect(result == .invalid(.contextMismatch), "\(String(describing: context))")
        }
        // Extra trailing entries are allowed; the verified document carries only the proof's entries.
        let extended = setting(signed, ["@context"], to: [v2, examples, "https://extra.example/v1"])
        let result = try EddsaJcs2022.verify(extended)
        #expect(result == .valid(signer: try EddsaVector.key().publicKey,
                                 proof: try DataIntegrityProof(try #require(signed["proof"])),
                                 verifiedDocument: try EddsaVector.unsigned()))
        // A shorter proof @context still matches the document, but the signature covers the original.
        let shorter = setting(signed, ["proof", "@context"], to: [v2])
        #expect(try EddsaJcs2022.verify(shorter) == .invalid(.signatureMismatch))
        // Without a proof @context the document is hashed as is: here the proof config hash changes.
        let noProofContext = setting(signed, ["proof", "@context"], to: nil)
        #expect(try EddsaJcs2022.verify(noProofContext) == .invalid(.signatureMismatch))
    }

    @Test func proofWithoutContextSignsTheDocumentAsIs() throws {
        let key = SecretKey.generate()
        let method = DIDKey.encode(key.publicKey) + "#" + DIDKey.multibase(key.publicKey)
        let document: JSONValue = ["id": "urn:example:no-context"]
        let secured = try EddsaJcs2022.sign(document, key: key, verificationMethod: method, created: Timestamp(nanoseconds: 0))
        #expect(secured["proof"]?["@context"] == nil)
        #expect(try EddsaJcs2022.verify(secured).isValid)
        // Adding a context afterwards is a change to the signed document.
        let withContext = setting(secured, ["@context"], to: ["https://www.w3.org/ns/credentials/v2"])
        #expect(try EddsaJcs2022.verify(withContext) == .invalid(.signatureMismatch))
    }

    @Test func changedProofOptionFails() throws {
        let signed = try EddsaVector.signed()
        let changes: [([String], JSONValue?)] = [
            (["proof", "created"], "2023-02-24T23:36:39Z"),
            (["proof", "created"], "2023-02-24T23:36:38.000Z"),
            (["proof", "created"], nil),
            (["proof", "proofPurpose"], "authentication"),
            (["proof", "expires"], "2099-01-01T00:00:00Z"),
            (["proof", "id"], "urn:uuid:1"),
            (["proof", "nonce"], "abc"),
        ]
        for (path, value) in changes {
            let result = try EddsaJcs2022.verify(setting(signed, path, to: value))
            #expect(result == .invalid(.signatureMismatch), "\(path) = \(String(describing: value))")
        }
    }

    @Test func wrongVerificationMethodKeyFails() throws {
        let signed = try EddsaVector.signed()
        let other = DIDKey.multibase(SecretKey.generate().publicKey)
        let result = try EddsaJcs2022.verify(setting(signed, ["proof", "verificationMethod"], to: .string("did:key:\(other)#\(other)")))
        #expect(result == .invalid(.signatureMismatch))

        let mine = DIDKey.multibase(try EddsaVector.key().publicKey)
        for bad in ["did:key:\(mine)#\(other)", "did:key:\(mine)", "did:key:\(mine)#key-1", "https://vc.example/issuers/5678#key-1",
                    "did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc#z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc"] {
            #expect(throws: DataIntegrityError.self, "\(bad)") {
                try EddsaJcs2022.verify(setting(signed, ["proof", "verificationMethod"], to: .string(bad)))
            }
        }
    }

    @Test func otherSuitesAreReportedNotThrown() throws {
        let signed = try EddsaVector.signed()
        #expect(try EddsaJcs2022.verify(setting(signed, ["proof", "cryptosuite"], to: "eddsa-rdfc-2022"))
                == .invalid(.unsupportedCryptosuite("eddsa-rdfc-2022")))
        #expect(try EddsaJcs2022.verify(setting(signed, ["proof", "type"], to: "Ed25519Signature2020"))
                == .invalid(.unsupportedType("Ed25519Signature2020")))
        // Another suite's proof is reported even when it lacks members this suite requires.
        let foreign: JSONValue = ["type": "Ed25519Signature2020", "jws": "eyJ..."]
        #expect(try EddsaJcs2022.verify(setting(signed, ["proof"], to: foreign)) == .invalid(.unsupportedType("Ed25519Signature2020")))
        #expect(throws: DataIntegrityError.unsupportedProofType("Ed25519Signature2020")) { try DataIntegrityProof(foreign) }
    }

    @Test func missingOrMistypedMembersThrow() throws {
        let signed = try EddsaVector.signed()
        for name in ["type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"] {
            #expect(throws: DataIntegrityError.missingMember(name)) {
                try EddsaJcs2022.verify(setting(signed, ["proof", name], to: nil))
            }
            #expect(throws: DataIntegrityError.notAString(name)) {
                try EddsaJcs2022.verify(setting(signed, ["proof", name], to: [.string("x")]))
            }
        }
        #expect(throws: DataIntegrityError.notAString("created")) {
            try EddsaJcs2022.verify(setting(signed, ["proof", "created"], to: 1_677_281_798))
        }
        #expect(throws: DataIntegrityError.missingProof) { try EddsaJcs2022.verify(setting(signed, ["proof"], to: nil)) }
        let proof = try #require(signed["proof"])
        #expect(throws: DataIntegrityError.proofSet) { try EddsaJcs2022.verify(setting(signed, ["proof"], to: [proof])) }
        #expect(throws: DataIntegrityError.notAnObject("`proof`")) { try EddsaJcs2022.verify(setting(signed, ["proof"], to: "z")) }
        #expect(throws: DataIntegrityError.notAnObject("the secured document")) { try EddsaJcs2022.verify([signed]) }
    }

    @Test func malformedMultibaseThrows() throws {
        let signed = try EddsaVector.signed()
        let good = try EddsaVector.text("sigBTC58JCS.txt")
        let signature = try #require(Hex.decode(try EddsaVector.text("sigHexJCS.txt")))
        let body = String(good.dropFirst())
        let bad = [
            "", "z", "u" + body, "Z" + body, body, "z" + body + "0", "z" + body + "l", "zz" + body,
            "z1" + body, // a leading zero byte: 65 bytes
            "z" + Base58BTC.encode(Array(signature.dropLast())), // 63 bytes
            "z" + Base58BTC.encode(signature + [0]), // 65 bytes
            "z" + String(repeating: "2", count: 200),
            "z" + body.replacingOccurrences(of: "H", with: "h", options: [], range: body.range(of: "H")) + " ",
        ]
        for value in bad {
            #expect(throws: DataIntegrityError.invalidProofValue, "\(value)") {
                try EddsaJcs2022.verify(setting(signed, ["proof", "proofValue"], to: .string(value)))
            }
        }
    }

    @Test func createdAndExpiresMustBeDateTimeStamps() throws {
        let proof = try #require(try EddsaVector.signed()["proof"])
        let accepted = [
            "2023-02-24T23:36:38Z", "2023-02-24T23:36:38.5Z", "2023-02-24T23:36:38.123456789012Z",
            "2023-02-24T23:36:38+01:00", "2023-02-24T23:36:38-14:00", "2024-02-29T00:00:00Z",
            "2023-02-24T24:00:00Z", "2023-02-24T24:00:00.000Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        ]
        for value in accepted {
            for member in ["created", "expires"] {
                let parsed = try DataIntegrityProof(setting(proof, [member], to: .string(value)))
                #expect((member == "created" ? parsed.created : parsed.expires) == value)
            }
        }
        let rejected = [
            "2023-02-24T23:36:38", "2023-02-24 23:36:38Z", "2023-02-24t23:36:38z", "2023-2-24T23:36:38Z",
            "2023-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2023-13-01T00:00:00Z",
            "2023-00-01T00:00:00Z", "2023-02-00T00:00:00Z", "2023-02-24T25:00:00Z", "2023-02-24T24:00:01Z",
            "2023-02-24T24:00:00.1Z", "2023-02-24T23:60:00Z", "2023-02-24T23:59:60Z", "2023-02-24T23:36:38.Z",
            "2023-02-24T23:36:38+14:01", "2023-02-24T23:36:38+15:00", "2023-02-24T23:36:38+01", "2023-02-24T23:36:38+0100",
            "12023-02-24T23:36:38Z", "-2023-02-24T23:36:38Z", "2023-02-24T23:36:38ZZ", "2023-02-24T23:36:38Z ",
            "", "yesterday",
        ]
        for value in rejected {
            #expect(throws: DataIntegrityError.invalidDateTime(member: "created", value: value)) {
                try DataIntegrityProof(setting(proof, ["created"], to: .string(value)))
            }
        }
        // verify reports a bad created as malformed input.
        #expect(throws: DataIntegrityError.self) {
            try EddsaJcs2022.verify(setting(try EddsaVector.signed(), ["proof", "created"], to: "2023-02-24"))
        }
    }
}

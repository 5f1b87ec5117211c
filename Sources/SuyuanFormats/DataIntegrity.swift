// W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (Data Integrity EdDSA
// Cryptosuites v1.0, §3.3): RFC 8785 canonical JSON, SHA-256, Ed25519, did:key verification methods.
// Specification: Specs/data-integrity.md.

import SuyuanCrypto

/// A document or proof that cannot be processed: not an object, a required proof member missing or of
/// the wrong type, an undecodable `proofValue` or verification method.
///
/// A well-formed proof that does not verify is not an error: `EddsaJcs2022.verify` returns
/// `.invalid` for it.
public enum DataIntegrityError: Error, Equatable, CustomStringConvertible {
    /// The named value (the document, or its `proof` member) is not a JSON object.
    case notAnObject(String)
    /// The secured document has no `proof` member.
    case missingProof
    /// `proof` is an array (a proof set); only a single proof object is supported.
    case proofSet
    /// The document to sign already has a `proof` member.
    case alreadySecured
    /// A required proof member is absent.
    case missingMember(String)
    /// A proof member that must be a string is not.
    case notAString(String)
    /// `type` is not `DataIntegrityProof` (thrown by `DataIntegrityProof.init`; `verify` reports it
    /// as `.invalid(.unsupportedType)` instead).
    case unsupportedProofType(String)
    /// `created` or `expires` is not an XML Schema `dateTimeStamp` in the accepted form.
    case invalidDateTime(member: String, value: String)
    /// `proofValue` is not a multibase base58btc (`z…`) encoding of a 64-byte signature.
    case invalidProofValue
    /// `verificationMethod` is not a `did:key:z6Mk…#z6Mk…` Ed25519 verification method.
    case invalidVerificationMethod(String)
    /// Signing: `verificationMethod` names a key other than the signing key.
    case verificationMethodMismatch

    public var description: String {
        switch self {
        case .notAnObject(let what):
            return "\(what) is not a JSON object"
        case .missingProof:
            return "the secured document has no `proof` member"
        case .proofSet:
            return "`proof` is an array (a proof set); only a single proof object is supported"
        case .alreadySecured:
            return "the document already has a `proof` member; remove it before signing"
        case .missingMember(let name):
            return "the proof has no `\(name)` member"
        case .notAString(let name):
            return "the proof's `\(name)` member is not a string"
        case .unsupportedProofType(let type):
            return "the proof's `type` is \(String(type.prefix(64)).debugDescription), not `DataIntegrityProof`"
        case .invalidDateTime(let member, let value):
            return "the proof's `\(member)` value \(String(value.prefix(64)).debugDescription) is not an XML Schema dateTimeStamp (`YYYY-MM-DDThh:mm:ss[.f…]` then `Z` or `±hh:mm`)"
        case .invalidProofValue:
            return "`proofValue` is not a multibase base58btc (`z…`) encoding of a 64-byte Ed25519 signature"
        case .invalidVerificationMethod(let why):
            return "`verificationMethod` is not a `did:key:z6Mk…#z6Mk…` Ed25519 verification method: \(why)"
        case .verificationMethodMismatch:
            return "`verificationMethod` names a different key from the signing key"
        }
    }
}

/// A parsed `DataIntegrityProof`: the `proof` member of a secured document.
///
/// Parsing checks structure only: `type` is `DataIntegrityProof`; `cryptosuite`,
/// `verificationMethod`, `proofPurpose` and `proofValue` are present and strings; `created` and
/// `expires`, when present, are `dateTimeStamp` strings. It neither decodes `proofValue` or the
/// verification method nor checks the cryptosuite; `EddsaJcs2022.verify` does.
public struct DataIntegrityProof: Equatable, Sendable {
    /// The only proof `type` accepted.
    public static let proofType = "DataIntegrityProof"

    /// `cryptosuite`, e.g. `eddsa-jcs-2022`.
    public let cryptosuite: String
    /// `verificationMethod`, e.g. `did:key:z6Mk…#z6Mk…`.
    public let verificationMethod: String
    /// `proofPurpose`, e.g. `assertionMethod`. Callers compare it with the purpose they expect.
    public let proofPurpose: String
    /// `created`, if present.
    public let created: String?
    /// `expires`, if present. Not enforced here: comparing it with the current time is the caller's
    /// decision.
    public let expires: String?
    /// `proofValue`, the multibase signature, not yet decoded.
    public let proofValue: String
    /// Every member of the proof except `proofValue`: the proof options, all covered by the signature.
    public let options: [String: JSONValue]

    /// Parses a proof object; throws `DataIntegrityError` when it is not a well-formed
    /// `DataIntegrityProof`.
    public init(_ proof: JSONValue) throws {
        guard case .object(var members) = proof else {
            if case .array = proof { throw DataIntegrityError.proofSet }
            throw DataIntegrityError.notAnObject("`proof`")
        }
        func string(_ name: String) throws -> String {
            guard let value = proof[name] else { throw DataIntegrityError.missingMember(name) }
            guard let s = value.stringValue else { throw DataIntegrityError.notAString(name) }
            return s
        }
        func dateTime(_ name: String) throws -> String? {
            guard proof[name] != nil else { return nil }
            let s = try string(name)
            guard XMLDateTime.isDateTimeStamp(s) else { throw DataIntegrityError.invalidDateTime(member: name, value: s) }
            return s
        }
        let type = try string("type")
        guard type == Self.proofType else { throw DataIntegrityError.unsupportedProofType(type) }
        cryptosuite = try string("cryptosuite")
        verificationMethod = try string("verificationMethod")
        proofPurpose = try string("proofPurpose")
        proofValue = try string("proofValue")
        created = try dateTime("created")
        expires = try dateTime("expires")
        members["proofValue"] = nil
        options = members
    }
}

/// The outcome of verifying a well-formed proof.
public enum ProofVerification: Equatable, Sendable {
    /// The signature verifies. `verifiedDocument` is the document the signature covers: the secured
    /// document without `proof`, with `@context` replaced by the proof's `@context` when the proof has
    /// one. Use it rather than the input, which may carry extra trailing `@context` entries.
    case valid(signer: PublicKey, proof: DataIntegrityProof, verifiedDocument: JSONValue)
    /// The proof does not verify, for the stated reason.
    case invalid(ProofFailure)

    /// True for `.valid`.
    public var isValid: Bool {
        if case .valid = self { return true }
        return false
    }
}

/// Why a well-formed proof does not verify.
public enum ProofFailure: Equatable, Sendable, CustomStringConvertible {
    /// The proof's `type` is not `DataIntegrityProof`.
    case unsupportedType(String)
    /// The proof's `cryptosuite` is not `eddsa-jcs-2022`.
    case unsupportedCryptosuite(String)
    /// The document's `@context` does not start with the proof's `@context` entries, in order.
    case contextMismatch
    /// The Ed25519 signature does not verify under the verification method's key.
    case signatureMismatch

    public var description: String {
        switch self {
        case .unsupportedType(let t):
            return "proof type \(String(t.prefix(64)).debugDescription) is not DataIntegrityProof"
        case .unsupportedCryptosuite(let c):
            return "cryptosuite \(String(c.prefix(64)).debugDescription) is not eddsa-jcs-2022"
        case .contextMismatch:
            return "the document's @context does not start with the proof's @context"
        case .signatureMismatch:
            return "the signature does not verify"
        }
    }
}

/// The `eddsa-jcs-2022` cryptosuite: sign and verify Data Integrity proofs over JSON documents.
public enum EddsaJcs2022 {
    /// The `cryptosuite` identifier.
    public static let cryptosuite = "eddsa-jcs-2022"
    /// Longest `proofValue` accepted before decoding (a 64-byte signature is at most 88 base58 digits).
    static let maxProofValueLength = 100

    /// What the signature is computed over, with each intermediate exposed so that an independent
    /// implementation can be compared step by step.
    public struct SigningInput: Equatable, Sendable {
        /// JCS of the unsecured document (the transformed data).
        public let canonicalDocument: [UInt8]
        /// JCS of the proof configuration (the proof options without `proofValue`).
        public let canonicalProofConfig: [UInt8]
        /// SHA-256 of `canonicalDocument`.
        public let documentHash: Hash
        /// SHA-256 of `canonicalProofConfig`.
        public let proofConfigHash: Hash

        /// The 64 bytes signed: `proofConfigHash ‖ documentHash`.
        public var hashData: [UInt8] { proofConfigHash.bytes + documentHash.bytes }

        /// Canonicalises and hashes `unsecuredDocument` and `proofConfig`.
        public init(unsecuredDocument: JSONValue, proofConfig: JSONValue) throws {
            canonicalDocument = try unsecuredDocument.canonical()
            canonicalProofConfig = try proofConfig.canonical()
            documentHash = SHA256.hash(canonicalDocument)
            proofConfigHash = SHA256.hash(canonicalProofConfig)
        }
    }

    /// Signs `document` and returns it with a `proof` member added.
    ///
    /// The proof has `type` `DataIntegrityProof`, `cryptosuite` `eddsa-jcs-2022`, `created`
    /// (`YYYY-MM-DDThh:mm:ssZ`, or with three fractional digits when `created` is not a whole second),
    /// `verificationMethod`, `proofPurpose`, the document's `@context` when it has one, and
    /// `proofValue`. `verificationMethod` must be `did:key:z6Mk…#z6Mk…` naming `key`'s public key.
    /// Throws `DataIntegrityError` when `document` is not an object or already has a `proof`, or when
    /// `verificationMethod` is malformed or names another key; `JSONError` when the document has no
    /// canonical form (a non-finite number).
    public static func sign(
        _ document: JSONValue,
        key: SecretKey,
        verificationMethod: String,
        created: Timestamp,
        proofPurpose: String = "assertionMethod"
    ) throws -> JSONValue {
        guard case .object(var members) = document else { throw DataIntegrityError.notAnObject("the document") }
        guard document["proof"] == nil else { throw DataIntegrityError.alreadySecured }
        guard try verificationMethodKey(verificationMethod) == key.publicKey else {
            throw DataIntegrityError.verificationMethodMismatch
        }
        let wholeSecond = created.nanoseconds % 1_000_000_000 == 0
        var proof: [String: JSONValue] = [
            "type": .string(DataIntegrityProof.proofType),
            "cryptosuite": .string(cryptosuite),
            "created": .string(wholeSecond ? created.secondString : created.millisecondString),
            "verificationMethod": .string(verificationMethod),
            "proofPurpose": .string(proofPurpose),
        ]
        if let context = document["@context"] { proof["@context"] = context }
        let input = try SigningInput(unsecuredDocument: document, proofConfig: .object(proof))
        proof["proofValue"] = .string("z" + Base58BTC.encode(key.sign(input.hashData)))
        members["proof"] = .object(proof)
        return .object(members)
    }

    /// Verifies the single `eddsa-jcs-2022` proof of `securedDocument`.
    ///
    /// Returns `.invalid` when the proof is well formed but is not `DataIntegrityProof` /
    /// `eddsa-jcs-2022`, when the document's `@context` does not start with the proof's, or when the
    /// signature does not verify. Throws `DataIntegrityError` for malformed input: the document or
    /// proof not an object, a proof set, a required member missing or not a string, a bad
    /// `created`/`expires`, a `proofValue` that is not `z` + base58btc of 64 bytes, a verification
    /// method that is not a did:key Ed25519 key; `JSONError` when the document has no canonical form.
    public static func verify(_ securedDocument: JSONValue) throws -> ProofVerification {
        guard case .object(var unsecured) = securedDocument else {
            throw DataIntegrityError.notAnObject("the secured document")
        }
        guard let proofJSON = securedDocument["proof"] else { throw DataIntegrityError.missingProof }
        unsecured["proof"] = nil
        if let type = proofJSON["type"]?.stringValue, type != DataIntegrityProof.proofType {
            return .invalid(.unsupportedType(type))
        }
        let proof = try DataIntegrityProof(proofJSON)
        guard proof.cryptosuite == cryptosuite else { return .invalid(.unsupportedCryptosuite(proof.cryptosuite)) }
        let signature = try decodeProofValue(proof.proofValue)
        let signer = try verificationMethodKey(proof.verificationMethod)
        if let proofContext = proofJSON["@context"] {
            let documentContext = contextEntries(securedDocument["@context"])
            let required = contextEntries(proofContext)
            guard documentContext.starts(with: required) else { return .invalid(.contextMismatch) }
            unsecured["@context"] = proofContext
        }
        let verifiedDocument = JSONValue.object(unsecured)
        let input = try SigningInput(unsecuredDocument: verifiedDocument, proofConfig: .object(proof.options))
        guard signer.isValidSignature(signature, for: input.hashData) else { return .invalid(.signatureMismatch) }
        return .valid(signer: signer, proof: proof, verifiedDocument: verifiedDocument)
    }

    /// The Ed25519 key of a `did:key:z6Mk…#z6Mk…` verification method (the fragment is required).
    static func verificationMethodKey(_ method: String) throws -> PublicKey {
        guard method.contains("#") else {
            throw DataIntegrityError.invalidVerificationMethod("no `#` fragment naming the key")
        }
        do {
            return try DIDKey.decode(method)
        } catch let error as DIDKeyError {
            throw DataIntegrityError.invalidVerificationMethod(error.description)
        }
    }

    /// The 64 signature bytes of a `z` + base58btc `proofValue`; the encoding must be canonical.
    static func decodeProofValue(_ value: String) throws -> [UInt8] {
        guard value.first == "z", value.utf8.count <= maxProofValueLength + 1 else {
            throw DataIntegrityError.invalidProofValue
        }
        let body = String(value.dropFirst())
        guard let bytes = Base58BTC.decode(body), bytes.count == PublicKey.signatureByteCount,
              Base58BTC.encode(bytes) == body
        else { throw DataIntegrityError.invalidProofValue }
        return bytes
    }

    /// An `@context` value as a list: an array's elements, an absent value none, any other value itself.
    static func contextEntries(_ context: JSONValue?) -> [JSONValue] {
        switch context {
        case nil: return []
        case .array(let entries)?: return entries
        case let value?: return [value]
        }
    }
}

/// The XML Schema 1.1 `dateTimeStamp` lexical form, restricted to four-digit years.
enum XMLDateTime {
    /// True for `YYYY-MM-DDThh:mm:ss[.f+](Z|(+|-)hh:mm)`: a real calendar date (years 0000–9999),
    /// hours 00–23 (or `24:00:00` with an all-zero fraction, the end of the day), minutes and seconds
    /// 00–59, and a time-zone offset of at most 14:00.
    static func isDateTimeStamp(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard u.count >= 20, u.count <= 64 else { return false }
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= u.count else { return nil }
            var v = 0
            for b in u[at..<(at + count)] {
                guard b >= 0x30, b <= 0x39 else { return nil }
                v = v * 10 + Int(b - 0x30)
            }
            return v
        }
        func byte(_ at: Int, _ c: Character) -> Bool { at < u.count && u[at] == c.asciiValue! }
        guard let year = digits(0, 4), byte(4, "-"), let month = digits(5, 2), byte(7, "-"),
              let day = digits(8, 2), byte(10, "T"), let hour = digits(11, 2), byte(13, ":"),
              let minute = digits(14, 2), byte(16, ":"), let second = digits(17, 2),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              minute <= 59, second <= 59
        else { return false }
        var i = 19
        var fractionIsZero = true
        if byte(i, ".") {
            i += 1
            let start = i
            while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
                if u[i] != 0x30 { fractionIsZero = false }
                i += 1
            }
            guard i > start else { return false }
        }
        guard hour <= 23 || (hour == 24 && minute == 0 && second == 0 && fractionIsZero) else { return false }
        if byte(i, "Z") { return i + 1 == u.count }
        guard byte(i, "+") || byte(i, "-"), let h = digits(i + 1, 2), byte(i + 3, ":"),
              let m = digits(i + 4, 2), i + 6 == u.count
        else { return false }
        return m <= 59 && (h < 14 || (h == 14 && m == 0))
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

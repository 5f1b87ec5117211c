import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger

/// The outcome of a test or inspection.
public enum TestResult: String, CaseIterable, Sendable {
    case pass, fail
}

/// One measured value: a metric, a decimal string and an optional unit (e.g. `lead=0.05mg/kg`).
public struct MeasuredValue: Equatable, Sendable {
    public let metric: String
    public let value: String
    public let unit: String?

    public init(metric: String, value: String, unit: String?) throws(LedgerError) {
        guard !metric.isEmpty, metric.utf8.count <= 64 else { throw .malformed("a measured value needs a metric name of 1–64 bytes") }
        guard MeasuredValue.isDecimal(value) else {
            throw .malformed("measured value \"\(value)\" of \(metric) must be a decimal number written as a string, e.g. 0.05")
        }
        if let u = unit, u.isEmpty || u.utf8.count > 32 { throw .malformed("unit of \(metric) must be 1–32 bytes") }
        self.metric = metric; self.value = value; self.unit = unit
    }

    /// Parses `METRIC=VALUE[UNIT]`, e.g. `lead=0.05mg/kg` or `ph=5.5`.
    public init(parsing text: String) throws(LedgerError) {
        guard let eq = text.firstIndex(of: "=") else { throw .malformed("--value \"\(text)\" must be METRIC=VALUE[UNIT], e.g. lead=0.05mg/kg") }
        let metric = String(text[..<eq])
        let rest = text[text.index(after: eq)...]
        let number = rest.prefix { $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e" || $0 == "E" }
        let unit = rest.dropFirst(number.count)
        try self.init(metric: metric, value: String(number), unit: unit.isEmpty ? nil : String(unit))
    }

    /// `-?digits[.digits]`: a plain decimal (no exponent, no leading zeros except a single `0`).
    static func isDecimal(_ s: String) -> Bool {
        var u = Substring(s).utf8[...]
        if u.first == UInt8(ascii: "-") { u = u.dropFirst() }
        let intPart = u.prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !intPart.isEmpty, intPart.count == 1 || intPart.first != 0x30 else { return false }
        u = u.dropFirst(intPart.count)
        if u.isEmpty { return true }
        guard u.first == UInt8(ascii: ".") else { return false }
        let frac = u.dropFirst()
        return !frac.isEmpty && frac.count <= 30 && frac.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    var json: JSONValue {
        var o: [String: JSONValue] = ["metricName": .string(metric), "metricValue": .string(value)]
        if let u = unit { o["unit"] = .string(u) }
        return .object(o)
    }

    /// `metric=value unit` for people.
    public var text: String { "\(metric)=\(value)" + (unit.map { " \($0)" } ?? "") }
}

/// A signed inspection/test attestation: a W3C Verifiable Credential 2.0 with an `eddsa-jcs-2022`
/// Data Integrity proof by the inspector's `did:key`, its subject shaped like a UNTP Digital Conformity
/// Credential (see `Specs/attestation.md`). Parsed, not yet verified: `verifyProof()` checks the proof.
public struct Attestation: Equatable, Sendable {
    /// The credential's `id` (`urn:uuid:…`); the attestation id users refer to.
    public let id: String
    /// The issuer (the inspector's key).
    public let issuer: PublicKey
    /// The conformity assessment body the inspector acts for.
    public let body: String
    /// The body's accreditation number, as the issuer states it.
    public let accreditation: String?
    /// What was tested.
    public let scope: ScopeItem
    /// The product code the attestation covers: an item (`/21/`) or a lot (`/10/`), canonical.
    public let product: ProductCode
    public let result: TestResult
    public let values: [MeasuredValue]
    /// SHA-256 of the test report, hex, if given.
    public let reportHash: String?
    /// When the credential starts to be valid: the time of the attestation.
    public let validFrom: Timestamp
    public let validUntil: Timestamp?
    /// CBV event IDs of related EPCIS events (e.g. the sampling event).
    public let relatedEvents: [String]
    /// The whole secured credential.
    public let credential: JSONValue

    static let contexts: [JSONValue] = [.string("https://www.w3.org/ns/credentials/v2"), .string("https://test.uncefact.org/vocabulary/untp/dcc/0.5.0/")]
    static let maxValues = 100

    /// Builds and signs a credential.
    public static func issue(
        id: String, key: SecretKey, body: Body, product: ProductCode, scope: ScopeItem, result: TestResult,
        values: [MeasuredValue] = [], reportHash: String? = nil, validFrom: Timestamp, validUntil: Timestamp? = nil,
        relatedEvents: [String] = []
    ) throws -> Attestation {
        let did = DIDKey.encode(key.publicKey)
        var assessment: [String: JSONValue] = [
            "type": ["ConformityAssessment"],
            "assessedProduct": .array([.object(["type": ["Product"], "id": .string(product.canonical)])]),
            "specifiedCondition": .string(scope.standard),
            "productCategory": .string(scope.category),
            "result": .string(result.rawValue),
            "conformance": .bool(result == .pass),
        ]
        if !values.isEmpty { assessment["declaredValue"] = .array(values.map(\.json)) }
        var subject: [String: JSONValue] = [
            "type": ["ConformityAttestation"],
            "assessorLevel": "3rdParty",
            "attestationType": .string(body.type == .certificationBody ? "certification" : body.type == .inspectionBody ? "inspection" : "test"),
            "conformityAssessmentBody": .object(["id": .string(body.id), "name": .string(body.name)]),
            "assessment": .array([.object(assessment)]),
        ]
        if let a = body.accreditation {
            var auth: [String: JSONValue] = ["type": ["Endorsement"], "identifier": .string(a)]
            if let by = body.accreditedBy { auth["issuingAuthority"] = .object(["id": .string(by)]) }
            subject["authorisation"] = .array([.object(auth)])
        }
        if let h = reportHash { subject["auditableEvidence"] = .object(["type": ["Evidence"], "hashDigest": .string(h), "hashAlgorithm": "sha-256"]) }
        if !relatedEvents.isEmpty { subject["relatedEvents"] = .array(relatedEvents.map { .string($0) }) }
        var vc: [String: JSONValue] = [
            "@context": .array(contexts),
            "type": ["VerifiableCredential", "DigitalConformityCredential"],
            "id": .string(id),
            "issuer": .object(["id": .string(did), "name": .string(body.name)]),
            "validFrom": .string(validFrom.secondOrMillisecondString),
            "credentialSubject": .object(subject),
        ]
        if let u = validUntil { vc["validUntil"] = .string(u.secondOrMillisecondString) }
        let secured = try EddsaJcs2022.sign(.object(vc), key: key, verificationMethod: did + "#" + DIDKey.multibase(key.publicKey), created: validFrom)
        return try Attestation(credential: secured)
    }

    /// What an attestation id must be, for error messages.
    public static let idForm = "urn:uuid: followed by a UUID in lowercase 8-4-4-4-12 hex form, e.g. urn:uuid:0f6f0b5e-0d6c-4d8e-9f7e-2a1d1c0b9a88"

    /// Whether `id` is `urn:uuid:` and a UUID in the one form RFC 9562 writes (lowercase hex in groups
    /// of 8-4-4-4-12), so an attestation has exactly one id to be looked up by.
    public static func isCanonicalID(_ id: String) -> Bool {
        let u = Array(id.utf8)
        guard u.count == 45, id.hasPrefix("urn:uuid:") else { return false }
        return u[9...].enumerated().allSatisfy { i, c in
            [8, 13, 18, 23].contains(i) ? c == UInt8(ascii: "-") : (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)
        }
    }

    /// Parses a secured credential (shape only; the proof is checked by `verifyProof()`).
    public init(credential: JSONValue) throws(LedgerError) {
        guard let vc = credential.objectValue else { throw .malformed("an attestation credential must be a JSON object") }
        func bad(_ s: String) -> LedgerError { .malformed("attestation credential: \(s)") }
        guard vc["@context"]?.arrayValue?.first == Attestation.contexts[0] else { throw bad("@context must start with https://www.w3.org/ns/credentials/v2") }
        guard let types = vc["type"]?.arrayValue, types.contains("VerifiableCredential") else { throw bad("type must include VerifiableCredential") }
        guard let id = vc["id"]?.stringValue, Attestation.isCanonicalID(id) else { throw bad("id must be \(Attestation.idForm)") }
        guard let issuerDID = vc["issuer"]?.objectValue?["id"]?.stringValue ?? vc["issuer"]?.stringValue,
              let issuer = try? DIDKey.decode(issuerDID) else { throw bad("issuer must be an Ed25519 did:key") }
        guard let vf = vc["validFrom"]?.stringValue, let validFrom = Timestamp(parsing: vf) else { throw bad("validFrom must be an RFC 3339 UTC time") }
        var validUntil: Timestamp?
        if let v = vc["validUntil"] {
            guard let s = v.stringValue, let t = Timestamp(parsing: s), t > validFrom else { throw bad("validUntil must be an RFC 3339 UTC time after validFrom") }
            validUntil = t
        }
        guard vc["proof"]?.objectValue != nil else { throw bad("it has no proof; sign it with eddsa-jcs-2022") }
        guard let subject = vc["credentialSubject"]?.objectValue else { throw bad("credentialSubject must be an object") }
        guard let body = subject["conformityAssessmentBody"]?.objectValue?["id"]?.stringValue, !body.isEmpty else {
            throw bad("credentialSubject.conformityAssessmentBody.id is missing")
        }
        guard let assessments = subject["assessment"]?.arrayValue, assessments.count == 1, let a = assessments[0].objectValue else {
            throw bad("credentialSubject.assessment must hold exactly one assessment")
        }
        guard let products = a["assessedProduct"]?.arrayValue, products.count == 1,
              let code = products[0].objectValue?["id"]?.stringValue else { throw bad("assessment.assessedProduct must name exactly one product id") }
        let product: ProductCode
        do { product = try ProductCode(parsing: code) } catch { throw bad("assessedProduct id: \(error)") }
        guard product.canonical == code else { throw bad("assessedProduct id must be the canonical code \(product.canonical)") }
        guard let standard = a["specifiedCondition"]?.stringValue, let category = a["productCategory"]?.stringValue else {
            throw bad("assessment needs specifiedCondition (the standard) and productCategory")
        }
        let scope = try ScopeItem(checking: category, standard)
        guard let r = a["result"]?.stringValue, let result = TestResult(rawValue: r) else { throw bad("assessment.result must be pass or fail") }
        guard a["conformance"]?.boolValue == (result == .pass) else { throw bad("assessment.conformance must be \(result == .pass) for result \(r)") }
        var values: [MeasuredValue] = []
        for v in a["declaredValue"]?.arrayValue ?? [] {
            guard let o = v.objectValue, let m = o["metricName"]?.stringValue, let x = o["metricValue"]?.stringValue else {
                throw bad("each declaredValue needs metricName and metricValue (a decimal string)")
            }
            values.append(try MeasuredValue(metric: m, value: x, unit: o["unit"]?.stringValue))
        }
        guard values.count <= Attestation.maxValues else { throw bad("at most \(Attestation.maxValues) measured values") }
        var reportHash: String?
        if let ev = subject["auditableEvidence"] {
            guard let h = ev.objectValue?["hashDigest"]?.stringValue, h.utf8.count == 64, Hex.decode(h) != nil, h == h.lowercased() else {
                throw bad("auditableEvidence.hashDigest must be 64 lowercase hex digits (SHA-256 of the report)")
            }
            reportHash = h
        }
        let related = subject["relatedEvents"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard related.count == (subject["relatedEvents"]?.arrayValue?.count ?? 0), related.count <= 100 else {
            throw bad("relatedEvents must be at most 100 event ID strings")
        }
        self.id = id; self.issuer = issuer; self.body = body
        self.accreditation = subject["authorisation"]?.arrayValue?.first?.objectValue?["identifier"]?.stringValue
        self.scope = scope; self.product = product; self.result = result; self.values = values; self.reportHash = reportHash
        self.validFrom = validFrom; self.validUntil = validUntil; self.relatedEvents = related; self.credential = credential
    }

    /// Checks the eddsa-jcs-2022 proof: nil when it verifies and was made by the issuer's key, else why not.
    public func verifyProof() -> String? {
        let v: ProofVerification
        do { v = try EddsaJcs2022.verify(credential) } catch { return "the proof is malformed: \(error)" }
        switch v {
        case .invalid(let why): return "the signature is invalid: \(why)"
        case .valid(let signer, _, _):
            guard signer == issuer else { return "the proof was made by \(DIDKey.encode(signer)), not by the issuer \(DIDKey.encode(issuer))" }
            return nil
        }
    }

    /// Index terms: the attestation id and the product code.
    var terms: [String] { ["attestation:\(id)", "product:\(product.canonical)"] }
}

extension Timestamp {
    /// Whole seconds when there is no fraction, else milliseconds (how credentials write times).
    var secondOrMillisecondString: String { nanoseconds % 1_000_000_000 == 0 ? secondString : millisecondString }
}

/// Revocation or suspension (or reinstatement) of one attestation.
public enum AttestationState: String, CaseIterable, Sendable {
    case revoked, suspended, active
}

/// `attestation.status`: `{"attestation","status","reason","effective"}`.
struct AttestationStatusPayload {
    let attestation: String, status: AttestationState, reason: String, effective: Timestamp
    init(_ p: JSONValue) throws(LedgerError) {
        let f = try Fields(p, "attestation.status payload", allowed: ["attestation", "status", "reason", "effective"])
        attestation = try f.string("attestation", maxLength: 64)
        guard Attestation.isCanonicalID(attestation) else { throw .malformed("attestation.status payload field \"attestation\" must be \(Attestation.idForm)") }
        status = try f.oneOf("status", AttestationState.self)
        reason = try f.string("reason", maxLength: 1024)
        effective = try f.time("effective")
    }
}

/// `attestation`: `{"credential": <secured VC>}`, signed by the credential's issuer, whose key must be
/// bound (now) to the conformity assessment body the credential names.
struct AttestationRule: StatementRule {
    var kind: String { TraceKind.attestation }

    static func parse(_ s: Statement) throws(LedgerError) -> Attestation {
        let f = try Fields(s.payload, "attestation payload", allowed: ["credential"])
        guard let c = f.object["credential"] else { throw .malformed("attestation payload needs the field \"credential\"") }
        return try Attestation(credential: c)
    }

    func validate(_ statement: Statement) throws(LedgerError) {
        let a = try Self.parse(statement)
        guard a.issuer == (try statement.signerKey()) else {
            throw .unauthorized("an attestation must be submitted by its issuer \(DIDKey.encode(a.issuer))")
        }
        if let why = a.verifyProof() { throw .badSignature("attestation \(a.id): \(why)") }
    }

    func terms(_ statement: Statement) -> [String] { (try? Self.parse(statement).terms) ?? [] }

    func authorize(_ statement: Statement, signer: PublicKey, context: AppendContext) throws(LedgerError) {
        guard let registry = context.state as? Registry else { throw .state("the registry is not available to authorise attestations") }
        let a = try Self.parse(statement)
        let now = context.recordedAt
        let live = registry.bindings(of: signer).filter { $0.isValid(at: now) }
        guard !live.isEmpty else {
            throw .unauthorized("\(statement.signer) is not bound to any body now (or its binding was revoked); a regulator binds inspector keys with `suyuan registry bind-key`")
        }
        guard live.contains(where: { $0.body == a.body }) else {
            throw .unauthorized("\(statement.signer) is bound to \(live.map(\.body).joined(separator: ", ")), not to \(a.body) named in the attestation")
        }
        guard let body = registry.bodies[a.body], body.type.isConformityAssessmentBody else {
            throw .unauthorized("\(a.body) is not a lab, inspection body or certification body")
        }
        let (status, change) = body.status(at: now)
        guard status == .active, body.validity.contains(now) else {
            throw .unauthorized("\(a.body) is \(status == .active ? "outside its registration's validity (\(body.validity.text))" : "\(status.rawValue) since \(change!.effective.millisecondString)"); it cannot issue attestations now")
        }
        if !(try context.entries(indexedBy: "attestation:\(a.id)")).isEmpty { throw .unauthorized("attestation \(a.id) is already in the ledger") }
    }
}

/// `attestation.status`: by the attestation's issuer or the regulator of its body's region.
struct AttestationStatusRule: StatementRule {
    var kind: String { TraceKind.attestationStatus }

    func validate(_ statement: Statement) throws(LedgerError) { _ = try AttestationStatusPayload(statement.payload) }

    func terms(_ statement: Statement) -> [String] {
        (try? AttestationStatusPayload(statement.payload)).map { ["attestation:\($0.attestation)"] } ?? []
    }

    func authorize(_ statement: Statement, signer: PublicKey, context: AppendContext) throws(LedgerError) {
        guard let registry = context.state as? Registry else { throw .state("the registry is not available to authorise attestation status changes") }
        let p = try AttestationStatusPayload(statement.payload)
        guard let original = try context.entries(indexedBy: "attestation:\(p.attestation)").first(where: { $0.statement.kind == TraceKind.attestation }) else {
            throw .unauthorized("no attestation \(p.attestation) is in the ledger")
        }
        let a = try AttestationRule.parse(original.statement)
        let bodyRegion = registry.bodies[a.body]?.region
        guard signer == a.issuer || (bodyRegion != nil && registry.genesis.regulatorRegion(of: signer) == bodyRegion) else {
            throw .unauthorized("only the issuer of \(p.attestation) or the \(bodyRegion?.rawValue ?? "body's") regulator can change its status")
        }
    }
}

extension AppendContext {
    /// The committed entries indexed under `term`, with storage errors as ledger errors.
    func entries(indexedBy term: String) throws(LedgerError) -> [Entry] {
        do { return try lookup(term) } catch let e as LedgerError { throw e } catch { throw .state("storage error: \(error)") }
    }
}

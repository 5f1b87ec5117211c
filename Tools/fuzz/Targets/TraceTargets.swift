// Fuzz targets for the supply-chain layer's outside input: EPCIS documents (`suyuan import-epcis`), attestation
// payloads (submitted statements), offline product bundles (`suyuan verify --bundle`, the resolver page), term
// bundles (remote readers) and the body of `POST /api/v1/statements/batch`.
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanTrace

/// The fixed clock of the trace targets: bundles are verified, and documents exported, as of this time.
let fuzzNow = Timestamp(parsing: "2026-12-01T00:00:00Z")!

extension FuzzTarget {
    /// EPCIS 2.0 documents, as `suyuan import-epcis` reads them, and the document `export-epcis` writes back.
    static let epcis = FuzzTarget(name: "epcis", about: "EventBuilder.events(inDocument:), EventBuilder.document") { bytes, o in
        guard let events = attempt(&o, { try EventBuilder.events(inDocument: bytes) }) else { return }
        o.check(!events.isEmpty, "an accepted document holds no events")
        let rule = try! RuleBook.suyuan.rule(for: TraceKind.event)
        var seen = Set<String>()
        for (i, e) in events.enumerated() {
            // The event ID is the CBV 2.0 hash of the event, in its document's context.
            let id = try? EventHash.eventID(of: e.json, context: e.context)
            o.check(id == e.eventID, "event \(i + 1): eventID \(e.eventID) is not its CBV 2.0 hash \(id ?? "(no hash)")")
            o.check(e.json["eventID"]?.stringValue == e.eventID, "event \(i + 1): its JSON does not carry its eventID")
            o.check(e.isErrorDeclaration || seen.insert(e.eventID).inserted, "event \(i + 1) duplicates an earlier event")
            o.check((try? EPCISEvent(e.json, context: e.context)) == e, "event \(i + 1) does not re-parse to itself")
            // What import-epcis appends: the statement passes the event rule and records the same event.
            let payload = EventBuilder.payload(e)
            guard let s = try? Statement(kind: TraceKind.event, payload: payload, signer: fuzzLogKey.publicKey, time: fuzzNow) else {
                o.check(false, "event \(i + 1): no statement can carry it"); continue
            }
            do { try rule.validate(s) } catch { o.check(false, "event \(i + 1): its statement is refused by the event rule: \(error)") }
            o.check((try? EPCISEvent(statement: s))?.eventID == e.eventID, "event \(i + 1): its statement records another event ID")
        }
        // The document export writes re-imports to the same events.
        let doc = EventBuilder.document(events, created: fuzzNow)
        guard let c = try? doc.canonical() else { return o.check(false, "the exported document has no canonical form") }
        do {
            let again = try EventBuilder.events(inDocument: c)
            o.check(again.map(\.eventID) == events.map(\.eventID), "the exported document re-imports to other event IDs")
        } catch {
            o.check(false, "the exported document does not re-import: \(error)")
        }
    }

    /// The payload of an `attestation` statement, `{"credential": <secured VC>}`, through the attestation rule
    /// (shape, issuer, eddsa-jcs-2022 proof) as a submission is checked before it is appended.
    static let attestation = FuzzTarget(name: "attestation", about: "attestation rule: {\"credential\"} payload, Attestation(credential:), proof") { bytes, o in
        guard let payload = try? JSONValue.parse(bytes, maxBytes: Statement.maxBytes) else { o.refusal = "not JSON"; return }
        // A bare credential, too (shape and proof must fail cleanly).
        if let bare = try? Attestation(credential: payload) { _ = bare.verifyProof() }
        let credential = payload["credential"]
        let parsed = credential.flatMap { try? Attestation(credential: $0) }
        if let a = parsed { _ = a.verifyProof() }
        // Signed by the credential's issuer when it names one, so the rule reaches the proof check.
        let signer = parsed?.issuer ?? fuzzLogKey.publicKey
        guard let statement = attempt(&o, { try Statement(kind: TraceKind.attestation, payload: payload, signer: signer, time: fuzzNow) }) else { return }
        let rule = try! RuleBook.suyuan.rule(for: TraceKind.attestation)
        let terms = rule.terms(statement)
        guard attempt(&o, { try rule.validate(statement) }) != nil else { return }
        guard let a = parsed else { return o.check(false, "the rule accepted a payload whose credential does not parse") }
        o.check(payload.objectValue?.count == 1, "the rule accepted a payload with fields besides credential")
        o.check(a.verifyProof() == nil, "the rule accepted a credential whose proof does not verify")
        o.check(terms == ["attestation:\(a.id)", "product:\(a.product.canonical)"], "terms \(terms) do not name the attestation and its product")
        o.check(a.id.hasPrefix("urn:uuid:") && a.product.canonical == (try? ProductCode(parsing: a.product.canonical))?.canonical,
                "an accepted attestation's id or product is not in canonical form")
        // Re-serialised (canonical and pretty), it parses to the same attestation, still proved.
        for form in [try? payload.canonical(), Array(payload.prettyPrinted().utf8)] {
            guard let form, let again = try? JSONValue.parse(form), let c = again["credential"],
                  let b = try? Attestation(credential: c) else { return o.check(false, "the re-serialised payload does not parse") }
            o.check(b == a, "the re-serialised credential parses to another attestation")
            o.check(b.verifyProof() == nil, "the re-serialised credential's proof does not verify")
        }
    }

    /// Offline product bundles (`suyuan verify --bundle`), verified with the fuzz log key at a fixed time.
    static let bundle = FuzzTarget(name: "bundle", about: "ProductBundle(parsing:), ProductBundle.verify") { bytes, o in
        guard let b = attempt(&o, { try ProductBundle(parsing: bytes) }) else { return }
        guard let c = try? b.json.canonical(), let again = try? ProductBundle(parsing: c) else {
            return o.check(false, "a parsed bundle's JSON does not parse")
        }
        o.check(again.code.canonical == b.code.canonical, "the re-parsed bundle names another product")
        o.check(again.createdAt == b.createdAt.truncatedToMilliseconds, "the re-parsed bundle has another creation time")
        o.check(sameMaterial(again.material, b.material), "the re-parsed bundle holds other proof material")
        guard let v = try? b.verify(trusting: [fuzzLogVKey], now: fuzzNow) else { return }
        o.check(v.offlineBundleCreatedAt == b.createdAt, "the verification does not say when the bundle was made")
        o.check(v.entriesProved <= b.material.entries.count, "more entries proved than the bundle holds")
        if v.verified { o.check(v.checkpoint != nil && v.integrityFailures.isEmpty, "verified without a checkpoint, or with integrity failures") }
        _ = v.json
        _ = v.text
    }

    /// Term bundles (every entry under one index term, with proofs), as a remote reader checks them.
    static let termBundle = FuzzTarget(name: "termbundle", about: "TermBundle(parsing:), TermBundle.verify") { bytes, o in
        guard let b = attempt(&o, { try TermBundle(parsing: bytes) }) else { return }
        guard let c = try? b.json.canonical(), let again = try? TermBundle(parsing: c) else {
            return o.check(false, "a parsed term bundle's JSON does not parse")
        }
        o.check(again.term == b.term, "the re-parsed term bundle names another term")
        o.check(sameMaterial(again.material, b.material), "the re-parsed term bundle holds other proof material")
        guard let verified = try? b.verify(trusting: [fuzzLogVKey]) else { return }
        let (cp, entries) = verified
        o.check(entries.allSatisfy { $0.index > 0 && $0.index < cp.checkpoint.size }, "a verified entry is genesis or beyond the checkpoint")
        o.check(zip(entries, entries.dropFirst()).allSatisfy { $0.index < $1.index }, "verified entries are not in ledger order")
        o.check(entries.allSatisfy { RuleBook.suyuan.terms($0.statement).contains(b.term) }, "a verified entry is not indexed under the term")
        o.check(entries.allSatisfy { b.material.entries[$0.index] == $0.bytes }, "a verified entry is not the bundle's bytes")
    }

    /// The body of `POST /api/v1/statements/batch`, through `SignedStatement.batch(parsing:)` (what the route uses).
    static let batch = FuzzTarget(name: "batch", about: "POST /api/v1/statements/batch body: {\"statements\":[DSSE envelope…]}") { bytes, o in
        let parsed: [SignedStatement]
        do { parsed = try SignedStatement.batch(parsing: bytes); o.accepted = true } catch {
            o.refusal = "\(error)"; return
        }
        o.check(!parsed.isEmpty && parsed.count <= SignedStatement.maxBatchStatements, "an accepted batch holds \(parsed.count) statements")
        for (i, s) in parsed.enumerated() {
            o.check(JCS.isCanonical(s.canonical) && s.canonical.count <= Statement.maxBytes, "statement \(i + 1) is not canonical or too large")
            o.check(s.statementHash == SHA256.hash(s.canonical), "statement \(i + 1) has the wrong statement hash")
            _ = try? s.verifySignature()
            if let rule = try? RuleBook.suyuan.rule(for: s.statement.kind) { _ = try? rule.validate(s.statement); _ = rule.terms(s.statement) }
        }
        // The batch of the statements' own envelopes parses to the same statements.
        let body = JSONValue.object(["statements": .array(parsed.map(\.envelope))])
        guard let c = try? body.canonical(), let again = try? SignedStatement.batch(parsing: c) else { return o.check(false, "the re-encoded batch does not parse") }
        o.check(again == parsed, "the re-encoded batch parses to other statements")
    }
}

/// Equal checkpoint, entries and proofs.
private func sameMaterial(_ a: ProofMaterial, _ b: ProofMaterial) -> Bool {
    a.checkpoint == b.checkpoint && a.entries == b.entries && a.proofs == b.proofs
}

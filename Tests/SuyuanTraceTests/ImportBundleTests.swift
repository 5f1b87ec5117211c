import Foundation
import Testing
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanTrace

let epcisVectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Specs/vectors/published/epcis-event-hash")

let epcisDocuments: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: epcisVectors.path)) ?? [])
    .filter { $0.hasSuffix(".jsonld") }.sorted()

extension World {
    func importDocument(_ bytes: [UInt8], by key: SecretKey? = nil) throws -> [Appended] {
        let k = key ?? op
        let events = try EventBuilder.events(inDocument: bytes)
        return try ledger.appendAll(try events.map {
            try Statement(kind: TraceKind.event, payload: EventBuilder.payload($0), signer: k.publicKey, time: now).sign(with: k)
        })
    }
}

@Suite struct ImportTests {
    @Test func everyPublishedDocumentIsFound() { #expect(epcisDocuments.count >= 20) }

    /// Every published EPCIS 2.0 document imports (all events or none), each event recorded under its
    /// published CBV 2.0 hash, and re-reads from the ledger with the same ID.
    /// Published documents that must be refused as a whole, and why.
    static let refused: [String: String] = [
        // The document's own eventID is not the event's published CBV 2.0 hash: both values are shown.
        "epcisDocHavingEventWithComment.jsonld": "does not match the event's CBV 2.0 hash ni:///sha-256;df6523665bc5e5803d6c7b84f5a04e103694d8220f2abc4f2c74310e89f31bc6",
        "epcisQueryDocument.jsonld": "does not match the event's CBV 2.0 hash",
        // Its ignoreFields make its two events the same event.
        "epcisDocHavingEventWithIgnoreFields.jsonld": "is a duplicate of event 1",
        "epcisQueryDocHavingEventWithIgnoreFields.jsonld": "is a duplicate of event 1",
        // It declares an error in an event this ledger never recorded.
        "epcisDocWithXMLstartTagAndErrorDeclaration.jsonld": "which is not in the ledger",
    ]

    @Test(arguments: epcisDocuments)
    func publishedDocumentImports(_ name: String) throws {
        let bytes = [UInt8](try Data(contentsOf: epcisVectors.appendingPathComponent(name)))
        let hashes = try String(contentsOf: epcisVectors.appendingPathComponent(name.replacingOccurrences(of: ".jsonld", with: ".hashes")), encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let w = World()
        if let reason = Self.refused[name] {
            #expect { try w.importDocument(bytes) } throws: { "\($0)".contains(reason) }
            #expect(try w.ledger.size() == 1)
            return
        }
        let appended = try w.importDocument(bytes)
        #expect(appended.count == hashes.count)
        let stored = try appended.map { a in try EPCISEvent(statement: try Entry(parsing: try w.ledger.store.entry(at: a.index)!.bytes).statement).eventID }
        #expect(stored == hashes)
        // Importing the same document again is refused as a whole, naming the duplicate.
        let size = try w.ledger.size()
        w.now = w.now.adding(seconds: 1)
        #expect(throws: LedgerError.self) { try w.importDocument(bytes) }
        #expect(try w.ledger.size() == size)
    }

    @Test func aDocumentWithOneBadEventAppendsNothing() throws {
        let w = World()
        let doc = #"""
        {"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
         "creationDate":"2026-05-01T00:00:00Z","epcisBody":{"eventList":[
          {"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+08:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"bizStep":"shipping"},
          {"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-02T00:00:00Z","eventTimeZoneOffset":"+08:00","epcList":["urn:epc:id:sgtin:0614141.107346.2018"],"bizStep":"teleporting"}
         ]}}
        """#
        #expect {
            try w.importDocument(Array(doc.utf8))
        } throws: { e in
            "\(e)".contains("event 2 of 2") && "\(e)".contains("bizStep")
        }
        #expect(try w.ledger.size() == 1)
    }

    @Test func exportedDocumentsReimportWithTheSameEventIDs() throws {
        let w = World()
        try w.standardJourney()
        let j = try w.journey()
        let doc = EventBuilder.document(j.steps.map(\.event), created: w.now)
        let reparsed = try EventBuilder.events(inDocument: try doc.canonical())
        #expect(reparsed.map(\.eventID) == j.steps.map(\.event.eventID))
        let fresh = World()
        _ = try fresh.importDocument(try doc.canonical())
        #expect(try fresh.journey().steps.map(\.event.eventID) == j.steps.map(\.event.eventID))
    }

    /// Events imported from a document with its own namespace prefixes or ignored fields are exported with
    /// them (the export once wrote Suyuan's context only, and such documents did not re-import: found by fuzzing).
    @Test(arguments: epcisDocuments.filter { ImportTests.refused[$0] == nil })
    func exportedDocumentsKeepTheImportedContext(_ name: String) throws {
        let bytes = [UInt8](try Data(contentsOf: epcisVectors.appendingPathComponent(name)))
        let events = try EventBuilder.events(inDocument: bytes)
        let again = try EventBuilder.events(inDocument: try EventBuilder.document(events, created: time("2026-06-01")).canonical())
        #expect(again.map(\.eventID) == events.map(\.eventID))
        // Also through the ledger: imported, read back from the entries, exported, re-imported.
        let w = World()
        let appended = try w.importDocument(bytes)
        let stored = try appended.map { a in try EPCISEvent(statement: try Entry(parsing: try w.ledger.store.entry(at: a.index)!.bytes).statement) }
        let reread = try EventBuilder.events(inDocument: try EventBuilder.document(stored, created: w.now).canonical())
        #expect(reread.map(\.eventID) == events.map(\.eventID))
    }

    @Test func ignoredFieldsAreExportedWithTheirPrefix() throws {
        let doc = #"""
        {"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ns.example.com/epcis/"}],
         "type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-05-01T00:00:00Z","ex:ignoreFields":["ex:note"],
         "epcisBody":{"eventList":[{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T00:00:00Z","eventTimeZoneOffset":"+08:00",
          "epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"ex:myField":"x","ex:note":"not hashed"}]}}
        """#
        let events = try EventBuilder.events(inDocument: Array(doc.utf8))
        let out = EventBuilder.document(events, created: time("2026-06-01"))
        #expect(out["ignoreFields"] == ["ex:note"])
        #expect(out["@context"]?.arrayValue?.last?["ex"] == "https://ns.example.com/epcis/")
        #expect(try EventBuilder.events(inDocument: try out.canonical()).map(\.eventID) == events.map(\.eventID))
    }
}

@Suite struct BundleTests {
    /// A ledger with the standard journey, an HK attestation on the lot, and a signed checkpoint.
    static func world(rules: RuleBook = .suyuan) throws -> (World, Bay) {
        let b = try Bay(rules: rules)
        try b.world.standardJourney()
        _ = try b.world.attest(b.inspector, body: "HK-LAB")
        try b.world.ledger.checkpoint(signer: try NoteSigner(name: "trace.suyuan.example/ledger", key: b.world.op))
        return (b.world, b)
    }

    static var operatorKey: VerifierKey { try! VerifierKey(name: "trace.suyuan.example/ledger", publicKey: World().op.publicKey) }

    @Test func aBundleVerifiesOfflineWithTheSameResultAsTheLedger() throws {
        let (w, _) = try Self.world()
        let (online, bundle) = try ProductVerifier.verify(try ProductCode(parsing: item), in: w.ledger, now: w.now)
        #expect(online.verified, "\(online.problems)")
        let bytes = try #require(bundle).json.canonical()
        let offline = try ProductBundle(parsing: bytes).verify(trusting: [Self.operatorKey], now: w.now)
        #expect(offline.verified, "\(offline.problems)")
        // The same report, plus the note that a bundle cannot prove completeness.
        guard case .object(var o) = offline.json else { Issue.record("shape"); return }
        #expect(o.removeValue(forKey: "offline")?["completeness"] != nil)
        #expect(JSONValue.object(o) == online.json)
        #expect(offline.verdicts.values.allSatisfy { $0.verdict == .recognised })
        // Entries proved: genesis, the registry entries the verdicts need, the journey, the attestation.
        #expect(offline.entriesProved == bundle!.material.entries.count)
    }

    /// An operator that writes an event with a forged signature straight into its store and signs a
    /// checkpoint over it: the entry is included, so only its signature check can catch it, online
    /// (where the signatures are checked while the proofs are read) as offline.
    @Test func aForgedSignatureInTheLedgerFailsVerification() throws {
        let w = World()
        try w.standardJourney()
        let e = try EventBuilder.build(.sensor, product: item, time: time("2026-05-21T00:00:00Z"), details: { var d = StepDetails(); d.temperature = 5; return d }())
        let honest = try Statement(kind: TraceKind.event, payload: EventBuilder.payload(e), signer: w.op.publicKey, time: w.now).sign(with: w.op)
        var forged = honest.signature
        forged[5] ^= 1
        let bad = try SignedStatement(canonical: honest.canonical, signature: forged)
        let index = try w.ledger.size()
        _ = try w.ledger.store.append { tx in
            [NewEntry(entry: Entry(index: tx.tail.size, prev: tx.tail.lastLeafHash, recordedAt: w.now, signed: bad), terms: RuleBook.suyuan.terms(bad.statement))]
        }
        try w.ledger.checkpoint(signer: try NoteSigner(name: "trace.suyuan.example/ledger", key: w.op))
        let (online, bundle) = try ProductVerifier.verify(try ProductCode(parsing: item), in: w.ledger, now: w.now)
        #expect(!online.verified)
        #expect(online.integrityFailures.contains { $0.hasPrefix("entry \(index):") && $0.contains("signature") }, "\(online.integrityFailures)")
        #expect(online.integrityFailures.count == 1, "\(online.integrityFailures)")
        let offline = try ProductBundle(parsing: try #require(bundle).json.canonical()).verify(trusting: [Self.operatorKey], now: w.now)
        #expect(offline.integrityFailures.contains { $0.hasPrefix("entry \(index):") && $0.contains("signature") }, "\(offline.integrityFailures)")
    }

    /// An operator that writes an event whose recorded eventID is not the CBV 2.0 hash of its fields
    /// (signed by its own key, so the signature holds) and signs a checkpoint over it: the offline
    /// check recomputes every event's hash and names the entry; the event still shows in the journey.
    @Test func anEventWhoseIDIsNotItsHashFailsTheOfflineCheck() throws {
        let w = World()
        try w.standardJourney()
        let e = try EventBuilder.build(.sensor, product: item, time: time("2026-05-21T00:00:00Z"), details: { var d = StepDetails(); d.temperature = 5; return d }())
        guard case .object(var payload) = EventBuilder.payload(e), case .object(var event)? = payload["event"] else { Issue.record("shape"); return }
        event["eventTime"] = .string("2026-05-21T00:00:01.000Z")  // the recorded eventID is that of 00:00:00
        payload["event"] = .object(event)
        let signed = try Statement(kind: TraceKind.event, payload: .object(payload), signer: w.op.publicKey, time: w.now).sign(with: w.op)
        let index = try w.ledger.size()
        _ = try w.ledger.store.append { tx in
            [NewEntry(entry: Entry(index: tx.tail.size, prev: tx.tail.lastLeafHash, recordedAt: w.now, signed: signed), terms: RuleBook.suyuan.terms(signed.statement))]
        }
        try w.ledger.checkpoint(signer: try NoteSigner(name: "trace.suyuan.example/ledger", key: w.op))
        let (_, bundle) = try ProductVerifier.verify(try ProductCode(parsing: item), in: w.ledger, now: w.now)
        let offline = try ProductBundle(parsing: try #require(bundle).json.canonical()).verify(trusting: [Self.operatorKey], now: w.now)
        #expect(!offline.verified)
        #expect(offline.integrityFailures == offline.integrityFailures.filter { $0.hasPrefix("entry \(index):") }, "\(offline.integrityFailures)")
        #expect(offline.integrityFailures.count == 1 && offline.integrityFailures[0].contains("does not match the event's CBV 2.0 hash"), "\(offline.integrityFailures)")
        #expect(offline.journey.steps.contains { $0.index == index })
    }

    /// A bundle is read up to `ProductBundle.maxBytes` (64 MiB), not only to the JSON parser's default
    /// 16 MiB: a product with 10,000 events has a bundle of about 30 MB. Larger ones are refused.
    @Test func aBundleLargerThanSixteenMebibytesVerifies() throws {
        let (w, _) = try Self.world()
        let (_, bundle) = try ProductVerifier.verify(try ProductCode(parsing: item), in: w.ledger, now: w.now)
        guard case .object(var o) = try #require(bundle).json else { Issue.record("shape"); return }
        o["report"] = .string(String(repeating: "x", count: 17 << 20))  // display only: never trusted
        let big = try JSONValue.object(o).canonical()
        #expect(big.count > 17 << 20)
        #expect(try ProductBundle(parsing: big).verify(trusting: [Self.operatorKey], now: w.now).verified)
        o["report"] = .string(String(repeating: "x", count: ProductBundle.maxBytes))
        #expect { _ = try ProductBundle(parsing: try JSONValue.object(o).canonical()) } throws: { "\($0)".contains("larger than \(ProductBundle.maxBytes) bytes") }
    }

    @Test func aBundleNeedsTheRightTrustedKey() throws {
        let (w, _) = try Self.world()
        let (_, bundle) = try ProductVerifier.verify(try ProductCode(parsing: item), in: w.ledger, now: w.now)
        let other = try VerifierKey(name: "trace.suyuan.example/ledger", publicKey: w.newKey().publicKey)
        #expect(throws: LedgerError.self) { _ = try ProductBundle(parsing: try bundle!.json.canonical()).verify(trusting: [other], now: w.now) }
    }

    enum Tamper: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case eventField, attestationValue, signature, proofHash, checkpointRoot, checkpointSignature, droppedEntry
        var testDescription: String { rawValue }
    }

    /// Any change to a signed or proved value makes the bundle fail.
    @Test(arguments: Tamper.allCases)
    func aTamperedBundleFails(_ how: Tamper) throws {
        let (w, _) = try Self.world()
        let (_, bundle) = try ProductVerifier.verify(try ProductCode(parsing: item), in: w.ledger, now: w.now)
        guard case .object(var doc) = bundle!.json, case .array(var entries)? = doc["entries"] else { Issue.record("shape"); return }
        func edit(_ contains: String, _ change: ([UInt8]) -> [UInt8]) {
            for (n, e) in entries.enumerated() {
                guard case .object(var o) = e, let b = Base64.decode(o["entry"]!.stringValue!) else { continue }
                if String(decoding: b, as: UTF8.self).contains(contains) {
                    o["entry"] = .string(Base64.encode(change(b)))
                    entries[n] = .object(o)
                    return
                }
            }
            Issue.record("nothing contains \(contains)")
        }
        func swap(_ s: [UInt8], _ a: String, _ b: String) -> [UInt8] {
            Array(String(decoding: s, as: UTF8.self).replacingOccurrences(of: a, with: b).utf8)
        }
        switch how {
        case .eventField: edit("bondedZone") { swap($0, "nansha", "baiyun") }
        case .attestationValue: edit("metricValue") { swap($0, "0.05", "0.01") }
        case .signature:
            edit("\"signature\":\"") { b in
                var s = String(decoding: b, as: UTF8.self)
                let r = s.range(of: "\"signature\":\"")!
                let i = s.index(r.upperBound, offsetBy: 5)
                s.replaceSubrange(i...i, with: s[i] == "A" ? "B" : "A")
                return Array(s.utf8)
            }
        case .proofHash:
            guard case .object(var o) = entries[3], case .array(var p)? = o["proof"], !p.isEmpty else { Issue.record("no proof"); return }
            var h = Base64.decode(p[0].stringValue!)!
            h[0] ^= 1
            p[0] = .string(Base64.encode(h)); o["proof"] = .array(p); entries[3] = .object(o)
        case .checkpointRoot, .checkpointSignature:
            var lines = doc["checkpoint"]!.stringValue!.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let line = how == .checkpointRoot ? 2 : 4
            var chars = Array(lines[line])
            let k = how == .checkpointRoot ? 3 : chars.count - 5
            chars[k] = chars[k] == "A" ? "B" : "A"
            lines[line] = String(chars)
            doc["checkpoint"] = .string(lines.joined(separator: "\n"))
        case .droppedEntry:
            // Leaving out the bonded-zone receipt hides it from the journey: the rules then flag the release.
            entries.removeAll { e in
                String(decoding: Base64.decode(e.objectValue!["entry"]!.stringValue!)!, as: UTF8.self).contains("bondedZone")
            }
        }
        doc["entries"] = .array(entries)
        let bytes = try JSONValue.object(doc).canonical()
        do {
            let verified = try ProductBundle(parsing: bytes).verify(trusting: [Self.operatorKey], now: w.now).verified
            #expect(!verified, "\(how) went unnoticed")
        } catch {
            // Refusing the bundle outright (e.g. its checkpoint does not verify) is also a failure to verify.
            #expect(error is LedgerError)
        }
    }

    @Test func aForkedLedgerFailsAgainstASavedCheckpoint() throws {
        let (w, _) = try Self.world()
        let saved = try #require(try w.ledger.store.latestCheckpoint()).note
        // Another ledger with the same keys and a different history: its checkpoints are valid but inconsistent.
        let (other, _) = try Self.world()
        try other.event(.hold, at: "2026-05-30T00:00:00Z")
        try other.ledger.checkpoint(signer: try NoteSigner(name: "trace.suyuan.example/ledger", key: other.op))
        let (v, _) = try ProductVerifier.verify(try ProductCode(parsing: item), in: other.ledger, trustedCheckpoints: [saved], now: other.now)
        #expect(!v.verified)
        #expect(v.integrityFailures.contains { $0.contains("not consistent") }, "\(v.integrityFailures)")
        // Against its own earlier checkpoint the grown ledger is consistent.
        let (ok, _) = try ProductVerifier.verify(try ProductCode(parsing: item), in: w.ledger, trustedCheckpoints: [saved], now: w.now)
        #expect(ok.verified, "\(ok.problems)")
    }
}

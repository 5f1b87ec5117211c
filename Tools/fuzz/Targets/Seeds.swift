import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanTrace

/// Valid inputs made with the fuzz keys, for the targets whose interesting paths need a real signature or
/// structure (`suyuan-fuzz --write-seeds DIR` writes them as `DIR/TARGET/seed-*`). Deterministic.
public enum FuzzSeeds {
    public static func generate() throws -> [(target: String, name: String, bytes: [UInt8])] {
        var out: [(String, String, [UInt8])] = []
        let t0 = Timestamp(parsing: "2026-11-28T10:00:00.000Z")!
        let gd = SecretKey(seed: [UInt8](repeating: 0x02, count: 32))!
        let op = fuzzLogKey
        let witness = SecretKey(seed: [UInt8](repeating: 0x32, count: 32))!

        // Checkpoints and notes signed by the fuzz log key, one also cosigned by the fuzz witness.
        let signer = try NoteSigner(name: fuzzLogVKey.name, key: op)
        let root = RFC6962.root(leafHashes: (0..<5).map { RFC6962.leafHash([UInt8]("leaf \($0)".utf8)) })
        for (i, size) in [UInt64(0), 1, 5, 1 << 40].enumerated() {
            let cp = try Checkpoint(origin: "fuzz.suyuan.example/log", size: size, root: size == 0 ? RFC6962.emptyRoot : root,
                                    extensions: i == 2 ? ["ext line one", "ext two"] : [])
            let note = try cp.sign(with: signer)
            out.append(("checkpoint", "seed-signed-\(size)", Array(note.encoded.utf8)))
            out.append(("note", "seed-signed-\(size)", Array(note.encoded.utf8)))
            if i == 2 {
                let co = try Cosignature.sign(checkpointBody: note.text, timestamp: 1_764_000_000, name: fuzzWitnessVKey.name, key: witness)
                let cosigned = try note.adding([co])
                out.append(("checkpoint", "seed-cosigned", Array(cosigned.encoded.utf8)))
                out.append(("note", "seed-cosigned", Array(cosigned.encoded.utf8)))
            }
        }
        out.append(("checkpoint", "seed-body", Array("fuzz.suyuan.example/log\n3\n\(Base64.encode(root.bytes))\n".utf8)))

        // Verifier keys of both algorithms.
        out.append(("vkey", "seed-ed25519", Array(fuzzLogVKey.description.utf8)))
        out.append(("vkey", "seed-cosigner", Array(fuzzWitnessVKey.description.utf8)))

        // Envelopes and entries: a genesis and notices chained like a ledger.
        let genesis = try Genesis(origin: "fuzz.suyuan.example/log", operatorKey: fuzzLogVKey,
                                  regulators: [.GD: VerifierKey(name: "gd.fuzz.example", publicKey: gd.publicKey),
                                               .HK: VerifierKey(name: "hk.fuzz.example", publicKey: SecretKey(seed: [UInt8](repeating: 3, count: 32))!.publicKey),
                                               .MO: VerifierKey(name: "mo.fuzz.example", publicKey: SecretKey(seed: [UInt8](repeating: 4, count: 32))!.publicKey)])
        var statements = [try Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: t0).sign(with: op)]
        let notices = [
            try Notice(level: "warning", title: "Recall of lot 42", text: "Infant formula lot 42 is recalled.",
                       products: ["https://id.gs1.org/01/09421902960055/10/42"], categories: ["infant-formula"]),
            try Notice(level: "notice", title: "检验通知", text: "進口奶粉抽檢合格 — \u{1F600} \"quoted\" \\ and \u{7f}"),
        ]
        for (i, n) in notices.enumerated() {
            statements.append(try Statement(kind: Notice.kind, payload: n.payload, signer: gd.publicKey, time: t0.adding(seconds: Int64(i + 1))).sign(with: gd))
        }
        var prev = Hash.zero
        for (i, s) in statements.enumerated() {
            out.append(("envelope", "seed-\(i)", Array(s.envelope.prettyPrinted().utf8)))
            out.append(("statement", "seed-\(i)", s.canonical))
            let e = Entry(index: UInt64(i), prev: prev, recordedAt: t0.adding(seconds: Int64(i + 2)), signed: s)
            out.append(("entry", "seed-\(i)", e.bytes))
            prev = e.leafHash
        }

        // Key files (cheapest Argon2id parameters; the target only parses them).
        for (i, name) in ["gd.samr.example/regulator", "名前.example/key"].enumerated() {
            let kf = try KeyFile.seal(SecretKey(seed: [UInt8](repeating: UInt8(0x40 + i), count: 32))!, name: name,
                                      passphrase: Array("fuzz".utf8), opslimit: 1, memlimit: 8192)
            out.append(("keyfile", "seed-\(i)", kf.encoded()))
        }

        // Witness state and trust policy files.
        let state = WitnessState(log: fuzzLogVKey, origin: "fuzz.suyuan.example/log")
        out.append(("witness", "seed-state-fresh", Array(state.json.prettyPrinted().utf8)))
        let advanced: JSONValue = .object(["log": .string(fuzzLogVKey.description), "origin": .string("fuzz.suyuan.example/log"),
                                           "size": .number(5), "root": .string(Base64.encode(root.bytes))])
        out.append(("witness", "seed-state-5", Array(advanced.prettyPrinted().utf8)))
        let policy: JSONValue = .object(["log": .string(fuzzLogVKey.description), "quorum": .number(1),
                                         "witnesses": .object(["GD": .string(fuzzWitnessVKey.description)])])
        out.append(("witness", "seed-policy", Array(policy.prettyPrinted().utf8)))

        // did:key strings.
        for (i, k) in [gd, op, witness].enumerated() {
            out.append(("didkey", "seed-\(i)", Array(DIDKey.encode(k.publicKey).utf8)))
        }
        out.append(("didkey", "seed-fragment", Array((DIDKey.encode(gd.publicKey) + "#" + DIDKey.multibase(gd.publicKey)).utf8)))
        out += try traceSeeds()
        return out
    }

    /// Seeds of the supply-chain targets, from a small Suyuan ledger kept in memory: the fuzz log key as operator,
    /// a fixed clock, an HK lab with a bound inspector, two products' journeys, an attestation and a checkpoint.
    static func traceSeeds() throws -> [(target: String, name: String, bytes: [UInt8])] {
        var out: [(String, String, [UInt8])] = []
        let t0 = Timestamp(parsing: "2026-06-01T00:00:00.000Z")!
        func time(_ s: String) -> Timestamp { Timestamp(parsing: s)! }
        let op = fuzzLogKey
        let gd = SecretKey(seed: [UInt8](repeating: 0x02, count: 32))!, hk = SecretKey(seed: [UInt8](repeating: 0x03, count: 32))!
        let mo = SecretKey(seed: [UInt8](repeating: 0x04, count: 32))!, inspector = SecretKey(seed: [UInt8](repeating: 0x51, count: 32))!
        let genesis = try Genesis(origin: "fuzz.suyuan.example/log", operatorKey: fuzzLogVKey,
                                  regulators: [.GD: VerifierKey(name: "gd.fuzz.example", publicKey: gd.publicKey),
                                               .HK: VerifierKey(name: "hk.fuzz.example", publicKey: hk.publicKey),
                                               .MO: VerifierKey(name: "mo.fuzz.example", publicKey: mo.publicKey)])
        let ledger = try Ledger.create(in: MemoryLedgerStore(),
                                       genesis: try Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: t0).sign(with: op),
                                       rules: .suyuan, clock: { t0 })
        var signed: [SignedStatement] = []
        func append(_ kind: String, _ payload: JSONValue, by key: SecretKey) throws {
            let s = try Statement(kind: kind, payload: payload, signer: key.publicKey, time: t0).sign(with: key)
            _ = try ledger.appendAll([s])
            signed.append(s)
        }

        // The registry: an HK accreditation body and lab, GD recognising HK results, the inspector bound to the lab.
        let cosmetics = try ScopeItem(parsing: "cosmetics:GB 4806.7-2016")
        let since2020 = Validity(from: time("2020-01-01T00:00:00Z"))
        try append(TraceKind.body, try RegistryPayload.body(id: "HKAS", name: "HKAS accreditation", region: .HK, type: .accreditationBody,
                                                            validity: since2020), by: hk)
        try append(TraceKind.body, try RegistryPayload.body(id: "HK-LAB", name: "HK laboratory", region: .HK, type: .lab, accreditedBy: "HKAS",
                                                            accreditation: "ACC-HK-LAB", scope: [cosmetics], validity: since2020), by: hk)
        try append(TraceKind.agreement, try RegistryPayload.agreement(region: .GD, acceptFrom: [.HK], scope: [cosmetics],
                                                                      validity: Validity(from: time("2025-01-01T00:00:00Z"))), by: gd)
        try append(TraceKind.keyBinding, try RegistryPayload.keyBinding(body: "HK-LAB", key: inspector.publicKey,
                                                                        validity: Validity(from: time("2026-01-01T00:00:00Z"))), by: hk)

        // Journeys: item SN001 (packed, shipped, bonded, released, delivered) and item SN002 (commissioned only).
        let item = "https://id.gs1.org/01/09506000134352/21/SN001", item2 = "https://id.gs1.org/01/09506000134352/21/SN002"
        let case1 = "https://id.gs1.org/00/095060001343520000"
        var events: [EPCISEvent] = []
        func event(_ step: JourneyStepKind, _ product: String?, _ at: String, _ configure: (inout StepDetails) -> Void = { _ in }) throws {
            var d = StepDetails()
            configure(&d)
            let e = try EventBuilder.build(step, product: product, time: time(at), timeZoneOffset: "+08:00", details: d)
            try append(TraceKind.event, EventBuilder.payload(e), by: op)
            events.append(e)
        }
        try event(.commission, item, "2026-05-01T00:00:00Z") { $0.originCountry = "NZ"; $0.lot = "LOT1"; $0.expiry = "2027-05-01"; $0.allowedMin = 2; $0.allowedMax = 8 }
        try event(.commission, item2, "2026-05-01T00:00:01Z") { $0.originCountry = "FR"; $0.lot = "LOT2" }
        try event(.pack, nil, "2026-05-02T00:00:00Z") { $0.parent = case1; $0.children = [item] }
        try event(.ship, case1, "2026-05-03T00:00:00Z") { $0.reason = "sea freight" }
        try event(.enterBonded, case1, "2026-05-10T00:00:00Z") { $0.zone = .nansha }
        try event(.sensor, case1, "2026-05-10T06:00:00Z") { $0.temperature = 4.5 }
        try event(.unpack, nil, "2026-05-12T00:00:00Z") { $0.parent = case1 }
        try event(.release, item, "2026-05-20T00:00:00Z") { $0.declaration = "530120260520001"; $0.orderHash = String(repeating: "ab", count: 32) }
        try event(.deliver, item, "2026-05-22T00:00:00Z")

        // An attestation on item SN001's lot by the bound inspector.
        let lab = try TraceReader(ledger: ledger).registry().bodies["HK-LAB"]!
        let lot = try ProductCode(parsing: "https://id.gs1.org/01/09506000134352/10/LOT1")
        let attestation = try Attestation.issue(
            id: "urn:uuid:00000000-0000-4000-8000-000000000001", key: inspector, body: lab, product: lot, scope: cosmetics, result: .pass,
            values: [try MeasuredValue(parsing: "lead=0.05mg/kg")], validFrom: t0, relatedEvents: [events[0].eventID])
        try append(TraceKind.attestation, .object(["credential": attestation.credential]), by: inspector)
        _ = try ledger.checkpoint(signer: try NoteSigner(name: fuzzLogVKey.name, key: op))
        // Recorded after the checkpoint: bundles leave it out.
        try event(.recall, item2, "2026-05-30T00:00:00Z") { $0.reason = "label misprint" }

        // EPCIS documents: the journeys as export-epcis writes them, and one with its own namespace and ignored field.
        out.append(("epcis", "seed-journey", Array(EventBuilder.document(events, created: t0).prettyPrinted().utf8)))
        out.append(("epcis", "seed-one-event", try EventBuilder.document([events[5]], created: t0).canonical()))
        let custom = #"""
        {"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ns.example.com/epcis/"}],
         "type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-05-01T00:00:00Z","ex:ignoreFields":["ex:note"],
         "epcisBody":{"eventList":[
          {"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-05-01T08:00:00.5+08:00","eventTimeZoneOffset":"+08:00",
           "epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"bizStep":"shipping","disposition":"in_transit",
           "readPoint":{"id":"urn:epc:id:sgln:0614141.07346.1234"},"ex:myField":{"ex:depth":[1,2.50,"x"]},"ex:note":"not hashed",
           "quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":200,"uom":"KGM"}]},
          {"type":"AggregationEvent","action":"ADD","eventTime":"2026-05-02T00:00:00Z","eventTimeZoneOffset":"+00:00",
           "parentID":"urn:epc:id:sscc:0614141.1234567890","childEPCs":["urn:epc:id:sgtin:0614141.107346.2017"],"bizStep":"packing",
           "eventID":"urn:uuid:9d5b2e4e-1f0a-4e55-8f5e-0c5d3e8b7a11"},
          {"type":"TransformationEvent","eventTime":"2026-05-03T00:00:00Z","eventTimeZoneOffset":"+00:00",
           "inputEPCList":["urn:epc:id:sgtin:0614141.107346.2017"],"outputEPCList":["https://id.gs1.org/01/09506000134352/21/SN9"],
           "errorDeclaration":{"declarationTime":"2026-05-04T00:00:00Z","reason":"incorrect_data"}}
         ]}}
        """#
        out.append(("epcis", "seed-extensions", Array(custom.utf8)))

        // Attestation payloads: the recorded one, and others covering the optional members.
        out.append(("attestation", "seed-recorded", Array(JSONValue.object(["credential": attestation.credential]).prettyPrinted().utf8)))
        let other = try Attestation.issue(
            id: "urn:uuid:00000000-0000-4000-8000-000000000002", key: inspector, body: lab,
            product: try ProductCode(parsing: "https://id.gs1.org/01/09506000134352/21/SN002"), scope: cosmetics, result: .fail,
            values: [try MeasuredValue(parsing: "lead=12mg/kg"), try MeasuredValue(parsing: "ph=-5.5")], reportHash: String(repeating: "0f", count: 32),
            validFrom: time("2026-06-01T00:00:00.250Z"), validUntil: time("2027-06-01T00:00:00Z"))
        out.append(("attestation", "seed-fail-all-fields", try JSONValue.object(["credential": other.credential]).canonical()))
        out.append(("attestation", "seed-bare-credential", try attestation.credential.canonical()))

        // Offline product bundles and term bundles, as of the checkpoint.
        for (name, code) in [("item", item), ("item2", item2)] {
            let (_, b) = try ProductVerifier.verify(try ProductCode(parsing: code), in: ledger, now: fuzzNow)
            out.append(("bundle", "seed-\(name)", try b!.json.canonical()))
        }
        for (name, term) in [("registry", Registry.term), ("product", "product:" + item2), ("attestation", "attestation:" + attestation.id)] {
            out.append(("termbundle", "seed-\(name)", try TermBundle.build(term, in: ledger).json.canonical()))
        }

        // Batch submission bodies.
        func batch(_ list: [SignedStatement]) throws -> [UInt8] { try JSONValue.object(["statements": .array(list.map(\.envelope))]).canonical() }
        out.append(("batch", "seed-events", try batch(Array(signed.suffix(3)))))
        out.append(("batch", "seed-registry", try batch(Array(signed.prefix(4)))))
        out.append(("batch", "seed-one", Array(JSONValue.object(["statements": .array([signed[0].envelope])]).prettyPrinted().utf8)))
        return out
    }
}

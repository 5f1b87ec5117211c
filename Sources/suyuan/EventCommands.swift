import ArgumentParser
import Foundation
import SuyuanClient
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanStore
import SuyuanTrace

struct EventCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "event",
        abstract: "Record one journey event (GS1 EPCIS 2.0) for a product, signed with your key.",
        discussion: """
            STEP is one of: \(JourneyStepKind.allCases.map(\.rawValue).joined(separator: ", ")).
            commission needs --origin-country and --lot; pack needs --parent SSCC and --child CODE...; enter-bonded needs
            --zone; release needs --declaration; sensor needs --temperature; recall needs --reason.
            """)

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "The step.") var step: String
    @Option(help: "Your secret key file (the operator's, or one bound to a registered enterprise or inspection body).") var key: String
    @Option(help: "The product code (Digital Link, element string or EPC URN).") var product: String?
    @Option(help: "When it happened (RFC 3339 UTC; default now).") var time: String?
    @Option(name: .customLong("time-zone"), help: "The local time-zone offset where it happened, e.g. +08:00 (default +00:00).") var timeZone = "+00:00"
    @Option(help: "Where it happened: a GLN (Digital Link /414/…, SGLN URN) or another URI.") var location: String?
    @Option(name: .customLong("origin-country"), help: "commission: ISO 3166 country of origin, e.g. NZ.") var originCountry: String?
    @Option(help: "commission: the lot number.") var lot: String?
    @Option(help: "commission: the expiry date YYYY-MM-DD.") var expiry: String?
    @Option(help: "pack/unpack: the parent logistic unit (SSCC).") var parent: String?
    @Option(help: "pack/unpack: a child code (repeatable).") var child: [String] = []
    @Option(help: "enter-bonded: nansha, baiyun or guangzhou.") var zone: String?
    @Option(help: "release: the customs declaration number.") var declaration: String?
    @Option(name: .customLong("order-hash"), help: "release: SHA-256 (hex) of the consumer order; never the order itself.") var orderHash: String?
    @Option(help: "sensor: the temperature in °C.") var temperature: Double?
    @Option(help: "The lowest allowed temperature in °C (records the product's allowed range).") var min: Double?
    @Option(help: "The highest allowed temperature in °C.") var max: Double?
    @Option(help: "recall: why; other steps: an optional note.") var reason: String?
    @OptionGroup var pass: PassphraseOptions
    @Flag(help: "Print {\"index\",\"leafHash\",\"eventID\",\"checkpoint\"} as JSON.") var json = false

    func validate() throws {
        guard JourneyStepKind(rawValue: step) != nil else {
            throw ValidationError("unknown step \"\(step)\"; expected one of \(JourneyStepKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let z = zone, BondedZone(rawValue: z) == nil { throw ValidationError("--zone must be nansha, baiyun or guangzhou") }
    }

    func execute() throws {
        var d = StepDetails()
        d.originCountry = originCountry; d.lot = lot; d.expiry = expiry; d.parent = parent; d.children = child
        d.zone = zone.flatMap(BondedZone.init(rawValue:)); d.declaration = declaration; d.orderHash = orderHash
        d.temperature = temperature; d.allowedMin = min; d.allowedMax = max; d.reason = reason
        let t = try time.map { try TimeArgument.parse($0, "--time") } ?? systemClock().truncatedToMilliseconds
        let event = try Self.build(JourneyStepKind(rawValue: step)!, product: product, time: t, timeZoneOffset: timeZone,
                                   location: location, details: d)
        let (_, sk) = try Keys.open(key, passphrase: try pass.required())
        let signed = try StatementInput.sign(TraceKind.event, EventBuilder.payload(event), key: sk)
        let (appended, cp) = try AutoCheckpoint.append([signed], to: ledger, pass: pass)
        let a = appended[0]
        let note = cp.map { String(decoding: $0, as: UTF8.self) }
        if json {
            var o: [String: JSONValue] = ["index": .number(Double(a.index)), "leafHash": .string(a.leafHash.hex), "eventID": .string(event.eventID)]
            if let note { o["checkpoint"] = .string(note) }
            IO.printJSON(.object(o))
        } else {
            IO.print("recorded \(step) as entry \(a.index), event \(event.eventID)")
        }
    }
}

extension EventCommand {
    /// Builds the event; a problem with the flags given (not with a statement) is reported without the
    /// "malformed statement" prefix.
    static func build(_ step: JourneyStepKind, product: String?, time: Timestamp, timeZoneOffset: String, location: String?,
                      details: StepDetails) throws -> EPCISEvent {
        do {
            return try EventBuilder.build(step, product: product, time: time, timeZoneOffset: timeZoneOffset, location: location, details: details)
        } catch {
            if case .malformed(let why) = error { throw CLIError(code: CLIError.data, message: why) }
            throw error
        }
    }
}

struct ImportEPCISCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-epcis",
        abstract: "Append every event of an EPCIS 2.0 JSON document, signed with your key: all of them, or none.")

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "The EPCIS 2.0 JSON(-LD) document, or - for standard input.") var file: String
    @Option(help: "Your secret key file.") var key: String
    @OptionGroup var pass: PassphraseOptions
    @Flag(help: "Print {\"appended\",\"first\",\"last\",\"eventIDs\"} as JSON.") var json = false

    func execute() throws {
        let bytes = try IO.read(file, limit: 64 << 20)
        let events: [EPCISEvent]
        // A document is not a statement: its problems are named after the file, without that prefix.
        do { events = try EventBuilder.events(inDocument: bytes) } catch {
            throw CLIError(code: CLIError.data, message: "\(file == "-" ? "standard input" : file): \(error.detail)")
        }
        let (_, sk) = try Keys.open(key, passphrase: try pass.required())
        let now = systemClock()
        let statements = try events.map { e in
            try Statement(kind: TraceKind.event, payload: EventBuilder.payload(e), signer: sk.publicKey, time: now).sign(with: sk)
        }
        let appended = try AutoCheckpoint.append(statements, to: ledger, pass: pass).appended
        if json {
            IO.printJSON(.object(["appended": .number(Double(appended.count)), "first": .number(Double(appended.first!.index)),
                                  "last": .number(Double(appended.last!.index)), "eventIDs": .array(events.map { .string($0.eventID) })]))
        } else {
            IO.print("imported \(appended.count) event(s) from \(file) as entries \(appended.first!.index)–\(appended.last!.index)")
        }
    }
}

struct ExportEPCISCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-epcis", abstract: "Write the ledger's events (or one product's journey) as an EPCIS 2.0 JSON document.")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "Only this product's journey (with its containers and lot).") var product: String?
    @Option(help: "Write the document here instead of standard output.") var out: String?

    func execute() throws {
        var events: [EPCISEvent] = []
        if let remote = try ledger.remote() {
            guard let product else {
                throw CLIError(code: CLIError.usage, message: "with --server, export one product's journey with --product CODE; for the whole ledger, keep a replica with `suyuan mirror` and export from it")
            }
            let code = try parseProductCode(product)
            events = try ProductJourney.build(code, source: { try remote.entries($0) }, registry: try remote.registry()).steps.map(\.event)
        } else if let product {
            let reader = TraceReader(ledger: try ledger.open())
            let code = try parseProductCode(product)
            events = try ProductJourney.build(code, source: { try reader.entries($0) }, registry: try reader.registry()).steps.map(\.event)
        } else {
            let l = try ledger.open()
            var next: UInt64 = 0
            while true {
                let chunk = try l.store.entries(from: next, count: 4096)
                guard let last = chunk.last else { break }
                next = last.index + 1
                for s in chunk {
                    let e = try Entry(parsing: s.bytes)
                    if e.statement.kind == TraceKind.event { events.append(try EPCISEvent(statement: e.statement)) }
                }
            }
        }
        let text = EventBuilder.document(events, created: systemClock()).prettyPrinted() + "\n"
        if let out { try IO.write(Array(text.utf8), to: out) } else { IO.print(text) }
    }
}

struct VerifyCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a product: its journey, inspections, recognition in GD/HK/MO and the integrity proof (exit 1 if anything fails).",
        discussion: "With --bundle FILE and no CODE, checks an offline bundle without any ledger (--trust required).")

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "The product code (Digital Link, element string or EPC URN).") var code: String?
    @Option(help: "The operator key(s) you trust (KEYREF; default: the one named in the ledger's genesis).") var trust: [String] = []
    @Option(name: .customLong("trusted-checkpoint"), help: "A checkpoint you saved earlier; the ledger must be consistent with it (repeatable).")
    var trustedCheckpoints: [String] = []
    @Option(help: "With CODE: write the offline bundle here. Without CODE: the bundle to check.") var bundle: String?
    @Option(help: "Only this region's verdict counts for the exit status (GD, HK or MO).") var region: String?
    @Option(help: "Override the later-suspension policy: keep or invalidate.") var policy: String?
    @Flag(help: "Print the verification as JSON.") var json = false

    func validate() throws {
        if code == nil {
            guard bundle != nil else { throw ValidationError("give a product CODE, or --bundle FILE --trust KEYREF to check a bundle offline") }
            guard !trust.isEmpty else { throw ValidationError("checking a bundle offline needs --trust KEYREF (the operator key you trust)") }
        }
        if let r = region { _ = try parseRegion(r, "--region") }
        if let p = policy, LaterSuspensionPolicy(rawValue: p) == nil { throw ValidationError("--policy must be keep or invalidate") }
    }

    func execute() throws {
        // One verification, then the process exits: the entries it parsed need not be torn down.
        Parallel.keepReleasesUntilExit()
        let keys = try trust.map { try Keys.resolve($0) }
        let regions = try region.map { [try parseRegion($0, "--region")] } ?? Region.allCases
        let pol = policy.flatMap(LaterSuspensionPolicy.init(rawValue:))
        let v: ProductVerification
        var made: ProductBundle?
        if let code, let remote = try ledger.remote() {
            let product = try parseProductCode(code, "CODE")
            let b = try remote.productBundle(product)
            for (n, path) in trustedCheckpoints.enumerated() {
                let saved = try Checkpoint.verify(try IO.read(path, limit: 1 << 20), trusting: [remote.operatorKey]).checkpoint
                do { try remote.verifyRoot(saved.root, size: saved.size) } catch {
                    throw CLIError(code: CLIError.verification, message: "trusted checkpoint \(n + 1) (\(path)) is not consistent with \(remote.client.baseURL): \(error)")
                }
            }
            v = try b.verify(trusting: keys.isEmpty ? [remote.operatorKey] : keys, now: systemClock(), policy: pol, regions: regions)
            made = b
        } else if let code {
            let product = try parseProductCode(code, "CODE")
            // One read of the product: pages are seldom read twice, so a small page cache.
            let l = try ledger.open(pageCacheKiB: SQLiteLedgerStore.singleReadPageCacheKiB)
            let saved = try trustedCheckpoints.map { try IO.read($0, limit: 1 << 20) }
            let (result, b) = try ProductVerifier.verify(product, in: l, trusting: keys.isEmpty ? nil : keys, trustedCheckpoints: saved,
                                                         now: systemClock(), policy: pol, regions: regions, bundle: bundle != nil)
            v = result
            made = b
            if keys.isEmpty && !json { IO.note("trusting the operator key named in the ledger's genesis (\(l.genesis.operatorKey)); pass --trust to pin it") }
            if bundle != nil && b == nil { throw CLIError(code: CLIError.data, message: "no bundle written: the ledger has no signed checkpoint yet") }
        } else {
            let b = try ProductBundle(parsing: try IO.read(bundle!, limit: ProductBundle.maxBytes))
            do { v = try b.verify(trusting: keys, now: systemClock(), policy: pol, regions: regions) } catch LedgerError.corrupt(let why) {
                // No ledger is involved: the bundle itself (its checkpoint or genesis entry) does not verify.
                throw CLIError(code: CLIError.verification, message: "the bundle \(bundle!) does not verify: \(why)")
            }
            Parallel.releaseInBackground(b)
        }
        if let out = bundle, let b = made {
            try IO.write(b.json(report: v).prettyPrintedBytes(terminator: [0x0A]), to: out)
            if !json { IO.note("wrote offline bundle \(out) (\(b.material.entries.count) entries with inclusion proofs)") }
        }
        if json {
            let doc = v.json
            IO.printJSON(doc)
            Parallel.releaseInBackground(doc)
        } else { IO.print(v.text) }
        Parallel.releaseInBackground((v, made))
        if !v.verified { throw ExitCode(CLIError.verification) }
    }
}

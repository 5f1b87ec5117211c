import ArgumentParser
import Foundation
import SuyuanClient
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanTrace

struct AttestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Issue a signed inspection/test attestation (a W3C Verifiable Credential, eddsa-jcs-2022) and append it.",
        subcommands: [Issue.self, Revoke.self],
        defaultSubcommand: Issue.self)
}

/// Parses a product code argument, with the parser's specific reason.
func parseProductCode(_ text: String, _ flag: String = "--product") throws -> ProductCode {
    do { return try ProductCode(parsing: text) } catch { throw CLIError(code: CLIError.data, message: "\(flag) \"\(text)\": \(error)") }
}

extension AttestCommand {
    struct Issue: SuyuanCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue", abstract: "Issue an attestation for an item or a lot (the default of `suyuan attest`); prints its id.")

        @OptionGroup var ledger: LedgerOptions
        @Option(help: "The inspector's secret key file (bound to a body in the registry).") var key: String
        @Option(help: "The product code: an item (GTIN + serial) or a lot (GTIN + lot).") var product: String
        @Option(help: "The product category, e.g. cosmetics.") var category: String
        @Option(help: "The test standard, e.g. GB 4806.7-2016.") var standard: String
        @Option(help: "pass or fail.") var result: String
        @Option(help: "A measured value METRIC=VALUE[UNIT] (repeatable), e.g. lead=0.05mg/kg.") var value: [String] = []
        @Option(help: "The test report file; its SHA-256 is recorded as evidence.") var report: String?
        @Option(name: .customLong("valid-until"), help: "When the attestation expires (optional).") var validUntil: String?
        @Option(help: "The body the inspector acts for (needed only when the key is bound to several).") var body: String?
        @Option(help: "A related EPCIS event ID (repeatable), e.g. the sampling event.") var event: [String] = []
        @Option(help: "The attestation's time (default now); at most 30 days back.") var time: String?
        @OptionGroup var pass: PassphraseOptions
        @Flag(help: "Print {\"attestation\",\"index\",\"leafHash\"} as JSON.") var json = false

        func validate() throws {
            guard TestResult(rawValue: result) != nil else { throw ValidationError("--result must be pass or fail, got \"\(result)\"") }
            do { _ = try ScopeItem(parsing: "\(category):\(standard)") } catch { throw ValidationError("\(error)") }
        }

        func execute() throws {
            let code = try parseProductCode(product)
            let values = try value.map { v in
                do { return try MeasuredValue(parsing: v) } catch {
                    // Name the flag once, without the "malformed statement" prefix (this is a flag, not a statement).
                    var why = "\(error)"
                    if case LedgerError.malformed(let s) = error { why = s }
                    throw CLIError(code: CLIError.data, message: why.hasPrefix("--value") ? why : "--value \"\(v)\": \(why)")
                }
            }
            let reportHash = try report.map { SHA256.hash(try IO.read($0, limit: 1 << 30)).hex }
            let t = try time.map { try TimeArgument.parse($0, "--time") } ?? systemClock().truncatedToMilliseconds
            let until = try validUntil.map { try TimeArgument.parse($0, "--valid-until") }
            let (_, sk) = try Keys.open(key, passphrase: try pass.required())
            let remote = try ledger.remote()
            let registry = try remote?.registry() ?? TraceReader(ledger: try ledger.open()).registry()
            let bound = registry.bindings(of: sk.publicKey).filter { $0.isValid(at: systemClock()) }.map(\.body)
            let bodyID: String
            if let body {
                guard bound.contains(body) else {
                    throw CLIError(code: CLIError.verification, message: "not authorised: this key is not bound to \(body) now (bound to: \(bound.isEmpty ? "nothing" : bound.joined(separator: ", ")))")
                }
                bodyID = body
            } else {
                guard let only = Set(bound).first, Set(bound).count == 1 else {
                    throw CLIError(code: bound.isEmpty ? CLIError.verification : CLIError.data, message: bound.isEmpty
                        ? "not authorised: this key (\(DIDKey.encode(sk.publicKey))) is not bound to any body; a regulator binds it with `suyuan registry bind-key`"
                        : "this key is bound to several bodies (\(Set(bound).sorted().joined(separator: ", "))); choose one with --body")
                }
                bodyID = only
            }
            let a = try Attestation.issue(
                id: "urn:uuid:" + UUID().uuidString.lowercased(), key: sk, body: registry.bodies[bodyID]!, product: code,
                scope: ScopeItem(parsing: "\(category):\(standard)"), result: TestResult(rawValue: result)!, values: values,
                reportHash: reportHash, validFrom: t, validUntil: until, relatedEvents: event)
            let signed = try Statement(kind: TraceKind.attestation, payload: .object(["credential": a.credential]), signer: sk.publicKey, time: t).sign(with: sk)
            let appended = try AutoCheckpoint.append([signed], to: ledger, pass: pass, remote: remote).appended[0]
            if json {
                IO.printJSON(.object(["attestation": .string(a.id), "index": .number(Double(appended.index)), "leafHash": .string(appended.leafHash.hex)]))
            } else {
                IO.print(a.id)
                IO.note("appended attestation at entry \(appended.index) for \(code.canonical) (\(a.scope), \(a.result.rawValue))")
            }
        }
    }

    struct Revoke: SuyuanCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke", abstract: "Revoke (or suspend, or reinstate) one attestation; signed by its issuer or its body's regulator.")

        @OptionGroup var ledger: LedgerOptions
        @Option(help: "The issuer's or regulator's secret key file.") var key: String
        @Option(help: "The attestation id (urn:uuid:…).") var attestation: String
        @Option(help: "Why, for people reading the verdict.") var reason: String
        @Option(help: "revoked (default), suspended or active.") var status = "revoked"
        @Option(help: "When it takes effect (default now).") var effective: String?
        @OptionGroup var pass: PassphraseOptions
        @Flag(help: "Print {\"index\",\"leafHash\",\"checkpoint\"} as JSON.") var json = false

        func validate() throws {
            guard AttestationState(rawValue: status) != nil else { throw ValidationError("--status must be revoked, suspended or active") }
            try validateAttestationID(attestation)
        }

        func execute() throws {
            let t = try effective.map { try TimeArgument.parse($0, "--effective") } ?? systemClock().truncatedToMilliseconds
            let (_, sk) = try Keys.open(key, passphrase: try pass.required())
            let payload = RegistryPayload.attestationStatus(attestation: attestation, status: AttestationState(rawValue: status)!, reason: reason, effective: t)
            try AutoCheckpoint.appendAndReport(try StatementInput.sign(TraceKind.attestationStatus, payload, key: sk), to: ledger, pass: pass, json: json)
        }
    }
}

struct ExplainCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show the trust path of one attestation's verdict in one region (exit 1 unless recognised).")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The attestation id (urn:uuid:…).") var attestation: String
    @Option(help: "GD, HK or MO.") var region: String
    @Option(help: "Override the region's later-suspension policy: keep or invalidate.") var policy: String?
    @Option(help: "Judge as of this time (default now).") var at: String?
    @Flag(help: "Print the verdict and trust path as JSON.") var json = false

    func validate() throws {
        try validateAttestationID(attestation)
        _ = try parseRegion(region, "--region")
        if let p = policy, LaterSuspensionPolicy(rawValue: p) == nil { throw ValidationError("--policy must be keep or invalidate") }
    }

    func execute() throws {
        let recorded: RecordedAttestation?, registry: Registry
        if let remote = try ledger.remote() {
            recorded = try TraceReader.recorded(from: try remote.entries("attestation:\(attestation)")).first
            registry = try remote.registry()
        } else {
            let reader = TraceReader(ledger: try ledger.open())
            (recorded, registry) = (try reader.attestation(id: attestation), try reader.registry())
        }
        guard let recorded else {
            throw CLIError(code: CLIError.noInput, message: "no attestation \(attestation) in this ledger")
        }
        let verifier = RecognitionVerifier(registry: registry, now: try at.map { try TimeArgument.parse($0, "--at") } ?? systemClock(),
                                           policyOverride: policy.flatMap(LaterSuspensionPolicy.init(rawValue:)))
        let v = verifier.verdict(recorded, region: try parseRegion(region, "--region"))
        if json { IO.printJSON(v.json) } else { IO.print(v.text) }
        if v.verdict != .recognised { throw ExitCode(CLIError.verification) }
    }
}

/// Refuses an `--attestation` that cannot be an attestation id, before anything is read or signed.
func validateAttestationID(_ id: String) throws {
    guard Attestation.isCanonicalID(id) else { throw ValidationError("--attestation \"\(id)\" must be \(Attestation.idForm)") }
}

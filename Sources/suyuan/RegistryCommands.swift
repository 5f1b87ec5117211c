import ArgumentParser
import Foundation
import SuyuanClient
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanTrace

struct RegistryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "The accreditation registry: bodies, scopes, statuses, inspector keys and recognition agreements (regulator-signed).",
        subcommands: [AddBody.self, SetStatus.self, BindKey.self, RevokeKey.self, Recognise.self, SetPolicy.self, Show.self])
}

/// Options shared by the registry commands that sign and append.
struct RegulatorSigning: ParsableArguments {
    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The regulator's secret key file (a regulator key named in genesis).") var key: String
    @OptionGroup var pass: PassphraseOptions
    @Flag(help: "Print {\"index\",\"leafHash\",\"checkpoint\"} as JSON.") var json = false

    func append(_ kind: String, _ payload: JSONValue) throws {
        let (_, sk) = try Keys.open(key, passphrase: try pass.required())
        let signed = try StatementInput.sign(kind, payload, key: sk)
        try AutoCheckpoint.appendAndReport(signed, to: ledger, pass: pass, json: json)
    }

    /// Signs the payload `make` builds for the key's own region and appends it (agreements, policies).
    func appendForOwnRegion(_ kind: String, _ make: (Region) throws -> JSONValue) throws {
        let (_, sk) = try Keys.open(key, passphrase: try pass.required())
        let remote = try ledger.remote()
        let genesis = try remote?.genesis ?? ledger.open().genesis
        guard let own = genesis.regulatorRegion(of: sk.publicKey) else {
            throw CLIError(code: CLIError.verification, message: "not authorised: \(key) is not a regulator key named in genesis")
        }
        try AutoCheckpoint.appendAndReport(try StatementInput.sign(kind, try make(own), key: sk), to: ledger, pass: pass, json: json, remote: remote)
    }
}

private func scopes(_ texts: [String]) throws -> [ScopeItem] {
    try texts.map { t in
        do { return try ScopeItem(parsing: t) } catch { throw ValidationError("--scope: \(error)") }
    }
}

func parseRegion(_ text: String, _ flag: String) throws -> Region {
    guard let r = Region(rawValue: text) else { throw ValidationError("\(flag) \"\(text)\" must be GD, HK or MO") }
    return r
}

extension RegistryCommand {
    struct AddBody: SuyuanCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-body", abstract: "Register an accreditation body, a lab, an inspection or certification body, or an enterprise.")

        @OptionGroup var signing: RegulatorSigning
        @Option(help: "The body's permanent id, e.g. HK-LAB-001.") var id: String
        @Option(help: "The body's name.") var name: String
        @Option(help: "GD, HK or MO: the region whose regulator registers it (must be the --key's region).") var region: String
        @Option(help: "accreditation-body, lab, inspection-body, certification-body or enterprise.") var type: String
        @Option(name: .customLong("accredited-by"), help: "The id of the accreditation body that accredited it.") var accreditedBy: String?
        @Option(help: "Its accreditation number.") var accreditation: String?
        @Option(help: "An accredited scope item CATEGORY:STANDARD (repeatable), e.g. cosmetics:GB 4806.7-2016.") var scope: [String] = []
        @Option(name: .customLong("valid-from"), help: "Start of validity (RFC 3339 UTC or YYYY-MM-DD; default now).") var validFrom: String?
        @Option(name: .customLong("valid-until"), help: "End of validity (optional).") var validUntil: String?

        func validate() throws {
            _ = try parseRegion(region, "--region")
            guard BodyType(rawValue: type) != nil else {
                throw ValidationError("--type \"\(type)\" must be one of \(BodyType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            _ = try scopes(scope)
        }

        func execute() throws {
            let validity = Validity(from: try validFrom.map { try TimeArgument.parse($0, "--valid-from") } ?? systemClock().truncatedToMilliseconds,
                                    until: try validUntil.map { try TimeArgument.parse($0, "--valid-until") })
            let payload = try RegistryPayload.body(
                id: id, name: name, region: try parseRegion(region, "--region"), type: BodyType(rawValue: type)!,
                accreditedBy: accreditedBy, accreditation: accreditation, scope: try scopes(scope), validity: validity)
            try signing.append(TraceKind.body, payload)
        }
    }

    struct SetStatus: SuyuanCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-status", abstract: "Suspend, withdraw or restore a body, or one of its accredited scope items, from a given time.")

        @OptionGroup var signing: RegulatorSigning
        @Option(help: "The body's id.") var body: String
        @Option(help: "Only this scope item CATEGORY:STANDARD (default: the whole body).") var scope: String?
        @Option(help: "active, suspended or withdrawn.") var status: String
        @Option(help: "When the change takes effect (RFC 3339 UTC or YYYY-MM-DD).") var effective: String

        func validate() throws {
            guard BodyStatus(rawValue: status) != nil else { throw ValidationError("--status \"\(status)\" must be active, suspended or withdrawn") }
            _ = try scopes(scope.map { [$0] } ?? [])
            _ = try TimeArgument.parse(effective, "--effective")
        }

        func execute() throws {
            let payload = RegistryPayload.status(body: body, status: BodyStatus(rawValue: status)!, scope: try scopes(scope.map { [$0] } ?? []).first,
                                                 effective: try TimeArgument.parse(effective, "--effective"))
            try signing.append(TraceKind.status, payload)
        }
    }

    struct BindKey: SuyuanCommand {
        static let configuration = CommandConfiguration(
            commandName: "bind-key", abstract: "Bind an inspector's (or an enterprise's) key to a registered body for a validity period.")

        @OptionGroup var signing: RegulatorSigning
        @Option(help: "The body's id.") var body: String
        @Option(help: "The key to bind: a verifier key string or a key file (KEYREF).") var inspector: String
        @Option(help: "The key's role at the body (default inspector; for enterprises e.g. importer, carrier, bonded-warehouse).") var role = "inspector"
        @Option(name: .customLong("valid-from"), help: "Start of the binding (RFC 3339 UTC or YYYY-MM-DD).") var validFrom: String
        @Option(name: .customLong("valid-until"), help: "End of the binding (optional).") var validUntil: String?

        func execute() throws {
            let validity = Validity(from: try TimeArgument.parse(validFrom, "--valid-from"), until: try validUntil.map { try TimeArgument.parse($0, "--valid-until") })
            let payload = try RegistryPayload.keyBinding(body: body, key: try Keys.resolve(inspector).publicKey, role: role, validity: validity)
            try signing.append(TraceKind.keyBinding, payload)
        }
    }

    struct RevokeKey: SuyuanCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-key", abstract: "End a key's bindings to the bodies of the regulator's region, from a given time.")

        @OptionGroup var signing: RegulatorSigning
        @Option(help: "The key to revoke (KEYREF).") var inspector: String
        @Option(help: "When the revocation takes effect (RFC 3339 UTC or YYYY-MM-DD).") var effective: String

        func execute() throws {
            let payload = RegistryPayload.keyRevocation(key: try Keys.resolve(inspector).publicKey, effective: try TimeArgument.parse(effective, "--effective"))
            try signing.append(TraceKind.keyRevocation, payload)
        }
    }

    struct Recognise: SuyuanCommand {
        static let configuration = CommandConfiguration(
            commandName: "recognise",
            abstract: "Record that the key's region accepts results accredited in other regions for some scope items, from/until a time.",
            discussion: "A later agreement for the same region, source region and scope item replaces an earlier one: to end an agreement, record it again with --until.")

        @OptionGroup var signing: RegulatorSigning
        @Option(name: .customLong("accept-from"), help: "REGION[,REGION]: the regions whose accredited results are accepted.") var acceptFrom: String
        @Option(help: "A scope item CATEGORY:STANDARD (repeatable).") var scope: [String] = []
        @Option(help: "Start of the agreement (RFC 3339 UTC or YYYY-MM-DD).") var from: String
        @Option(help: "End of the agreement (optional).") var until: String?

        func validate() throws {
            guard !scope.isEmpty else { throw ValidationError("give at least one --scope CATEGORY:STANDARD") }
            _ = try scopes(scope)
            for r in acceptFrom.split(separator: ",") { _ = try parseRegion(String(r), "--accept-from") }
        }

        func execute() throws {
            let regions = try acceptFrom.split(separator: ",").map { try parseRegion(String($0), "--accept-from") }
            let validity = Validity(from: try TimeArgument.parse(from, "--from"), until: try until.map { try TimeArgument.parse($0, "--until") })
            try signing.appendForOwnRegion(TraceKind.agreement) { own in
                try RegistryPayload.agreement(region: own, acceptFrom: regions, scope: try scopes(scope), validity: validity)
            }
        }
    }

    struct SetPolicy: SuyuanCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-policy",
            abstract: "Set the key's region's policy for suspensions, withdrawals and revocations effective after an attestation was issued.")

        @OptionGroup var signing: RegulatorSigning
        @Option(name: .customLong("later-suspension"), help: "keep (judge as of the attestation's time) or invalidate (a later suspension invalidates earlier results).")
        var laterSuspension: String
        @Option(help: "When the policy takes effect (default now).") var effective: String?

        func validate() throws {
            guard LaterSuspensionPolicy(rawValue: laterSuspension) != nil else { throw ValidationError("--later-suspension must be keep or invalidate") }
        }

        func execute() throws {
            let policy = LaterSuspensionPolicy(rawValue: laterSuspension)!
            let t = try effective.map { try TimeArgument.parse($0, "--effective") } ?? systemClock().truncatedToMilliseconds
            try signing.appendForOwnRegion(TraceKind.policy) { own in RegistryPayload.policy(region: own, laterSuspension: policy, effective: t) }
        }
    }

    struct Show: SuyuanCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show the registry as of a time: bodies and their status, key bindings, agreements in force.")

        @OptionGroup var ledger: LedgerOptions
        @Option(help: "Show the state at this time (default now).") var at: String?
        @Flag(help: "Print the registry as JSON.") var json = false

        func execute() throws {
            let t = try at.map { try TimeArgument.parse($0, "--at") } ?? systemClock()
            let reg = try ledger.remote()?.registry() ?? TraceReader(ledger: try ledger.open()).registry()
            let view = RegistryView(registry: reg, at: t)
            if json { IO.printJSON(view.json) } else { IO.print(view.text) }
        }
    }
}

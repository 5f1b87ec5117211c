import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger

/// The registry kinds' rule: payload shape, and "a regulator can only change facts of its own region".
struct RegistryRule: StatementRule {
    let kind: String

    func validate(_ statement: Statement) throws(LedgerError) {
        let p = statement.payload
        switch kind {
        case TraceKind.body: _ = try BodyPayload(p)
        case TraceKind.status: _ = try StatusPayload(p)
        case TraceKind.keyBinding: _ = try KeyBindingPayload(p)
        case TraceKind.keyRevocation: _ = try KeyRevocationPayload(p)
        case TraceKind.agreement: _ = try AgreementPayload(p)
        case TraceKind.policy: _ = try PolicyPayload(p)
        default: throw .unknownKind(kind)
        }
    }

    func terms(_ statement: Statement) -> [String] { Registry.terms(statement) }

    /// Version 1 indexed registry entries under `registry` alone; version 2 added the subject terms.
    func terms(_ statement: Statement, indexVersion: Int) -> [String] {
        indexVersion < 2 ? [Registry.term] : Registry.terms(statement)
    }

    func authorize(_ statement: Statement, signer: PublicKey, context: AppendContext) throws(LedgerError) {
        guard let registry = context.state as? Registry else { throw .state("the registry is not available to authorise \(kind)") }
        guard let region = registry.genesis.regulatorRegion(of: signer) else {
            throw .unauthorized("\(kind) must be signed by a regulator key named in genesis (GD, HK or MO); \(statement.signer) is not one")
        }
        func own(_ r: Region, _ what: String) throws(LedgerError) {
            guard r == region else {
                throw .unauthorized("the \(region.rawValue) regulator cannot change \(what) of \(r.rawValue); only the \(r.rawValue) regulator can")
            }
        }
        func body(_ id: String) throws(LedgerError) -> Body {
            guard let b = registry.bodies[id] else { throw .unauthorized("no body \"\(id)\" is registered; register it with `suyuan registry add-body` first") }
            return b
        }
        let p = statement.payload
        switch kind {
        case TraceKind.body:
            let b = try BodyPayload(p)
            try own(b.region, "the registry")
            if registry.bodies[b.id] != nil { throw .unauthorized("a body with id \"\(b.id)\" is already registered; ids are permanent") }
            if let a = b.accreditedBy {
                guard registry.bodies[a]?.type == .accreditationBody else {
                    throw .unauthorized("accreditedBy \"\(a)\" is not a registered accreditation body")
                }
            }
        case TraceKind.status:
            let c = try StatusPayload(p)
            let b = try body(c.body)
            try own(b.region, "the status of \(b.id)")
            if let item = c.scope, !b.scope.contains(item) {
                throw .unauthorized("\(b.id) is not accredited for \(item); its scope is \(b.scope.map(\.description).joined(separator: ", "))")
            }
        case TraceKind.keyBinding:
            let k = try KeyBindingPayload(p)
            let b = try body(k.body)
            try own(b.region, "key bindings of \(b.id)")
            guard b.type != .accreditationBody else { throw .unauthorized("keys are bound to conformity assessment bodies and enterprises, not to accreditation bodies") }
        case TraceKind.keyRevocation:
            let r = try KeyRevocationPayload(p)
            let mine = registry.bindings(of: r.key).filter { $0.revoked == nil && registry.bodies[$0.body]?.region == region }
            guard !mine.isEmpty else {
                throw .unauthorized("\(DIDKey.encode(r.key)) has no unrevoked binding to a \(region.rawValue) body; the \(region.rawValue) regulator can only revoke bindings in its own region")
            }
        case TraceKind.agreement:
            try own(try AgreementPayload(p).region, "recognition agreements")
        case TraceKind.policy:
            try own(try PolicyPayload(p).region, "the recognition policy")
        default:
            throw .unknownKind(kind)
        }
    }
}

/// The rule book of a Suyuan ledger: the core kinds plus registry, journey events and attestations.
extension RuleBook {
    public static let suyuan = RuleBook.core.adding(
        TraceKind.registryKinds.map { RegistryRule(kind: $0) } + [EventRule(), AttestationRule(), AttestationStatusRule()],
        state: Registry.self, termIndexVersion: 2, rederivedTerms: [Registry.term])
}

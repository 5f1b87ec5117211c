import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger

/// A recognition decision for one region (see `Specs/recognition.md`).
public enum Verdict: String, Sendable, CaseIterable {
    case recognised
    case notRecognised = "not-recognised"
    case indeterminate
}

/// One link of the trust path attestation → key → body → scope → accreditation → agreement → region.
public struct TrustLink: Sendable, Equatable {
    public enum State: String, Sendable { case ok, failed, unknown }
    /// Which link: `signature`, `subject`, `validity`, `status`, `key`, `body`, `scope`, `accreditation`,
    /// `agreement`, `result`.
    public let step: String
    public let state: State
    /// A sentence saying what holds or what failed.
    public let detail: String
}

/// The decision for one attestation in one region, with its trust path.
public struct AttestationVerdict: Sendable, Equatable {
    public let attestation: String
    public let region: Region
    public let verdict: Verdict
    /// Every link, in order; the failed and unknown ones are the reasons.
    public let path: [TrustLink]
    /// The policy applied to changes after the attestation's time.
    public let policy: LaterSuspensionPolicy

    /// The sentences that explain the verdict: the failing links, or a summary of the path when recognised.
    public var reasons: [String] {
        let bad = path.filter { $0.state != .ok }.map(\.detail)
        if !bad.isEmpty { return bad }
        return path.filter { ["body", "agreement"].contains($0.step) }.map(\.detail)
    }

    /// Every link but the result holds: a recognised test, whatever its outcome.
    var isRecognisedTest: Bool { path.allSatisfy { $0.state == .ok || $0.step == "result" } }
}

/// The decision for a product in one region, from all the attestations that cover it.
public struct ProductVerdict: Sendable, Equatable {
    public let region: Region
    public let verdict: Verdict
    public let reasons: [String]
    /// The per-attestation verdicts it was made from.
    public let attestations: [AttestationVerdict]
}

/// An attestation as the ledger holds it, with any later status changes.
public struct RecordedAttestation: Sendable, Equatable {
    public let attestation: Attestation
    /// Ledger index of the attestation entry.
    public let index: UInt64
    /// Status changes (`attestation.status` entries) in ledger order.
    public let statusChanges: [(state: AttestationState, reason: String, effective: Timestamp, index: UInt64)]

    public init(attestation: Attestation, index: UInt64, statusChanges: [(state: AttestationState, reason: String, effective: Timestamp, index: UInt64)] = []) {
        self.attestation = attestation; self.index = index; self.statusChanges = statusChanges
    }

    public static func == (a: RecordedAttestation, b: RecordedAttestation) -> Bool {
        a.attestation == b.attestation && a.index == b.index && a.statusChanges.map(\.index) == b.statusChanges.map(\.index)
    }

    /// The status in force at `t`.
    func state(at t: Timestamp) -> (state: AttestationState, reason: String, effective: Timestamp)? {
        statusChanges.enumerated().filter { $0.element.effective <= t }
            .max { ($0.element.effective, $0.offset) < ($1.element.effective, $1.offset) }
            .map { ($0.element.state, $0.element.reason, $0.element.effective) }
    }
}

/// The three-region recognition verifier: decides, from the registry replayed out of the ledger, whether
/// an attestation (and a product) is recognised in GD, HK and MO, and says why. Verdicts are values,
/// never errors.
public struct RecognitionVerifier: Sendable {
    public let registry: Registry
    /// The time of evaluation ("now"): expiry, revocation and, under the `invalidate` policy, later
    /// suspensions are judged up to this time.
    public let now: Timestamp
    /// Overrides every region's ledger policy when set.
    public let policyOverride: LaterSuspensionPolicy?

    public init(registry: Registry, now: Timestamp, policyOverride: LaterSuspensionPolicy? = nil) {
        self.registry = registry; self.now = now; self.policyOverride = policyOverride
    }

    /// The verdict for one attestation in `region`. `product`/`lot`, when given, are checked against the
    /// attestation's subject (a lot-level attestation covers the items of that lot).
    public func verdict(_ recorded: RecordedAttestation, region: Region, product: ProductCode? = nil, lot: ProductCode? = nil) -> AttestationVerdict {
        verdict(recorded, region: region, product: product, lot: lot, proofFailure: recorded.attestation.verifyProof())
    }

    /// As above, with the outcome of the attestation's `verifyProof()` already known (it is the same
    /// in every region, and checking it is the costly part of a verdict).
    func verdict(_ recorded: RecordedAttestation, region: Region, product: ProductCode?, lot: ProductCode?, proofFailure: String?) -> AttestationVerdict {
        let a = recorded.attestation
        let t = a.validFrom
        let policy = policyOverride ?? registry.policy(of: region, at: now)
        let strict = policy == .invalidate
        var path: [TrustLink] = []
        func ok(_ step: String, _ s: String) { path.append(TrustLink(step: step, state: .ok, detail: s)) }
        func fail(_ step: String, _ s: String) { path.append(TrustLink(step: step, state: .failed, detail: s)) }
        func unknown(_ step: String, _ s: String) { path.append(TrustLink(step: step, state: .unknown, detail: s)) }
        let when = t.millisecondString
        let later = "; under \(region.rawValue)'s policy a later suspension invalidates earlier results"

        // The credential itself.
        if let why = proofFailure { fail("signature", "Attestation \(a.id): \(why).") } else {
            ok("signature", "The attestation is signed by \(DIDKey.encode(a.issuer)).")
        }
        if let p = product {
            if a.product == p || (lot != nil && a.product == lot) || (p.lotKey != nil && a.product.canonical == p.lotKey) {
                ok("subject", "It covers \(a.product.canonical).")
            } else {
                fail("subject", "It covers \(a.product.canonical), not this product (\(p.canonical)\(lot.map { ", lot \($0.canonical)" } ?? "")).")
            }
        }
        if t > now { unknown("validity", "It is dated \(when), which is in the future.") }
        else if let u = a.validUntil, u <= now { fail("validity", "It expired at \(u.millisecondString).") }
        else { ok("validity", "It is valid from \(when)" + (a.validUntil.map { " until \($0.millisecondString)." } ?? ".")) }
        switch recorded.state(at: now) {
        case let s? where s.state == .revoked: fail("status", "It was revoked at \(s.effective.millisecondString): \(s.reason).")
        case let s? where s.state == .suspended: unknown("status", "It is suspended since \(s.effective.millisecondString): \(s.reason).")
        default: ok("status", "It has not been revoked or suspended.")
        }

        // The inspector key.
        let bindings = registry.bindings(of: a.issuer).filter { $0.body == a.body }
        if let b = bindings.first(where: { $0.isValid(at: t) }) {
            if strict, let r = b.revoked, r <= now {
                fail("key", "The inspector key's binding to \(a.body) was revoked at \(r.millisecondString), after the attestation\(later).")
            } else { ok("key", "The inspector key was bound to \(a.body) at \(when) (\(b.validity.text)).") }
        } else if bindings.isEmpty {
            fail("key", "The inspector key \(DIDKey.encode(a.issuer)) is not bound to \(a.body).")
        } else if let b = bindings.first(where: { $0.validity.from > t }) {
            fail("key", "The inspector key was bound to \(a.body) only from \(b.validity.from.millisecondString), after it signed at \(when).")
        } else if let b = bindings.first(where: { $0.revoked.map { $0 <= t } ?? false }) {
            fail("key", "The inspector key's binding to \(a.body) was revoked at \(b.revoked!.millisecondString), before it signed at \(when).")
        } else {
            fail("key", "The inspector key's binding to \(a.body) was not valid at \(when) (\(bindings.map(\.validity.text).joined(separator: "; "))).")
        }

        // The body and its accredited scope.
        var accreditationRegion: Region?
        if let body = registry.bodies[a.body], body.type.isConformityAssessmentBody {
            let name = "\(body.name) (\(body.id), \(body.region.rawValue))"
            let (status, change) = body.status(at: t)
            if !body.validity.contains(t) {
                fail("body", "\(name)'s registration was not valid at \(when) (\(body.validity.text)).")
            } else if status != .active {
                fail("body", "\(name) was \(status.rawValue) at \(when) (effective \(change!.effective.millisecondString)).")
            } else if strict, let stop = body.laterStop(of: nil, after: t, upTo: now) {
                fail("body", "\(name) was \(stop.status.rawValue) from \(stop.effective.millisecondString), after the attestation\(later).")
            } else { ok("body", "\(name) was active at \(when).") }

            if !body.scope.contains(a.scope) {
                fail("scope", "\(body.id) is not accredited for \(a.scope); its scope is \(body.scope.map(\.description).joined(separator: ", ")).")
            } else {
                let (st, ch) = body.status(of: a.scope, at: t)
                if st != .active {
                    fail("scope", "\(body.id)'s accreditation for \(a.scope) was \(st.rawValue) at \(when) (effective \(ch!.effective.millisecondString)).")
                } else if strict, let stop = body.laterStop(of: a.scope, after: t, upTo: now), stop.scope != nil {
                    fail("scope", "\(body.id)'s accreditation for \(a.scope) was \(stop.status.rawValue) from \(stop.effective.millisecondString)\(later).")
                } else { ok("scope", "\(body.id) is accredited for \(a.scope).") }
            }

            if let abID = body.accreditedBy, let ab = registry.bodies[abID], ab.type == .accreditationBody {
                let (st, ch) = ab.status(at: t)
                if st != .active || !ab.validity.contains(t) {
                    fail("accreditation", "The accreditation body \(ab.name) (\(ab.id)) was \(st == .active ? "not registered" : st.rawValue) at \(when)\(ch.map { " (effective \($0.effective.millisecondString))" } ?? "").")
                } else {
                    accreditationRegion = ab.region
                    ok("accreditation", "Accredited by \(ab.name) (\(ab.id)) of \(ab.region.displayName), accreditation \(body.accreditation ?? "?").")
                }
            } else {
                fail("accreditation", "\(body.id)'s accreditation body \(body.accreditedBy ?? "?") is not registered.")
            }
        } else {
            fail("body", "\(a.body) is not a registered lab, inspection body or certification body.")
        }

        // The agreement that carries the result into `region`.
        if let from = accreditationRegion {
            if from == region {
                ok("agreement", "Accredited in \(region.displayName) itself: no agreement is needed.")
            } else if let g = registry.agreements.last(where: { $0.region == region && $0.acceptFrom.contains(from) && $0.scope.contains(a.scope) }) {
                if g.validity.from > t {
                    fail("agreement", "\(region.rawValue) recognises \(from.rawValue)-accredited results for \(a.scope) only from \(g.validity.from.millisecondString), after the attestation (\(when)).")
                } else if let u = g.validity.until, u <= t {
                    fail("agreement", "\(region.rawValue)'s recognition of \(from.rawValue)-accredited results for \(a.scope) ended at \(u.millisecondString), before the attestation (\(when)).")
                } else if strict, let u = g.validity.until, u <= now {
                    fail("agreement", "\(region.rawValue)'s recognition of \(from.rawValue)-accredited results for \(a.scope) ended at \(u.millisecondString)\(later).")
                } else {
                    ok("agreement", "\(region.rawValue) recognises \(from.rawValue)-accredited results for \(a.scope) (agreement at entry \(g.index), \(g.validity.text)).")
                }
            } else {
                fail("agreement", "No agreement: \(region.rawValue) does not recognise \(from.rawValue)-accredited results for \(a.scope).")
            }
        } else {
            unknown("agreement", "Without a valid accreditation, no agreement can carry the result into \(region.rawValue).")
        }

        if a.result == .pass { ok("result", "The result is pass.") } else { fail("result", "The test result is fail.") }

        let verdict: Verdict = path.contains { $0.state == .failed } ? .notRecognised
            : path.contains { $0.state == .unknown } ? .indeterminate : .recognised
        return AttestationVerdict(attestation: a.id, region: region, verdict: verdict, path: path, policy: policy)
    }

    /// The verdict for a product in `region` from the attestations that cover it (see the spec's
    /// combination rule: a recognised failing test wins, then a recognised pass, then indeterminate).
    public func productVerdict(_ attestations: [RecordedAttestation], region: Region, product: ProductCode, lot: ProductCode?) -> ProductVerdict {
        productVerdict(attestations, region: region, product: product, lot: lot, proofFailures: Self.proofFailures(attestations))
    }

    /// The product's verdicts in each of `regions`, checking each attestation's proof once for all of them.
    public func productVerdicts(_ attestations: [RecordedAttestation], regions: [Region] = Region.allCases, product: ProductCode,
                                lot: ProductCode?) -> [Region: ProductVerdict] {
        let proofs = Self.proofFailures(attestations)
        var out: [Region: ProductVerdict] = [:]
        for r in regions { out[r] = productVerdict(attestations, region: r, product: product, lot: lot, proofFailures: proofs) }
        return out
    }

    /// Each attestation's `verifyProof()`, checked on all cores.
    static func proofFailures(_ attestations: [RecordedAttestation]) -> [String?] {
        Parallel.map(attestations) { $0.attestation.verifyProof() }
    }

    private func productVerdict(_ attestations: [RecordedAttestation], region: Region, product: ProductCode, lot: ProductCode?,
                                proofFailures: [String?]) -> ProductVerdict {
        let all = zip(attestations, proofFailures).map { verdict($0, region: region, product: product, lot: lot, proofFailure: $1) }
        let covering = all.filter { v in v.path.first { $0.step == "subject" }?.state != .failed }
        func done(_ v: Verdict, _ r: [String]) -> ProductVerdict { ProductVerdict(region: region, verdict: v, reasons: r, attestations: covering) }
        if covering.isEmpty {
            return done(.indeterminate, ["No inspection attestation is recorded for this product or its lot."])
        }
        let failedTests = covering.filter { $0.isRecognisedTest && $0.verdict == .notRecognised }
        if !failedTests.isEmpty {
            return done(.notRecognised, failedTests.map { "A recognised test failed: attestation \($0.attestation)." })
        }
        if let v = covering.first(where: { $0.verdict == .recognised }) {
            return done(.recognised, v.reasons)
        }
        if covering.contains(where: { $0.verdict == .indeterminate }) {
            return done(.indeterminate, unique(covering.filter { $0.verdict == .indeterminate }.flatMap(\.reasons)))
        }
        return done(.notRecognised, unique(covering.flatMap(\.reasons)))
    }

    private func unique(_ s: [String]) -> [String] {
        var seen = Set<String>()
        return s.filter { seen.insert($0).inserted }
    }
}

// MARK: Presentation

extension TrustLink {
    public var json: JSONValue { .object(["step": .string(step), "state": .string(state.rawValue), "detail": .string(detail)]) }
}

extension AttestationVerdict {
    public var json: JSONValue {
        .object(["attestation": .string(attestation), "region": .string(region.rawValue), "verdict": .string(verdict.rawValue),
                 "policy": .string(policy.rawValue), "reasons": .array(reasons.map { .string($0) }), "path": .array(path.map(\.json))])
    }

    /// The trust path, one line per link, for people.
    public var text: String {
        var lines = ["Attestation \(attestation) in \(region.displayName) (\(region.rawValue)): \(verdict.rawValue)"]
        for l in path {
            let mark = l.state == .ok ? "✓" : l.state == .failed ? "✗" : "?"
            lines.append("  \(mark) \(l.step + String(repeating: " ", count: max(0, 13 - l.step.count))) \(l.detail)")
        }
        lines.append("  (later suspensions: \(policy == .keep ? "judged as of the attestation's time" : "invalidate earlier results"))")
        return lines.joined(separator: "\n")
    }
}

extension ProductVerdict {
    public var json: JSONValue {
        .object(["verdict": .string(verdict.rawValue), "reasons": .array(reasons.map { .string($0) })])
    }
}

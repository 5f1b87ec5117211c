/// The statement kinds of the supply-chain layer (see `Specs/registry.md`, `Specs/journey.md`,
/// `Specs/attestation.md`).
public enum TraceKind {
    /// A conformity assessment body, accreditation body or enterprise registered by its region's regulator.
    public static let body = "registry.body"
    /// A status change (active, suspended, withdrawn) of a body or of one accredited scope item.
    public static let status = "registry.status"
    /// An inspector or operator key bound to a registered body.
    public static let keyBinding = "registry.key-binding"
    /// The end of a key binding.
    public static let keyRevocation = "registry.key-revocation"
    /// A recognition agreement: a region accepts results accredited in other regions for some scope items.
    public static let agreement = "registry.agreement"
    /// A region's policy for suspensions effective after an attestation was issued.
    public static let policy = "registry.policy"
    /// One GS1 EPCIS 2.0 event.
    public static let event = "event"
    /// A signed inspection/test attestation (a W3C Verifiable Credential with an eddsa-jcs-2022 proof).
    public static let attestation = "attestation"
    /// The revocation or suspension of one attestation.
    public static let attestationStatus = "attestation.status"

    /// Every registry kind.
    public static let registryKinds = [body, status, keyBinding, keyRevocation, agreement, policy]
}

import Testing
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// A witness cosigns only checkpoints consistent with what it cosigned before; a policy counts a quorum.
@Suite struct WitnessTests {
    let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
    let regs = (2...4).map { SecretKey(seed: [UInt8](repeating: UInt8($0), count: 32))! }
    let witnesses = (20...22).map { SecretKey(seed: [UInt8](repeating: UInt8($0), count: 32))! }
    let origin = "witness.example/ledger"
    let now = Timestamp(parsing: "2026-11-28T10:00:00.000Z")!

    var logKey: VerifierKey { try! VerifierKey(name: origin, publicKey: op.publicKey) }

    /// A ledger with `n` notices whose texts start with `variant` (different variants fork).
    func ledger(_ n: Int, variant: String = "a") throws -> Ledger {
        let g = try Genesis(origin: origin, operatorKey: logKey, regulators: [
            .GD: VerifierKey(name: "gd", publicKey: regs[0].publicKey), .HK: VerifierKey(name: "hk", publicKey: regs[1].publicKey),
            .MO: VerifierKey(name: "mo", publicKey: regs[2].publicKey)])
        let t = now
        let l = try Ledger.create(in: MemoryLedgerStore(), genesis: try Statement(kind: Genesis.kind, payload: g.payload, signer: op.publicKey, time: t).sign(with: op), clock: { t })
        for i in 0..<n {
            let notice = try Notice(level: "notice", title: "\(variant)\(i)", text: "text")
            _ = try l.appendAll([try Statement(kind: Notice.kind, payload: notice.payload, signer: regs[0].publicKey, time: t).sign(with: regs[0])])
        }
        return l
    }

    func note(_ l: Ledger) throws -> [UInt8] { try l.checkpoint(signer: NoteSigner(name: origin, key: op)).note }

    func cosign(_ state: WitnessState, _ note: [UInt8], proof: [Hash]? = nil, w: Int = 0) throws(WitnessError) -> (Note, WitnessState) {
        try state.cosign(note: note, proof: proof, witnessName: "w\(w).example", key: witnesses[w], now: now)
    }

    @Test func cosignsConsistentCheckpointsAndRefusesTheRest() throws {
        let l = try ledger(5)
        let fresh = WitnessState(log: logKey, origin: origin)
        let (n6, s6) = try cosign(fresh, try note(l))
        let root6 = try l.root(size: 6)
        #expect(s6.size == 6 && s6.root == root6)
        // The added line is a valid tlog-cosignature/v1 by the witness.
        let wkey = try VerifierKey(name: "w0.example", publicKey: witnesses[0].publicKey, algorithm: .cosignatureV1)
        let cs = try #require(n6.signatures.compactMap { Cosignature(from: $0) }.first)
        #expect(cs.timestamp == UInt64(now.seconds) && cs.verify(checkpointBody: n6.text, key: wkey))
        // The state round-trips through its JSON form.
        #expect(try WitnessState(json: s6.json) == s6)
        // The same checkpoint again: fine.
        _ = try cosign(s6, try note(l))
        // Growth needs a proof, and the proof must verify.
        for i in 0..<3 { _ = try l.appendAll([try Statement(kind: Notice.kind, payload: Notice(level: "notice", title: "more\(i)", text: "t").payload, signer: regs[1].publicKey, time: now).sign(with: regs[1])]) }
        let n9 = try note(l)
        #expect(throws: WitnessError.proofRequired(from: 6, to: 9)) { _ = try cosign(s6, n9) }
        var bad = try l.consistencyProof(from: 6, to: 9)
        bad[0] = SHA256.hash(bad[0].bytes)
        #expect { _ = try cosign(s6, n9, proof: bad) } throws: { if case WitnessError.inconsistent = $0 { true } else { false } }
        let (_, s9) = try cosign(s6, n9, proof: try l.consistencyProof(from: 6, to: 9))
        #expect(s9.size == 9)
        // An older checkpoint is a rollback.
        #expect(throws: WitnessError.rollback(cosigned: 9, offered: 6)) { _ = try cosign(s9, n6.encoded.utf8.map { $0 }) }
    }

    @Test func refusesForksAndForeignCheckpoints() throws {
        let a = try ledger(5, variant: "a"), b = try ledger(5, variant: "b")
        let (_, s) = try cosign(WitnessState(log: logKey, origin: origin), try note(a))
        // Same size, different root, valid signature by the same log key: a fork.
        #expect(throws: WitnessError.fork(size: 6)) { _ = try cosign(s, try note(b)) }
        // A bigger forked tree: no proof from our root can make it consistent.
        for i in 0..<2 { _ = try b.appendAll([try Statement(kind: Notice.kind, payload: Notice(level: "notice", title: "x\(i)", text: "t").payload, signer: regs[2].publicKey, time: now).sign(with: regs[2])]) }
        #expect { _ = try cosign(s, try note(b), proof: try b.consistencyProof(from: 6, to: 8)) } throws: {
            if case WitnessError.inconsistent = $0 { true } else { false }
        }
        // A checkpoint signed by another key is refused.
        let other = try Checkpoint(origin: origin, size: 6, root: try a.root(size: 6)).sign(with: NoteSigner(name: origin, key: regs[0]))
        #expect { _ = try cosign(s, Array(other.encoded.utf8)) } throws: { if case WitnessError.badCheckpoint = $0 { true } else { false } }
    }

    @Test func policyNeedsAQuorumAndNamesMissingWitnesses() throws {
        let l = try ledger(3)
        let wkeys = (0..<3).map { try! VerifierKey(name: "w\($0).example", publicKey: witnesses[$0].publicKey, algorithm: .cosignatureV1) }
        let policy = try TrustPolicy(json: .object([
            "log": .string(logKey.description), "quorum": 2,
            "witnesses": .object(["GD": .string(wkeys[0].description), "HK": .string(wkeys[1].description), "MO": .string(wkeys[2].description)]),
        ]))
        let start = WitnessState(log: logKey, origin: origin)
        let (one, _) = try cosign(start, try note(l), w: 0)
        let v1 = try policy.check(Array(one.encoded.utf8))
        #expect(!v1.satisfied && v1.cosignedBy == ["GD"] && v1.missing == ["HK", "MO"])
        let (two, _) = try cosign(start, Array(one.encoded.utf8), w: 2)
        let v2 = try policy.check(Array(two.encoded.utf8))
        #expect(v2.satisfied && v2.cosignedBy == ["GD", "MO"] && v2.missing == ["HK"])
        // A cosignature line under a policy witness's name but by another key does not count.
        let forged = try one.adding([try Cosignature.sign(checkpointBody: one.text, timestamp: 1, name: "w1.example", key: witnesses[0])])
        #expect(try policy.check(Array(forged.encoded.utf8)).cosignedBy == ["GD"])
        #expect(throws: WitnessError.self) { _ = try TrustPolicy(log: logKey, quorum: 4, witnesses: ["GD": wkeys[0]]) }
    }
}

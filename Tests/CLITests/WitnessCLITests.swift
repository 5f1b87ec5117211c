import Foundation
import Testing
import SuyuanFormats

@Suite("suyuan witness cosign and verify-checkpoint --policy")
struct WitnessCLITests {
    @Test func cosignPersistsStateRefusesRollbackAndMeetsAQuorum() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        try await sb.appendNotice(ledger, key: f.gd, title: "first")
        let cp2 = try sb.write("cp2.txt", try await sb.ok(["checkpoint", "--ledger", ledger]).stdout)
        // First use needs the log key.
        expectUsageError(try await sb.run(["witness", "cosign", "--key", f.hk.path, "--state", sb.path("hk.state"), "--checkpoint", cp2]), mentions: ["--log"])
        let c2 = try await sb.ok(["witness", "cosign", "--key", f.hk.path, "--state", sb.path("hk.state"), "--checkpoint", cp2, "--log", f.op.vkey])
        #expect(c2.stdout.contains("— \(f.hk.name) "))
        let state = try JSONValue.parse([UInt8](try sb.read("hk.state")))
        #expect(state["size"]?.integerValue == 2)

        try await sb.appendNotice(ledger, key: f.mo, title: "second")
        let cp3 = try sb.write("cp3.txt", try await sb.ok(["checkpoint", "--ledger", ledger]).stdout)
        expectError(try await sb.run(["witness", "cosign", "--key", f.hk.path, "--state", sb.path("hk.state"), "--checkpoint", cp3]), 1,
                    mentions: ["consistency proof from size 2"])
        let proof = try sb.write("p.json", try await sb.ok(["prove", "consistency", "--ledger", ledger, "--from", "2", "--to", "3", "--json"]).stdout)
        let c3 = try await sb.ok(["witness", "cosign", "--key", f.hk.path, "--state", sb.path("hk.state"), "--checkpoint", cp3, "--proof", proof])
        let hkCosigned = try sb.write("cp3-hk.txt", c3.stdout)
        // Rolling back to the older checkpoint is refused and the state stays at 3.
        let before = try sb.read("hk.state")
        expectError(try await sb.run(["witness", "cosign", "--key", f.hk.path, "--state", sb.path("hk.state"), "--checkpoint", cp2]), 1, mentions: ["roll the log back"])
        #expect(try sb.read("hk.state") == before)

        // A policy needing 2 of 3 witnesses: HK alone is not enough; HK + MO is.
        func wkey(_ k: KeyInfo) async throws -> String {
            try await sb.ok(["key", "show", k.path, "--json"]).json()["witnessVkey"]!.stringValue!
        }
        let policy: JSONValue = .object([
            "log": .string(f.op.vkey), "quorum": 2,
            "witnesses": .object(["GD": .string(try await wkey(f.gd)), "HK": .string(try await wkey(f.hk)), "MO": .string(try await wkey(f.mo))]),
        ])
        let policyPath = try sb.write("policy.json", policy.prettyPrinted())
        expectError(try await sb.run(["verify-checkpoint", hkCosigned, "--policy", policyPath]), 1, mentions: ["1 of the 2", "missing: GD", "MO"])
        let both = try await sb.ok(["witness", "cosign", "--key", f.mo.path, "--state", sb.path("mo.state"), "--checkpoint", hkCosigned, "--log", f.op.vkey])
        let bothPath = try sb.write("cp3-both.txt", both.stdout)
        let v = try await sb.ok(["verify-checkpoint", bothPath, "--policy", policyPath, "--json"]).json()
        #expect(v["verified"]?.boolValue == true)
        #expect(v["cosignedBy"]?.arrayValue?.compactMap(\.stringValue) == ["HK", "MO"])
    }
}

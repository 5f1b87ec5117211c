import Foundation
import Testing
import SuyuanCrypto
import SuyuanFormats

@Suite("suyuan audit and verify-report")
struct AuditCLITests {
    /// A ledger with a few notices and a checkpoint, plus a saved copy of that checkpoint.
    func ledgerWithCheckpoint(_ sb: Sandbox) async throws -> (String, String) {
        let ledger = try sb.copyBaseLedger()
        for i in 0..<5 { try await sb.appendNotice(ledger, key: [sb.fixture.gd, sb.fixture.hk, sb.fixture.mo][i % 3], title: "Notice \(i)") }
        let cp = try await sb.ok(["checkpoint", "--ledger", ledger])
        let saved = try sb.write("saved-checkpoint.txt", cp.stdout)
        return (ledger, saved)
    }

    @Test func cleanLedgerPassesWithJSONAndSignedReport() async throws {
        let sb = try Sandbox()
        let (ledger, saved) = try await ledgerWithCheckpoint(sb)
        let r = try await sb.ok(["audit", "--ledger", ledger, "--trusted-checkpoint", saved, "--json", "--quiet"])
        let j = try r.json()
        #expect(j["ok"]?.boolValue == true)
        #expect(j["entries"]?.integerValue == 6)
        #expect(j["firstBadIndex"]?.isNull == true)
        #expect(j["findings"]?.arrayValue?.isEmpty == true)
        #expect(j["trustedCheckpointsChecked"]?.integerValue == 1)
        let human = try await sb.ok(["audit", "--ledger", ledger])
        #expect(human.stdout.hasPrefix("AUDIT PASSED"))

        // A signed report, verified by someone else with the auditor's public key only.
        try await sb.ok(["audit", "--ledger", ledger, "--quiet", "--report", sb.path("report.json"), "--key", sb.fixture.hk.path])
        let v = try await sb.ok(["verify-report", sb.path("report.json"), "--trust", sb.fixture.hk.vkey, "--json"])
        #expect(try v.json()["report"]?["ok"]?.boolValue == true)
        // Signed by someone else: refused.
        expectError(try await sb.run(["verify-report", sb.path("report.json"), "--trust", sb.fixture.gd.vkey]), 1, mentions: ["not signed by any trusted key"])
        // Modified after signing: refused.
        var env = try JSONValue.parse([UInt8](try sb.read("report.json")))
        guard case .object(var o) = env, let body = o["payload"]?.stringValue.flatMap(Base64.decode) else { Issue.record("bad report"); return }
        let forged = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\"entries\":6", with: "\"entries\":60")
        o["payload"] = .string(Base64.encode(Array(forged.utf8)))
        env = .object(o)
        let forgedPath = try sb.write("forged.json", env.prettyPrinted())
        expectError(try await sb.run(["verify-report", forgedPath, "--trust", sb.fixture.hk.vkey]), 1, mentions: ["not signed"])
    }

    @Test func tamperedFileFailsAndNamesTheFirstBadEntry() async throws {
        let sb = try Sandbox()
        let (ledger, saved) = try await ledgerWithCheckpoint(sb)
        // An attacker with the sqlite3 shell: drop the trigger, change one byte of entry 3's payload.
        let sql = """
            DROP TRIGGER entries_no_update;
            UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), 'Notice 2', 'Notice 9') AS BLOB) WHERE idx = 3;
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [ledger, sql]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let r = try await sb.run(["audit", "--ledger", ledger, "--trusted-checkpoint", saved, "--json", "--quiet"])
        #expect(r.status == 1)
        let j = try r.json()
        #expect(j["ok"]?.boolValue == false)
        #expect(j["firstBadIndex"]?.integerValue == 3)
        let kinds = Set((j["findings"]?.arrayValue ?? []).compactMap { $0["kind"]?.stringValue })
        #expect(kinds.isSuperset(of: ["signature", "stored-leaf-hash", "chain", "trusted-checkpoint", "checkpoint-root"]), "\(kinds)")
        let human = try await sb.run(["audit", "--ledger", ledger])
        #expect(human.status == 1 && human.stdout.hasPrefix("AUDIT FAILED") && human.stdout.contains("first breaks at entry 3"))
    }
}

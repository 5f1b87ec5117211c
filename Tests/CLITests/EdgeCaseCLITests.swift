import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

/// Out-of-range numbers, paths that cannot be created, and commands racing each other for the same file.
@Suite("edge cases and races") struct EdgeCaseCLITests {
    /// `--from` is a UInt64; values above Int64.max must not crash the process.
    @Test(arguments: ["9223372036854775807", "9223372036854775808", "18446744073709551615"])
    func entriesFromBeyondTheEndDoesNotCrash(from: String) async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        try await expectUnchanged(ledger, in: sb) {
            let r = try await sb.run(["entries", "--ledger", ledger, "--from", from, "--json"])
            #expect(!r.stderr.contains("Fatal error"), "crashed: \(r)")
            // Either an empty page (like any --from past the end) or a refusal; never a crash (exit 132/133).
            #expect([0, 64, 65].contains(r.status), "\(r)")
            if r.status == 0 {
                let j = try r.json()
                #expect(j["size"]?.int == 1)
                #expect(j["entries"]?.arrayValue?.isEmpty == true)
            }
        }
    }

    @Test func initIntoAMissingDirectoryCannotCreate() async throws {
        let sb = try Sandbox()
        let ledger = "no-such-dir/l.ledger"
        let r = try await sb.run(initArgs(ledger, sb.fixture))
        expectError(r, 73, mentions: [ledger])
        #expect(!r.stderr.contains("not a Suyuan ledger"), "the ledger does not exist; it cannot be created: \(r)")
    }

    @Test func backupIntoAMissingDirectoryCannotCreate() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let out = "no-such-dir/copy.ledger"
        let r = try await sb.run(["backup", "--ledger", ledger, out])
        expectError(r, 73, mentions: [out])
    }

    /// Two `init`s racing for the same new path: one creates the ledger, the other is refused (73) and must not
    /// delete or damage what the winner created.
    @Test func racingInitsLeaveExactlyOneLedger() async throws {
        let sb = try Sandbox()
        for round in 0..<3 {
            let ledger = sb.path("race-\(round).ledger")
            let a = try sb.startNow(initArgs(ledger, sb.fixture, origin: "a.example/ledger"))
            let b = try sb.startNow(initArgs(ledger, sb.fixture, origin: "b.example/ledger"))
            let results = [await a.wait(), await b.wait()]
            let winners = results.filter { $0.status == 0 }
            #expect(winners.count == 1, "round \(round): exactly one init succeeds: \(results)")
            for loser in results where loser.status != 0 {
                expectError(loser, 73, mentions: [ledger])
            }
            let exists = FileManager.default.fileExists(atPath: ledger)
            #expect(exists, "round \(round): the ledger a successful init reported is gone: \(results)")
            guard exists, let winner = winners.first else { continue }
            let j = try await sb.entries(ledger)
            #expect(j["size"]?.int == 1)
            let origin = j["entries"]?[0]?["entry"]?["statement"]?["payload"]?["origin"]?.stringValue
            #expect(winner.stdout.contains("(origin \(origin ?? "?"))"), "round \(round): the ledger is the winner's: \(winner)")
        }
    }

    /// Four `key generate`s racing for the same --out: one writes it, the others are refused (73); the file holds
    /// the key whose verifier key the winner printed. (While the existence check and the write are separate
    /// steps, this fails in most runs, not all: it needs two processes to finish Argon2id within the same moment.)
    @Test func racingKeyGeneratesDoNotOverwriteEachOther() async throws {
        let sb = try Sandbox()
        for round in 0..<6 {
            let out = "k\(round).key"
            let running = try (0..<4).map { _ in try sb.startNow(["key", "generate", "--name", "a.example/k", "--out", out]) }
            var results: [RunResult] = []
            for r in running { results.append(await r.wait()) }
            let winners = results.filter { $0.status == 0 }
            #expect(winners.count == 1, "round \(round): exactly one key generate succeeds; \(winners.count - 1) key(s) were silently overwritten: \(results)")
            for loser in results where loser.status != 0 {
                expectError(loser, 73, mentions: ["already exists"])
            }
            let shown = try await sb.ok(["key", "show", out, "--json"]).json()["vkey"]?.stringValue
            for w in winners where w.lines.first != shown {
                Issue.record("round \(round): `key generate` printed \(w.lines.first ?? "?") and exited 0, but \(out) holds \(shown ?? "?")")
            }
        }
    }

    /// An operator key file that has moved: the append still succeeds, says on stderr that no checkpoint was
    /// signed and how to sign one.
    @Test func appendWithTheOperatorKeyGoneStillAppends() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        try FileManager.default.copyItem(atPath: f.op.path, toPath: sb.path("op.key"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: sb.path("op.key"))
        try await sb.ok(["init", "--ledger", "l.ledger", "--origin", "moved.example/l", "--operator-key", "op.key",
                         "--regulator", "GD=\(f.gd.vkey)", "--regulator", "HK=\(f.hk.vkey)", "--regulator", "MO=\(f.mo.vkey)"])
        try FileManager.default.moveItem(atPath: sb.path("op.key"), toPath: sb.path("moved.key"))
        let p = try sb.noticePayload("p.json", title: "t")
        let r = try await sb.ok(["append", "--ledger", "l.ledger", "--key", f.gd.path, "--kind", "notice", "--payload", p, "--json"])
        #expect(try r.json()["checkpoint"] == nil)
        #expect(r.stderr.hasPrefix("suyuan: no checkpoint signed") && r.stderr.contains("suyuan checkpoint"), "\(r)")
        let c = try await sb.ok(["checkpoint", "--ledger", "l.ledger", "--key", "moved.key"])
        #expect(try ParsedCheckpoint(c.stdout).size == 2)
    }
}

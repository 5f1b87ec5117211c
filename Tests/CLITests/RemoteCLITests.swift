import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The commands with `--server URL` against a real `suyuan serve` on 127.0.0.1: they read and append
/// as they do on the file, and verify what the server answers.
@Suite struct RemoteCLITests {
    /// A server over a copy of the trace world's ledger; `SUYUAN_HOME` (the pins) in the sandbox.
    final class Served: @unchecked Sendable {
        let sb: Sandbox
        let ledger: String
        let server: Running
        let url: String
        let world: TraceWorld

        init(port: Int = 0, ledger existing: String? = nil, sandbox: Sandbox? = nil) async throws {
            sb = try sandbox ?? Sandbox()
            sb.env["SUYUAN_HOME"] = sb.path("home")
            world = try await TraceWorld.get()
            ledger = try existing ?? world.copy(into: sb)
            server = try sb.startNow(["serve", "--ledger", ledger, "--port", String(port), "--rate-limit", "0"])
            url = "http://127.0.0.1:\(try await waitForURL(server))"
        }

        func stop() async {
            kill(server.process.processIdentifier, SIGTERM)
            _ = await server.wait()
        }
    }

    @Test func readsAgreeWithTheFile() async throws {
        let s = try await Served()
        let sb = s.sb
        let remote = ["--server", s.url]
        let local = ["--ledger", s.ledger]

        let first = try await sb.ok(["verify", TC.item, "--json"] + remote)
        #expect(first.stderr.contains("trusting operator key"), "\(first)")
        #expect(FileManager.default.fileExists(atPath: sb.path("home/servers")))
        let r = try first.json(), l = try await sb.ok(["verify", TC.item, "--json"] + local).json()
        #expect(r["verified"] == .bool(true), "\(r["problems"] ?? .null)")
        #expect(r["recognition"] == l["recognition"])
        #expect(r["events"] == l["events"])
        #expect(r["attestations"] == l["attestations"])
        let recalled = try await sb.run(["verify", TC.recalled] + remote)
        #expect(recalled.status == 1 && recalled.stdout.contains("recall"), "\(recalled)")

        for args in [["registry", "show", "--at", "2026-11-01", "--json"], ["explain", "--attestation", s.world.attestation, "--region", "MO", "--json"],
                     ["prove", "inclusion", "--index", "7", "--json"], ["prove", "consistency", "--from", "5", "--json"],
                     ["prove", "inclusion", "--index", "2", "--size", "9", "--json"], ["entries", "--from", "3", "--count", "4", "--json"]] {
            let a = try await sb.ok(args + remote), b = try await sb.ok(args + local)
            #expect(a.stdout == b.stdout, "\(args)")
        }
        let exported = try await sb.ok(["export-epcis", "--product", TC.item] + remote).json()
        let exportedLocally = try await sb.ok(["export-epcis", "--product", TC.item] + local).json()
        #expect(exported["epcisBody"] == exportedLocally["epcisBody"])
        #expect(try await sb.ok(["checkpoint"] + remote).stdout == (try await sb.ok(["checkpoint"] + local).stdout))

        // The audit copies the whole ledger into a verified temporary replica and audits that.
        let audit = try await sb.ok(["audit", "--json", "--quiet"] + remote).json()
        let auditedLocally = try await sb.ok(["audit", "--json", "--quiet"] + local).json()
        #expect(audit["ok"] == .bool(true) && audit["entries"] == auditedLocally["entries"] && audit["root"] == auditedLocally["root"])

        // A backup of a served ledger is a verified replica.
        let copy = sb.path("copy.ledger")
        try await sb.ok(["backup", copy] + remote)
        #expect(try await sb.entries(copy)["entries"] == (try await sb.entries(s.ledger))["entries"])
        // Commands that need the file say so.
        expectError(try await sb.run(["export-epcis"] + remote), 64, mentions: ["mirror"])
        expectError(try await sb.run(["serve", "--port", "0"] + remote), 64, mentions: ["mirror"])
        await s.stop()
    }

    @Test func appendsAreVerifiedAndLandInTheFile() async throws {
        let s = try await Served()
        let sb = s.sb
        let remote = ["--server", s.url]
        let before = try await sb.entries(s.ledger)["size"]!.integerValue!

        let appended = try await sb.ok(["event", "deliver", "--key", s.world.importer.path, "--product", TC.foodItem,
                                        "--time", "2026-10-01T00:00:00Z", "--json"] + remote).json()
        #expect(appended["index"]?.integerValue == before)
        let payload = try sb.noticePayload("n.json", title: "Remote notice")
        let notice = try await sb.ok(["append", "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", payload, "--json"] + remote).json()
        #expect(notice["index"]?.integerValue == before + 1)
        #expect(try ParsedCheckpoint(notice["checkpoint"]!.stringValue!).size == before + 2)
        try await sb.ok(["registry", "bind-key", "--key", sb.fixture.hk.path, "--body", "HK-LAB-001", "--inspector", sb.fixture.stranger.vkey,
                         "--valid-from", "2026-01-01"] + remote)
        let attested = try await sb.ok(["attest", "--key", s.world.hkInspector.path, "--product", TC.item, "--category", "food",
                                        "--standard", "GB 2762-2022", "--result", "pass", "--json"] + remote).json()
        #expect(attested["index"]?.integerValue == before + 3)

        // A published EPCIS document: every event appended in one batch; imported again, refused as a
        // whole (its events are already recorded).
        let doc = TC.vectors.appendingPathComponent("epcisDocWithShippingAndTransportingEvent.jsonld").path
        let imported = try await sb.ok(["import-epcis", doc, "--key", sb.fixture.op.path, "--json"] + remote).json()
        let n = try #require(imported["appended"]?.integerValue)
        #expect(n >= 2 && imported["first"]?.integerValue == before + 4 && imported["last"]?.integerValue == before + 3 + n)
        let again = try await sb.run(["import-epcis", doc, "--key", sb.fixture.op.path] + remote)
        #expect(again.status == 1 && again.stderr.contains("duplicate event"), "\(again)")
        #expect(try await sb.entries(s.ledger)["size"]!.integerValue! == before + 4 + n)

        // A statement refused by the server: the signer is not authorised.
        let refused = try await sb.run(["append", "--key", sb.fixture.stranger.path, "--kind", "notice", "--payload", payload] + remote)
        #expect(refused.status == 1, "\(refused)")
        await s.stop()
        // The file holds everything the server acknowledged; it audits clean.
        #expect(try await sb.entries(s.ledger)["size"]!.integerValue! == before + 4 + n)
        try await sb.ok(["audit", "--ledger", s.ledger, "--quiet"])
    }

    @Test func aServerWithAnotherKeyOrAnotherHistoryIsRefused() async throws {
        let s = try await Served()
        let sb = s.sb
        let remote = ["--server", s.url]
        let wrongKey = try await sb.run(["checkpoint", "--server-key", sb.fixture.gd.vkey] + remote)
        expectError(wrongKey, 1, mentions: ["operator key"])
        try await sb.ok(["checkpoint"] + remote)  // pins the operator key and this checkpoint
        let port = Int(s.url.split(separator: ":").last!)!
        await s.stop()

        // The same URL now serves another history from the same genesis: a fork of what was verified.
        let fork = try sb.copyBaseLedger("fork.ledger")
        try await sb.appendNotice(fork, key: sb.fixture.gd, title: "Forked history", checkpoint: true)
        let other = try await Served(port: port, ledger: fork, sandbox: sb)
        let refused = try await sb.run(["verify", TC.item] + remote)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("rolled back") || refused.stderr.contains("does not extend"), "\(refused)")
        await other.stop()
    }
}

import Foundation
import SuyuanFormats
import Testing

@Suite("suyuan demo") struct DemoCLITests {
    static let milk = "(01)09421902960055(21)MP-000731"
    static let wine = "(01)03760123450003(21)BDX-2019-0042"
    static let recalled = "(01)09421902960055(21)MP-000999"

    @Test func buildsTheSampleShowsEachUserAndRefusesANonEmptyDirectory() async throws {
        let sb = try Sandbox()
        let dir = sb.path("sample/demo")   // the parent does not exist either
        let r = try await sb.ok(["demo", "--dir", dir])
        #expect(r.stderr.isEmpty, "\(r)")
        let out = r.stdout

        // The demo passphrase is printed, labelled as not for production.
        #expect(out.contains("demo-passphrase-not-for-production"), "\(r)")
        #expect(out.contains("not for production"), "\(r)")
        // One heading per user, in order.
        let headings = ["== Building the sample ledger", "== Operator", "== Regulators", "== Inspector", "== Consumer", "== Summary", "== Try next"]
        var last = out.startIndex
        for h in headings {
            guard let range = out.range(of: "\n" + h, range: last..<out.endIndex) else {
                Issue.record("missing heading \(h) (or out of order): \(r)")
                continue
            }
            last = range.upperBound
        }
        // What each section shows.
        #expect(out.contains("Latest signed checkpoint"), "\(r)")
        #expect(out.contains("Registry as of"), "\(r)")
        #expect(out.contains("ok: true"), "\(r)")
        #expect(out.contains("findings: 0"), "\(r)")
        #expect(out.contains(": recognised\n"), "explain of the milk powder's test in MO: \(r)")
        #expect(out.contains(": not-recognised\n"), "explain of the wine's test in HK: \(r)")
        #expect(out.contains("checked offline: VERIFIED"), "\(r)")

        // The three verdict lines.
        let lines = r.lines
        func verdictLine(_ code: String) -> String? { lines.first { $0.hasPrefix("  ") && $0.contains(code) && $0.contains("VERIFIED") } }
        let milkLine = verdictLine(Self.milk) ?? ""
        #expect(milkLine.contains(" VERIFIED: recognised in GD, HK and MO"), "milk powder: \(milkLine)")
        let wineLine = verdictLine(Self.wine) ?? ""
        #expect(wineLine.contains("NOT VERIFIED") && wineLine.contains("cold-chain excursion") && wineLine.contains("not recognised in HK"),
                "wine: \(wineLine)")
        #expect(!wineLine.contains("GD") && !wineLine.contains("MO"), "wine is recognised in GD and MO: \(wineLine)")
        let recalledLine = verdictLine(Self.recalled) ?? ""
        #expect(recalledLine.contains("NOT VERIFIED") && recalledLine.contains("recalled"), "recalled: \(recalledLine)")

        // Real files: key files sealed and private, a SQLite ledger that the regulators' audit passes.
        let fm = FileManager.default
        for k in ["operator.key", "gd.key", "hk.key", "mo.key", "importer.key"] {
            let attrs = try fm.attributesOfItem(atPath: dir + "/" + k)
            #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(k) mode")
        }
        let ledger = dir + "/suyuan.ledger"
        let audit = try await sb.ok(["audit", "--ledger", ledger, "--quiet", "--trusted-checkpoint", dir + "/checkpoint-1.txt", "--json"])
        let report = try audit.json()
        #expect(report["ok"]?.boolValue == true, "\(audit)")
        #expect((report["entries"]?.int ?? 0) >= 30, "\(audit)")
        // The commands it suggests work: consumers verify with the CLI and get the same verdicts.
        try await sb.ok(["verify", Self.milk, "--ledger", ledger])
        let wine = try await sb.run(["verify", Self.wine, "--ledger", ledger, "--json"])
        #expect(wine.status == 1, "\(wine)")
        #expect(try wine.json()["recognition"]?["HK"]?["verdict"]?.stringValue == "not-recognised")
        try await sb.ok(["key", "show", dir + "/importer.key"])
        try await sb.ok(["verify", "--bundle", dir + "/milk-bundle.json", "--trust", dir + "/operator.key"])
        // Keys open with the printed passphrase; an append signs a checkpoint with the operator key named in the ledger.
        let appended = try await sb.ok(["event", "deliver", "--key", dir + "/importer.key", "--product", Self.wine, "--ledger", ledger, "--json"],
                                       env: ["SUYUAN_PASSPHRASE": "demo-passphrase-not-for-production"])
        #expect(try appended.json()["checkpoint"]?.stringValue != nil, "\(appended)")

        // A second demo into the same, now non-empty, directory is refused and changes nothing.
        let before = FileSnapshot(ledger)
        expectError(try await sb.run(["demo", "--dir", dir]), 73, mentions: ["not empty"])
        #expect(FileSnapshot(ledger).data == before.data)
        // A path that is a file is refused too.
        try sb.write("plain-file", "x")
        expectError(try await sb.run(["demo", "--dir", sb.path("plain-file")]), 73, mentions: ["not a directory"])
    }

    @Test func defaultDirectoryAndAnExistingEmptyOne() async throws {
        let sb = try Sandbox()
        try FileManager.default.createDirectory(atPath: sb.path("empty/suyuan-demo"), withIntermediateDirectories: true)
        // Without --dir: ./suyuan-demo, here an existing empty directory.
        let r = try await sb.ok(["demo"], cwd: "empty")
        #expect(r.stdout.contains("a sample ledger in \(sb.path("empty/suyuan-demo"))"), "\(r)")
        #expect(FileManager.default.fileExists(atPath: sb.path("empty/suyuan-demo/suyuan.ledger")))
    }
}

import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

/// The Ed25519 public key inside a verifier key string `name+hex8+base64(0x01 ‖ key)` (the base64 part
/// may itself contain '+').
func publicKey(ofVkey vkey: String) -> PublicKey? {
    let parts = vkey.split(separator: "+", maxSplits: 2)
    guard parts.count == 3, let raw = Base64.decode(String(parts[2])), raw.count == 33, raw[0] == 0x01 else { return nil }
    return PublicKey(bytes: Array(raw.dropFirst()))
}

/// The did:key of a verifier key string (computed here, independently of the CLI).
func didKey(ofVkey vkey: String) -> String? { publicKey(ofVkey: vkey).map { DIDKey.encode($0) } }

/// `init` arguments for a ledger with the fixture keys (regulators given as key files unless overridden).
func initArgs(_ ledger: String, _ f: Fixture, origin: String = "gz.suyuan.example/ledger",
              gd: String? = nil, hk: String? = nil, mo: String? = nil) -> [String] {
    ["init", "--ledger", ledger, "--origin", origin, "--operator-key", f.op.path,
     "--regulator", "GD=\(gd ?? f.gd.path)", "--regulator", "HK=\(hk ?? f.hk.path)", "--regulator", "MO=\(mo ?? f.mo.path)"]
}

@Suite("suyuan init") struct InitCLITests {
    @Test func initWritesGenesisAndAVerifiableCheckpoint() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = sb.path("l.ledger")
        let origin = "gz.suyuan.example/ledger"
        let r = try await sb.ok(initArgs(ledger, f, origin: origin))
        #expect(r.lines.first == "created ledger \(ledger) (origin \(origin))", "\(r)")
        #expect(r.lines.contains("operator: \(f.op.vkey)"))
        #expect(r.lines.contains("regulator GD: \(f.gd.vkey)"))
        #expect(r.lines.contains("regulator HK: \(f.hk.vkey)"))
        #expect(r.lines.contains("regulator MO: \(f.mo.vkey)"))
        #expect(r.stderr.isEmpty, "\(r)")
        #expect(!FileManager.default.fileExists(atPath: ledger + "-wal"), "init left a -wal file")
        #expect(!FileManager.default.fileExists(atPath: ledger + "-shm"), "init left a -shm file")

        let note = try checkpointNote(afterLinePrefix: "regulator MO:", in: r)
        let cp = try ParsedCheckpoint(note)
        #expect(cp.origin == origin)
        #expect(cp.size == 1)
        #expect(cp.signatureLines.count == 1)
        #expect(cp.signatureLines.first?.hasPrefix("\u{2014} \(f.op.name) ") == true, "\(note)")

        // entries --json: one genesis entry naming origin, operator and the three regulators.
        let j = try await sb.entries(ledger)
        #expect(j["size"]?.int == 1)
        let items = j["entries"]?.arrayValue ?? []
        #expect(items.count == 1)
        let e0 = try #require(items.first)
        #expect(e0.keys == ["index", "leafHash", "entry"])
        #expect(e0["index"]?.int == 0)
        let entry = try #require(e0["entry"])
        #expect(entry.keys == ["index", "prev", "recordedAt", "signature", "statement"])
        #expect(entry["index"]?.int == 0)
        #expect(entry["prev"]?.stringValue == String(repeating: "0", count: 64))
        let st = try #require(entry["statement"])
        #expect(st["kind"]?.stringValue == "genesis")
        #expect(st["signer"]?.stringValue == didKey(ofVkey: f.op.vkey))
        let payload = try #require(st["payload"])
        #expect(payload["format"]?.stringValue == "suyuan/v1")
        #expect(payload["origin"]?.stringValue == origin)
        #expect(payload["operator"]?.stringValue == f.op.vkey)
        #expect(payload["regulators"]?.keys == ["GD", "HK", "MO"])
        #expect(payload["regulators"]?["GD"]?.stringValue == f.gd.vkey)
        #expect(payload["regulators"]?["HK"]?.stringValue == f.hk.vkey)
        #expect(payload["regulators"]?["MO"]?.stringValue == f.mo.vkey)
        // The leaf hash is SHA-256(0x00 ‖ JCS(entry)), and the root of a one-leaf tree is that leaf.
        let leaf = try leafHash(ofEntry: entry)
        #expect(e0["leafHash"]?.stringValue == leaf.hex)
        #expect(Base64.decode(cp.rootBase64) == leaf.bytes)

        // The printed checkpoint verifies with the operator key, by vkey string and by key file.
        let cpFile = try sb.write("cp.txt", note)
        let v = try await sb.ok(["verify-checkpoint", cpFile, "--trust", f.op.vkey])
        #expect(v.stdout.contains("checkpoint verified"))
        #expect(v.stdout.contains("size 1"))
        #expect(v.stdout.contains(origin))
        try await sb.ok(["verify-checkpoint", cpFile, "--trust", f.op.path])
        let vj = try await sb.ok(["verify-checkpoint", cpFile, "--trust", f.gd.vkey, f.op.vkey, "--json"]).json()
        #expect(vj["verified"]?.boolValue == true)
        #expect(vj["origin"]?.stringValue == origin)
        #expect(vj["size"]?.int == 1)
        #expect(vj["root"]?.stringValue == cp.rootBase64)
        #expect(vj["signers"]?.arrayValue?.compactMap(\.stringValue) == [f.op.vkey])
        // …and fails with regulator keys only.
        expectError(try await sb.run(["verify-checkpoint", cpFile, "--trust", f.gd.vkey]), 1, mentions: [f.op.name, "--trust"])
        expectError(try await sb.run(["verify-checkpoint", cpFile, "--trust", f.gd.vkey, f.hk.vkey, f.mo.vkey]), 1)
        // Read from stdin too.
        try await sb.ok(["verify-checkpoint", "-", "--trust", f.op.vkey], stdin: Data(note.utf8))
        // No --trust at all is a usage error.
        expectUsageError(try await sb.run(["verify-checkpoint", cpFile]), mentions: ["--trust"])
    }

    @Test func initTwiceIsRefusedAndLeavesTheLedgerUnchanged() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        try await expectUnchanged(ledger, in: sb) {
            let r = try await sb.run(initArgs(ledger, sb.fixture, origin: Fixture.origin))
            expectError(r, 73, mentions: [ledger, "already"])
        }
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await sb.run(initArgs(ledger, sb.fixture, origin: "other.example/ledger")), 73)
        }
        #expect(try await sb.entries(ledger)["size"]?.int == 1)
    }

    @Test func initOnAFileThatIsNotALedgerIsRefusedAndLeavesItUnchanged() async throws {
        let sb = try Sandbox()
        let p = try sb.write("notes.txt", "my shopping list\nmilk\n")
        try await expectUnchanged(p, in: sb) {
            // init never touches an existing file, ledger or not.
            expectError(try await sb.run(initArgs(p, sb.fixture)), 73, mentions: [p, "already exists"])
        }
    }

    @Test func initWithMissingOrBadRegulatorIsAUsageError() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = sb.path("l.ledger")
        let base = ["init", "--ledger", ledger, "--origin", "gz.example/l", "--operator-key", f.op.path]
        let missing = try await sb.run(base + ["--regulator", "GD=\(f.gd.path)", "--regulator", "HK=\(f.hk.path)"])
        expectUsageError(missing, mentions: ["missing --regulator for MO"])
        let none = try await sb.run(base)
        expectUsageError(none, mentions: ["GD, HK, MO"])
        let badRegion = try await sb.run(base + ["--regulator", "GD=\(f.gd.path)", "--regulator", "HK=\(f.hk.path)",
                                           "--regulator", "XX=\(f.mo.path)"])
        expectUsageError(badRegion, mentions: ["XX="])
        let twice = try await sb.run(base + ["--regulator", "GD=\(f.gd.path)", "--regulator", "GD=\(f.hk.path)",
                                       "--regulator", "HK=\(f.hk.path)", "--regulator", "MO=\(f.mo.path)"])
        expectUsageError(twice, mentions: ["GD given twice"])
        #expect(!FileManager.default.fileExists(atPath: ledger), "a refused init must not create the ledger")
    }

    @Test func initAcceptsVerifierKeyStringsAsKeyrefs() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = sb.path("l.ledger")
        // GD and HK as vkey strings, MO as a file holding a vkey string.
        let moFile = try sb.write("mo.vkey", f.mo.vkey + "\n")
        let r = try await sb.ok(initArgs(ledger, f, gd: f.gd.vkey, hk: f.hk.vkey, mo: moFile))
        #expect(r.lines.contains("regulator GD: \(f.gd.vkey)"))
        let payload = try await sb.entries(ledger)["entries"]?[0]?["entry"]?["statement"]?["payload"]
        #expect(payload?["regulators"]?["GD"]?.stringValue == f.gd.vkey)
        #expect(payload?["regulators"]?["HK"]?.stringValue == f.hk.vkey)
        #expect(payload?["regulators"]?["MO"]?.stringValue == f.mo.vkey)
        // The regulators named by vkey can publish notices.
        let a = try await sb.appendNotice(ledger, key: f.hk, title: "by vkey")
        #expect(try a.json()["index"]?.int == 1)
    }

    @Test func initRefusesBadKeyrefsAndRepeatedKeys() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = sb.path("l.ledger")
        expectError(try await sb.run(initArgs(ledger, f, gd: "not-a-key")), 65, mentions: ["not-a-key"])
        expectError(try await sb.run(initArgs(ledger, f, hk: f.gd.vkey)), 65, mentions: ["distinct"])
        // A key ID that does not match the key (one hex digit changed) is refused.
        var tampered = Array(f.mo.vkey)
        let i = f.mo.name.count + 1
        tampered[i] = tampered[i] == "0" ? "1" : "0"
        expectError(try await sb.run(initArgs(ledger, f, mo: String(tampered))), 65)
        #expect(!FileManager.default.fileExists(atPath: ledger))
    }

    /// init records the operator key file by absolute path, so appends from another directory still sign checkpoints.
    @Test func relativeOperatorKeyPathWorksFromAnotherDirectory() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        try FileManager.default.createDirectory(atPath: sb.path("keys"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: sb.path("elsewhere"), withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: f.op.path, toPath: sb.path("keys/op.key"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: sb.path("keys/op.key"))
        try await sb.ok(["init", "--ledger", "l.ledger", "--origin", "rel.example/l", "--operator-key", "keys/op.key",
                         "--regulator", "GD=\(f.gd.vkey)", "--regulator", "HK=\(f.hk.vkey)", "--regulator", "MO=\(f.mo.vkey)"])
        let p = try sb.noticePayload("p.json", title: "from elsewhere")
        let r = try await sb.ok(["append", "--ledger", "../l.ledger", "--key", f.gd.path, "--kind", "notice", "--payload", p, "--json"],
                                cwd: "elsewhere")
        let cp = try ParsedCheckpoint(try r.json()["checkpoint"]?.stringValue ?? "")
        #expect(cp.size == 2, "\(r)")
        #expect(r.stderr.isEmpty, "\(r)")
        try await sb.ok(["checkpoint", "--ledger", sb.path("l.ledger")], cwd: "elsewhere")
    }

    @Test func initWithWrongOperatorPassphraseCreatesNothing() async throws {
        let sb = try Sandbox()
        let ledger = sb.path("l.ledger")
        let r = try await sb.run(initArgs(ledger, sb.fixture), env: ["SUYUAN_PASSPHRASE": "wrong"])
        expectError(r, 77, mentions: ["wrong passphrase", sb.fixture.op.path])
        #expect(!FileManager.default.fileExists(atPath: ledger))
    }
}

@Suite("suyuan append, sign, notice") struct AppendCLITests {
    @Test func appendWithKeyPrintsIndexAndAFreshCheckpoint() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        let payload = try sb.noticePayload("p.json", title: "Recall of lot 42")
        let r = try await sb.ok(["append", "--ledger", ledger, "--key", f.gd.path, "--kind", "notice", "--payload", payload])
        #expect(r.stderr.isEmpty, "\(r)")
        let first = try #require(r.lines.first)
        let m = try #require(first.wholeMatch(of: #/appended entry (\d+) \(notice\), leaf hash ([0-9a-f]{64})/#), "\(r)")
        #expect(m.1 == "1")
        let note = try checkpointNote(afterLinePrefix: "appended entry", in: r)
        let cp = try ParsedCheckpoint(note)
        #expect(cp.size == 2)
        #expect(cp.origin == Fixture.origin)
        try await sb.ok(["verify-checkpoint", try sb.write("cp.txt", note), "--trust", f.op.vkey])

        let j = try await sb.entries(ledger)
        #expect(j["size"]?.int == 2)
        let items = j["entries"]?.arrayValue ?? []
        try #require(items.count == 2)
        #expect(items[1]["leafHash"]?.stringValue == String(m.2))
        #expect(items[1]["entry"]?["prev"]?.stringValue == items[0]["leafHash"]?.stringValue)
        let st = items[1]["entry"]?["statement"]
        #expect(st?["kind"]?.stringValue == "notice")
        #expect(st?["signer"]?.stringValue == didKey(ofVkey: f.gd.vkey))
        #expect(st?["payload"]?["title"]?.stringValue == "Recall of lot 42")
        let leaves = try items.map { try leafHash(ofEntry: $0["entry"]!) }
        #expect(leaves.map(\.hex) == items.compactMap { $0["leafHash"]?.stringValue })
        #expect(Base64.decode(cp.rootBase64) == MerkleCheck.root(leaves).bytes)
    }

    @Test func appendJSONHasIndexLeafHashAndCheckpoint() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        for (i, key) in [sb.fixture.gd, sb.fixture.hk, sb.fixture.mo].enumerated() {
            let r = try await sb.appendNotice(ledger, key: key, title: "notice \(i)", checkpoint: true)
            let j = try r.json()
            #expect(j.keys == ["index", "leafHash", "checkpoint"], "\(r)")
            #expect(j["index"]?.int == i + 1)
            #expect(isHex64(j["leafHash"]?.stringValue))
            let cp = try ParsedCheckpoint(j["checkpoint"]?.stringValue ?? "")
            #expect(cp.size == i + 2)
            let entries = try await sb.entries(ledger)["entries"]?.arrayValue ?? []
            #expect(entries.last?["leafHash"]?.stringValue == j["leafHash"]?.stringValue)
        }
    }

    @Test func signThenAppendFromFileAndStdinAndRefuseDuplicates() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        let p1 = try sb.noticePayload("p1.json", title: "first")
        let s = try await sb.ok(["sign", "--key", f.hk.path, "--kind", "notice", "--payload", p1, "--out", "s1.json"])
        #expect(s.stdout.isEmpty && s.stderr.isEmpty, "\(s)")

        // The envelope: DSSE with one signature over PAE(type, JCS(statement)), checked independently.
        let env = try JSONValue.parse([UInt8](try sb.read("s1.json")))
        #expect(env.keys == ["payload", "payloadType", "signatures"])
        let type = "application/vnd.suyuan.statement.v1+json"
        #expect(env["payloadType"]?.stringValue == type)
        let body = try #require(env["payload"]?.stringValue.flatMap { Base64.decode($0) })
        let sig = try #require(env["signatures"]?[0]?["sig"]?.stringValue.flatMap { Base64.decode($0) })
        #expect(env["signatures"]?.arrayValue?.count == 1)
        #expect(env["signatures"]?[0]?["keyid"]?.stringValue == didKey(ofVkey: f.hk.vkey))
        let statement = try JSONValue.parse(body)
        #expect(statement.keys == ["kind", "payload", "signer", "time"])
        #expect(statement["kind"]?.stringValue == "notice")
        #expect(try statement.canonical() == body, "the signed statement is canonical JSON")
        let pae = Array("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8) + body
        let pk = try #require(publicKey(ofVkey: f.hk.vkey))
        #expect(pk.isValidSignature(sig, for: pae), "the envelope's signature verifies with the HK key")

        let a1 = try await sb.ok(["append", "--ledger", ledger, "--statement", "s1.json", "--json"], env: noCheckpoint).json()
        #expect(a1["index"]?.int == 1)

        // sign to stdout, append from stdin.
        let p2 = try sb.noticePayload("p2.json", title: "second")
        let s2 = try await sb.ok(["sign", "--key", f.mo.path, "--kind", "notice", "--payload", p2])
        _ = try s2.json()
        let a2 = try await sb.ok(["append", "--ledger", ledger, "--statement", "-"], env: noCheckpoint, stdin: s2.stdoutData)
        #expect(a2.lines.first?.hasPrefix("appended entry 2 (notice), leaf hash ") == true, "\(a2)")

        // The payload can come from stdin as well.
        let a3 = try await sb.ok(["append", "--ledger", ledger, "--key", f.gd.path, "--kind", "notice", "--payload", "-", "--json"],
                           env: noCheckpoint, stdin: Data(#"{"level":"notice","title":"third","text":"from stdin"}"#.utf8))
        #expect(try a3.json()["index"]?.int == 3)

        // The same signed statement again: refused as a duplicate, naming where it is, ledger unchanged.
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "s1.json"]), 65, mentions: ["duplicate", "index 1"])
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: s2.stdoutData), 65,
                        mentions: ["duplicate", "index 2"])
        }
        #expect(try await sb.entries(ledger)["size"]?.int == 4)
    }

    @Test func appendArgumentCombinationsAreUsageErrors() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        try sb.noticePayload("p.json", title: "t")
        try sb.write("s.json", "{}")
        try await expectUnchanged(ledger, in: sb) {
            expectUsageError(try await sb.run(["append", "--ledger", ledger]), mentions: ["--statement"])
            expectUsageError(try await sb.run(["append", "--ledger", ledger, "--statement", "s.json", "--key", f.gd.path]),
                             mentions: ["not both"])
            expectUsageError(try await sb.run(["append", "--ledger", ledger, "--key", f.gd.path, "--kind", "notice"]), mentions: ["--payload"])
            expectUsageError(try await sb.run(["sign", "--key", f.gd.path, "--kind", "notice"]), mentions: ["--payload"])
            expectUsageError(try await sb.run(["append", "--ledger", ledger, "--statement", "s.json", "--bogus-flag"]), mentions: ["--bogus-flag"])
        }
    }

    @Test func noticeCommandAppendsARegulatorNotice() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        let r = try await sb.ok(["notice", "--ledger", ledger, "--key", f.mo.path, "--title", "Heat warning", "--text", "Keep cool",
                           "--level", "warning", "--product", "https://id.gs1.org/01/09506000134352", "--category", "seafood", "--json"], env: noCheckpoint)
        let j = try r.json()
        #expect(j["index"]?.int == 1)
        #expect(isHex64(j["leafHash"]?.stringValue))
        let e = try await sb.entries(ledger)["entries"]?[1]
        #expect(e?["leafHash"]?.stringValue == j["leafHash"]?.stringValue)
        let p = e?["entry"]?["statement"]?["payload"]
        #expect(p?["level"]?.stringValue == "warning")
        #expect(p?["title"]?.stringValue == "Heat warning")
        #expect(p?["products"]?[0]?.stringValue == "https://id.gs1.org/01/09506000134352")
        #expect(p?["categories"]?[0]?.stringValue == "seafood")
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await sb.run(["notice", "--ledger", ledger, "--key", f.stranger.path, "--title", "x", "--text", "y"]), 1,
                        mentions: ["not authorised"])
            expectError(try await sb.run(["notice", "--ledger", ledger, "--key", f.gd.path, "--title", "x", "--text", "y", "--level", "panic"]),
                        65, mentions: ["level"])
        }
    }

    @Test func backupWritesAConsistentCopyAndRefusesToOverwrite() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        try await sb.appendNotice(ledger, key: sb.fixture.gd, title: "before backup")
        let out = sb.path("copy.ledger")
        let r = try await sb.ok(["backup", "--ledger", ledger, out])
        #expect(r.stdout.contains("backed up 2 entries"), "\(r)")
        #expect(try await sb.entries(out) == sb.entries(ledger))
        #expect(!FileManager.default.fileExists(atPath: out + "-wal"))
        try await expectUnchanged(out, in: sb) {
            expectError(try await sb.run(["backup", "--ledger", ledger, out]), 73, mentions: ["already exists"])
        }
    }
}

@Suite("ledger selection, checkpoint, help") struct MiscCLITests {
    @Test func ledgerFlagAndEnvironmentSelectTheFile() async throws {
        let sb = try Sandbox()
        let a = try sb.copyBaseLedger("a.ledger")
        let b = sb.path("b.ledger")
        // init via $SUYUAN_LEDGER (no --ledger).
        var args = initArgs(b, sb.fixture, origin: "b.example/ledger")
        args.removeSubrange(1...2)
        try await sb.ok(args, env: ["SUYUAN_LEDGER": b])
        #expect(FileManager.default.fileExists(atPath: b))
        #expect(!FileManager.default.fileExists(atPath: sb.path("suyuan.ledger")))

        func origin(_ j: JSONValue) -> String? { j["entries"]?[0]?["entry"]?["statement"]?["payload"]?["origin"]?.stringValue }
        #expect(origin(try await sb.ok(["entries", "--ledger", a, "--json"]).json()) == Fixture.origin)
        #expect(origin(try await sb.ok(["entries", "--json"], env: ["SUYUAN_LEDGER": b]).json()) == "b.example/ledger")
        // --ledger wins over the environment.
        #expect(origin(try await sb.ok(["entries", "--json", "--ledger", a], env: ["SUYUAN_LEDGER": b]).json()) == Fixture.origin)
        // An append via the environment goes to b only.
        let payload = try sb.noticePayload("p.json", title: "to b")
        try await sb.ok(["append", "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", payload], env: ["SUYUAN_LEDGER": b, "SUYUAN_OPERATOR_PASSPHRASE": ""])
        #expect(try await sb.entries(b)["size"]?.int == 2)
        #expect(try await sb.entries(a)["size"]?.int == 1)
        // Neither: ./suyuan.ledger, which does not exist here.
        expectError(try await sb.run(["entries"]), 66, mentions: ["no ledger", "suyuan.ledger"])
        try FileManager.default.copyItem(atPath: a, toPath: sb.path("suyuan.ledger"))
        #expect(origin(try await sb.ok(["entries", "--json"]).json()) == Fixture.origin)
    }

    @Test func checkpointCommandSignsOverTheCurrentTree() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        // With no operator passphrase, appends succeed but sign no checkpoint, and say so on stderr.
        for i in 0..<3 {
            let r = try await sb.appendNotice(ledger, key: f.gd, title: "n\(i)")
            #expect(try r.json()["checkpoint"] == nil)
            #expect(r.stderr.contains("no checkpoint signed"), "\(r)")
        }
        let size = try #require(try await sb.entries(ledger)["size"]?.int)
        #expect(size == 4)
        let c = try await sb.ok(["checkpoint", "--ledger", ledger])
        let cp = try ParsedCheckpoint(c.stdout)
        #expect(cp.size == size)
        #expect(cp.origin == Fixture.origin)
        try await sb.ok(["verify-checkpoint", try sb.write("cp.txt", c.stdout), "--trust", f.op.vkey])
        let leaves = try await (sb.entries(ledger)["entries"]?.arrayValue ?? []).map { try leafHash(ofEntry: $0["entry"]!) }
        #expect(Base64.decode(cp.rootBase64) == MerkleCheck.root(leaves).bytes)
        // Unchanged tree: the same note again.
        #expect(try await sb.ok(["checkpoint", "--ledger", ledger]).stdout == c.stdout)
        // With an explicit --key; a non-operator key is refused.
        #expect(try await sb.ok(["checkpoint", "--ledger", ledger, "--key", f.op.path]).stdout == c.stdout)
        try await sb.appendNotice(ledger, key: f.gd, title: "n3")
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await sb.run(["checkpoint", "--ledger", ledger, "--key", f.gd.path]), 1, mentions: ["not authorised", "operator"])
            expectError(try await sb.run(["checkpoint", "--ledger", ledger], env: ["SUYUAN_PASSPHRASE": "wrong"]), 77, mentions: ["wrong passphrase"])
        }
        // SUYUAN_OPERATOR_PASSPHRASE is used for the operator key.
        let c2 = try await sb.ok(["checkpoint", "--ledger", ledger], env: ["SUYUAN_PASSPHRASE": nil, "SUYUAN_OPERATOR_PASSPHRASE": Fixture.passphrase])
        #expect(try ParsedCheckpoint(c2.stdout).size == 5)
    }

    @Test func entriesPaging() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        for i in 0..<2 { try await sb.appendNotice(ledger, key: sb.fixture.gd, title: "p\(i)") }
        let j = try await sb.ok(["entries", "--ledger", ledger, "--from", "1", "--count", "1", "--json"]).json()
        #expect(j["size"]?.int == 3)
        #expect(j["entries"]?.arrayValue?.map { $0["index"]?.int } == [1])
        let human = try await sb.ok(["entries", "--ledger", ledger])
        #expect(human.lines.count == 4, "\(human)")
        #expect(human.lines.first?.contains("3 entries") == true)
        expectUsageError(try await sb.run(["entries", "--ledger", ledger, "--count", "-1"]), mentions: ["--count"])
    }

    @Test func helpListsEveryImplementedSubcommand() async throws {
        let sb = try Sandbox()
        let r = try await sb.ok(["--help"])
        for c in ["key", "init", "sign", "append", "notice", "checkpoint", "entries", "prove", "verify-checkpoint", "backup"] {
            #expect(r.stdout.contains(" \(c) ") || r.stdout.contains(" \(c)\n"), "--help lists \(c): \(r)")
        }
        #expect(r.stdout.contains("Exit codes"))
        let key = try await sb.ok(["key", "--help"])
        #expect(key.stdout.contains("generate") && key.stdout.contains("show"))
        let prove = try await sb.ok(["prove", "--help"])
        #expect(prove.stdout.contains("inclusion") && prove.stdout.contains("consistency"))
        for c in [["init"], ["append"], ["sign"], ["entries"], ["verify-checkpoint"], ["prove", "inclusion"], ["backup"], ["checkpoint"]] {
            let h = try await sb.ok(c + ["--help"])
            #expect(h.stdout.contains("USAGE"), "\(h)")
        }
        expectUsageError(try await sb.run(["no-such-command"]), mentions: ["no-such-command"])
    }
}

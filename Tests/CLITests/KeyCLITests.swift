import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

@Suite("suyuan key") struct KeyCLITests {
    static var vkeyPattern: Regex<(Substring, Substring, Substring, Substring)> { #/([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})/# }

    /// Checks a printed verifier key independently: name, key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pk)[:4], type 0x01.
    static func checkVkey(_ vkey: String, name: String, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8]? {
        guard let m = vkey.wholeMatch(of: vkeyPattern) else {
            Issue.record("not a verifier key name+hex8+base64: \(vkey.debugDescription)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(String(m.1) == name, sourceLocation: sourceLocation)
        guard let raw = Base64.decode(String(m.3)), raw.count == 33, raw[0] == 0x01 else {
            Issue.record("verifier key data is not 0x01 ‖ 32-byte key: \(vkey)", sourceLocation: sourceLocation)
            return nil
        }
        let id = SHA256.hash(Array(name.utf8) + [0x0a] + raw).bytes.prefix(4)
        #expect(String(m.2) == Hex.encode(id), "key ID of \(vkey)", sourceLocation: sourceLocation)
        return Array(raw.dropFirst())
    }

    @Test func generatePrintsVerifierKeyWritesMode0600AndShowAgrees() async throws {
        let sb = try Sandbox()
        let name = "gd.samr.example/inspector-7"
        let r = try await sb.ok(["key", "generate", "--name", name, "--out", "k.key"])
        #expect(r.lines.count == 1, "one line: \(r)")
        #expect(r.stderr.isEmpty, "\(r)")
        let vkey = r.lines.first ?? ""
        let pk = Self.checkVkey(vkey, name: name)

        let attrs = try FileManager.default.attributesOfItem(atPath: sb.path("k.key"))
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600, "mode \(String(describing: attrs[.posixPermissions]))")
        let fileText = String(decoding: try sb.read("k.key"), as: UTF8.self)
        #expect(fileText.contains("suyuan-key-v1"))
        #expect(!fileText.contains(Fixture.passphrase))

        let show = try await sb.ok(["key", "show", "k.key", "--json"])
        let j = try show.json()
        #expect(j.keys == ["name", "vkey", "witnessVkey", "didKey", "publicKey"], "\(show)")
        #expect(j["witnessVkey"]?.stringValue?.hasPrefix(name + "+") == true)
        #expect(j["name"]?.stringValue == name)
        #expect(j["vkey"]?.stringValue == vkey)
        #expect(j["didKey"]?.stringValue?.hasPrefix("did:key:z6Mk") == true, "\(show)")
        let pub = j["publicKey"]?.stringValue.flatMap { Base64.decode($0) }
        #expect(pub?.count == 32)
        #expect(pub == pk, "publicKey must be the key inside the vkey")
        // did:key decodes to the same public key.
        if let did = j["didKey"]?.stringValue, let pkv = pk.flatMap({ PublicKey(bytes: $0) }) {
            #expect(DIDKey.encode(pkv) == did)
        }

        // The human form names the same things.
        let human = try await sb.ok(["key", "show", "k.key"])
        #expect(human.stdout.contains(vkey))
        #expect(human.stdout.contains(j["didKey"]?.stringValue ?? "?"))
        // No passphrase is needed to show a key.
        let noPass = try await sb.ok(["key", "show", "k.key", "--json"], env: ["SUYUAN_PASSPHRASE": nil])
        #expect(try noPass.json() == j)
    }

    @Test func generateJSONOutput() async throws {
        let sb = try Sandbox()
        let r = try await sb.ok(["key", "generate", "--name", "hk.example/k", "--out", "k.key", "--json"])
        let j = try r.json()
        #expect(j.keys == ["name", "vkey", "witnessVkey", "didKey", "publicKey"], "\(r)")
        let show = try await sb.ok(["key", "show", "k.key", "--json"]).json()
        #expect(show == j)
    }

    @Test func fixtureKeysAreDistinctAndMatchTheirFiles() async throws {
        let f = try Fixture.get()
        let sb = try Sandbox()
        let all = [f.op, f.gd, f.hk, f.mo, f.stranger]
        #expect(Set(all.map(\.vkey)).count == all.count)
        for k in all {
            _ = Self.checkVkey(k.vkey, name: k.name)
            let j = try await sb.ok(["key", "show", k.path, "--json"]).json()
            #expect(j["vkey"]?.stringValue == k.vkey)
        }
    }

    @Test func refusesToOverwriteAnExistingOutFile() async throws {
        let sb = try Sandbox()
        let p = try sb.write("k.key", "precious, not a key\n", mode: 0o600)
        let before = try sb.read("k.key")
        let r = try await sb.run(["key", "generate", "--name", "a.example/k", "--out", p])
        expectError(r, 73, mentions: ["already exists", p])
        #expect(try sb.read("k.key") == before)
        // Nothing else was left in the directory (no temporary files).
        #expect(try FileManager.default.contentsOfDirectory(atPath: sb.dir.path) == ["k.key"])
    }

    @Test func generateIntoAMissingDirectoryFails() async throws {
        let sb = try Sandbox()
        let r = try await sb.run(["key", "generate", "--name", "a.example/k", "--out", "no/such/dir/k.key"])
        expectError(r, 73, mentions: ["no/such/dir/k.key"])
    }

    @Test func noPassphraseIsAUsageError() async throws {
        let sb = try Sandbox()
        let r = try await sb.run(["key", "generate", "--name", "a.example/k", "--out", "k.key"], env: ["SUYUAN_PASSPHRASE": nil])
        expectUsageError(r, mentions: ["no passphrase", "SUYUAN_PASSPHRASE", "--passphrase-file"])
        #expect(!FileManager.default.fileExists(atPath: sb.path("k.key")))

        let empty = try await sb.run(["key", "generate", "--name", "a.example/k", "--out", "k.key"], env: ["SUYUAN_PASSPHRASE": ""])
        expectUsageError(empty, mentions: ["passphrase"])
        #expect(!FileManager.default.fileExists(atPath: sb.path("k.key")))
    }

    @Test func passphraseFileWorksWithTrailingNewlineStrippedAndIsNeverPrinted() async throws {
        let sb = try Sandbox()
        let secret = "pp-file secret words 7Q"
        let pf = try sb.write("pass.txt", secret + "\n", mode: 0o600)
        let crlf = try sb.write("pass-crlf.txt", secret + "\r\n", mode: 0o600)
        var outputs: [RunResult] = []
        let gen = try await sb.ok(["key", "generate", "--name", "a.example/k", "--out", "k.key", "--passphrase-file", pf],
                            env: ["SUYUAN_PASSPHRASE": nil])
        outputs.append(gen)
        try sb.write("p.json", #"{"level":"notice","title":"t","text":"x"}"#)
        // The same passphrase without the newline opens the key: the newline was stripped.
        outputs.append(try await sb.ok(["sign", "--key", "k.key", "--kind", "notice", "--payload", "p.json"], env: ["SUYUAN_PASSPHRASE": secret]))
        // CRLF is stripped too, and --passphrase-file wins over the environment.
        outputs.append(try await sb.ok(["sign", "--key", "k.key", "--kind", "notice", "--payload", "p.json", "--passphrase-file", crlf],
                                 env: ["SUYUAN_PASSPHRASE": "not it"]))
        // With the newline kept, it is a different (wrong) passphrase.
        let wrong = try await sb.run(["sign", "--key", "k.key", "--kind", "notice", "--payload", "p.json"], env: ["SUYUAN_PASSPHRASE": secret + "\n"])
        expectError(wrong, 77, mentions: ["wrong passphrase"])
        outputs.append(wrong)
        let missing = try await sb.run(["sign", "--key", "k.key", "--kind", "notice", "--payload", "p.json", "--passphrase-file", "nope.txt"])
        expectError(missing, 66, mentions: ["nope.txt"])
        outputs.append(missing)
        for r in outputs {
            #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret), "passphrase printed by \(r)")
        }
        #expect(!String(decoding: try sb.read("k.key"), as: UTF8.self).contains(secret))
    }

    @Test(arguments: ["bad name", "a+b", ""])
    func invalidNameIsAUsageError(name: String) async throws {
        let sb = try Sandbox()
        let r = try await sb.run(["key", "generate", "--name", name, "--out", "k.key"])
        expectUsageError(r, mentions: ["--name"])
        #expect(!FileManager.default.fileExists(atPath: sb.path("k.key")))
    }

    @Test func showRefusesMissingAndNonKeyFiles() async throws {
        let sb = try Sandbox()
        expectError(try await sb.run(["key", "show", "absent.key"]), 66, mentions: ["absent.key"])
        let p = try sb.write("notakey.json", #"{"hello":"world"}"#, mode: 0o600)
        expectError(try await sb.run(["key", "show", p]), 65, mentions: ["not a Suyuan key file"])
    }
}

@Suite struct SecretWatchTests {
    /// The check every command's output goes through really finds a planted secret (a negative control
    /// for the leak check in `Running.collect`).
    @Test func theLeakCheckFindsAPlantedPassphrase() throws {
        _ = try Fixture.get()
        let planted = RunResult(args: ["x"], status: 0, stdoutData: Data("ok \(Fixture.passphrase)\n".utf8), stderrData: Data())
        #expect(SecretWatch.leaks(in: planted) == ["the passphrase"])
        let clean = RunResult(args: ["x"], status: 0, stdoutData: Data("ok\n".utf8), stderrData: Data())
        #expect(SecretWatch.leaks(in: clean).isEmpty)
    }
}

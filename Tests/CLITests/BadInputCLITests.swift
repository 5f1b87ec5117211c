import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

/// Every refused input leaves the ledger byte-for-byte unchanged, exits with the documented code and says
/// what was wrong on one stderr line.
@Suite("refused input") struct BadInputCLITests {
    /// `append --key KEY --kind KIND --payload FILE` on `ledger`.
    static func append(_ sb: Sandbox, _ ledger: String, key: KeyInfo, kind: String = "notice", payload: String,
                       env: [String: String?] = [:]) async throws -> RunResult {
        try await sb.run(["append", "--ledger", ledger, "--key", key.path, "--kind", kind, "--payload", payload], env: env)
    }

    @Test func malformedJSONPayload() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let bad = try sb.write("bad.json", #"{"level":"notice","title":"t","text":"x""#)
        let dupKey = try sb.write("dup.json", #"{"level":"notice","title":"t","title":"u","text":"x"}"#)
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await Self.append(sb, ledger, key: sb.fixture.gd, payload: bad), 65, mentions: ["not valid JSON", "bad.json"])
            expectError(try await Self.append(sb, ledger, key: sb.fixture.gd, payload: dupKey), 65, mentions: ["duplicate key"])
            // sign refuses it too, and writes nothing.
            expectError(try await sb.run(["sign", "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", bad, "--out", "s.json"]), 65,
                        mentions: ["not valid JSON"])
        }
        #expect(!FileManager.default.fileExists(atPath: sb.path("s.json")))
    }

    @Test(arguments: [#"[1,2,3]"#, #""a string""#, "42", "null"])
    func payloadThatIsNotAnObject(payload: String) async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let p = try sb.write("p.json", payload)
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await Self.append(sb, ledger, key: sb.fixture.gd, payload: p), 65, mentions: ["payload must be a JSON object"])
        }
    }

    @Test func noticePayloadOfTheWrongShape() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let noTitle = try sb.write("a.json", #"{"level":"notice","text":"x"}"#)
        let extra = try sb.write("b.json", #"{"level":"notice","title":"t","text":"x","colour":"red"}"#)
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await Self.append(sb, ledger, key: sb.fixture.gd, payload: noTitle), 65, mentions: ["title"])
            expectError(try await Self.append(sb, ledger, key: sb.fixture.gd, payload: extra), 65, mentions: ["colour"])
        }
    }

    @Test func statementsSignedByKeysThatAreNotRegulators() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let ledger = try sb.copyBaseLedger()
        let p = try sb.noticePayload("p.json", title: "unauthorised")
        try await expectUnchanged(ledger, in: sb) {
            // The operator key is not a regulator key.
            expectError(try await Self.append(sb, ledger, key: f.op, payload: p), 1, mentions: ["not authorised", "regulator"])
            // Nor is a fresh key, signed directly or offline.
            expectError(try await Self.append(sb, ledger, key: f.stranger, payload: p), 1, mentions: ["not authorised"])
            let s = try await sb.ok(["sign", "--key", f.stranger.path, "--kind", "notice", "--payload", p])
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: s.stdoutData), 1, mentions: ["not authorised"])
            // A second genesis, even by the operator, is refused.
            let g = try sb.write("g.json", """
                {"format":"suyuan/v1","operator":"\(f.op.vkey)","origin":"x.example/l",
                 "regulators":{"GD":"\(f.gd.vkey)","HK":"\(f.hk.vkey)","MO":"\(f.mo.vkey)"}}
                """)
            expectError(try await Self.append(sb, ledger, key: f.op, kind: "genesis", payload: g), 1, mentions: ["not authorised", "genesis"])
        }
    }

    /// A DSSE envelope signed by GD, and its parts.
    static func signedEnvelope(_ sb: Sandbox, title: String = "genuine") async throws -> (env: [String: JSONValue], body: [UInt8], sig: [UInt8]) {
        let p = try sb.noticePayload("genuine.json", title: title)
        let s = try await sb.ok(["sign", "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", p])
        let env = try #require(try s.json().objectValue)
        let body = try #require(env["payload"]?.stringValue.flatMap { Base64.decode($0) })
        let sig = try #require(env["signatures"]?[0]?["sig"]?.stringValue.flatMap { Base64.decode($0) })
        return (env, body, sig)
    }

    static func envelope(_ env: [String: JSONValue], body: [UInt8]? = nil, payloadText: String? = nil, sig: [UInt8]? = nil) -> Data {
        var e = env
        if let body { e["payload"] = .string(Base64.encode(body)) }
        if let payloadText { e["payload"] = .string(payloadText) }
        if let sig, case .array(var sigs) = e["signatures"], case .object(var s0) = sigs[0] {
            s0["sig"] = .string(Base64.encode(sig))
            sigs[0] = .object(s0)
            e["signatures"] = .array(sigs)
        }
        return Data(JSONValue.object(e).prettyPrinted().utf8)
    }

    @Test func badSignaturesAreRefused() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let (env, body, sig) = try await Self.signedEnvelope(sb)

        // One bit of the signature flipped.
        var flipped = sig
        flipped[10] ^= 0x01
        // The statement changed (title), still canonical JSON, signature kept.
        var st = try JSONValue.parse(body).objectValue!
        var payload = st["payload"]!.objectValue!
        payload["title"] = .string("forged")
        st["payload"] = .object(payload)
        let forged = try JSONValue.object(st).canonical()
        // One byte of the statement changed (in the title "genuine").
        let byteChanged = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "genuine", with: "genuinE").utf8)
        #expect(byteChanged != body && byteChanged.count == body.count)

        try await expectUnchanged(ledger, in: sb) {
            for (what, data) in [("flipped signature bit", Self.envelope(env, sig: flipped)),
                                 ("forged title", Self.envelope(env, body: forged)),
                                 ("changed byte", Self.envelope(env, body: byteChanged))] {
                let r = try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: data)
                expectError(r, 1, mentions: ["signature does not verify"])
                #expect(r.status == 1, "\(what)")
            }
            // Not base64 at all, or a truncated signature: malformed.
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: Self.envelope(env, payloadText: "!!not base64!!")),
                        65, mentions: ["base64"])
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: Self.envelope(env, sig: Array(sig.prefix(63)))),
                        65, mentions: ["64 bytes"])
            // A statement that is not canonical JSON.
            let spaced = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: ",", with: ", ").utf8)
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: Self.envelope(env, body: spaced)),
                        65, mentions: ["canonical"])
            // The wrong payload type.
            var other = env
            other["payloadType"] = .string("application/json")
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: Self.envelope(other)), 65, mentions: ["payloadType"])
            // Not JSON.
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: Data("hello".utf8)), 65, mentions: ["JSON"])
            // Empty stdin.
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: Data()), 65)
        }
        // The genuine envelope still appends.
        try await sb.ok(["append", "--ledger", ledger, "--statement", "-"], env: noCheckpoint, stdin: Self.envelope(env))
    }

    @Test func oversizePayloadsAreRefusedNamingTheLimit() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        // Just over 65536 bytes of statement.
        let big = try sb.write("big.json", #"{"level":"notice","title":"t","text":""# + String(repeating: "a", count: 65_536) + #""}"#)
        // Over the 4 × 65536-byte input limit.
        let huge = try sb.write("huge.json", #"{"level":"notice","title":"t","text":""# + String(repeating: "a", count: 300_000) + #""}"#)
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await Self.append(sb, ledger, key: sb.fixture.gd, payload: big), 65, mentions: ["65536"])
            expectError(try await Self.append(sb, ledger, key: sb.fixture.gd, payload: huge), 65, mentions: ["262144"])
            // A statement envelope that is too large.
            let bigEnvelope = try sb.write("env.json", #"{"payload":""# + String(repeating: "A", count: 140_000) + #""}"#)
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", bigEnvelope]), 65, mentions: ["131072"])
            // The same through a pipe; a file is refused by its size, without being read (64 GiB, sparse);
            // a directory cannot be read.
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "-"], stdin: try sb.read("env.json")), 65, mentions: ["131072"])
            let sparse = sb.path("sparse.json")
            #expect(FileManager.default.createFile(atPath: sparse, contents: nil))
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: sparse))
            try h.truncate(atOffset: 64 << 30)
            try h.close()
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", sparse]), 65, mentions: ["larger than 262144 bytes"])
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", sb.dir.path]), 66, mentions: ["cannot read"])
        }
        // A statement just under the limit is accepted by the signer; the notice rules then limit the text.
        let text5000 = try sb.write("ok.json", #"{"level":"notice","title":"t","text":""# + String(repeating: "a", count: 5000) + #""}"#)
        try await sb.ok(["append", "--ledger", ledger, "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", text5000], env: noCheckpoint)
    }

    @Test(arguments: ["recall", "Notice", "no spaces", ""])
    func unknownOrInvalidKind(kind: String) async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let p = try sb.noticePayload("p.json", title: "t")
        try await expectUnchanged(ledger, in: sb) {
            let r = try await Self.append(sb, ledger, key: sb.fixture.gd, kind: kind, payload: p)
            expectError(r, 65, mentions: kind == "recall" ? ["unknown statement kind", "recall"] : ["kind"])
        }
    }

    @Test func corruptCheckpointsFailToVerify() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let note = f.genesisCheckpoint
        let good = try sb.write("good.txt", note)
        try await sb.ok(["verify-checkpoint", good, "--trust", f.op.vkey])
        let cp = try ParsedCheckpoint(note)
        var cases: [(String, String)] = []
        cases.append(("size changed", note.replacingOccurrences(of: "\n1\n", with: "\n2\n")))
        var root = try #require(Base64.decode(cp.rootBase64))
        root[0] ^= 0xff
        cases.append(("root changed", note.replacingOccurrences(of: cp.rootBase64, with: Base64.encode(root))))
        cases.append(("origin changed", note.replacingOccurrences(of: Fixture.origin, with: "evil.example/ledger")))
        let sigLine = try #require(cp.signatureLines.first)
        let sigB64 = String(try #require(sigLine.split(separator: " ").last))
        var sig = try #require(Base64.decode(sigB64))
        sig[20] ^= 0x01
        cases.append(("signature changed", note.replacingOccurrences(of: sigB64, with: Base64.encode(sig))))
        cases.append(("no signature", note.components(separatedBy: "\n\n")[0] + "\n"))
        cases.append(("truncated", String(note.dropLast(10))))
        cases.append(("garbage", "this is not a checkpoint\n"))
        cases.append(("CRLF", note.replacingOccurrences(of: "\n", with: "\r\n")))
        for (what, text) in cases {
            let p = try sb.write("bad.txt", text)
            let r = try await sb.run(["verify-checkpoint", p, "--trust", f.op.vkey])
            expectError(r, 1)
            #expect(r.status == 1, "\(what)")
        }
        expectError(try await sb.run(["verify-checkpoint", "absent.txt", "--trust", f.op.vkey]), 66, mentions: ["absent.txt"])
        expectError(try await sb.run(["verify-checkpoint", good, "--trust", "nonsense"]), 65, mentions: ["nonsense"])
    }

    @Test func wrongPassphrase() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let p = try sb.noticePayload("p.json", title: "t")
        try await expectUnchanged(ledger, in: sb) {
            let r = try await Self.append(sb, ledger, key: sb.fixture.gd, payload: p, env: ["SUYUAN_PASSPHRASE": "not the passphrase"])
            expectError(r, 77, mentions: ["wrong passphrase", sb.fixture.gd.path])
            #expect(!r.stderr.contains("not the passphrase"))
            let pf = try sb.write("pass.txt", "also wrong\n")
            expectError(try await sb.run(["append", "--ledger", ledger, "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", p,
                                    "--passphrase-file", pf]), 77, mentions: ["wrong passphrase"])
        }
    }

    @Test func keyFileReadableByOthersIsRefused() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let key = sb.path("gd.key")
        try FileManager.default.copyItem(atPath: sb.fixture.gd.path, toPath: key)
        let p = try sb.noticePayload("p.json", title: "t")
        for mode in [0o644, 0o640, 0o604] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: key)
            try await expectUnchanged(ledger, in: sb) {
                let r = try await sb.run(["append", "--ledger", ledger, "--key", key, "--kind", "notice", "--payload", p])
                expectError(r, 77, mentions: ["chmod 600", key])
            }
            expectError(try await sb.run(["sign", "--key", key, "--kind", "notice", "--payload", p]), 77, mentions: ["chmod 600"])
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        try await sb.ok(["append", "--ledger", ledger, "--key", key, "--kind", "notice", "--payload", p], env: noCheckpoint)
    }

    @Test func missingInputFiles() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let p = try sb.noticePayload("p.json", title: "t")
        try await expectUnchanged(ledger, in: sb) {
            expectError(try await sb.run(["append", "--ledger", ledger, "--key", sb.path("absent.key"), "--kind", "notice", "--payload", p]),
                        66, mentions: ["absent.key"])
            expectError(try await Self.append(sb, ledger, key: sb.fixture.gd, payload: sb.path("absent.json")), 66, mentions: ["absent.json"])
            expectError(try await sb.run(["append", "--ledger", ledger, "--statement", "absent.json"]), 66, mentions: ["absent.json"])
        }
    }

    @Test func pathsThatAreNotLedgers() async throws {
        let sb = try Sandbox()
        let f = sb.fixture
        let p = try sb.noticePayload("p.json", title: "t")
        let text = try sb.write("text.ledger", "hello, I am a text file\n")
        let empty = try sb.write("empty.ledger", Data())
        let other = sb.path("other.db")
        let sqlite = try runTool(["sqlite3", other, "create table t(x); insert into t values (1);"])
        try #require(sqlite == 0, "sqlite3 CLI failed")
        let commands: [(String) -> [String]] = [
            { ["entries", "--ledger", $0] },
            { ["append", "--ledger", $0, "--key", f.gd.path, "--kind", "notice", "--payload", p] },
            { ["checkpoint", "--ledger", $0] },
            { ["prove", "inclusion", "--ledger", $0, "--index", "0"] },
        ]
        for cmd in commands {
            for (path, why) in [(text, "not an SQLite database"), (empty, "empty"), (other, "another application")] {
                try await expectUnchanged(path, in: sb) {
                    expectError(try await sb.run(cmd(path)), 65, mentions: ["not a Suyuan ledger", why])
                }
            }
            let absent = sb.path("absent.ledger")
            expectError(try await sb.run(cmd(absent)), 66, mentions: ["no ledger", absent])
            #expect(!FileManager.default.fileExists(atPath: absent), "a command created \(absent)")
        }
        // A directory is not a ledger either.
        try FileManager.default.createDirectory(atPath: sb.path("dir.ledger"), withIntermediateDirectories: false)
        let r = try await sb.run(["entries", "--ledger", sb.path("dir.ledger")])
        #expect(r.status == 65 || r.status == 66 || r.status == 74, "\(r)")
        expectError(r, r.status, mentions: ["dir.ledger"])
    }
}

/// Runs a helper program (here `sqlite3`) found on PATH; returns its exit status.
func runTool(_ argv: [String]) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    p.standardInput = FileHandle.nullDevice
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// Statements crafted in the test (signed with the GD regulator's key, opened in-process) to reach the
/// checks a well-behaved `suyuan sign` never trips: time window, extra fields, signer mismatch.
@Suite("crafted statements") struct CraftedStatementTests {
    static let type = "application/vnd.suyuan.statement.v1+json"

    /// The GD regulator's secret key, decrypted from the fixture key file.
    static func gdKey() throws -> SecretKey {
        let f = try Fixture.get()
        let file = try KeyFile.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: f.gd.path))))
        return try file.open(passphrase: Array(Fixture.passphrase.utf8))
    }

    static func now() -> Timestamp { Timestamp(nanoseconds: Int64(Date().timeIntervalSince1970 * 1_000_000_000)) }

    /// A statement object; `fields` replace or add members.
    static func statement(signer: PublicKey, time: Timestamp, title: String, fields: [String: JSONValue] = [:]) -> JSONValue {
        var o: [String: JSONValue] = [
            "kind": "notice",
            "payload": .object(["level": "notice", "title": .string(title), "text": "crafted"]),
            "signer": .string(DIDKey.encode(signer)),
            "time": .string(time.truncatedToMilliseconds.millisecondString),
        ]
        for (k, v) in fields { o[k] = v }
        return .object(o)
    }

    /// A DSSE envelope over JCS(statement), signed with `key`.
    static func envelope(_ statement: JSONValue, key: SecretKey) throws -> Data {
        let body = try statement.canonical()
        let pae = Array("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8) + body
        let env: JSONValue = .object([
            "payloadType": .string(type), "payload": .string(Base64.encode(body)),
            "signatures": .array([.object(["keyid": .string(DIDKey.encode(key.publicKey)), "sig": .string(Base64.encode(key.sign(pae)))])]),
        ])
        return Data(env.prettyPrinted().utf8)
    }

    @Test func timeWindowExtraFieldsAndSignerMismatch() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let key = try Self.gdKey()
        let hk = try #require(publicKey(ofVkey: sb.fixture.hk.vkey))
        let now = Self.now()
        func append(_ data: Data) async throws -> RunResult {
            try await sb.run(["append", "--ledger", ledger, "--statement", "-"], env: noCheckpoint, stdin: data)
        }
        try await expectUnchanged(ledger, in: sb) {
            let old = Self.statement(signer: key.publicKey, time: now.adding(seconds: -31 * 86400), title: "too old")
            expectError(try await append(try Self.envelope(old, key: key)), 65, mentions: ["out of window"])
            let future = Self.statement(signer: key.publicKey, time: now.adding(seconds: 3600), title: "from the future")
            expectError(try await append(try Self.envelope(future, key: key)), 65, mentions: ["out of window"])
            let extra = Self.statement(signer: key.publicKey, time: now, title: "extra", fields: ["note": "hi"])
            expectError(try await append(try Self.envelope(extra, key: key)), 65, mentions: ["unexpected statement field", "note"])
            let badTime = Self.statement(signer: key.publicKey, time: now, title: "bad time", fields: ["time": "yesterday"])
            expectError(try await append(try Self.envelope(badTime, key: key)), 65, mentions: ["time"])
            let badSigner = Self.statement(signer: key.publicKey, time: now, title: "bad signer", fields: ["signer": "did:web:example.com"])
            expectError(try await append(try Self.envelope(badSigner, key: key)), 65, mentions: ["did:key"])
            // Names HK as the signer but is signed by GD.
            let impostor = Self.statement(signer: hk, time: now, title: "impostor")
            expectError(try await append(try Self.envelope(impostor, key: key)), 1, mentions: ["signature does not verify"])
        }
        // Inside the window (29 days old, 5 minutes ahead): accepted.
        let oldOK = Self.statement(signer: key.publicKey, time: now.adding(seconds: -29 * 86400), title: "old but fine")
        #expect(try await append(try Self.envelope(oldOK, key: key)).status == 0)
        let aheadOK = Self.statement(signer: key.publicKey, time: now.adding(seconds: 300), title: "slightly ahead")
        #expect(try await append(try Self.envelope(aheadOK, key: key)).status == 0)
        try checkChain(try await sb.entries(ledger), size: 3)
    }
}

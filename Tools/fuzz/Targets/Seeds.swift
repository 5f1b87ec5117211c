import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// Valid inputs made with the fuzz keys, for the targets whose interesting paths need a real signature or
/// structure (`suyuan-fuzz --write-seeds DIR` writes them as `DIR/TARGET/seed-*`). Deterministic.
public enum FuzzSeeds {
    public static func generate() throws -> [(target: String, name: String, bytes: [UInt8])] {
        var out: [(String, String, [UInt8])] = []
        let t0 = Timestamp(parsing: "2026-11-28T10:00:00.000Z")!
        let gd = SecretKey(seed: [UInt8](repeating: 0x02, count: 32))!
        let op = fuzzLogKey
        let witness = SecretKey(seed: [UInt8](repeating: 0x32, count: 32))!

        // Checkpoints and notes signed by the fuzz log key, one also cosigned by the fuzz witness.
        let signer = try NoteSigner(name: fuzzLogVKey.name, key: op)
        let root = RFC6962.root(leafHashes: (0..<5).map { RFC6962.leafHash([UInt8]("leaf \($0)".utf8)) })
        for (i, size) in [UInt64(0), 1, 5, 1 << 40].enumerated() {
            let cp = try Checkpoint(origin: "fuzz.suyuan.example/log", size: size, root: size == 0 ? RFC6962.emptyRoot : root,
                                    extensions: i == 2 ? ["ext line one", "ext two"] : [])
            let note = try cp.sign(with: signer)
            out.append(("checkpoint", "seed-signed-\(size)", Array(note.encoded.utf8)))
            out.append(("note", "seed-signed-\(size)", Array(note.encoded.utf8)))
            if i == 2 {
                let co = try Cosignature.sign(checkpointBody: note.text, timestamp: 1_764_000_000, name: fuzzWitnessVKey.name, key: witness)
                let cosigned = try note.adding([co])
                out.append(("checkpoint", "seed-cosigned", Array(cosigned.encoded.utf8)))
                out.append(("note", "seed-cosigned", Array(cosigned.encoded.utf8)))
            }
        }
        out.append(("checkpoint", "seed-body", Array("fuzz.suyuan.example/log\n3\n\(Base64.encode(root.bytes))\n".utf8)))

        // Verifier keys of both algorithms.
        out.append(("vkey", "seed-ed25519", Array(fuzzLogVKey.description.utf8)))
        out.append(("vkey", "seed-cosigner", Array(fuzzWitnessVKey.description.utf8)))

        // Envelopes and entries: a genesis and notices chained like a ledger.
        let genesis = try Genesis(origin: "fuzz.suyuan.example/log", operatorKey: fuzzLogVKey,
                                  regulators: [.GD: VerifierKey(name: "gd.fuzz.example", publicKey: gd.publicKey),
                                               .HK: VerifierKey(name: "hk.fuzz.example", publicKey: SecretKey(seed: [UInt8](repeating: 3, count: 32))!.publicKey),
                                               .MO: VerifierKey(name: "mo.fuzz.example", publicKey: SecretKey(seed: [UInt8](repeating: 4, count: 32))!.publicKey)])
        var statements = [try Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: t0).sign(with: op)]
        let notices = [
            try Notice(level: "warning", title: "Recall of lot 42", text: "Infant formula lot 42 is recalled.",
                       products: ["https://id.gs1.org/01/09421902960055/10/42"], categories: ["infant-formula"]),
            try Notice(level: "notice", title: "检验通知", text: "進口奶粉抽檢合格 — \u{1F600} \"quoted\" \\ and \u{7f}"),
        ]
        for (i, n) in notices.enumerated() {
            statements.append(try Statement(kind: Notice.kind, payload: n.payload, signer: gd.publicKey, time: t0.adding(seconds: Int64(i + 1))).sign(with: gd))
        }
        var prev = Hash.zero
        for (i, s) in statements.enumerated() {
            out.append(("envelope", "seed-\(i)", Array(s.envelope.prettyPrinted().utf8)))
            out.append(("statement", "seed-\(i)", s.canonical))
            let e = Entry(index: UInt64(i), prev: prev, recordedAt: t0.adding(seconds: Int64(i + 2)), signed: s)
            out.append(("entry", "seed-\(i)", e.bytes))
            prev = e.leafHash
        }

        // Key files (cheapest Argon2id parameters; the target only parses them).
        for (i, name) in ["gd.samr.example/regulator", "名前.example/key"].enumerated() {
            let kf = try KeyFile.seal(SecretKey(seed: [UInt8](repeating: UInt8(0x40 + i), count: 32))!, name: name,
                                      passphrase: Array("fuzz".utf8), opslimit: 1, memlimit: 8192)
            out.append(("keyfile", "seed-\(i)", kf.encoded()))
        }

        // Witness state and trust policy files.
        let state = WitnessState(log: fuzzLogVKey, origin: "fuzz.suyuan.example/log")
        out.append(("witness", "seed-state-fresh", Array(state.json.prettyPrinted().utf8)))
        let advanced: JSONValue = .object(["log": .string(fuzzLogVKey.description), "origin": .string("fuzz.suyuan.example/log"),
                                           "size": .number(5), "root": .string(Base64.encode(root.bytes))])
        out.append(("witness", "seed-state-5", Array(advanced.prettyPrinted().utf8)))
        let policy: JSONValue = .object(["log": .string(fuzzLogVKey.description), "quorum": .number(1),
                                         "witnesses": .object(["GD": .string(fuzzWitnessVKey.description)])])
        out.append(("witness", "seed-policy", Array(policy.prettyPrinted().utf8)))

        // did:key strings.
        for (i, k) in [gd, op, witness].enumerated() {
            out.append(("didkey", "seed-\(i)", Array(DIDKey.encode(k.publicKey).utf8)))
        }
        out.append(("didkey", "seed-fragment", Array((DIDKey.encode(gd.publicKey) + "#" + DIDKey.multibase(gd.publicKey)).utf8)))
        return out
    }
}

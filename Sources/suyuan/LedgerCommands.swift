import ArgumentParser
import Foundation
import SuyuanClient
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore
import SuyuanTrace

struct InitCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a ledger: entry 0 names the origin, the operator key and the GD, HK and MO regulator keys.")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The ledger's origin (checkpoint first line), e.g. gz.suyuan.example/ledger.") var origin: String
    @Option(name: .customLong("operator-key"), help: "The operator's secret key file; it signs genesis and checkpoints.") var operatorKey: String
    @Option(name: .customLong("regulator"), help: "REGION=KEYREF for each of GD, HK and MO.") var regulators: [String] = []
    @OptionGroup var pass: PassphraseOptions

    func parsedRegulators() throws -> [Region: String] {
        var map: [Region: String] = [:]
        for r in regulators {
            let parts = r.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let region = Region(rawValue: parts[0]) else {
                throw ValidationError("--regulator must be GD=KEYREF, HK=KEYREF or MO=KEYREF, got \"\(r)\"")
            }
            guard map[region] == nil else { throw ValidationError("--regulator \(region.rawValue) given twice") }
            map[region] = parts[1]
        }
        let missing = Region.allCases.filter { map[$0] == nil }.map(\.rawValue)
        guard missing.isEmpty else { throw ValidationError("missing --regulator for \(missing.joined(separator: ", "))") }
        return map
    }

    func validate() throws { _ = try parsedRegulators() }

    func execute() throws {
        let refs = try parsedRegulators()
        if FileManager.default.fileExists(atPath: ledger.path) {
            throw CLIError(code: CLIError.cannotCreate, message: "\(ledger.path) already exists; init only creates new ledgers (choose another --ledger)")
        }
        var regs: [Region: VerifierKey] = [:]
        for (r, ref) in refs { regs[r] = try Keys.resolve(ref) }
        let (file, key) = try Keys.open(operatorKey, passphrase: try pass.required())
        let opKey = try Keys.verifierKey(of: file)
        let genesis = try Genesis(origin: origin, operatorKey: opKey, regulators: regs)
        let signed = try Statement(kind: Genesis.kind, payload: genesis.payload, signer: key.publicKey, time: systemClock()).sign(with: key)

        // Exclusive creation: of two racing inits exactly one proceeds, and a failure removes only
        // the file this process created.
        let path = ledger.path
        try IO.createExclusively(path)
        do {
            let store = try SQLiteLedgerStore(path: path, create: true, lockTimeout: LedgerOptions.lockTimeout)
            let l = try Ledger.create(in: store, genesis: signed, rules: .suyuan)
            try store.setSetting("operator_key_path", URL(fileURLWithPath: operatorKey).standardizedFileURL.path)
            let cp = try l.checkpoint(signer: NoteSigner(name: file.name, key: key))
            IO.print("created ledger \(path) (origin \(origin))")
            IO.print("operator: \(opKey)")
            for r in Region.allCases { IO.print("regulator \(r.rawValue): \(regs[r]!)") }
            IO.print(String(decoding: cp.note, as: UTF8.self))
        } catch {
            for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) }
            throw error
        }
    }
}

struct StatementInput: ParsableArguments {
    @Option(help: "The statement kind (genesis, notice, …).") var kind: String?
    @Option(help: "The payload JSON object: a file, or - for standard input.") var payload: String?

    /// Reads and parses the payload (cheap checks first, before any key is decrypted).
    func payloadJSON() throws -> (String, JSONValue) {
        guard let kind, let payload else { throw ValidationError("--kind and --payload are both required") }
        let bytes = try IO.read(payload, limit: Statement.maxBytes * 4)
        do { return (kind, try JSONValue.parse(bytes)) } catch {
            throw CLIError(code: CLIError.data, message: "payload \(payload) is not valid JSON: \(error)")
        }
    }

    /// Signs `payload` as a statement of `kind` now.
    static func sign(_ kind: String, _ payload: JSONValue, key: SecretKey) throws -> SignedStatement {
        try Statement(kind: kind, payload: payload, signer: key.publicKey, time: systemClock()).sign(with: key)
    }
}

struct SignCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Sign a statement offline; writes a DSSE envelope to append later.")

    @Option(help: "The signer's secret key file.") var key: String
    @OptionGroup var input: StatementInput
    @Option(help: "Write the signed statement here instead of standard output.") var out: String?
    @OptionGroup var pass: PassphraseOptions

    func validate() throws {
        guard input.kind != nil, input.payload != nil else { throw ValidationError("--kind and --payload are required") }
    }

    func execute() throws {
        let (kind, payload) = try input.payloadJSON()
        let (_, sk) = try Keys.open(key, passphrase: try pass.required())
        let signed = try StatementInput.sign(kind, payload, key: sk)
        let text = signed.envelope.prettyPrinted() + "\n"
        if let out { try IO.write(Array(text.utf8), to: out) } else { IO.print(text) }
    }
}

struct AppendCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append a signed statement (--statement), or sign and append in one step (--key --kind --payload).")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "A signed statement (DSSE envelope) file, or - for standard input.") var statement: String?
    @Option(help: "Sign with this secret key file first.") var key: String?
    @OptionGroup var input: StatementInput
    @OptionGroup var pass: PassphraseOptions
    @Flag(help: "Print {\"index\",\"leafHash\",\"checkpoint\"} as JSON.") var json = false

    func validate() throws {
        if statement != nil {
            guard key == nil, input.kind == nil, input.payload == nil else {
                throw ValidationError("use either --statement FILE or --key FILE --kind KIND --payload FILE, not both")
            }
        } else {
            guard key != nil, input.kind != nil, input.payload != nil else {
                throw ValidationError("give --statement FILE, or all of --key, --kind and --payload")
            }
        }
    }

    func execute() throws {
        let signed: SignedStatement
        if let statement {
            signed = try SignedStatement(envelope: try IO.read(statement, limit: Statement.maxBytes * 4))
        } else {
            let (kind, payload) = try input.payloadJSON()
            let (_, sk) = try Keys.open(key!, passphrase: try pass.required())
            signed = try StatementInput.sign(kind, payload, key: sk)
        }
        try AutoCheckpoint.appendAndReport(signed, to: ledger, pass: pass, json: json)
    }
}

struct NoticeCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "notice", abstract: "Publish a regulator notice or risk warning (signed by a regulator key named in genesis).")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The regulator's secret key file.") var key: String
    @Option(help: "A short title.") var title: String
    @Option(help: "The notice text.") var text: String
    @Option(help: "notice or warning.") var level = "notice"
    @Option(help: "A product code the notice concerns (repeatable).") var product: [String] = []
    @Option(help: "A product category the notice concerns (repeatable).") var category: [String] = []
    @OptionGroup var pass: PassphraseOptions
    @Flag(help: "Print {\"index\",\"leafHash\",\"checkpoint\"} as JSON.") var json = false

    func execute() throws {
        let notice = try Notice(level: level, title: title, text: text, products: product, categories: category)
        let (_, sk) = try Keys.open(key, passphrase: try pass.required())
        let signed = try Statement(kind: Notice.kind, payload: notice.payload, signer: sk.publicKey, time: systemClock()).sign(with: sk)
        try AutoCheckpoint.appendAndReport(signed, to: ledger, pass: pass, json: json)
    }
}

struct CheckpointCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign a checkpoint over the current tree if it grew, and print the latest (C2SP signed note).")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The operator key file (default: the one named at init).") var key: String?
    @OptionGroup var pass: PassphraseOptions

    func execute() throws {
        if let remote = try ledger.remote() {
            // The server signs its checkpoints; this prints its latest, verified and consistent.
            guard key == nil else { throw ValidationError("with --server, the server signs checkpoints; --key is for a ledger file") }
            FileHandle.standardOutput.write(Data(remote.checkpoint.note.encoded.utf8))
            return
        }
        let l = try ledger.open()
        let store = l.store
        guard let path = try key ?? store.setting("operator_key_path") else {
            throw ValidationError("no operator key known; pass --key FILE")
        }
        guard let p = try pass.operatorPassphrase(), !p.isEmpty else {
            throw ValidationError("no passphrase: set SUYUAN_PASSPHRASE (or SUYUAN_OPERATOR_PASSPHRASE) or pass --passphrase-file FILE")
        }
        let (file, sk) = try Keys.open(path, passphrase: p)
        let cp = try l.checkpoint(signer: NoteSigner(name: file.name, key: sk))
        FileHandle.standardOutput.write(Data(cp.note))
    }
}

struct EntriesCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(commandName: "entries", abstract: "List entries.")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "First index.") var from: UInt64 = 0
    @Option(help: "How many entries (default: all from --from, at most 100000; with --server 1000, at most 10000).") var count: Int?
    @Flag(help: "Print {\"size\",\"entries\":[{\"index\",\"leafHash\",\"entry\"}]} as JSON.") var json = false

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count must be ≥ 0") }
    }

    func execute() throws {
        let size: UInt64, entries: [StoredEntry], source: String
        if let remote = try ledger.remote() {
            // The listed entries are proved included in the server's checkpoint (`Remote.entries`).
            size = remote.checkpoint.checkpoint.size
            entries = try remote.entries(from: from, count: min(count ?? 1000, 10_000))
            source = remote.client.baseURL
        } else {
            (size, entries) = try ledger.openStore().sizeAndEntries(from: from, count: min(count ?? 100_000, 100_000))
            source = ledger.path
        }
        if json {
            var items: [JSONValue] = []
            for e in entries {
                items.append(.object(["index": .number(Double(e.index)), "leafHash": .string(e.leafHash.hex),
                                      "entry": try JSONValue.parse(e.bytes)]))
            }
            IO.printJSON(.object(["size": .number(Double(size)), "entries": .array(items)]))
            return
        }
        IO.print("ledger \(source): \(size) entries")
        for e in entries {
            let entry = try Entry(parsing: e.bytes)
            IO.print("\(e.index)\t\(entry.recordedAt)\t\(entry.statement.kind)\t\(entry.statement.signer)\t\(e.leafHash.hex)")
        }
    }
}

struct ProveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove", abstract: "Print RFC 6962 inclusion and consistency proofs.",
        subcommands: [ProveInclusion.self, ProveConsistency.self])
}

/// The size a proof refers to by default: the latest signed checkpoint's, else the whole tree.
private func defaultSize(_ l: Ledger) throws -> (UInt64, [UInt8]?) {
    if let cp = try l.store.latestCheckpoint() { return (cp.size, cp.note) }
    return (try l.size(), nil)
}

struct ProveInclusion: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "inclusion", abstract: "Prove that entry N is in the tree of size M (default: the latest checkpoint's size).")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The entry index.") var index: UInt64
    @Option(help: "The tree size.") var size: UInt64?
    @Flag(help: "Print {\"leafIndex\",\"treeSize\",\"leafHash\",\"root\",\"proof\",\"checkpoint\"} as JSON.") var json = false

    func execute() throws {
        let n: UInt64, e: StoredEntry, proof: [Hash], root: Hash, cpNote: [UInt8]?
        if let remote = try ledger.remote() {
            // Against the server's verified checkpoint; another size's root is proved consistent with it.
            let cp = remote.checkpoint.checkpoint
            n = size ?? cp.size
            guard n <= cp.size else { throw CLIError(code: CLIError.data, message: "--size \(n) is larger than the server's checkpoint (\(cp.size) entries)") }
            guard index < n else { throw CLIError(code: CLIError.data, message: "--index \(index) is not below the tree size \(n)") }
            guard let stored = try remote.client.entries(from: index, count: 1).first else { throw CLIError(code: CLIError.data, message: "no entry \(index)") }
            let p = try remote.client.inclusionProof(index: index, size: n)
            if n != cp.size { try remote.verifyRoot(p.root, size: n) }
            (e, proof, root) = (stored, p.proof, n == cp.size ? cp.root : p.root)
            cpNote = n == cp.size ? Array(remote.checkpoint.note.encoded.utf8) : nil
        } else {
            let l = try ledger.open()
            let (defSize, note) = try defaultSize(l)
            n = size ?? defSize
            let current = try l.size()
            guard n <= current else { throw CLIError(code: CLIError.data, message: "--size \(n) is larger than the ledger (\(current) entries)") }
            guard index < n else { throw CLIError(code: CLIError.data, message: "--index \(index) is not below the tree size \(n)") }
            guard let stored = try l.store.entry(at: index) else { throw CLIError(code: CLIError.data, message: "no entry \(index)") }
            (e, proof, root) = (stored, try l.inclusionProof(index: index, size: n), try l.root(size: n))
            cpNote = (size == nil || size == defSize) ? note : nil
        }
        try RFC6962.verifyInclusion(leafHash: e.leafHash, index: index, size: n, proof: proof, root: root)
        if json {
            var o: [String: JSONValue] = [
                "leafIndex": .number(Double(index)), "treeSize": .number(Double(n)),
                "leafHash": .string(Base64.encode(e.leafHash.bytes)), "root": .string(Base64.encode(root.bytes)),
                "proof": .array(proof.map { .string(Base64.encode($0.bytes)) }),
            ]
            if let cpNote { o["checkpoint"] = .string(String(decoding: cpNote, as: UTF8.self)) }
            IO.printJSON(.object(o))
        } else {
            IO.print("entry \(index) in tree of size \(n)")
            IO.print("leaf hash: \(e.leafHash.hex)")
            IO.print("root:      \(root.hex)")
            for (i, h) in proof.enumerated() { IO.print("proof[\(i)]: \(h.hex)") }
        }
    }
}

struct ProveConsistency: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "consistency", abstract: "Prove that the tree of size N is a prefix of the tree of size M (default: latest checkpoint's size).")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The older tree size.") var from: UInt64
    @Option(help: "The newer tree size.") var to: UInt64?
    @Flag(help: "Print {\"size1\",\"size2\",\"root1\",\"root2\",\"proof\"} as JSON.") var json = false

    func execute() throws {
        let m: UInt64, proof: [Hash], r1: Hash, r2: Hash
        if let remote = try ledger.remote() {
            // The newer root is the verified checkpoint's (or proved consistent with it); the proof then
            // proves the older root the server claims.
            let cp = remote.checkpoint.checkpoint
            m = to ?? cp.size
            guard m <= cp.size else { throw CLIError(code: CLIError.data, message: "--to \(m) is larger than the server's checkpoint (\(cp.size) entries)") }
            guard from >= 1, from <= m else { throw CLIError(code: CLIError.data, message: "--from must be between 1 and \(m), got \(from)") }
            let p = try remote.client.consistencyProof(from: from, to: m)
            if m != cp.size { try remote.verifyRoot(p.root2, size: m) }
            (proof, r1, r2) = (p.proof, p.root1, m == cp.size ? cp.root : p.root2)
        } else {
            let l = try ledger.open()
            let (defSize, _) = try defaultSize(l)
            m = to ?? defSize
            let current = try l.size()
            guard m <= current else { throw CLIError(code: CLIError.data, message: "--to \(m) is larger than the ledger (\(current) entries)") }
            guard from >= 1, from <= m else { throw CLIError(code: CLIError.data, message: "--from must be between 1 and \(m), got \(from)") }
            (proof, r1, r2) = (try l.consistencyProof(from: from, to: m), try l.root(size: from), try l.root(size: m))
        }
        try RFC6962.verifyConsistency(oldSize: from, newSize: m, oldRoot: r1, newRoot: r2, proof: proof)
        if json {
            IO.printJSON(.object([
                "size1": .number(Double(from)), "size2": .number(Double(m)),
                "root1": .string(Base64.encode(r1.bytes)), "root2": .string(Base64.encode(r2.bytes)),
                "proof": .array(proof.map { .string(Base64.encode($0.bytes)) }),
            ]))
        } else {
            IO.print("tree \(from) → \(m)")
            IO.print("root1: \(r1.hex)")
            IO.print("root2: \(r2.hex)")
            for (i, h) in proof.enumerated() { IO.print("proof[\(i)]: \(h.hex)") }
        }
    }
}

struct VerifyCheckpointCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-checkpoint", abstract: "Verify a checkpoint note against trusted keys (exit 1 if it does not verify).")

    @Argument(help: "The checkpoint note file, or - for standard input.") var file: String
    @Option(name: .customLong("trust"), parsing: .upToNextOption, help: "Trusted KEYREFs (verifier key strings or key files).") var trust: [String] = []
    @Option(help: "A trust policy file: the log key and a quorum of witnesses whose cosignatures are required.") var policy: String?
    @Flag(help: "Print {\"verified\",\"origin\",\"size\",\"root\",\"signers\"} as JSON.") var json = false

    func validate() throws {
        guard !trust.isEmpty || policy != nil else { throw ValidationError("pass at least one --trust KEYREF, or --policy FILE") }
    }

    func execute() throws {
        let bytes = try IO.read(file, limit: 1 << 20)
        if let policy { return try checkPolicy(bytes, policy) }
        let keys = try trust.map(Keys.resolve)
        let v = try Checkpoint.verify(bytes, trusting: keys)
        if json {
            IO.printJSON(.object([
                "verified": .bool(true), "origin": .string(v.checkpoint.origin), "size": .number(Double(v.checkpoint.size)),
                "root": .string(Base64.encode(v.checkpoint.root.bytes)),
                "signers": .array(v.verifiedBy.map { .string($0.description) }),
            ]))
        } else {
            IO.print("checkpoint verified: origin \(v.checkpoint.origin), size \(v.checkpoint.size), root \(v.checkpoint.root.hex)")
            for k in v.verifiedBy { IO.print("signed by \(k)") }
        }
    }
}

extension VerifyCheckpointCommand {
    /// Verifies the log signature and the witness quorum of a trust policy; exit 1 naming missing witnesses.
    func checkPolicy(_ bytes: [UInt8], _ path: String) throws {
        let p: TrustPolicy
        do { p = try TrustPolicy(json: try JSONValue.parse(try IO.read(path, limit: 1 << 20))) } catch let e as WitnessError {
            throw CLIError(code: CLIError.data, message: "\(path): \(e)")
        }
        let v = try p.check(bytes)
        let missing = v.missing.map { "\($0) (\(p.witnesses[$0]!.name))" }
        if json {
            IO.printJSON(.object([
                "verified": .bool(v.satisfied), "origin": .string(v.checkpoint.origin), "size": .number(Double(v.checkpoint.size)),
                "root": .string(Base64.encode(v.checkpoint.root.bytes)), "quorum": .number(Double(v.quorum)),
                "cosignedBy": .array(v.cosignedBy.map { .string($0) }), "missing": .array(v.missing.map { .string($0) }),
            ]))
        } else if v.satisfied {
            IO.print("checkpoint verified: origin \(v.checkpoint.origin), size \(v.checkpoint.size), cosigned by \(v.cosignedBy.joined(separator: ", ")) (quorum \(v.quorum))")
        }
        guard v.satisfied else {
            throw CLIError(code: CLIError.verification, message: "checkpoint has \(v.cosignedBy.count) of the \(v.quorum) required witness cosignatures; missing: \(missing.joined(separator: ", "))")
        }
    }
}

struct BackupCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Write a consistent online copy of the ledger to OUT (SQLite online backup).")

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "Where to write the copy (must not exist).") var out: String

    func execute() throws {
        if let remote = try ledger.remote() {
            // A copy of a served ledger is a verified replica, made as `suyuan mirror` makes one.
            guard !FileManager.default.fileExists(atPath: out) else {
                throw CLIError(code: CLIError.cannotCreate, message: "\(out) already exists; choose a new file for the copy")
            }
            let r = try Mirror(client: remote.client, path: out, trust: [remote.operatorKey], batch: 8192).run()
            guard r.ok else { IO.print(r.human); throw ExitCode(CLIError.verification) }
            IO.print("backed up \(try SQLiteLedgerStore(path: out).tail().size) entries from \(remote.client.baseURL) to \(out), each verified")
            return
        }
        let store = try ledger.openStore()
        try IO.createExclusively(out)
        do { try store.backup(to: out) } catch {
            for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: out + s) }
            throw error
        }
        let copy = try SQLiteLedgerStore(path: out)
        IO.print("backed up \(try copy.tail().size) entries to \(out)")
    }
}

import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SuyuanClient
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore
import SuyuanTrace

/// A failure with the exit code it maps to and a one-line message for stderr.
struct CLIError: Error {
    let code: Int32
    let message: String

    static let verification: Int32 = 1
    static let usage: Int32 = 64
    static let data: Int32 = 65
    static let noInput: Int32 = 66
    static let unavailable: Int32 = 69
    static let cannotCreate: Int32 = 73
    static let io: Int32 = 74
    static let busy: Int32 = 75
    static let protocolError: Int32 = 76
    static let permission: Int32 = 77

    /// Maps any error from the libraries to an exit code and a message.
    static func from(_ error: any Error) -> CLIError {
        switch error {
        case let e as CLIError: return e
        case let e as LedgerError:
            return CLIError(code: e.isVerificationFailure ? verification : data, message: e.description)
        case let e as KeyFile.Error:
            switch e {
            case .wrongPassphrase: return CLIError(code: permission, message: e.description)
            default: return CLIError(code: data, message: e.description)
            }
        case let e as NoteError: return CLIError(code: verification, message: e.description)
        case let e as MerkleError: return CLIError(code: verification, message: e.description)
        case let e as SQLiteLedgerStore.OpenError:
            if case .missing = e { return CLIError(code: noInput, message: e.description) }
            return CLIError(code: data, message: e.description)
        case let e where SQLiteLedgerStore.classify(e) != nil:
            let (kind, msg) = SQLiteLedgerStore.classify(e)!
            switch kind {
            case .busy: return CLIError(code: busy, message: "the ledger is locked by another process (waited \(Int(LedgerOptions.lockTimeout)) s); try again later (\(msg))")
            case .readOnly: return CLIError(code: io, message: "the ledger file or its file system is read-only; nothing was written (\(msg))")
            case .diskFull: return CLIError(code: io, message: "disk full while writing the ledger; nothing was appended (\(msg))")
            case .corrupt: return CLIError(code: data, message: "the ledger file is corrupt (\(msg)); restore it from a backup")
            case .fileSizeLimit: return CLIError(code: io, message: "the ledger reached this process's file size limit (ulimit -f); nothing was appended (\(msg))")
            case .other: return CLIError(code: io, message: "ledger storage error: \(msg)")
            }
        case let e as JSONError: return CLIError(code: data, message: "malformed JSON: \(e)")
        case let e as ClientError:
            switch e {
            // A server's refusal of a statement maps as the same refusal of a local append would.
            case .http(_, 403, _), .http(_, 422, _): return CLIError(code: verification, message: e.description)
            case .http(_, 400, _), .http(_, 409, _), .http(_, 413, _): return CLIError(code: data, message: e.description)
            case .unreachable, .http: return CLIError(code: unavailable, message: e.description)
            case .tooLarge, .malformed: return CLIError(code: protocolError, message: e.description)
            case .invalidURL: return CLIError(code: data, message: e.description)
            }
        case let e as HistoryError: return CLIError(code: verification, message: "\(e)")
        default: return CLIError(code: io, message: "\(error)")
        }
    }
}

/// A subcommand whose failures become one stderr line and a documented exit code.
protocol SuyuanCommand: ParsableCommand {
    func execute() throws
}

extension SuyuanCommand {
    func run() throws {
        do { try execute() } catch let e as ExitCode { throw e } catch let e as ValidationError { throw e } catch {
            let c = CLIError.from(error)
            FileHandle.standardError.write(Data("suyuan: \(c.message)\n".utf8))
            throw ExitCode(c.code)
        }
    }
}

/// `--ledger PATH`, defaulting to `$SUYUAN_LEDGER`, else `./suyuan.ledger`; or `--server URL`.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: "The ledger file (default: $SUYUAN_LEDGER, else ./suyuan.ledger).")
    var ledger: String?
    @Option(name: .long, help: ArgumentHelp(
        "Use the ledger a `suyuan serve` at URL serves, instead of a file; everything it answers is verified.",
        discussion: "Checkpoints are verified with the operator key (--server-key, else the one pinned at first contact in $SUYUAN_HOME/servers) and proved consistent with the last one verified; entries are proved included."))
    var server: String?
    @Option(name: .customLong("server-key"), help: "With --server: the operator key (KEYREF) the server's checkpoints must be signed with.")
    var serverKey: String?

    var path: String { ledger ?? ProcessInfo.processInfo.environment["SUYUAN_LEDGER"] ?? "suyuan.ledger" }

    func validate() throws {
        if server != nil && ledger != nil { throw ValidationError("give either --ledger or --server, not both") }
        if serverKey != nil && server == nil { throw ValidationError("--server-key goes with --server") }
    }

    /// The server named with `--server`, connected and its checkpoint verified; nil without `--server`.
    func remote() throws -> RemoteLedger? {
        guard let server else { return nil }
        return try RemoteLedger(url: server, trust: try serverKey.map { try Keys.resolve($0) })
    }

    /// Opens the store of an existing ledger file; refused with `--server` (this command needs the file).
    func openStore(pageCacheKiB: Int = SQLiteLedgerStore.defaultPageCacheKiB) throws -> SQLiteLedgerStore {
        if let server {
            throw CLIError(code: CLIError.usage, message: "this command works on a ledger file, not with --server \(server); keep a verified replica with `suyuan mirror --from \(server)` and run it on that")
        }
        return try SQLiteLedgerStore(path: path, lockTimeout: LedgerOptions.lockTimeout, pageCacheKiB: pageCacheKiB)
    }

    /// How long a command waits for another process's lock on the ledger: `$SUYUAN_LOCK_TIMEOUT` seconds
    /// (0–3600), else 30.
    static var lockTimeout: Double {
        guard let s = ProcessInfo.processInfo.environment["SUYUAN_LOCK_TIMEOUT"], let v = Double(s), v >= 0, v <= 3600 else { return 30 }
        return v
    }

    /// Opens an existing ledger.
    func open(pageCacheKiB: Int = SQLiteLedgerStore.defaultPageCacheKiB) throws -> Ledger {
        try Ledger(opening: try openStore(pageCacheKiB: pageCacheKiB), rules: .suyuan)
    }
}

/// Where a secret key's passphrase comes from: `--passphrase-file`, else `$SUYUAN_PASSPHRASE`.
struct PassphraseOptions: ParsableArguments {
    @Option(name: .long, help: "Read the key passphrase from this file (default: $SUYUAN_PASSPHRASE). Never pass it as an argument.")
    var passphraseFile: String?

    /// The passphrase bytes, or nil when none was provided.
    func passphrase() throws -> [UInt8]? {
        if let f = passphraseFile {
            guard var d = FileManager.default.contents(atPath: f) else {
                throw CLIError(code: CLIError.noInput, message: "cannot read passphrase file \(f)")
            }
            if d.last == 0x0a { d.removeLast(); if d.last == 0x0d { d.removeLast() } }
            return [UInt8](d)
        }
        if let env = ProcessInfo.processInfo.environment["SUYUAN_PASSPHRASE"] { return Array(env.utf8) }
        return nil
    }

    func required() throws -> [UInt8] {
        guard let p = try passphrase(), !p.isEmpty else {
            throw ValidationError("no passphrase: set SUYUAN_PASSPHRASE or pass --passphrase-file FILE")
        }
        return p
    }

    /// The operator's passphrase: `$SUYUAN_OPERATOR_PASSPHRASE` if set, else the same as the user's.
    func operatorPassphrase() throws -> [UInt8]? {
        if let env = ProcessInfo.processInfo.environment["SUYUAN_OPERATOR_PASSPHRASE"] { return Array(env.utf8) }
        return try passphrase()
    }
}

/// Times on the command line: RFC 3339 UTC (`2026-03-01T08:00:00Z`) or a date (`2026-03-01`, midnight UTC).
enum TimeArgument {
    static func parse(_ text: String, _ flag: String) throws -> Timestamp {
        if let t = Timestamp(parsing: text) { return t }
        if text.utf8.count == 10, let t = Timestamp(parsing: text + "T00:00:00Z") { return t }
        throw ValidationError("\(flag) \"\(text)\" is not a time; use RFC 3339 UTC like 2026-03-01T08:00:00Z or a date like 2026-03-01")
    }
}

/// Reads and decrypts secret key files, refusing files other users can read.
enum Keys {
    static func readKeyFile(_ path: String) throws -> KeyFile {
        let attrs: [FileAttributeKey: Any]
        do { attrs = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw CLIError(code: CLIError.noInput, message: "no key file at \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError(code: CLIError.noInput, message: "cannot read key file \(path)")
        }
        let file: KeyFile
        do { file = try KeyFile.parse([UInt8](data)) } catch {
            throw CLIError(code: CLIError.data, message: "\(path): \(error)")
        }
        if let mode = (attrs[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw CLIError(code: CLIError.permission, message: "key file \(path) is readable by other users (mode \(String(mode, radix: 8))); run chmod 600 \(path)")
        }
        return file
    }

    static func open(_ path: String, passphrase: [UInt8]) throws -> (KeyFile, SecretKey) {
        let f = try readKeyFile(path)
        do { return (f, try f.open(passphrase: passphrase)) } catch let e as KeyFile.Error {
            throw CLIError(code: e == .wrongPassphrase ? CLIError.permission : CLIError.data, message: "\(path): \(e)")
        }
    }

    static func verifierKey(of file: KeyFile) throws -> VerifierKey {
        try VerifierKey(name: file.name, publicKey: file.publicKeyValue!)
    }

    /// A KEYREF: a verifier key string, a key file (its public part), or a file holding a verifier key string.
    static func resolve(_ ref: String) throws -> VerifierKey {
        if let k = try? VerifierKey(parsing: ref) { return k }
        guard let data = FileManager.default.contents(atPath: ref) else {
            throw CLIError(code: CLIError.data, message: "\(ref) is neither a verifier key (name+hex8+base64) nor a readable key file")
        }
        if let f = try? KeyFile.parse([UInt8](data)) { return try verifierKey(of: f) }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let k = try? VerifierKey(parsing: text) { return k }
        throw CLIError(code: CLIError.data, message: "\(ref) holds neither a Suyuan key file nor a verifier key")
    }
}

/// Reading input files and writing output.
enum IO {
    /// Reads FILE, or standard input for `-`; refuses more than `limit` bytes.
    static func read(_ path: String, limit: Int = 16 << 20) throws -> [UInt8] {
        // Straight into the array: a file over `limit` is refused by its size before it is read, and
        // a pipe once it has given more than `limit` bytes.
        let stdin = path == "-"
        let fd = stdin ? STDIN_FILENO : Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError(code: CLIError.noInput, message: "cannot read \(path)") }
        defer { if !stdin { close(fd) } }
        let tooLarge = CLIError(code: CLIError.data, message: "\(path) is larger than \(limit) bytes")
        var info = stat()
        var chunk = 1 << 16
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
            guard info.st_size <= limit else { throw tooLarge }
            // The whole file and a byte more to see its end (files that report no size, such as
            // those of /proc, in 64 KiB reads).
            chunk = max(Int(info.st_size) + 1, 1 << 16)
        }
        var out: [UInt8] = []
        while true {
            let want = min(chunk, limit + 1 - out.count)
            var failure: Int32 = 0
            let part = [UInt8](unsafeUninitializedCapacity: want) { buffer, count in
                count = 0
                while count < want {
                    let n = Glibc.read(fd, buffer.baseAddress! + count, want - count)
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 { failure = errno; return }
                    if n == 0 { return }
                    count += n
                }
            }
            if failure != 0 { throw CLIError(code: CLIError.noInput, message: "cannot read \(path): \(String(cString: strerror(failure)))") }
            if out.isEmpty { out = part } else { out += part }
            if out.count > limit { throw tooLarge }
            if part.count < want { return out }
        }
    }

    /// Writes `bytes` to `path` atomically (a private temporary file, fsync, then rename — or, when
    /// `overwrite` is false, link, which fails if the path exists even when another process races us).
    static func write(_ bytes: [UInt8], to path: String, mode: Int = 0o644, overwrite: Bool = true) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())-\(Hex.encode(SecureRandom.bytes(4)))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode_t(mode))
        guard fd >= 0 else { throw cannotCreate(path) }
        let ok = bytes.withUnsafeBytes { buf -> Bool in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { return false }
                off += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        defer { unlink(tmp) }
        guard ok else { throw CLIError(code: CLIError.io, message: "cannot write \(path): \(String(cString: strerror(errno)))") }
        if overwrite {
            guard rename(tmp, path) == 0 else { throw cannotCreate(path) }
        } else {
            guard link(tmp, path) == 0 else { throw cannotCreate(path) }
        }
    }

    /// Creates an empty file that did not exist (O_EXCL), so two processes can never both think they made it.
    static func createExclusively(_ path: String, mode: Int = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode_t(mode))
        guard fd >= 0 else { throw cannotCreate(path) }
        close(fd)
    }

    private static func cannotCreate(_ path: String) -> CLIError {
        let e = errno
        if e == EEXIST { return CLIError(code: CLIError.cannotCreate, message: "\(path) already exists; choose another path or remove it first") }
        return CLIError(code: CLIError.cannotCreate, message: "cannot create \(path): \(String(cString: strerror(e)))")
    }

    static func print(_ s: String) { FileHandle.standardOutput.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8)) }
    static func note(_ s: String) { FileHandle.standardError.write(Data("suyuan: \(s)\n".utf8)) }
    static func printJSON(_ v: JSONValue) { FileHandle.standardOutput.write(Data(v.prettyPrintedBytes(terminator: [0x0A]))) }
}

/// After an append: sign a checkpoint with the operator key named at init, when it is at hand.
enum AutoCheckpoint {
    static func sign(_ ledger: Ledger, _ pass: PassphraseOptions) -> [UInt8]? {
        guard let signer = operatorSigner(ledger, pass, why: "no checkpoint signed") else { return nil }
        do {
            return try ledger.checkpoint(signer: signer).note
        } catch {
            IO.note("no checkpoint signed (\(CLIError.from(error).message)); run `suyuan checkpoint --key FILE`")
            return nil
        }
    }

    /// The operator's checkpoint signer: the key file named at init, opened with the operator
    /// passphrase; nil (after a note on stderr starting with `why`) when it is not at hand.
    static func operatorSigner(_ ledger: Ledger, _ pass: PassphraseOptions, why: String) -> NoteSigner? {
        guard let store = ledger.store as? SQLiteLedgerStore,
              let path = try? store.setting("operator_key_path") else { return nil }
        guard let p = try? pass.operatorPassphrase(), !p.isEmpty else {
            IO.note("\(why): no passphrase for the operator key; run `suyuan checkpoint`")
            return nil
        }
        do {
            let (file, key) = try Keys.open(path, passphrase: p)
            return try NoteSigner(name: file.name, key: key)
        } catch {
            IO.note("\(why) (\(CLIError.from(error).message)); run `suyuan checkpoint --key FILE`")
            return nil
        }
    }

    /// Appends `statements`, all or none, to the ledger file (then signs a checkpoint when the operator
    /// key is at hand) or through `--server` (then proves each entry included in the server's new
    /// checkpoint); returns their indexes and leaf hashes and the checkpoint note, if any.
    /// `remote`: the server already connected to for this command, if any (not connected again).
    static func append(_ statements: [SignedStatement], to ledger: LedgerOptions, pass: PassphraseOptions, remote: RemoteLedger? = nil) throws
        -> (appended: [(index: UInt64, leafHash: Hash)], checkpoint: [UInt8]?) {
        if let remote = try remote ?? ledger.remote() {
            let r = try remote.append(statements)
            return (r.appended, r.checkpoint)
        }
        let l = try ledger.open()
        let appended = try l.appendAll(statements).map { (index: $0.index, leafHash: $0.leafHash) }
        return (appended, sign(l, pass))
    }

    /// Appends one signed statement (see `append`) and prints `{"index","leafHash","checkpoint"}` (or
    /// the same for people).
    static func appendAndReport(_ signed: SignedStatement, to ledger: LedgerOptions, pass: PassphraseOptions, json: Bool,
                                remote: RemoteLedger? = nil) throws {
        let (appended, cp) = try append([signed], to: ledger, pass: pass, remote: remote)
        let a = appended[0]
        let note = cp.map { String(decoding: $0, as: UTF8.self) }
        if json {
            var o: [String: JSONValue] = ["index": .number(Double(a.index)), "leafHash": .string(a.leafHash.hex)]
            if let note { o["checkpoint"] = .string(note) }
            IO.printJSON(.object(o))
        } else {
            IO.print("appended entry \(a.index) (\(signed.statement.kind)), leaf hash \(a.leafHash.hex)")
            if let note { IO.print(note) }
        }
    }
}

import Foundation
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The harness for the CLI tests: finds the built `suyuan` binary, runs it in a fresh temporary directory with
// an explicit environment, and captures its exit code, stdout and stderr.

/// Errors of the harness itself (not of the CLI under test).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

// MARK: - Locating the binary

enum Binary {
    /// The `suyuan` executable: `$SUYUAN_CLI` if set; next to the test bundle (the build products directory);
    /// else `.build-cli/debug/suyuan` or `.build/debug/suyuan` under the package root.
    static let path: String? = {
        let fm = FileManager.default
        func ok(_ p: String) -> Bool { fm.isExecutableFile(atPath: p) }
        if let p = ProcessInfo.processInfo.environment["SUYUAN_CLI"], ok(p) { return p }
        var candidates: [URL] = []
        let arg0 = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath()
        candidates.append(arg0.deletingLastPathComponent())
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        // macOS: .../debug/SuyuanPackageTests.xctest/Contents/MacOS/SuyuanPackageTests
        var up = arg0
        for _ in 0..<4 {
            up = up.deletingLastPathComponent()
            if up.pathExtension == "xctest" { candidates.append(up.deletingLastPathComponent()) }
        }
        for dir in candidates {
            let p = dir.appendingPathComponent("suyuan").path
            if ok(p) { return p }
        }
        // Walk up from this file to the package root.
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                for b in [".build-cli", ".build"] {
                    let p = dir.appendingPathComponent(b).appendingPathComponent("debug/suyuan").path
                    if ok(p) { return p }
                }
                break
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    static func get() throws -> String {
        guard let p = path else {
            throw HarnessError("cannot find the built `suyuan` binary next to \(CommandLine.arguments[0]) or in .build/debug; build it first or set SUYUAN_CLI")
        }
        return p
    }
}

// MARK: - Running

/// What a finished `suyuan` process left behind.
struct RunResult: Sendable, CustomStringConvertible {
    let args: [String]
    let status: Int32
    let stdoutData: Data
    let stderrData: Data

    var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    var stderr: String { String(decoding: stderrData, as: UTF8.self) }
    /// stdout split into lines (without the final empty one).
    var lines: [String] {
        var l = stdout.components(separatedBy: "\n")
        if l.last == "" { l.removeLast() }
        return l
    }

    var description: String {
        "`suyuan \(args.joined(separator: " "))` → exit \(status)\n--- stdout:\n\(stdout.prefix(3000))\n--- stderr:\n\(stderr.prefix(3000))"
    }

    /// stdout parsed as one JSON document.
    func json() throws -> JSONValue {
        do { return try JSONValue.parse([UInt8](stdoutData)) } catch {
            throw HarnessError("stdout of `suyuan \(args.joined(separator: " "))` is not JSON (\(error)): \(stdout.prefix(500))")
        }
    }
}

/// A started process.
final class Running: @unchecked Sendable {
    let process: Process
    let args: [String]
    let outURL: URL
    let errURL: URL
    fileprivate let exit: ExitSignal

    fileprivate init(process: Process, args: [String], outURL: URL, errURL: URL, exit: ExitSignal) {
        self.process = process; self.args = args; self.outURL = outURL; self.errURL = errURL; self.exit = exit
    }

    /// Waits for the process without blocking a thread.
    func wait() async -> RunResult {
        await exit.wait()
        return collect()
    }

    /// Waits for the process, blocking the calling thread (for the one-time fixture set-up).
    func waitBlocking() -> RunResult {
        process.waitUntilExit()
        return collect()
    }

    private func collect() -> RunResult {
        process.waitUntilExit()  // returns at once: the process has exited
        let out = (try? Data(contentsOf: outURL)) ?? Data()
        let err = (try? Data(contentsOf: errURL)) ?? Data()
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
        let status: Int32 = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        let result = RunResult(args: args, status: status, stdoutData: out, stderrData: err)
        for leak in SecretWatch.leaks(in: result) { Issue.record("a secret (\(leak)) appears in the output of `suyuan \(args.joined(separator: " "))`") }
        return result
    }
}

/// Every command any test runs is checked: neither the fixture passphrase nor any fixture secret key
/// (its seed in hex or base64) may appear on stdout or stderr.
enum SecretWatch {
    private static let secrets = Mutex<[(label: String, text: String)]>([])

    static func watch(_ label: String, _ text: String) { secrets.withLock { $0.append((label, text)) } }

    static func watch(secretKey sk: SecretKey, name: String) {
        let seed = sk.seedBytes()
        watch("\(name) seed (hex)", Hex.encode(seed))
        watch("\(name) seed (base64)", String(Base64.encode(seed).prefix(40)))
    }

    /// The labels of the watched secrets `r` shows.
    static func leaks(in r: RunResult) -> [String] {
        let out = r.stdout + "\n" + r.stderr
        return secrets.withLock { $0.filter { out.contains($0.text) }.map(\.label) }
    }
}

/// Set once when a process exits; resumes whoever waits for it.
private final class ExitSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var onExit: [@Sendable () -> Void] = []

    func signal() {
        lock.lock()
        done = true
        let w = waiters, hooks = onExit
        waiters = []; onExit = []
        lock.unlock()
        for c in w { c.resume() }
        for h in hooks { h() }
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if done { lock.unlock(); c.resume() } else { waiters.append(c); lock.unlock() }
        }
    }

    /// Runs `hook` when the process exits (at once if it already has).
    func whenDone(_ hook: @escaping @Sendable () -> Void) {
        lock.lock()
        if done { lock.unlock(); hook() } else { onExit.append(hook); lock.unlock() }
    }
}

/// Limits how many `suyuan` processes the tests run at once (each may take 64 MiB and a core for Argon2id);
/// tests that need processes to run simultaneously start them with `Sandbox.startNow`, outside the limit.
actor ProcessSlots {
    static let shared = ProcessSlots(limit: max(2, ProcessInfo.processInfo.activeProcessorCount))
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { available = limit }

    func acquire() async {
        if available > 0 { available -= 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { available += 1 } else { waiting.removeFirst().resume() }
    }
}

/// Starts `suyuan args` in `cwd` with the inherited environment minus every `SUYUAN_*` variable, plus `env`
/// (a nil value removes the variable). stdin is `stdin` or /dev/null. Killed after `timeout` seconds.
///
/// With `launcher` (e.g. `["/usr/bin/setpriv", "--reuid=65534", …]`), runs `launcher + [suyuan] + args` instead.
func startSuyuan(_ args: [String], cwd: URL, env: [String: String?], stdin: Data? = nil, ioDir: URL, timeout: Double = 120,
                 launcher: [String] = []) throws -> Running {
    let binary = try Binary.get()
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SUYUAN_") }
    for (k, v) in env { environment[k] = v }

    let id = UUID().uuidString
    let outURL = ioDir.appendingPathComponent("\(id).out")
    let errURL = ioDir.appendingPathComponent("\(id).err")
    let fm = FileManager.default
    guard fm.createFile(atPath: outURL.path, contents: nil), fm.createFile(atPath: errURL.path, contents: nil),
          let outH = FileHandle(forWritingAtPath: outURL.path), let errH = FileHandle(forWritingAtPath: errURL.path)
    else { throw HarnessError("cannot create capture files in \(ioDir.path)") }

    let p = Process()
    if let first = launcher.first {
        p.executableURL = URL(fileURLWithPath: first)
        p.arguments = Array(launcher.dropFirst()) + [binary] + args
    } else {
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
    }
    p.currentDirectoryURL = cwd
    p.environment = environment
    p.standardOutput = outH
    p.standardError = errH
    var inH: FileHandle?
    if let stdin {
        let inURL = ioDir.appendingPathComponent("\(id).in")
        guard fm.createFile(atPath: inURL.path, contents: stdin), let h = FileHandle(forReadingAtPath: inURL.path) else {
            throw HarnessError("cannot create stdin file")
        }
        inH = h
        p.standardInput = h
    } else {
        p.standardInput = FileHandle.nullDevice
    }
    let exit = ExitSignal()
    p.terminationHandler = { _ in exit.signal() }
    try p.run()
    try? outH.close()
    try? errH.close()
    try? inH?.close()
    let box = ProcessBox(p)
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if box.p.isRunning { box.p.terminate() } }
    return Running(process: p, args: args, outURL: outURL, errURL: errURL, exit: exit)
}

private final class ProcessBox: @unchecked Sendable {
    let p: Process
    init(_ p: Process) { self.p = p }
}

// MARK: - Key fixture, generated once per test run

struct KeyInfo: Sendable {
    let name: String
    /// Absolute path of the encrypted key file (mode 0600, passphrase `Fixture.passphrase`).
    let path: String
    /// Its verifier key `name+hex8+base64`.
    let vkey: String
}

/// The operator, the three regulators and one stranger key, plus a ledger initialised with them; made once
/// in a temporary directory that is removed when the test process exits.
///
/// The key files are sealed in-process (`KeyFile.seal`, the code `key generate` uses) with the cheapest Argon2id
/// parameters the format accepts, so the hundreds of commands that open them stay fast on a small machine;
/// `key generate` itself, with its default (interactive) cost, is tested in `KeyCLITests`.
struct Fixture: Sendable {
    static let passphrase = "correct horse battery staple 馬"
    static let origin = "test.suyuan.example/ledger"

    let dir: URL
    let op: KeyInfo
    let gd: KeyInfo
    let hk: KeyInfo
    let mo: KeyInfo
    let stranger: KeyInfo
    /// A ledger made by `init` with op/gd/hk/mo; copy it, never use it in place.
    let baseLedger: String
    /// The checkpoint note `init` printed.
    let genesisCheckpoint: String

    private static let shared: Result<Fixture, any Error> = Result { try Fixture.make() }

    static func get() throws -> Fixture { try shared.get() }

    private static var dirPath: String { NSTemporaryDirectory() + "suyuan-cli-fixture-\(getpid())" }

    private static func make() throws -> Fixture {
        let fm = FileManager.default
        let dir = URL(fileURLWithPath: dirPath, isDirectory: true)
        try? fm.removeItem(at: dir)
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Fixture.dirPath) }
        let env: [String: String?] = ["SUYUAN_PASSPHRASE": passphrase]
        SecretWatch.watch("the passphrase", passphrase)
        let specs = [("op", "op.test.suyuan.example/operator"), ("gd", "gd.samr.example/regulator"),
                     ("hk", "hk.cfs.example/regulator"), ("mo", "mo.iam.example/regulator"), ("stranger", "stranger.example/key")]
        var keys: [KeyInfo] = []
        for (file, name) in specs {
            let sk = SecretKey.generate()
            SecretWatch.watch(secretKey: sk, name: file)
            // Argon2id with 1 pass over 1 MiB (the format's minimum is 1 pass over 8 KiB).
            let kf = try KeyFile.seal(sk, name: name, passphrase: Array(passphrase.utf8), opslimit: 1, memlimit: 1 << 20)
            let path = dir.appendingPathComponent("\(file).key").path
            guard fm.createFile(atPath: path, contents: Data(kf.encoded()), attributes: [.posixPermissions: 0o600]) else {
                throw HarnessError("cannot write fixture key \(path)")
            }
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            keys.append(KeyInfo(name: name, path: path, vkey: try VerifierKey(name: name, publicKey: sk.publicKey).description))
        }
        let ledger = dir.appendingPathComponent("base.ledger").path
        let r = try startSuyuan(["init", "--ledger", ledger, "--origin", origin, "--operator-key", keys[0].path,
                                 "--regulator", "GD=\(keys[1].path)", "--regulator", "HK=\(keys[2].path)",
                                 "--regulator", "MO=\(keys[3].path)"], cwd: dir, env: env, ioDir: dir).waitBlocking()
        guard r.status == 0 else { throw HarnessError("fixture init failed: \(r)") }
        guard !fm.fileExists(atPath: ledger + "-wal"), !fm.fileExists(atPath: ledger + "-shm") else {
            throw HarnessError("init left \(ledger)-wal/-shm behind")
        }
        return Fixture(dir: dir, op: keys[0], gd: keys[1], hk: keys[2], mo: keys[3], stranger: keys[4],
                       baseLedger: ledger, genesisCheckpoint: try checkpointNote(afterLinePrefix: "regulator MO:", in: r))
    }
}

/// The checkpoint note a command printed after the line starting with `prefix` (up to the end of stdout).
func checkpointNote(afterLinePrefix prefix: String, in r: RunResult) throws -> String {
    let lines = r.stdout.components(separatedBy: "\n")
    guard let i = lines.firstIndex(where: { $0.hasPrefix(prefix) }) else { throw HarnessError("no line \(prefix) in \(r)") }
    return lines[(i + 1)...].joined(separator: "\n")
}

// MARK: - Sandbox: one fresh directory per test

final class Sandbox: @unchecked Sendable {
    let dir: URL
    let fixture: Fixture
    private let ioDir: URL
    /// Added to every command's environment (the passphrase by default).
    var env: [String: String?] = ["SUYUAN_PASSPHRASE": Fixture.passphrase]

    init() throws {
        fixture = try Fixture.get()
        let fm = FileManager.default
        let root = URL(fileURLWithPath: NSTemporaryDirectory() + "suyuan-cli-" + UUID().uuidString, isDirectory: true)
        dir = root.appendingPathComponent("work", isDirectory: true)
        ioDir = root.appendingPathComponent("io", isDirectory: true)
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        try fm.createDirectory(at: ioDir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }

    /// An absolute path in the sandbox.
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Writes a file in the sandbox; returns its absolute path.
    @discardableResult
    func write(_ name: String, _ text: String, mode: Int? = nil) throws -> String { try write(name, Data(text.utf8), mode: mode) }

    @discardableResult
    func write(_ name: String, _ data: Data, mode: Int? = nil) throws -> String {
        let p = path(name)
        guard FileManager.default.createFile(atPath: p, contents: data) else { throw HarnessError("cannot write \(p)") }
        if let mode { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: p) }
        return p
    }

    func read(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// Copies the fixture's initialised ledger into the sandbox (as `name`); returns its path.
    @discardableResult
    func copyBaseLedger(_ name: String = "test.ledger") throws -> String {
        let p = path(name)
        try FileManager.default.copyItem(atPath: fixture.baseLedger, toPath: p)
        return p
    }

    /// Starts `suyuan args` at once, outside the process limit (for tests that need processes running together).
    func startNow(_ args: [String], env extra: [String: String?] = [:], stdin: Data? = nil, cwd: String? = nil,
                  launcher: [String] = []) throws -> Running {
        try startSuyuan(args, cwd: cwd.map { dir.appendingPathComponent($0, isDirectory: true) } ?? dir,
                        env: env.merging(extra) { $1 }, stdin: stdin, ioDir: ioDir, launcher: launcher)
    }

    /// Runs `suyuan args` to completion.
    @discardableResult
    /// Every run also checks that the fixture passphrase appears in neither stdout nor stderr.
    func run(_ args: [String], env extra: [String: String?] = [:], stdin: Data? = nil, cwd: String? = nil,
             launcher: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) async throws -> RunResult {
        await ProcessSlots.shared.acquire()
        let r: Running
        do { r = try startNow(args, env: extra, stdin: stdin, cwd: cwd, launcher: launcher) } catch {
            await ProcessSlots.shared.release()
            throw error
        }
        let result = await r.wait()
        await ProcessSlots.shared.release()
        #expect(!result.stdout.contains(Fixture.passphrase) && !result.stderr.contains(Fixture.passphrase),
                "the passphrase was printed: \(result)", sourceLocation: sourceLocation)
        return result
    }

    /// Runs and requires exit 0.
    @discardableResult
    func ok(_ args: [String], env extra: [String: String?] = [:], stdin: Data? = nil, cwd: String? = nil,
            sourceLocation: SourceLocation = #_sourceLocation) async throws -> RunResult {
        let r = try await run(args, env: extra, stdin: stdin, cwd: cwd, sourceLocation: sourceLocation)
        guard r.status == 0 else {
            Issue.record("expected exit 0: \(r)", sourceLocation: sourceLocation)
            throw HarnessError("command failed: \(r)")
        }
        return r
    }

    /// A notice payload file with a distinct title; returns its path.
    @discardableResult
    func noticePayload(_ name: String, title: String, text: String = "Lot 42 of infant formula is recalled.") throws -> String {
        try write(name, #"{"level":"warning","title":"\#(title)","text":"\#(text)","categories":["infant-formula"]}"#)
    }

    /// `entries --json` of a ledger.
    func entries(_ ledger: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        try await ok(["entries", "--ledger", ledger, "--json"], sourceLocation: sourceLocation).json()
    }

    /// Appends a notice signed by `key`; returns the result (exit 0 required). Without `checkpoint`, the
    /// operator passphrase is withheld so no checkpoint is signed (saves an Argon2id key opening).
    @discardableResult
    func appendNotice(_ ledger: String, key: KeyInfo, title: String, checkpoint: Bool = false,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> RunResult {
        let payload = try noticePayload("notice-\(UUID().uuidString).json", title: title)
        return try await ok(["append", "--ledger", ledger, "--key", key.path, "--kind", "notice", "--payload", payload, "--json"],
                            env: checkpoint ? [:] : noCheckpoint, sourceLocation: sourceLocation)
    }
}

/// An environment addition that withholds the operator passphrase: appends then sign no checkpoint.
let noCheckpoint: [String: String?] = ["SUYUAN_OPERATOR_PASSPHRASE": ""]

// MARK: - Assertions

/// Expects a failure with `code` whose stderr is exactly one line `suyuan: …` containing each of `mentions`
/// (case-insensitively), and nothing on stdout.
func expectError(_ r: RunResult, _ code: Int32, mentions: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == code, "exit code: \(r)", sourceLocation: sourceLocation)
    let err = r.stderr
    #expect(err.hasPrefix("suyuan: "), "stderr must start with \"suyuan: \": \(r)", sourceLocation: sourceLocation)
    #expect(err.hasSuffix("\n") && !err.dropLast().contains("\n"), "stderr must be one line: \(r)", sourceLocation: sourceLocation)
    for m in mentions {
        #expect(err.lowercased().contains(m.lowercased()), "stderr should mention \"\(m)\": \(r)", sourceLocation: sourceLocation)
    }
    #expect(r.stdout.isEmpty, "stdout should be empty on failure: \(r)", sourceLocation: sourceLocation)
}

/// Expects a usage error (exit 64) whose stderr mentions each of `mentions`, and nothing on stdout.
/// (Usage errors come from swift-argument-parser, which prints `Error: …` plus a usage line.)
func expectUsageError(_ r: RunResult, mentions: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == 64, "exit code: \(r)", sourceLocation: sourceLocation)
    for m in mentions {
        #expect(r.stderr.lowercased().contains(m.lowercased()), "stderr should mention \"\(m)\": \(r)", sourceLocation: sourceLocation)
    }
    #expect(r.stdout.isEmpty, "stdout should be empty on a usage error: \(r)", sourceLocation: sourceLocation)
}

/// The state of a ledger file and its SQLite side files.
struct FileSnapshot: Equatable {
    let data: Data?
    let wal: Bool
    let shm: Bool

    init(_ path: String) {
        data = FileManager.default.contents(atPath: path)
        wal = FileManager.default.fileExists(atPath: path + "-wal")
        shm = FileManager.default.fileExists(atPath: path + "-shm")
    }

    var sha256: String { data.map { SHA256.hash([UInt8]($0)).hex } ?? "(missing)" }
}

/// Runs `body` and expects the file at `path` byte-for-byte unchanged, with no -wal/-shm files before or
/// after. When a -wal file is left, compares `entries --json` too, so a logical change is reported either way.
func expectUnchanged(_ path: String, in sb: Sandbox, sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () async throws -> Void) async throws {
    let before = FileSnapshot(path)
    #expect(!before.wal && !before.shm, "\(path) has -wal/-shm files before the command", sourceLocation: sourceLocation)
    let isLedger = before.data.map { $0.starts(with: Data("SQLite format 3\0".utf8)) } ?? false
    let dumpBefore = isLedger ? try? await sb.run(["entries", "--ledger", path, "--json"]).stdout : nil
    try await body()
    let after = FileSnapshot(path)
    #expect(after.data == before.data, "\(path) changed: sha256 \(before.sha256) → \(after.sha256)", sourceLocation: sourceLocation)
    #expect(!after.wal, "\(path)-wal exists after the command exited", sourceLocation: sourceLocation)
    #expect(!after.shm, "\(path)-shm exists after the command exited", sourceLocation: sourceLocation)
    if after.wal, let dumpBefore {
        let dumpAfter = try? await sb.run(["entries", "--ledger", path, "--json"]).stdout
        #expect(dumpAfter == dumpBefore, "\(path) changed logically (entries --json differs)", sourceLocation: sourceLocation)
    }
}

// MARK: - Small helpers

extension JSONValue {
    var int: Int? { integerValue.map { Int($0) } }
    var keys: Set<String> { Set(objectValue?.keys.map { $0 } ?? []) }
    /// Element `i` of an array.
    subscript(_ i: Int) -> JSONValue? {
        guard let a = arrayValue, a.indices.contains(i) else { return nil }
        return a[i]
    }
}

/// A signed checkpoint note's body: origin, size and root (base64), and its signature lines.
struct ParsedCheckpoint {
    let origin: String
    let size: Int
    let rootBase64: String
    let signatureLines: [String]

    init(_ note: String) throws {
        let parts = note.components(separatedBy: "\n\n")
        guard parts.count >= 2 else { throw HarnessError("not a signed note: \(note)") }
        let body = parts[0].components(separatedBy: "\n")
        guard body.count >= 3, let size = Int(body[1]) else { throw HarnessError("not a checkpoint body: \(parts[0])") }
        origin = body[0]
        self.size = size
        rootBase64 = body[2]
        signatureLines = parts[1...].joined(separator: "\n\n").components(separatedBy: "\n").filter { !$0.isEmpty }
    }
}

func isHex64(_ s: String?) -> Bool { s.map { $0.wholeMatch(of: #/[0-9a-f]{64}/#) != nil } ?? false }

/// The RFC 6962 leaf hash of a JSON value's canonical (JCS) bytes.
func leafHash(ofEntry entry: JSONValue) throws -> Hash {
    SHA256.hash(prefix: 0, try entry.canonical())
}

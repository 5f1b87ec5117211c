// Crash-safety harness: appends in a child process and kills it with SIGKILL at random moments, then checks
// that every acknowledged entry survived byte for byte, that nothing partial is left, that the ledger reopens
// without repair and audits clean, and that appending continues from the right index and previous hash.
//
// Usage: suyuan-crash [--trials N] [--seed S] [--max-delay-ms M] [--trials-per-ledger K] [--dir DIR] [--keep]
//                     [--self-test-early-ack]   (plants the bug the harness looks for: it must then report losses)
// Prints the trials run, kills, acknowledged entries and entries lost; exits 0 only if none was lost and
// every check passed. (`suyuan-crash --child LEDGER TAG` is the child process; not for direct use.)
import Foundation
import SuyuanAudit
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore

#if canImport(Glibc)
import Glibc
#endif

// MARK: Keys (throwaway, deterministic: this tool never touches real keys)

let operatorKey = SecretKey(seed: [UInt8](repeating: 0x11, count: 32))!
let regulatorKeys = (0..<3).map { SecretKey(seed: [UInt8](repeating: UInt8(0x21 + $0), count: 32))! }
let origin = "crash.suyuan.example/ledger"

func genesisStatement() throws -> SignedStatement {
    let g = try Genesis(origin: origin, operatorKey: VerifierKey(name: origin, publicKey: operatorKey.publicKey),
                        regulators: [.GD: VerifierKey(name: "gd.crash.example", publicKey: regulatorKeys[0].publicKey),
                                     .HK: VerifierKey(name: "hk.crash.example", publicKey: regulatorKeys[1].publicKey),
                                     .MO: VerifierKey(name: "mo.crash.example", publicKey: regulatorKeys[2].publicKey)])
    return try Statement(kind: Genesis.kind, payload: g.payload, signer: operatorKey.publicKey, time: systemClock()).sign(with: operatorKey)
}

func notice(_ title: String, _ k: Int) throws -> SignedStatement {
    let key = regulatorKeys[k % 3]
    let n = try Notice(level: k % 2 == 0 ? "notice" : "warning", title: title,
                       text: "Crash-safety notice \(title): " + String(repeating: "批次检验合格。", count: 1 + k % 40),
                       categories: ["infant-formula"])
    return try Statement(kind: Notice.kind, payload: n.payload, signer: key.publicKey, time: systemClock()).sign(with: key)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("suyuan-crash: \(message)\n".utf8))
    exit(1)
}

/// Writes all of `bytes` to `fd` with write(2): nothing is buffered in this process.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
        if n < 0 { if errno == EINTR { continue }; exit(3) }
        off += n
    }
}

// MARK: Child: append forever, acknowledge each entry on stdout only after `append` returned

/// The clock of a self-test child: fixed per batch, so it can predict its entries' leaf hashes.
final class FixedClock: @unchecked Sendable {
    var now = systemClock().truncatedToMilliseconds
}

func runChild(ledgerPath: String, tag: String) -> Never {
    // Self-test (`--self-test-early-ack`): acknowledge each batch *before* appending it — the bug this harness
    // exists to catch. A run in this mode must report lost entries.
    let early = ProcessInfo.processInfo.environment["SUYUAN_CRASH_EARLY_ACK"] == "1"
    let fixed = FixedClock()
    do {
        let store = try SQLiteLedgerStore(path: ledgerPath)
        let ledger = early ? try Ledger(opening: store, clock: { fixed.now }) : try Ledger(opening: store)
        let signer = try NoteSigner(name: origin, key: operatorKey)
        var k = 0
        var last: SignedStatement?
        while true {
            // Batches of 1–3 statements, all or nothing; now and then a repeat (refused, nothing written);
            // a checkpoint every few appends (a separate write transaction, also killed at random).
            let batch = try (0..<(1 + k % 3)).map { j in try notice("\(tag)-\(k)-\(j)", k + j) }
            k += 1
            if early {
                fixed.now = systemClock().truncatedToMilliseconds
                let tail = try store.tail()
                let at = max(fixed.now, tail.lastRecordedAt ?? fixed.now)
                var prev = tail.lastLeafHash, ack = ""
                for (j, s) in batch.enumerated() {
                    let e = Entry(index: tail.size + UInt64(j), prev: prev, recordedAt: at, signed: s)
                    ack += "\(e.index) \(e.leafHash.hex)\n"
                    prev = e.leafHash
                }
                writeAll(1, Array(ack.utf8))
                // As an asynchronous commit would: the acknowledgement goes out, the commit follows later.
                // The pause makes the window in which a kill loses acknowledged entries wide enough that
                // the self-test finds losses on every run, even on a loaded machine.
                usleep(40_000)
                _ = try ledger.appendAll(batch)
            } else {
                let appended = try ledger.appendAll(batch)
                var ack = ""
                for a in appended { ack += "\(a.index) \(a.leafHash.hex)\n" }
                writeAll(1, Array(ack.utf8))
            }
            if let l = last, k % 7 == 0 {
                do { _ = try ledger.appendAll([l]); fail("child: a repeated statement was appended") } catch LedgerError.duplicate {}
            }
            last = batch.first
            if k % 4 == 0 { try ledger.checkpoint(signer: signer) }
        }
    } catch {
        fail("child: \(error)")
    }
}

// MARK: Parent

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let args = Array(CommandLine.arguments.dropFirst())
if args.first == "--child" {
    guard args.count == 3 else { fail("usage: suyuan-crash --child LEDGER TAG") }
    runChild(ledgerPath: args[1], tag: args[2])
}

@MainActor func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name) else { return nil }
    guard i + 1 < args.count else { fail("\(name) needs a value") }
    return args[i + 1]
}
@MainActor func intOption(_ name: String, _ def: Int) -> Int {
    guard let s = option(name) else { return def }
    guard let v = Int(s), v >= 0 else { fail("\(name) must be a non-negative integer, got \(s)") }
    return v
}
if args.contains("--help") || args.contains("-h") {
    print("usage: suyuan-crash [--trials N] [--seed S] [--max-delay-ms M] [--trials-per-ledger K] [--dir DIR] [--keep] [--self-test-early-ack]")
    print("  --self-test-early-ack: children acknowledge before appending (a planted bug); the run must then report losses")
    exit(0)
}

let trials = intOption("--trials", 200)
let maxDelayMs = max(1, intOption("--max-delay-ms", 250))
let perLedger = max(1, intOption("--trials-per-ledger", 25))
let seed = UInt64(option("--seed") ?? "") ?? UInt64(UInt32.random(in: 0...UInt32.max))
let keep = args.contains("--keep")
let selfTest = args.contains("--self-test-early-ack")
if selfTest { setenv("SUYUAN_CRASH_EARLY_ACK", "1", 1) }
let dir = option("--dir") ?? NSTemporaryDirectory() + "suyuan-crash-\(getpid())"
try? FileManager.default.removeItem(atPath: dir)
do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch { fail("cannot create \(dir): \(error)") }
let selfPath = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
var rng = SplitMix64(state: seed)

print("suyuan-crash: \(trials) trials, kill 0–40 ms after start or 0–\(maxDelayMs) ms after the first acknowledgement, \(perLedger) trials per ledger, seed \(seed), in \(dir)")

/// Spawns the child with stdout on a pipe and stderr in a file; returns (pid, read end of the pipe).
func spawnChild(_ ledger: String, tag: String, stderrPath: String) -> (pid_t, Int32) {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { fail("pipe: \(String(cString: strerror(errno)))") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = [selfPath, "--child", ledger, tag]
    var cargs = argv.map { strdup($0) } + [nil]
    defer { for p in cargs { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, selfPath, &actions, nil, &cargs, environ)
    guard rc == 0 else { fail("posix_spawn: \(String(cString: strerror(rc)))") }
    close(fds[1])
    return (pid, fds[0])
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Reads from `fd` until `deadline` (or EOF when `deadline` is nil), appending to `buffer`.
func drain(_ fd: Int32, into buffer: inout [UInt8], until deadline: Double?) {
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        var timeout: Int32 = -1
        if let deadline {
            let left = deadline - now()
            if left <= 0 { return }
            timeout = Int32(max(0, (left * 1000).rounded(.up)))
            // Sub-millisecond tails: spin through poll with 0 so the kill lands at the chosen moment.
            if left < 0.001 { timeout = 0 }
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, timeout)
        if r < 0 { if errno == EINTR { continue }; fail("poll: \(String(cString: strerror(errno)))") }
        if r == 0 { if deadline == nil { continue }; if now() >= deadline! { return }; continue }
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 65536) }
        if n < 0 { if errno == EINTR { continue }; fail("read: \(String(cString: strerror(errno)))") }
        if n == 0 { return }  // EOF: the child is gone
        buffer += chunk[0..<n]
    }
}

var acknowledged: [UInt64: Hash] = [:]  // of the current ledger
var totalAcknowledged = 0  // by the children, each only after `append` returned
var parentAppends = 0
var trialsRun = 0
var kills = 0
var lost = 0
var committedUnacknowledged = 0
var failures: [String] = []
var ledgerPath = ""
var ledgersMade = 0
let started = now()

@MainActor func newLedger() {
    ledgersMade += 1
    ledgerPath = dir + "/crash-\(ledgersMade).ledger"
    acknowledged = [:]
    do {
        let store = try SQLiteLedgerStore(path: ledgerPath, create: true)
        let l = try Ledger.create(in: store, genesis: try genesisStatement())
        try l.checkpoint(signer: NoteSigner(name: origin, key: operatorKey))
        acknowledged[0] = try store.entry(at: 0)!.leafHash
    } catch { fail("cannot create \(ledgerPath): \(error)") }
}

/// Everything the ledger promises after a crash; returns problems found (empty when all hold).
@MainActor func verifyAfterCrash(trial: Int) -> [String] {
    var problems: [String] = []
    do {
        // Reopens as any command would: SQLite rolls the WAL forward or back itself; no repair step.
        let store = try SQLiteLedgerStore(path: ledgerPath)
        let ledger = try Ledger(opening: store)
        let tail = try store.tail()
        // Every acknowledged entry is there, byte for byte (its stored bytes hash to the acknowledged leaf hash).
        for (index, hash) in acknowledged.sorted(by: { $0.key < $1.key }) {
            guard let e = try store.entry(at: index) else {
                lost += 1
                problems.append("acknowledged entry \(index) is missing (size \(tail.size))")
                continue
            }
            if e.leafHash != hash || RFC6962.leafHash(e.bytes) != hash {
                lost += 1
                problems.append("acknowledged entry \(index) changed: leaf hash \(RFC6962.leafHash(e.bytes).hex), acknowledged \(hash.hex)")
            }
        }
        let maxAck = acknowledged.keys.max() ?? 0
        if tail.size > maxAck + 1 { committedUnacknowledged += Int(tail.size - maxAck - 1) }
        // No partial entry, an unbroken chain and tree, valid checkpoints: the whole-ledger audit.
        let report = try Auditor().run(store)
        if !report.ok { problems.append("audit: " + report.findings.prefix(3).map(\.description).joined(separator: "; ")) }
        if report.entries != tail.size { problems.append("audit read \(report.entries) entries, the tail says \(tail.size)") }
        // Appending continues at the right index with the right previous hash.
        let s = try notice("parent-\(trial)", trial)
        let a = try ledger.appendAll([s])[0]
        if a.index != tail.size { problems.append("the next append got index \(a.index), expected \(tail.size)") }
        guard let stored = try store.entry(at: a.index) else { return problems + ["the parent's append is not readable"] }
        let entry = try Entry(parsing: stored.bytes)
        if entry.prev != tail.lastLeafHash { problems.append("entry \(a.index) has prev \(entry.prev.hex), expected \(tail.lastLeafHash.hex)") }
        acknowledged[a.index] = a.leafHash
        // Entries committed but not acknowledged before the kill are now part of the ledger like any other.
        for e in try store.entries(from: maxAck + 1, count: Int(tail.size - min(tail.size, maxAck + 1))) { acknowledged[e.index] = e.leafHash }
        parentAppends += 1
    } catch {
        problems.append("after the kill: \(error)")
    }
    return problems
}

for trial in 0..<trials {
    trialsRun += 1
    if trial % perLedger == 0 { newLedger() }
    let stderrPath = dir + "/child.err"
    let (pid, fd) = spawnChild(ledgerPath, tag: "t\(trial)", stderrPath: stderrPath)
    var status0: Int32?  // set if the child exits by itself (a failure)
    // Half the kills land early after the start (start-up, WAL recovery, the first appends); half at a random
    // moment after the child's first acknowledgement, so they hit the append loop however slow the start-up
    // is on a busy machine.
    let early = Bool.random(using: &rng)
    let delay = early ? Double.random(in: 0..<0.04, using: &rng) : Double.random(in: 0..<(Double(maxDelayMs) / 1000), using: &rng)
    var out: [UInt8] = []
    if !early {
        let limit = now() + 60
        while !out.contains(0x0a) && now() < limit && kill(pid, 0) == 0 {
            drain(fd, into: &out, until: min(limit, now() + 0.05))
            var st: Int32 = 0
            if waitpid(pid, &st, WNOHANG) == pid {  // exited by itself: reported below
                status0 = st; break
            }
        }
    }
    drain(fd, into: &out, until: now() + delay)
    var status: Int32 = 0
    if let st = status0 {
        status = st
    } else {
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
    drain(fd, into: &out, until: nil)  // acknowledgements written before the kill are still in the pipe
    close(fd)
    let signalled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
    if signalled && (status & 0x7f) == SIGKILL {
        kills += 1
    } else {
        let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        failures.append("trial \(trial): the child exited by itself (status \(status)) before the kill: \(err.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    var acks = 0
    for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
        let parts = line.split(separator: " ")
        guard parts.count == 2, let i = UInt64(parts[0]), let h = Hash(hex: String(parts[1])) else {
            failures.append("trial \(trial): unreadable acknowledgement \"\(line)\"")
            continue
        }
        if let old = acknowledged[i], old != h { failures.append("trial \(trial): index \(i) acknowledged twice with different hashes") }
        acknowledged[i] = h
        acks += 1
    }
    totalAcknowledged += acks
    for p in verifyAfterCrash(trial: trial) { failures.append("trial \(trial) (\(acks) acknowledged, killed \(Int(delay * 1000)) ms after \(early ? "the start" : "the first acknowledgement")): \(p)") }
    if failures.count > 20 { break }
}

let seconds = now() - started
print("trials run: \(trialsRun)")
print("kills: \(kills)")
print("acknowledged entries: \(totalAcknowledged)")
print("committed but unacknowledged at the kill: \(committedUnacknowledged)")
print("entries lost: \(lost)")
print("appends after recovery (one per trial, each at the expected index and prev): \(parentAppends)")
print("ledgers: \(ledgersMade), \(String(format: "%.1f", seconds)) s")
if !keep { try? FileManager.default.removeItem(atPath: dir) }
if !failures.isEmpty {
    for f in failures.prefix(20) { FileHandle.standardError.write(Data("suyuan-crash: FAIL \(f)\n".utf8)) }
    exit(1)
}
if lost > 0 { exit(1) }
print("ok: every acknowledged entry survived \(kills) kills; the ledger reopened and audited clean after each")

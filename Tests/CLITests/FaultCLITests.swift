import Foundation
import SuyuanCrypto
import SuyuanFormats
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Storage faults: a full disk, a file size limit, a read-only file or file system, a ledger locked by another
/// process, a corrupt or truncated file. Each must fail with one clear line and its documented exit code,
/// leave every acknowledged entry in place, and let the ledger carry on once the fault is gone.
@Suite("storage faults") struct FaultCLITests {
    // MARK: Helpers

    /// Mounts a tmpfs of `kib` KiB at `dir` (root with CAP_SYS_ADMIN only); false if this machine does not allow it.
    static func mountTmpfs(_ dir: String, kib: Int) -> Bool {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (try? runTool(["mount", "-t", "tmpfs", "-o", "size=\(kib)k,mode=0777", "tmpfs", dir])) == 0
    }

    static func unmount(_ dir: String) { _ = try? runTool(["umount", "-l", dir]) }

    /// Writes `bytes` of zeros to `path` (stops early, silently, when the file system is full).
    static func fill(_ path: String, bytes: Int) {
        guard let h = FileHandle(forWritingAtPath: path) ?? { FileManager.default.createFile(atPath: path, contents: nil); return FileHandle(forWritingAtPath: path) }() else { return }
        let chunk = Data(count: 4096)
        var left = bytes
        while left > 0 { do { try h.write(contentsOf: chunk.prefix(left)) } catch { break }; left -= 4096 }
        try? h.close()
    }

    static func freeBytes(_ dir: String) -> Int {
        var st = statvfs()
        guard statvfs(dir, &st) == 0 else { return 0 }
        return Int(st.f_bavail) * Int(st.f_frsize)
    }

    /// A notice payload of about 5 KB (two SQLite pages once stored).
    static func bigNotice(_ sb: Sandbox, _ n: Int) throws -> String {
        try sb.noticePayload("big-\(n).json", title: "bulk notice \(n)", text: String(repeating: "抽检合格 lot \(n). ", count: 300))
    }

    /// Appends until one fails; returns the acknowledged (index, leaf hash) pairs and the failing run.
    static func appendUntilFailure(_ sb: Sandbox, _ ledger: String, launcher: [String] = [], max: Int = 200) async throws -> ([(Int, String)], RunResult?) {
        var acked: [(Int, String)] = []
        for n in 0..<max {
            let p = try bigNotice(sb, n)
            let r = try await sb.run(["append", "--ledger", ledger, "--key", sb.fixture.hk.path, "--kind", "notice", "--payload", p, "--json"],
                                     env: noCheckpoint, launcher: launcher)
            guard r.status == 0 else { return (acked, r) }
            let j = try r.json()
            acked.append((try #require(j["index"]?.int), try #require(j["leafHash"]?.stringValue)))
        }
        return (acked, nil)
    }

    /// Every acknowledged entry is present with its leaf hash, the chain is whole, and the audit is clean.
    static func expectIntact(_ sb: Sandbox, _ ledger: String, acked: [(Int, String)], size: Int? = nil,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let j = try await sb.entries(ledger, sourceLocation: sourceLocation)
        let n = size ?? (1 + acked.count)
        let leaves = try checkChain(j, size: n, sourceLocation: sourceLocation)
        for (i, h) in acked {
            #expect(i < leaves.count && leaves[i].hex == h, "acknowledged entry \(i) lost or changed", sourceLocation: sourceLocation)
        }
        let audit = try await sb.ok(["audit", "--ledger", ledger, "--json"], sourceLocation: sourceLocation).json()
        #expect(audit["ok"] == .bool(true) && audit["entries"]?.int == n, "audit: \(audit)", sourceLocation: sourceLocation)
    }

    // MARK: Disk full

    /// A 1 MiB tmpfs filled until appends fail: exit 74 "disk full", nothing acknowledged lost, no partial
    /// entry, and appending resumes at the next index once there is room.
    @Test func diskFullOnASmallFileSystem() async throws {
        let sb = try Sandbox()
        let fs = sb.path("small-fs")
        guard Self.mountTmpfs(fs, kib: 1024) else {
            // Not root (or no CAP_SYS_ADMIN): `fileSizeLimitIsAnIOErrorAndLosesNothing` covers the write failure path.
            print("diskFullOnASmallFileSystem: cannot mount a tmpfs here; skipped")
            return
        }
        defer { Self.unmount(fs) }
        let ledger = fs + "/l.ledger"
        try FileManager.default.copyItem(atPath: sb.fixture.baseLedger, toPath: ledger)
        Self.fill(fs + "/filler", bytes: Self.freeBytes(fs) - 200 * 1024)
        let (acked, failure) = try await Self.appendUntilFailure(sb, ledger)
        let r = try #require(failure, "200 appends of 5 KB fitted in 200 KB?")
        #expect(acked.count >= 1, "some appends should fit before the disk is full")
        expectError(r, 74, mentions: ["disk full", "nothing was appended"])
        // Reading still works on the full disk, and shows exactly what was acknowledged.
        try await Self.expectIntact(sb, ledger, acked: acked)
        // A second failure changes nothing either.
        let again = try await sb.run(["append", "--ledger", ledger, "--key", sb.fixture.gd.path, "--kind", "notice",
                                      "--payload", try Self.bigNotice(sb, 999), "--json"], env: noCheckpoint)
        expectError(again, 74, mentions: ["disk full"])
        // Room again: the next append takes the next index.
        try FileManager.default.removeItem(atPath: fs + "/filler")
        let next = try await sb.appendNotice(ledger, key: sb.fixture.mo, title: "after the disk was freed")
        #expect(try next.json()["index"]?.int == acked.count + 1)
        try await Self.expectIntact(sb, ledger, acked: acked, size: acked.count + 2)
    }

    /// RLIMIT_FSIZE (works unprivileged): writes past the limit fail with EFBIG; exit 74 naming the limit,
    /// nothing acknowledged lost, and the ledger carries on without the limit.
    @Test func fileSizeLimitIsAnIOErrorAndLosesNothing() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") else {
            print("fileSizeLimitIsAnIOErrorAndLosesNothing: no /usr/bin/prlimit; skipped")
            return
        }
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let base = try FileManager.default.attributesOfItem(atPath: ledger)[.size] as! Int
        // SIGXFSZ ignored (inherited through exec), so the write fails with EFBIG instead of killing the process.
        let limited = ["/bin/sh", "-c", "trap '' XFSZ; exec /usr/bin/prlimit --fsize=\(base + 48 * 1024) \"$@\"", "sh"]
        let (acked, failure) = try await Self.appendUntilFailure(sb, ledger, launcher: limited, max: 60)
        let r = try #require(failure, "60 appends of 5 KB fitted under a 48 KiB limit?")
        #expect(r.status == 74, "\(r)")
        expectError(r, 74, mentions: ["file size limit"])
        try await Self.expectIntact(sb, ledger, acked: acked)
        let next = try await sb.appendNotice(ledger, key: sb.fixture.mo, title: "without the limit")
        #expect(try next.json()["index"]?.int == acked.count + 1)
        try await Self.expectIntact(sb, ledger, acked: acked, size: acked.count + 2)
    }

    // MARK: Read-only

    /// A ledger on a file system mounted read-only: appends fail with 74 "read-only", the file is untouched.
    @Test func readOnlyFileSystem() async throws {
        let sb = try Sandbox()
        let fs = sb.path("ro-fs")
        guard Self.mountTmpfs(fs, kib: 4096) else {
            print("readOnlyFileSystem: cannot mount a tmpfs here; skipped")
            return
        }
        defer { Self.unmount(fs) }
        let ledger = fs + "/l.ledger"
        try FileManager.default.copyItem(atPath: sb.fixture.baseLedger, toPath: ledger)
        let before = try Data(contentsOf: URL(fileURLWithPath: ledger))
        try #require(try runTool(["mount", "-o", "remount,ro", fs]) == 0)
        let p = try sb.noticePayload("p.json", title: "on a read-only mount")
        for args in [["append", "--ledger", ledger, "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", p],
                     ["checkpoint", "--ledger", ledger]] {
            expectError(try await sb.run(args), 74, mentions: ["read-only"])
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: ledger)) == before)
        #expect(!FileManager.default.fileExists(atPath: ledger + "-wal"))
    }

    /// A ledger file without write permission, opened by a user who may not write it (as root: run as
    /// nobody): appends fail with 74 "read-only", reads work, the file is untouched.
    @Test func readOnlyLedgerFile() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let key = sb.path("gd.key")
        try FileManager.default.copyItem(atPath: sb.fixture.gd.path, toPath: key)
        let p = try sb.noticePayload("p.json", title: "read-only file")
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: ledger)
        var launcher: [String] = []
        if getuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                print("readOnlyLedgerFile: running as root without setpriv; skipped")
                return
            }
            // nobody may read the ledger and create SQLite's -shm beside it, but not write the ledger.
            for d in [sb.dir.deletingLastPathComponent().path, sb.dir.path] {
                try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: d)
            }
            _ = try runTool(["chown", "65534:65534", key, p])
            launcher = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: ledger))
        let r = try await sb.run(["append", "--ledger", ledger, "--key", key, "--kind", "notice", "--payload", p], launcher: launcher)
        expectError(r, 74, mentions: ["read-only", "nothing was written"])
        let read = try await sb.run(["entries", "--ledger", ledger, "--json"], launcher: launcher)
        #expect(read.status == 0 && (try? read.json()["size"]?.int) == 1, "\(read)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: ledger)) == before)
        // Writable again: the append goes through as entry 1.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: ledger)
        for s in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger + s) }
        let ok = try await sb.appendNotice(ledger, key: sb.fixture.gd, title: "writable again")
        #expect(try ok.json()["index"]?.int == 1)
    }

    // MARK: Locked

    /// Holds SQLite locks on a ledger from another process (the sqlite3 shell) until `release()`.
    final class LockHolder {
        let process = Process()
        let input = Pipe()
        let output = Pipe()

        init(_ ledger: String, sql: String) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["sqlite3", ledger]
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            input.fileHandleForWriting.write(Data("\(sql)\nSELECT 'holding';\n".utf8))
            // Wait until the shell has the lock.
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("holding") {
                let d = output.fileHandleForReading.availableData
                if d.isEmpty { throw HarnessError("sqlite3 exited before taking the lock") }
                seen += d
            }
        }

        func release() {
            input.fileHandleForWriting.write(Data("ROLLBACK;\n.quit\n".utf8))
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    /// Another process holds the write lock: an append waits `$SUYUAN_LOCK_TIMEOUT` seconds, then exits 75
    /// with one line saying so; readers are not blocked (WAL); after the lock is released the append works.
    /// An exclusive lock blocks readers too (75). A lock released while the append waits is simply waited for.
    @Test func lockedLedgerExits75() async throws {
        guard (try? runTool(["sqlite3", "-version"])) == 0 else {
            print("lockedLedgerExits75: no sqlite3 shell; skipped")
            return
        }
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger()
        let p = try sb.noticePayload("p.json", title: "while locked")
        let append = ["append", "--ledger", ledger, "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", p, "--json"]
        let short: [String: String?] = ["SUYUAN_LOCK_TIMEOUT": "1", "SUYUAN_OPERATOR_PASSPHRASE": ""]

        let writer = try LockHolder(ledger, sql: "BEGIN IMMEDIATE;")
        let started = Date()
        let r = try await sb.run(append, env: short)
        #expect(Date().timeIntervalSince(started) >= 1, "the append should wait for the lock")
        expectError(r, 75, mentions: ["locked by another process", "waited 1 s"])
        let read = try await sb.run(["entries", "--ledger", ledger, "--json"], env: short)
        #expect(read.status == 0, "a write lock must not block readers: \(read)")
        writer.release()

        let exclusive = try LockHolder(ledger, sql: "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
        for args in [append, ["entries", "--ledger", ledger], ["audit", "--ledger", ledger]] {
            expectError(try await sb.run(args, env: short), 75, mentions: ["locked"])
        }
        exclusive.release()

        // Released while the append waits (up to 20 s): it goes through.
        let holder = try LockHolder(ledger, sql: "BEGIN IMMEDIATE;")
        let waiting = try sb.startNow(append, env: ["SUYUAN_LOCK_TIMEOUT": "20", "SUYUAN_OPERATOR_PASSPHRASE": ""])
        try await Task.sleep(nanoseconds: 700_000_000)
        holder.release()
        let done = await waiting.wait()
        #expect(done.status == 0, "\(done)")
        #expect(try done.json()["index"]?.int == 1)
        try checkChain(try await sb.entries(ledger), size: 2)
    }

    // MARK: Corrupt and truncated files

    /// A ledger with entries over several pages, then cut short or with a B-tree page overwritten: every
    /// command refuses with one line naming the problem (65), and the file is left exactly as it was —
    /// never "repaired". A tampered column is reported as corruption (exit 1), not a crash.
    @Test func corruptAndTruncatedFilesAreRefusedNotRepaired() async throws {
        let sb = try Sandbox()
        let ledger = try sb.copyBaseLedger("good.ledger")
        for n in 0..<6 {
            let f = try sb.noticePayload("filler-\(n).json", title: "page filler \(n)", text: String(repeating: "x", count: 3000))
            try await sb.ok(["append", "--ledger", ledger, "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", f], env: noCheckpoint)
        }
        let good = try Data(contentsOf: URL(fileURLWithPath: ledger))
        let pages = good.count / 4096
        try #require(pages >= 8)
        let p = try sb.noticePayload("p.json", title: "onto a damaged file")
        func commands(_ l: String) -> [[String]] {
            [["entries", "--ledger", l, "--json"], ["audit", "--ledger", l, "--json"],
             ["append", "--ledger", l, "--key", sb.fixture.gd.path, "--kind", "notice", "--payload", p],
             ["prove", "inclusion", "--ledger", l, "--index", "3"]]
        }
        // Cut to 50 bytes (no SQLite header), one page, half, and one page short.
        for cut in [50, 4096, good.count / 2, good.count - 4096] {
            let l = try sb.write("cut-\(cut).ledger", good.prefix(cut))
            for args in commands(l) {
                try await expectUnchanged(l, in: sb) {
                    let r = try await sb.run(args, env: noCheckpoint)
                    expectError(r, 65, mentions: [cut < 100 ? "not an SQLite database" : "corrupt"])
                }
            }
        }
        // The `entries` table's root page (page 4) overwritten with garbage.
        var damaged = good
        var rng = SplitMix(seed: 7)
        for i in (3 * 4096)..<(4 * 4096) { damaged[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let l = try sb.write("garbage.ledger", damaged)
        for args in commands(l) {
            try await expectUnchanged(l, in: sb) {
                expectError(try await sb.run(args, env: noCheckpoint), 65, mentions: ["corrupt", "restore it from a backup"])
            }
        }
        // A stored recorded_at edited far beyond 64-bit nanoseconds (triggers dropped first): a clean refusal.
        let t = try sb.copyBaseLedger("tampered.ledger")
        try #require(try runTool(["sqlite3", t, "DROP TRIGGER entries_no_update; UPDATE entries SET recorded_at = 9000000000000000 WHERE idx = 0;"]) == 0)
        let r = try await sb.run(commands(t)[2], env: noCheckpoint)
        expectError(r, 1, mentions: ["corrupt", "recorded_at"])
    }
}

/// A tiny deterministic generator for test bytes.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

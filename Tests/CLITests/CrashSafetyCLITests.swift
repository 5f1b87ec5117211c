import Foundation
import Testing

/// The crash-safety harness (`Tools/crash`, the `suyuan-crash` binary built next to `suyuan`), bounded: an
/// appending child SIGKILLed at random moments 15 times; after each kill every acknowledged entry is there byte
/// for byte, the ledger reopens without repair and audits clean, and the next append continues the chain.
/// The full run (`suyuan-crash --trials 200`) is the same program with more trials.
@Suite("crash safety") struct CrashSafetyCLITests {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
        func figure(_ label: String) -> Int? {
            stdout.split(separator: "\n").first { $0.hasPrefix(label + ": ") }.flatMap { Int($0.dropFirst(label.count + 2)) }
        }
    }

    /// Runs suyuan-crash with `args`, waiting off the test runner's threads (it runs for seconds).
    static func runHarness(_ args: [String]) async throws -> Outcome {
        let suyuan = try Binary.get()
        let harness = URL(fileURLWithPath: suyuan).deletingLastPathComponent().appendingPathComponent("suyuan-crash").path
        try #require(FileManager.default.isExecutableFile(atPath: harness), "build suyuan-crash first (swift build)")
        let dir = NSTemporaryDirectory() + "suyuan-crash-test-" + UUID().uuidString
        let outURL = URL(fileURLWithPath: dir + ".out"), errURL = URL(fileURLWithPath: dir + ".err")
        defer {
            for p in [dir, outURL.path, errURL.path] { try? FileManager.default.removeItem(atPath: p) }
        }
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: harness)
        p.arguments = args + ["--dir", dir]
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        let launchError: String? = await withCheckedContinuation { (done: CheckedContinuation<String?, Never>) in
            p.terminationHandler = { _ in done.resume(returning: nil) }
            do { try p.run() } catch { p.terminationHandler = nil; done.resume(returning: "\(error)") }
        }
        try #require(launchError == nil, "cannot run \(harness): \(launchError ?? "")")
        return Outcome(status: p.terminationStatus, stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    @Test func sigkillDuringAppendsLosesNoAcknowledgedEntry() async throws {
        // Fixed seed: the same kill schedule on every run; 15 trials on one ledger.
        let o = try await Self.runHarness(["--trials", "15", "--seed", "20261128", "--max-delay-ms", "300"])
        #expect(o.status == 0, "suyuan-crash failed:\n\(o.stdout)\n\(o.stderr)")
        #expect(o.figure("trials run") == 15, "\(o.stdout)")
        #expect(o.figure("kills") == 15, "every trial ends in a SIGKILL: \(o.stdout)")
        #expect(o.figure("entries lost") == 0, "\(o.stdout)\n\(o.stderr)")
        #expect((o.figure("acknowledged entries") ?? 0) > 0, "the children acknowledged nothing: \(o.stdout)\n\(o.stderr)")
        #expect(o.figure("appends after recovery (one per trial, each at the expected index and prev)") == 15, "\(o.stdout)")
    }

    /// The harness's checks bite: with the planted bug (acknowledge before appending) it reports lost entries
    /// and fails.
    @Test func theHarnessCatchesAcknowledgementsBeforeCommit() async throws {
        let o = try await Self.runHarness(["--trials", "15", "--seed", "20261128", "--max-delay-ms", "300", "--self-test-early-ack"])
        #expect(o.status == 1, "\(o.stdout)\n\(o.stderr)")
        #expect((o.figure("entries lost") ?? 0) > 0, "the planted bug went unnoticed: \(o.stdout)")
        #expect(o.stderr.contains("is missing"), "\(o.stderr)")
    }
}

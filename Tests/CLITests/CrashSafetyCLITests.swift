import Foundation
import Testing

/// The crash-safety harness (`Tools/crash`, the `suyuan-crash` binary built next to `suyuan`), bounded: an
/// appending child SIGKILLed at random moments 15 times; after each kill every acknowledged entry is there byte
/// for byte, the ledger reopens without repair and audits clean, and the next append continues the chain.
/// The full run (`suyuan-crash --trials 200`) is the same program with more trials.
@Suite("crash safety") struct CrashSafetyCLITests {
    @Test func sigkillDuringAppendsLosesNoAcknowledgedEntry() async throws {
        let suyuan = try Binary.get()
        let harness = URL(fileURLWithPath: suyuan).deletingLastPathComponent().appendingPathComponent("suyuan-crash").path
        try #require(FileManager.default.isExecutableFile(atPath: harness), "build suyuan-crash first (swift build)")
        let dir = NSTemporaryDirectory() + "suyuan-crash-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: harness)
        // Fixed seed: the same kill schedule on every run; 15 trials on one ledger.
        p.arguments = ["--trials", "15", "--seed", "20261128", "--max-delay-ms", "300", "--dir", dir]
        let outURL = URL(fileURLWithPath: dir + ".out"), errURL = URL(fileURLWithPath: dir + ".err")
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        // Waited for off the test runner's threads (it runs for seconds; other tests need those threads).
        let launchError: String? = await withCheckedContinuation { (done: CheckedContinuation<String?, Never>) in
            p.terminationHandler = { _ in done.resume(returning: nil) }
            do { try p.run() } catch { p.terminationHandler = nil; done.resume(returning: "\(error)") }
        }
        try #require(launchError == nil, "cannot run \(harness): \(launchError ?? "")")
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "suyuan-crash failed:\n\(stdout)\n\(stderr)")
        func figure(_ label: String) -> Int? {
            stdout.split(separator: "\n").first { $0.hasPrefix(label + ": ") }.flatMap { Int($0.dropFirst(label.count + 2)) }
        }
        #expect(figure("trials run") == 15, "\(stdout)")
        #expect(figure("kills") == 15, "every trial ends in a SIGKILL: \(stdout)")
        #expect(figure("entries lost") == 0, "\(stdout)\n\(stderr)")
        #expect((figure("acknowledged entries") ?? 0) > 0, "the children acknowledged nothing: \(stdout)\n\(stderr)")
        #expect(figure("appends after recovery (one per trial, each at the expected index and prev)") == 15, "\(stdout)")
    }
}

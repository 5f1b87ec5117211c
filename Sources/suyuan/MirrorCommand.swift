import ArgumentParser
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SuyuanClient
import SuyuanFormats
import SuyuanLedger

struct MirrorCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Keep a verified local replica of a remote ledger; stop with a report if the source's history is inconsistent.",
        discussion: """
            Each round fetches the source's checkpoint and verifies its signature with the operator key, proves with a
            consistency proof that it extends what the replica holds, then fetches the new entries and verifies each one
            (encoding, index, hash chain, recordedAt, signature, time window, authorisation under the ledger's rules),
            and that they are a prefix of the checkpoint's tree, before writing them, byte for byte, to the replica — an
            ordinary ledger file every other command reads. The first round trusts the operator key named in the
            source's genesis unless --trust pins it. A rollback, a fork or an invalid entry is reported (exit 1) and
            recorded in the replica, which then refuses to mirror again. Specs/mirror.md has the details.
            """)

    @Option(help: "The source server's base URL, e.g. http://127.0.0.1:8080.") var from: String
    @OptionGroup var ledger: LedgerOptions
    @Option(name: .customLong("trust"), help: "The operator key (KEYREF) the source must be signed by (repeatable; default: trust the one its genesis names on the first run).")
    var trust: [String] = []
    @Option(help: "Entries verified and written together (1–1000000).") var batch = 8192
    @Flag(help: "Keep mirroring every --interval seconds until SIGINT or SIGTERM; one line per round.") var follow = false
    @Option(help: "Seconds between rounds with --follow.") var interval: Double = 10
    @Flag(help: "Print {\"source\",\"ledger\",\"size\",\"appended\",\"checkpoint\",\"ok\",\"findings\"} as JSON (one line per round with --follow).")
    var json = false

    func validate() throws {
        do { _ = try SuyuanClient(baseURL: from) } catch { throw ValidationError("--from: \(error)") }
        guard (1...1_000_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 1000000, got \(batch)") }
        guard interval > 0, interval <= 86_400 else { throw ValidationError("--interval must be between 0 and 86400 seconds, got \(interval)") }
    }

    func execute() throws {
        let keys = try trust.map(Keys.resolve)
        let client = try SuyuanClient(baseURL: from)
        guard follow else {
            let bar = ProgressBar(enabled: !json && isatty(STDERR_FILENO) == 1)
            let report = try Mirror(client: client, path: ledger.path, trust: keys, batch: batch, progress: { bar.update($0, $1) }).run()
            bar.finish()
            if json { IO.printJSON(report.json) } else { IO.print(report.human) }
            if !report.ok { throw ExitCode(CLIError.verification) }
            return
        }
        let stop = StopSignal()
        while !stop.isSet {
            do {
                let report = try Mirror(client: client, path: ledger.path, trust: keys, batch: batch, shouldStop: { stop.isSet }).run()
                if json {
                    IO.print(try report.json.canonicalString())
                } else {
                    IO.print(report.ok ? "\(systemClock().millisecondString) \(report.human)" : report.human)
                }
                if !report.ok { throw ExitCode(CLIError.verification) }
            } catch let e as ClientError {
                // The source being down or answering badly is reported; the next round tries again.
                IO.note("\(e); trying again in \(interval) s")
            }
            stop.wait(seconds: interval)
        }
        IO.note("mirror stopped")
    }
}

/// Set by SIGINT or SIGTERM while `--follow` runs; it wakes the wait between rounds, and a round in
/// progress stops after its current batch is committed.
private final class StopSignal: @unchecked Sendable {
    private let stopped = Mutex(false)
    private let wake = DispatchSemaphore(value: 0)
    private var sources: [any DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                stopped.withLock { $0 = true }
                wake.signal()
            }
            source.resume()
            sources.append(source)
        }
    }

    var isSet: Bool { stopped.withLock { $0 } }

    /// Waits `seconds`, or until a signal comes.
    func wait(seconds: Double) {
        _ = wake.wait(timeout: .now() + seconds)
    }
}

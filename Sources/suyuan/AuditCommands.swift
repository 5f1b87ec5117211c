import ArgumentParser
import Foundation
import SuyuanAudit
import SuyuanClient
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanStore
import SuyuanTrace

struct AuditCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the whole ledger's integrity independently of indexes; exit 1 on any finding.",
        discussion: """
            Checks canonical encoding, the index sequence, the hash chain, every signature and signer, time
            rules, duplicates, stored leaf hashes and Merkle nodes, and every stored checkpoint — and each
            --trusted-checkpoint you saved earlier — against the tree recomputed from the entries.
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(name: .customLong("trusted-checkpoint"), help: "A checkpoint note you saved earlier (repeatable).") var trustedCheckpoints: [String] = []
    @Option(name: .customLong("trust"), help: "Pin the operator key (KEYREF) instead of taking it from genesis.") var trust: String?
    @Flag(help: "Print the report as JSON: {\"ok\",\"entries\",\"firstBadIndex\",\"findings\",…}.") var json = false
    @Option(help: "Also write the report, signed with --key, to this file.") var report: String?
    @Option(help: "The auditor's secret key file, for --report.") var key: String?
    @Flag(help: "No progress bar.") var quiet = false
    @OptionGroup var pass: PassphraseOptions

    func validate() throws {
        if (report == nil) != (key == nil) { throw ValidationError("--report and --key go together") }
    }

    func execute() throws {
        var auditor = Auditor()
        auditor.rules = .suyuan
        auditor.trustedCheckpoints = try trustedCheckpoints.map { try IO.read($0, limit: 1 << 20) }
        if let trust { auditor.trustedOperator = try Keys.resolve(trust) }
        // Decrypt the auditor key before the long run, so a wrong passphrase fails at once.
        let signer = try key.map { try Keys.open($0, passphrase: try pass.required()) }
        let bar = ProgressBar(enabled: !quiet && isatty(STDERR_FILENO) == 1)
        let store: SQLiteLedgerStore, source: String
        var replica: String?
        defer { if let replica { try? FileManager.default.removeItem(atPath: (replica as NSString).deletingLastPathComponent) } }
        if let remote = try ledger.remote() {
            // The whole ledger is needed: copied into a temporary verified replica (as `suyuan mirror`
            // does), audited, then removed.
            let dir = NSTemporaryDirectory() + "suyuan-audit-" + Hex.encode(SecureRandom.bytes(8))
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            replica = dir + "/replica.ledger"
            let copied = try Mirror(client: remote.client, path: replica!, trust: [remote.operatorKey], batch: 8192,
                                    progress: { bar.update($0, $1) }).run()
            guard copied.ok else {
                bar.finish()
                if json { IO.printJSON(copied.json) } else { IO.print(copied.human) }
                throw ExitCode(CLIError.verification)
            }
            if auditor.trustedOperator == nil { auditor.trustedOperator = remote.operatorKey }
            (store, source) = (try SQLiteLedgerStore(path: replica!), remote.client.baseURL)
        } else {
            (store, source) = (try ledger.openStore(), ledger.path)
        }
        auditor.progress = { done, total in bar.update(done, total) }
        let r = try auditor.run(store)
        bar.finish()
        let doc = r.json
        if json { IO.printJSON(doc) } else { IO.print(AuditCommand.human(r, path: source)) }
        if let report, let (file, sk) = signer {
            let signed = try SignedReport.sign(doc, key: sk)
            try IO.write(Array((signed.prettyPrinted() + "\n").utf8), to: report)
            IO.note("signed report written to \(report) by \(try Keys.verifierKey(of: file))")
        }
        if !r.ok { throw ExitCode(CLIError.verification) }
    }

    static func human(_ r: AuditReport, path: String) -> String {
        var out = r.ok
            ? "AUDIT PASSED: \(path): \(r.entries) entries, chain, signatures and Merkle tree intact"
            : "AUDIT FAILED: \(path): \(r.findings.count + r.findingsTruncated) finding(s); integrity first breaks at entry \(r.firstBadIndex.map(String.init) ?? "n/a")"
        out += "\n  origin: \(r.origin ?? "unknown")\n  root: \(r.root.hex)"
        out += "\n  checkpoints checked: \(r.checkpointsChecked) stored, \(r.trustedCheckpointsChecked) trusted"
        out += String(format: "\n  time: %.2f s (%.0f entries/s)", r.seconds, r.seconds > 0 ? Double(r.entries) / r.seconds : 0)
        for f in r.findings {
            out += "\n- \(f.index.map { "entry \($0)" } ?? "ledger"): \(f.kind)\n    expected: \(f.expected)\n    found:    \(f.found)"
        }
        if r.findingsTruncated > 0 { out += "\n… and \(r.findingsTruncated) more" }
        return out
    }
}

/// A report signed by its author: a DSSE envelope of the report's JCS bytes (Specs/audit.md).
enum SignedReport {
    static let payloadType = "application/vnd.suyuan.audit-report.v1+json"

    static func sign(_ report: JSONValue, key: SecretKey) throws -> JSONValue {
        let body = try report.canonical()
        let sig = key.sign(DSSE.pae(type: payloadType, body: body))
        return .object([
            "payloadType": .string(payloadType), "payload": .string(Base64.encode(body)),
            "signatures": .array([.object(["keyid": .string(DIDKey.encode(key.publicKey)), "sig": .string(Base64.encode(sig))])]),
        ])
    }

    /// Verifies the envelope against trusted keys; returns the report and the key that signed it.
    static func verify(_ bytes: [UInt8], trusting keys: [VerifierKey]) throws -> (JSONValue, VerifierKey) {
        let env = try JSONValue.parse(bytes)
        guard env["payloadType"]?.stringValue == payloadType,
              let body = env["payload"]?.stringValue.flatMap(Base64.decode),
              let sigs = env["signatures"]?.arrayValue, !sigs.isEmpty
        else { throw CLIError(code: CLIError.data, message: "not a signed Suyuan audit report (DSSE envelope of \(payloadType))") }
        for s in sigs {
            guard let sig = s["sig"]?.stringValue.flatMap(Base64.decode) else { continue }
            for k in keys where k.publicKey.isValidSignature(sig, for: DSSE.pae(type: payloadType, body: body)) {
                return (try JSONValue.parse(body), k)
            }
        }
        throw CLIError(code: CLIError.verification, message: "the report is not signed by any trusted key (or was modified after signing)")
    }
}

struct VerifyReportCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-report", abstract: "Check an audit report's signature; exit 1 if it does not verify or the audit failed.")

    @Argument(help: "The signed report file.") var file: String
    @Option(name: .customLong("trust"), parsing: .upToNextOption, help: "Trusted auditor KEYREFs.") var trust: [String] = []
    @Flag(help: "Print the verified report as JSON.") var json = false

    func validate() throws {
        guard !trust.isEmpty else { throw ValidationError("pass --trust KEYREF (the auditor's key)") }
    }

    func execute() throws {
        let (report, key) = try SignedReport.verify(try IO.read(file, limit: 64 << 20), trusting: try trust.map(Keys.resolve))
        let ok = report["ok"]?.boolValue ?? false
        if json {
            IO.printJSON(.object(["verified": .bool(true), "signer": .string(key.description), "report": report]))
        } else {
            IO.print("report signature verified: signed by \(key)")
            IO.print("audit of \(report["origin"]?.stringValue ?? "?"): \(ok ? "passed" : "FAILED"), \(report["entries"]?.integerValue ?? 0) entries, \(report["findings"]?.arrayValue?.count ?? 0) finding(s)")
        }
        if !ok { throw ExitCode(CLIError.verification) }
    }
}

/// A one-line progress bar with rate and ETA on stderr, for terminals only.
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private let lock = NSLock()

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ done: UInt64, _ total: UInt64) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > 100_000_000 || done == total else { return }
        lastDraw = now
        let elapsed = Double(now - start) / 1e9
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let frac = total > 0 ? Double(done) / Double(total) : 1
        let width = 30, filled = Int(frac * Double(width))
        let eta = rate > 0 ? Int(Double(total - done) / rate) : 0
        let line = "\r[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(Int(frac * 100))% \(done)/\(total) \(Int(rate))/s ETA \(eta / 60):\(String(format: "%02d", eta % 60))"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

import ArgumentParser
import Dispatch
import Foundation
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanServer
import SuyuanStore
import SuyuanWeb

/// How the server's run ended (set on the server's task, read by the waiting command).
private final class Outcome: Sendable {
    let failure = Mutex<(any Error)?>(nil)
}

struct ServeCommand: SuyuanCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the ledger over HTTP: the JSON API, C2SP tlog-tiles, and optionally a C2SP tlog-witness.",
        discussion: """
            Routes (Specs/http-api.md, Specs/http-api.json): POST /api/v1/statements (a DSSE envelope as written by
            `suyuan sign`); GET /api/v1/checkpoint, /api/v1/entries?from=N&count=K, /api/v1/entries/{index},
            /api/v1/proofs/inclusion?index=N&size=M, /api/v1/proofs/consistency?from=N&to=M; the tlog-tiles read
            API /checkpoint, /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>]; GET /health and /metrics; and
            POST /add-checkpoint when --witness-key and --witness-state are given.

            Submissions that arrive together are committed together, and each is answered after its commit. When
            the operator key named at init can be opened ($SUYUAN_OPERATOR_PASSPHRASE, else the same passphrase
            as for other keys), a checkpoint is signed after every commit. The witness key's passphrase comes from
            $SUYUAN_PASSPHRASE or --passphrase-file. SIGINT or SIGTERM stops the server after in-flight requests.

            Limits per client address (an IPv6 /64 counts as one, loopback included): --rate-limit requests per second
            with bursts of --rate-burst, beyond which requests get 429 with Retry-After; --max-client-connections open
            connections, beyond which a connection gets 429 and is closed. A connection that takes over 10 s to send a
            request head (or sits idle that long) or a request body is closed; a request head over 100 header fields or
            32 KiB gets 431.
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0 picks a free one).") var port = 8080
    @Option(name: .customLong("witness-key"), help: "Also serve POST /add-checkpoint as a witness signing with this secret key file.")
    var witnessKey: String?
    @Option(name: .customLong("witness-state"), help: "The witness state file (as for `suyuan witness cosign`).")
    var witnessState: String?
    @Option(name: .customLong("witness-log"), help: "The witnessed log's checkpoint key (KEYREF); creates --witness-state when it does not exist.")
    var witnessLog: String?
    @Option(name: .customLong("witness-origin"), help: "The witnessed log's origin, when creating --witness-state (default: the log key's name).")
    var witnessOrigin: String?
    @Option(name: .customLong("max-batch"), help: "The most submissions committed in one transaction.")
    var maxBatch = 512
    @Option(name: .customLong("rate-limit"), help: "Requests per second allowed from one client address; 0 turns the limit off.")
    var rateLimit = Int(RateLimit.standard.requestsPerSecond)
    @Option(name: .customLong("rate-burst"), help: "Requests one client address may send at once (default: twice --rate-limit).")
    var rateBurst: Int?
    @Option(name: .customLong("max-client-connections"), help: "Connections one client address may have open at once; 0 means no cap.")
    var maxClientConnections = 64
    @OptionGroup var pass: PassphraseOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
        guard (witnessKey == nil) == (witnessState == nil) else {
            throw ValidationError("--witness-key and --witness-state go together")
        }
        if witnessLog != nil || witnessOrigin != nil, witnessState == nil {
            throw ValidationError("--witness-log and --witness-origin need --witness-key and --witness-state")
        }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1") }
        guard (0...1_000_000).contains(rateLimit) else {
            throw ValidationError("--rate-limit must be between 0 (no limit) and 1000000, got \(rateLimit)")
        }
        if let rateBurst {
            guard rateLimit > 0 else { throw ValidationError("--rate-burst needs a --rate-limit above 0") }
            guard rateBurst >= 1 else { throw ValidationError("--rate-burst must be at least 1, got \(rateBurst)") }
        }
        guard maxClientConnections >= 0 else {
            throw ValidationError("--max-client-connections must be 0 (no cap) or more, got \(maxClientConnections)")
        }
    }

    func execute() throws {
        let l = try ledger.open()
        let signer = AutoCheckpoint.operatorSigner(l, pass, why: "checkpoints will not be signed after submissions")
        let witness = try openWitness()
        let config = ServerConfiguration(
            ledger: l, host: host, port: port, operatorSigner: signer, witness: witness, maxBatch: maxBatch,
            classifyStorageError: ServeCommand.classifyStorageError,
            rateLimit: rateLimit == 0 ? nil : RateLimit(requestsPerSecond: Double(rateLimit), burst: rateBurst ?? 2 * rateLimit),
            maxConnectionsPerClient: maxClientConnections == 0 ? nil : maxClientConnections)
        let displayHost = host.contains(":") ? "[\(host)]" : host
        let origin = l.genesis.origin
        let announce: @Sendable (Int) async -> Void = { bound in
            IO.print("suyuan: serving \(origin) at http://\(displayHost):\(bound)/")
        }
        // The command line is synchronous; the server runs on its own threads until a signal stops it.
        let done = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        Task {
            do { try await runServer(config, routeGroups: [ProductRoutes()], onServerRunning: announce) } catch { outcome.failure.withLock { $0 = error } }
            done.signal()
        }
        done.wait()
        if let e = outcome.failure.withLock({ $0 }) {
            throw CLIError(code: CLIError.io, message: "the server stopped: \(e)")
        }
        IO.note("server stopped")
    }

    private func openWitness() throws -> WitnessService? {
        guard let witnessKey, let witnessState else { return nil }
        let (file, sk) = try Keys.open(witnessKey, passphrase: try pass.required())
        if !FileManager.default.fileExists(atPath: witnessState) {
            guard let witnessLog else {
                throw ValidationError("\(witnessState) does not exist yet: pass --witness-log KEYREF (the log's checkpoint key) to start witnessing it")
            }
            let key = try Keys.resolve(witnessLog)
            let state = WitnessState(log: key, origin: witnessOrigin ?? key.name)
            try IO.write(Array((state.json.prettyPrinted() + "\n").utf8), to: witnessState, mode: 0o600, overwrite: false)
        } else if let witnessLog {
            let current = try WitnessState(json: try JSONValue.parse(try IO.read(witnessState, limit: 1 << 16)))
            if try Keys.resolve(witnessLog) != current.log {
                throw CLIError(code: CLIError.data, message: "--witness-log differs from the log key in \(witnessState) (\(current.log))")
            }
        }
        do { return try WitnessService(name: file.name, key: sk, statePath: witnessState) } catch let e as APIError {
            throw CLIError(code: CLIError.data, message: e.message)
        }
    }

    /// SQLite failures in the server's terms (it answers busy and read-only with 503, disk full with 507).
    @Sendable static func classifyStorageError(_ error: any Error) -> (StorageTrouble, String)? {
        guard let (kind, msg) = SQLiteLedgerStore.classify(error) else { return nil }
        switch kind {
        case .busy: return (.busy, msg)
        case .readOnly: return (.readOnly, msg)
        case .diskFull, .fileSizeLimit: return (.diskFull, msg)
        case .corrupt: return (.corrupt, msg)
        case .other: return (.other, msg)
        }
    }
}

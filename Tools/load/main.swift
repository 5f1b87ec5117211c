// Load benchmark for `suyuan serve`: builds a Suyuan ledger of --entries entries (a registered
// enterprise, --products products with a five-event journey each, regulator notices for the rest),
// starts the `suyuan` binary built next to this tool as a second process on 127.0.0.1, and drives it
// over keep-alive connections. Prints requests/s and p50/p99 latency for product verification (each
// product's first read, then repeated reads), entries, inclusion proofs, tiles and submissions, and the
// submission rate against the in-process append rate measured in the same run, for one statement per
// request and for batches of 100 (POST /api/v1/statements/batch).
// With --mirror it measures instead `suyuan mirror` copying the whole ledger from that server into a new
// replica, against the rate at which this machine verifies the same entries' signatures alone.
// Usage: swift run -c release suyuan-load [--entries N] [--products P] [--connections C] [--seconds S]
//        [--submissions N] [--mirror]
import Dispatch
import Foundation
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanStore
import SuyuanTrace

#if canImport(Glibc)
import Glibc
#endif

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

// MARK: A keep-alive HTTP/1.1 client over a blocking socket

final class Connection {
    let fd: Int32
    var buffer: [UInt8] = []

    init(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(rc == 0, "cannot connect to 127.0.0.1:\(port)")
    }

    deinit { close(fd) }

    /// Sends one request and reads the response; returns its status.
    func request(_ method: String, _ path: String, body: [UInt8] = []) -> Int {
        let head = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        while true {
            if let end = headerEnd() {
                let headText = String(decoding: buffer[..<end], as: UTF8.self)
                let status = Int(headText.split(separator: " ").dropFirst().first ?? "") ?? 0
                let length = headText.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                while buffer.count < end + 4 + length { fill() }
                buffer.removeFirst(end + 4 + length)
                return status
            }
            fill()
        }
    }

    /// The offset of the first CR LF CR LF, if the buffer holds one.
    private func headerEnd() -> Int? {
        buffer.withUnsafeBufferPointer { b -> Int? in
            guard b.count >= 4 else { return nil }
            for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
            return nil
        }
    }

    private var chunk = [UInt8](repeating: 0, count: 65536)

    private func fill() {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        precondition(n > 0, "the server closed the connection")
        buffer.append(contentsOf: chunk[..<n])
    }
}

// MARK: Scenarios

struct Figures {
    var latencies: [Double] = []
    var statuses: [Int: Int] = [:]
}

/// Runs `next(connectionIndex, requestNumber)` on every connection until `stop()` says so; returns
/// the requests answered per second.
@discardableResult
func drive(_ name: String, port: Int, connections: Int, stop: @escaping @Sendable (Int, Double) -> Bool,
           _ next: @escaping @Sendable (Int, Int) -> (String, String, [UInt8])) -> Double {
    let results = Mutex([Figures](repeating: Figures(), count: connections))
    // One thread per connection, all running at once (concurrentPerform would run only one per core).
    let group = DispatchGroup()
    let start = now()
    for c in 0..<connections {
        group.enter()
        Thread {
            let conn = Connection(port: port)
            var f = Figures()
            var i = 0
            while !stop(i, now() - start) {
                let (method, path, body) = next(c, i)
                let t0 = now()
                let status = conn.request(method, path, body: body)
                f.latencies.append(now() - t0)
                f.statuses[status, default: 0] += 1
                i += 1
            }
            results.withLock { $0[c] = f }
            group.leave()
        }.start()
    }
    group.wait()
    let elapsed = now() - start
    let all = results.withLock { $0 }
    let lat = all.flatMap(\.latencies).sorted()
    var statuses: [Int: Int] = [:]
    for f in all { for (k, v) in f.statuses { statuses[k, default: 0] += v } }
    func pct(_ p: Double) -> String { lat.isEmpty ? "-" : String(format: "%.2f ms", lat[min(lat.count - 1, Int(Double(lat.count) * p))] * 1000) }
    let codes = statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
    print("\(name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(String(format: "%8.0f", Double(lat.count) / elapsed)) req/s   p50 \(pct(0.5))   p99 \(pct(0.99))   [\(codes)]")
    return Double(lat.count) / elapsed
}

enum Load {
    static func run() throws {
        let args = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String, _ def: Int) -> Int {
            if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
            return def
        }
        let entries = option("--entries", 100_000)
        let products = option("--products", 1_000)
        let connections = option("--connections", 16)
        let seconds = option("--seconds", 5)
        let submissions = option("--submissions", 4_000)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let dir = NSTemporaryDirectory() + "suyuan-load-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // MARK: The ledger (not timed)

        let op = SecretKey(seed: [UInt8](repeating: 1, count: 32))!
        let regs = (2...4).map { SecretKey(seed: [UInt8](repeating: UInt8($0), count: 32))! }
        let origin = "load.suyuan.example/ledger"
        let genesis = try Genesis(origin: origin, operatorKey: VerifierKey(name: origin, publicKey: op.publicKey),
                                  regulators: [.GD: VerifierKey(name: "gd", publicKey: regs[0].publicKey),
                                               .HK: VerifierKey(name: "hk", publicKey: regs[1].publicKey),
                                               .MO: VerifierKey(name: "mo", publicKey: regs[2].publicKey)])

        /// `n` distinct signed notices, signed on all cores.
        func notices(_ n: Int, tag: String) -> [SignedStatement] {
            let t = systemClock()
            let out = Mutex([SignedStatement?](repeating: nil, count: n))
            DispatchQueue.concurrentPerform(iterations: cores) { w in
                var mine: [(Int, SignedStatement)] = []
                for i in stride(from: w, to: n, by: cores) {
                    let k = regs[i % 3]
                    let notice = try! Notice(level: "notice", title: "\(tag) \(i)", text: "Routine inspection notice \(i) for imported goods in the bonded zone.",
                                             categories: ["cat-\(i % 11)"])
                    mine.append((i, try! Statement(kind: Notice.kind, payload: notice.payload, signer: k.publicKey, time: t).sign(with: k)))
                }
                out.withLock { for (i, s) in mine { $0[i] = s } }
            }
            return out.withLock { $0.map { $0! } }
        }

        // A registered enterprise that records the products' journeys.
        let enterprise = SecretKey(seed: [UInt8](repeating: 9, count: 32))!
        let since = Validity(from: Timestamp(parsing: "2026-01-01T00:00:00Z")!)
        func signed(_ kind: String, _ payload: JSONValue, by key: SecretKey) -> SignedStatement {
            try! Statement(kind: kind, payload: payload, signer: key.publicKey, time: systemClock()).sign(with: key)
        }
        let registry = [
            signed(TraceKind.body, try RegistryPayload.body(id: "ENT-LOAD", name: "Load Test Trading Co.", region: .GD, type: .enterprise, validity: since), by: regs[0]),
            signed(TraceKind.keyBinding, try RegistryPayload.keyBinding(body: "ENT-LOAD", key: enterprise.publicKey, role: "operator", validity: since), by: regs[0]),
        ]
        func code(_ p: Int) -> String { "https://id.gs1.org/01/09506000134352/21/LOAD-\(p)" }
        /// Product `p`'s journey: commissioned in New Zealand, shipped, received in Nansha, released, delivered.
        func journey(_ p: Int) -> [SignedStatement] {
            var d = StepDetails()
            d.originCountry = "NZ"; d.lot = "LOAD-LOT-\(p / 10)"; d.zone = .nansha; d.declaration = "5300\(p)"
            let start = systemClock().adding(seconds: -7 * 86400)
            let steps: [JourneyStepKind] = [.commission, .ship, .enterBonded, .release, .deliver]
            return steps.enumerated().map { k, step in
                let e = try! EventBuilder.build(step, product: code(p), time: start.adding(seconds: Int64(k) * 86400), details: d)
                return signed(TraceKind.event, EventBuilder.payload(e), by: enterprise)
            }
        }
        let productEntries = Array((0..<products).map(journey).joined())

        let ledgerPath = dir + "/load.ledger"
        let passphrase = "load benchmark passphrase"
        do {
            let store = try SQLiteLedgerStore(path: ledgerPath, create: true)
            let g = try Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: systemClock()).sign(with: op)
            let ledger = try Ledger.create(in: store, genesis: g, rules: .suyuan)
            _ = try ledger.appendAll(registry)
            // The products' events spread evenly through the notices.
            var done = Int(try ledger.size()), nextProduct = 0
            let fill = max(0, entries - done - productEntries.count)
            while done < entries {
                let n = min(5_000, entries - done)
                let events = min(productEntries.count - nextProduct, (productEntries.count * n + fill - 1) / max(1, fill))
                let batch = Array(productEntries[nextProduct..<nextProduct + events]) + notices(n - events, tag: "Seed \(done)")
                _ = try ledger.appendAll(batch)
                nextProduct += events
                done += n
            }
            precondition(nextProduct == productEntries.count, "--entries \(entries) is too small for \(products) products")
            // The operator key file (cheapest Argon2id the format allows), so the server signs checkpoints.
            let kf = try KeyFile.seal(op, name: origin, passphrase: Array(passphrase.utf8), opslimit: 1, memlimit: 1 << 20)
            let keyPath = dir + "/operator.key"
            _ = FileManager.default.createFile(atPath: keyPath, contents: Data(kf.encoded()), attributes: [.posixPermissions: 0o600])
            try store.setSetting("operator_key_path", keyPath)
            try ledger.checkpoint(signer: NoteSigner(name: origin, key: op))
        }

        // The in-process append rate the submissions are compared with: the same kind of statements
        // appended to a fresh ledger in batches of the server's size (512).
        let inProcessRate: Double
        do {
            let store = try SQLiteLedgerStore(path: dir + "/append.ledger", create: true)
            let g = try Statement(kind: Genesis.kind, payload: genesis.payload, signer: op.publicKey, time: systemClock()).sign(with: op)
            let ledger = try Ledger.create(in: store, genesis: g, rules: .suyuan)
            let batch = notices(submissions, tag: "In-process \(getpid())")
            let t = now()
            for start in stride(from: 0, to: batch.count, by: 512) { _ = try ledger.appendAll(Array(batch[start..<min(start + 512, batch.count)])) }
            inProcessRate = Double(batch.count) / (now() - t)
        }

        // MARK: The server: a second process

        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("suyuan").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            print("suyuan-load: build the suyuan binary first (swift build -c release --product suyuan); looked for \(binary)")
            exit(1)
        }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: binary)
        // Every connection comes from 127.0.0.1 as fast as it can: the per-client limits would measure themselves.
        server.arguments = ["serve", "--ledger", ledgerPath, "--port", "0", "--rate-limit", "0", "--max-client-connections", "0"]
        server.environment = ProcessInfo.processInfo.environment.merging(["SUYUAN_OPERATOR_PASSPHRASE": passphrase]) { $1 }
        let pipe = Pipe()
        server.standardOutput = pipe
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var port = 0
        var seen = ""
        while port == 0 {
            let d = pipe.fileHandleForReading.availableData
            if d.isEmpty { print("suyuan-load: the server exited before listening"); exit(1) }
            seen += String(decoding: d, as: UTF8.self)
            if let m = seen.firstMatch(of: #/:(\d+)/\n/#) { port = Int(m.1)! }
        }

        if args.contains("--mirror") {
            try mirror(binary: binary, ledger: ledgerPath, port: port, dir: dir, entries: entries, cores: cores)
            return
        }
        print("suyuan-load: \(cores) cores, ledger of \(entries) entries (\(products) products), server pid \(server.processIdentifier) on 127.0.0.1:\(port), \(connections) connections")
        let size = UInt64(entries)
        let duration = Double(seconds)
        let timed: @Sendable (Int, Double) -> Bool = { _, t in t >= duration }

        // Product verification: each product's first read computes it, repeated reads are served from
        // the server's verification cache until the ledger grows.
        let perConnectionProducts = max(1, products / connections)
        let verificationPaths = (0..<products).map { "/api/v1/products/verification?code=" + code($0).addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
        drive("GET verification (first read)", port: port, connections: connections, stop: { i, _ in i >= perConnectionProducts }) { c, i in
            ("GET", verificationPaths[(c * perConnectionProducts + i) % products], [])
        }
        drive("GET verification (repeated)", port: port, connections: connections, stop: timed) { c, i in
            ("GET", verificationPaths[(c &* 7919 &+ i &* 104_729) % min(products, perConnectionProducts * connections)], [])
        }
        drive("GET /api/v1/entries/{i}", port: port, connections: connections, stop: timed) { c, i in
            ("GET", "/api/v1/entries/\(UInt64(c &* 7919 &+ i &* 104_729) % size)", [])
        }
        drive("GET /api/v1/proofs/inclusion", port: port, connections: connections, stop: timed) { c, i in
            ("GET", "/api/v1/proofs/inclusion?index=\(UInt64(c &* 7919 &+ i &* 104_729) % size)", [])
        }
        drive("GET /tile/0/N", port: port, connections: connections, stop: timed) { c, i in
            ("GET", "/tile/0/" + String(format: "%03d", (c * 31 + i) % max(1, min(1000, entries / 256))), [])
        }

        // Submissions: pre-signed, distinct notices, split over the connections; more connections make
        // bigger batches (one commit and one checkpoint each).
        print(String(format: "in-process append (batches of 512)       %8.0f statements/s", inProcessRate))
        for conns in [connections, 4 * connections] {
            let toSubmit = notices(submissions, tag: "Load \(conns) \(getpid())").map { Array(($0.envelope.prettyPrinted() + "\n").utf8) }
            let perConnection = max(1, submissions / conns)
            let rate = drive("POST /api/v1/statements (\(conns) conns)", port: port, connections: conns, stop: { i, _ in i >= perConnection }) { c, i in
                ("POST", "/api/v1/statements", toSubmit[(c * perConnection + i) % toSubmit.count])
            }
            print(String(format: "    = %.1f %% of the in-process append rate (target ≥ 50 %%)", 100 * rate / inProcessRate))
        }
        // Batches (an EPCIS import or an inspector's day of records): 100 statements per request, all
        // appended in one transaction or none; counted in statements per second.
        do {
            let perRequest = 100
            let batched = notices(submissions, tag: "Batch \(getpid())").map { $0.envelope.prettyPrinted() }
            let bodies = stride(from: 0, to: batched.count, by: perRequest).map {
                Array(("{\"statements\":[" + batched[$0..<min($0 + perRequest, batched.count)].joined(separator: ",") + "]}").utf8)
            }
            let perConnection = max(1, bodies.count / connections)
            let requests = drive("POST /api/v1/statements/batch (\(connections) conns)", port: port, connections: connections,
                                 stop: { i, _ in i >= perConnection }) { c, i in
                ("POST", "/api/v1/statements/batch", bodies[(c * perConnection + i) % bodies.count])
            }
            let rate = requests * Double(perRequest)
            print(String(format: "    = %.0f statements/s in batches of %d = %.1f %% of the in-process append rate", rate, perRequest, 100 * rate / inProcessRate))
        }
        // One submitter alone: every request is its own commit (and checkpoint).
        let lone = notices(200, tag: "Lone \(getpid())").map { Array(($0.envelope.prettyPrinted() + "\n").utf8) }
        drive("POST (1 connection)", port: port, connections: 1, stop: { i, _ in i >= lone.count }) { _, i in
            ("POST", "/api/v1/statements", lone[i])
        }

    }
}

extension Load {
    /// Times `suyuan mirror` of the served ledger into a new replica, next to the rate at which the same
    /// entries' signatures verify alone on all cores (the bound mirroring should approach).
    static func mirror(binary: String, ledger: String, port: Int, dir: String, entries: Int, cores: Int) throws {
        let store = try SQLiteLedgerStore(path: ledger, readOnly: true)
        let sample = try store.entries(from: 1, count: min(entries - 1, 50_000)).map { try Entry(parsing: $0.bytes) }
        let t0 = now()
        let verified = Parallel.map(sample) { (try? $0.signed.verifySignature()) != nil }
        let verifyRate = Double(sample.count) / (now() - t0)
        precondition(verified.allSatisfy { $0 })

        let replica = dir + "/replica.ledger"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["mirror", "--from", "http://127.0.0.1:\(port)", "--ledger", replica, "--json"]
        let out = Pipe()
        p.standardOutput = out
        let t1 = now()
        try p.run()
        let report = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let seconds = now() - t1
        guard p.terminationStatus == 0, let j = try? JSONValue.parse([UInt8](report)), let appended = j["appended"]?.integerValue else {
            print("suyuan-load: suyuan mirror failed (exit \(p.terminationStatus)): \(String(decoding: report, as: UTF8.self))")
            exit(1)
        }
        let rate = Double(appended) / seconds
        print("suyuan-load: \(cores) cores, ledger of \(entries) entries served on 127.0.0.1:\(port) by a second process")
        print(String(format: "suyuan mirror: %lld entries in %.2f s = %.0f entries/s", appended, seconds, rate))
        print(String(format: "their signatures checked alone (as the ledger checks them), %d of them on %d cores: %.0f entries/s (mirroring at %.0f%% of it)",
                     sample.count, cores, verifyRate, 100 * rate / verifyRate))
    }
}

try Load.run()

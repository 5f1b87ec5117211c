// Supply-chain benchmarks: the accreditation registry at scale with three-region recognition verdicts,
// and product verification in a big ledger. Prints each figure and its ratio to the project's target,
// as wall-clock time and as process CPU time (the latter hardly moves when other work shares the cores).
//
//   swift build -c release --scratch-path .build-b2 --product suyuan-trace-bench
//   .build-b2/release/suyuan-trace-bench [--mode registry|ledger|all] [--entries N] [--readings N]
//       [--attestations N] [--runs N] [--dir DIR] [--keep] [--total-only]
//
// --mode registry: a SQLite ledger with a registry of 1,000 bodies (accreditation bodies in GD and HK;
//   labs, inspection and certification bodies in all three regions with 3–8 scope items each;
//   enterprises), 10,000 key bindings, about 20 status changes per body, agreements, policies and key
//   revocations, and a lot with --attestations (100) attestations from 60 bodies. Times the registry
//   rebuild (TraceReader.registry()), the product's verdicts for GD, HK and MO
//   (RecognitionVerifier.productVerdict, and productVerdicts) against the 100 ms target, and the whole
//   ProductVerifier.verify.
// --mode ledger: the same registry, then a ledger filled to --entries (1,000,000) entries with
//   pre-signed statements in batches (nine in ten regulator notices, one in ten events of other
//   products), among which one product's journey with --readings (10,000) temperature readings on its
//   case and one product with 10 events. Prints how long filling took, then times ProductVerifier.verify
//   for both products against the one-second target. Use a smaller --entries for a quick run.
// --mode all (the default) runs both. --runs overrides the number of timed runs (after one warm-up,
// printed apart as the "first run": what a new process pays, with every cache cold);
// --keep keeps the ledger files in --dir; --mode reuse times the reads again on the ledger a
// `--mode ledger --keep` run left in --dir (upgrading its term index first if an older version kept it),
// then times a replay of the whole registry.
import Dispatch
import Foundation
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanStore
import SuyuanTrace

// MARK: Arguments

let args = Array(CommandLine.arguments.dropFirst())
func value(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), args.index(after: i) < args.endIndex else { return nil }
    return args[args.index(after: i)]
}
func option(_ name: String, _ def: Int) -> Int { value(name).flatMap { Int($0.replacingOccurrences(of: "_", with: "")) } ?? def }
let mode = value("--mode") ?? "all"
guard ["registry", "ledger", "all", "reuse"].contains(mode) else {
    FileHandle.standardError.write(Data("--mode must be registry, ledger, all or reuse\n".utf8))
    exit(2)
}
let entryCount = option("--entries", 1_000_000)
let readings = option("--readings", 10_000)
let attestationCount = option("--attestations", 100)
let runsOverride = value("--runs").flatMap { Int($0) }
let keep = args.contains("--keep")
let totalOnly = args.contains("--total-only")  // time only ProductVerifier.verify, not its parts (for profiling)
let dir = value("--dir") ?? NSTemporaryDirectory() + "suyuan-trace-bench-\(getpid())"
if mode != "reuse" {
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
}
defer { if !keep && mode != "reuse" { try? FileManager.default.removeItem(atPath: dir) } }

// MARK: Measuring

func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// CPU time of the whole process (all threads), in seconds: unlike wall-clock time it does not grow
/// when other work shares the cores.
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Latencies of repeated runs, in milliseconds: wall-clock and process CPU time; and those of the
/// untimed first run, which found the caches cold (SQLite's page cache, lazily built lookups), as a new
/// process (a `suyuan verify` on the command line) does.
struct Latencies {
    let wall: [Double], cpu: [Double], first: (wall: Double, cpu: Double)
    init(wall: [Double], cpu: [Double], first: (wall: Double, cpu: Double)) {
        self.wall = wall.map { $0 * 1e3 }.sorted(); self.cpu = cpu.map { $0 * 1e3 }.sorted(); self.first = (first.wall * 1e3, first.cpu * 1e3)
    }
    static func p50(_ s: [Double]) -> Double { s[s.count / 2] }
    /// The 99th percentile (nearest rank); with fewer than 100 runs, the slowest run.
    static func p99(_ s: [Double]) -> Double { s[min(s.count - 1, Int((Double(s.count) * 0.99).rounded(.up)) - 1)] }
    var p50: Double { Self.p50(wall) }
    var p99: Double { Self.p99(wall) }
    var text: String {
        "p50 \(ms(p50)), p99 \(ms(p99)) wall (\(wall.count) runs, min \(ms(wall[0]))); CPU p50 \(ms(Self.p50(cpu))), p99 \(ms(Self.p99(cpu)))"
            + "; first run \(ms(first.wall)) wall, \(ms(first.cpu)) CPU"
    }
    /// Both percentiles, wall-clock and CPU, against a target.
    func against(_ target: Double) -> String {
        String(format: "wall p50 %.3f, p99 %.3f; CPU p50 %.3f, p99 %.3f × the target of %@",
               p50 / target, p99 / target, Self.p50(cpu) / target, Self.p99(cpu) / target, ms(target))
    }
}

func ms(_ x: Double) -> String { String(format: x >= 100 ? "%.0f ms" : x >= 10 ? "%.1f ms" : "%.2f ms", x) }
func sec(_ x: Double) -> String { String(format: "%.1f s", x) }

/// Runs `body` `runs` times (after one warm-up run, timed apart) and returns the latencies. The
/// result of each run is released, and whatever it handed to `Parallel.releaseInBackground` torn down, before the next one's clock starts: tearing down a 10,000-event
/// verification takes tens of milliseconds on one thread, and is no part of making the next one (a
/// command-line `suyuan verify` exits without it).
func measure<T>(_ runs: Int, _ body: () throws -> T) rethrows -> (Latencies, T) {
    let (t0, c0) = (seconds(), cpuSeconds())
    var last: T? = try body()
    let first = (wall: seconds() - t0, cpu: cpuSeconds() - c0)
    var wall: [Double] = [], cpu: [Double] = []
    for _ in 0..<runs {
        last = nil
        Parallel.waitForBackgroundReleases()
        let (t, c) = (seconds(), cpuSeconds())
        last = try body()
        wall.append(seconds() - t)
        cpu.append(cpuSeconds() - c)
    }
    return (Latencies(wall: wall, cpu: cpu, first: first), last!)
}


func fileMiB(_ path: String) -> String {
    let bytes = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.doubleValue ?? 0
    return String(format: "%.0f MiB", bytes / 1_048_576)
}

func verdictLine(_ v: ProductVerification) -> String {
    Region.allCases.map { r in
        let pv = v.verdicts[r]!
        let recognised = pv.attestations.filter { $0.verdict == .recognised }.count
        return "\(r.rawValue) \(pv.verdict.rawValue) (\(recognised)/\(pv.attestations.count) attestations recognised)"
    }.joined(separator: ", ")
}

/// One product verification timed as a whole and by part: registry replay, journey build, verdicts.
func verifyRuns(_ code: ProductCode, in bl: BenchLedger, runs: Int, target: Double, label: String) throws {
    // Verified through the file opened as `suyuan verify` opens it (its small page cache, which later
    // runs do not find warm with the pages of earlier ones).
    let verifying = try Ledger(opening: try SQLiteLedgerStore(path: bl.path, pageCacheKiB: SQLiteLedgerStore.singleReadPageCacheKiB),
                               rules: .suyuan, clock: { benchNow })
    let reader = TraceReader(ledger: verifying)
    let (total, result) = try measure(runs) { try ProductVerifier.verify(code, in: verifying, now: benchNow, bundle: false).0 }
    if totalOnly {
        print("  \(label): \(result.verified ? "VERIFIED" : "NOT VERIFIED"); ProductVerifier.verify: \(total.text)")
        return
    }
    // The parts of the integrity proof, timed alone on the same entries: reading their inclusion
    // proofs, and checking proofs and signatures (here parsing every entry too, which verify avoids).
    guard let bundle = try ProductVerifier.verify(code, in: bl.ledger, now: benchNow).1 else {
        print("  \(label): the ledger has no checkpoint; nothing to prove against")
        return
    }
    let material = bundle.material
    // The consumer's offline check of the product's bundle file, from its bytes.
    let bundleBytes = try bundle.json.canonical()
    let (offlineTime, offline) = try measure(runs) {
        try ProductBundle(parsing: bundleBytes).verify(trusting: [bl.ledger.genesis.operatorKey], now: benchNow)
    }
    precondition(offline.integrityFailures.isEmpty, "the offline bundle does not verify: \(offline.integrityFailures.prefix(2))")
    let proved = material.entries.keys.sorted()
    let checkpoint = try Checkpoint.verify(material.checkpoint, trusting: [bl.ledger.genesis.operatorKey]).checkpoint
    let size = checkpoint.size
    let (proofTime, _) = try measure(runs) { try RFC6962.inclusionProofs(indexes: proved, size: size, reader: bl.ledger.store) }
    let leaves = proved.map { (index: $0, leafHash: RFC6962.leafHash(material.entries[$0]!)) }
    let (walkTime, walked) = measure(runs) { RFC6962.verifyInclusions(leaves, size: size, root: checkpoint.root, reader: verifying.store) }
    precondition(walked.allSatisfy { $0 == nil }, "the entries are not all included in the checkpoint")
    let (checkTime, _) = measure(runs) { material.verify(trusting: [bl.ledger.genesis.operatorKey]) }
    // The machine's own limit, timed in the same run: checking the same signatures over the same signed
    // bytes (DSSE PAE), on all cores, with nothing else done (every input prepared first). The floor is
    // `PublicKey.isValidSignature`, as verification checks them (per-key tables for repeated signers,
    // Specs/crypto.md §2.2); libsodium's own check is timed too, for reference.
    let signed = try proved.map { i in try Entry(parsing: material.entries[i]!).signed }
    let keys = try signed.map { try $0.statement.signerKey() }
    let messages = signed.map { DSSE.pae(type: Statement.payloadType, body: $0.canonical) }
    func checkAll(_ check: @escaping @Sendable (PublicKey, [UInt8], [UInt8]) -> Bool) -> Latencies {
        measure(runs) {
            DispatchQueue.concurrentPerform(iterations: cores) { w in
                for i in stride(from: w, to: signed.count, by: cores) {
                    precondition(check(keys[i], signed[i].signature, messages[i]))
                }
            }
        }.0
    }
    let floor = checkAll { $0.isValidSignature($1, for: $2) }
    let libsodium = checkAll { $0.libsodiumAccepts($1, for: $2) }
    let (journeyTime, journey) = try measure(runs) {
        try ProductJourney.build(code, source: { try reader.entries($0) }) { keys, bodies in
            try reader.registry(about: keys, bodies: bodies) ?? reader.registry()
        }
    }
    let registry = try reader.registry()
    let (verdictTime, _) = measure(runs) {
        ProductVerification(journey: journey, registry: registry, now: benchNow, checkpoint: nil, integrityFailures: [], entriesProved: 0)
    }
    print("  \(label): \(journey.steps.count) events, \(journey.attestations.count) attestations, \(result.entriesProved) entries proved; "
          + (result.verified ? "VERIFIED" : "NOT VERIFIED: \(result.problems.prefix(2))"))
    print("    verdicts: \(verdictLine(result))")
    print("    ProductVerifier.verify (registry + journey + proofs + verdicts): \(total.text)")
    print("      \(total.against(target))")
    print("    of which ProductJourney.build: \(journeyTime.text)")
    print("    of which checking their inclusion in one walk over the stored tree (as verify does): \(walkTime.text)")
    print("    (a bundle's proofs, read for the same entries: \(proofTime.text); checking the bundle's proofs, parsing, signatures: \(checkTime.text))")
    print("    of which verdicts (3 regions): \(verdictTime.text)")
    print("    offline: its bundle (\(bundleBytes.count / 1024) KiB) checked from its bytes with no ledger (ProductBundle.verify): \(offlineTime.text)")
    print("    the floor: checking the \(signed.count) signatures alone on \(cores) cores (PublicKey.isValidSignature): \(floor.text)")
    print(String(format: "      libsodium's check alone: %@ (%.2f × the floor)", libsodium.text, libsodium.p50 / floor.p50))
    print(String(format: "      ProductVerifier.verify takes %.2f × the floor (p50 against p50; CPU %.2f ×); the offline check %.2f × (CPU %.2f ×)",
                 total.p50 / floor.p50, Latencies.p50(total.cpu) / Latencies.p50(floor.cpu),
                 offlineTime.p50 / floor.p50, Latencies.p50(offlineTime.cpu) / Latencies.p50(floor.cpu)))
}

let cores = ProcessInfo.processInfo.activeProcessorCount
print("suyuan-trace-bench: \(cores) cores, mode \(mode), evaluation time \(benchNow.millisecondString)")

// MARK: 1. Registry scale and recognition verdicts

if mode == "registry" || mode == "all" {
    print("\n1. Registry scale and recognition verdicts")
    let bl = try BenchLedger(path: dir + "/registry.db")
    var rng = SplitMix64(seed: 0x5359_5541)
    var t = seconds()
    let fixture = try RegistryFixture.record(on: bl, rng: &rng)
    print("  registry: \(fixture.summary) recorded in \(sec(seconds() - t))")

    // The product: one item of lot LOT-R1, with a short journey recorded by a carrier, and
    // `attestationCount` attestations on the lot from about 60 bodies.
    t = seconds()
    let code = try ProductCode(parsing: item("SN-R1"))
    let lotCode = lot("LOT-R1")
    let (attestations, issuers) = try attestationDrafts(for: lotCode, count: attestationCount, bodies: 60, fixture: fixture,
                                                        registry: try bl.registry(), rng: &rng)
    try bl.signAndAppend(attestations)
    var later: [Draft] = []
    for (i, a) in attestations.enumerated() where i % 20 == 3 {
        // A few attestations revoked by their issuer or suspended by their body's regulator.
        let id = a.payload.objectValue!["credential"]!.objectValue!["id"]!.stringValue!
        let issuer = issuers[i]
        later.append(i % 40 == 3
            ? bl.draft(TraceKind.attestationStatus, RegistryPayload.attestationStatus(attestation: id, status: .revoked, reason: "sample mix-up", effective: benchNow.adding(seconds: -3600)), by: issuer.inspector)
            : bl.draft(TraceKind.attestationStatus, RegistryPayload.attestationStatus(attestation: id, status: .suspended, reason: "under review", effective: benchNow.adding(seconds: -3600)), by: bl.regulator(issuer.region)))
    }
    // Two issuing bodies suspended after they attested (effective two days ago): GD's policy invalidates.
    for issuer in [issuers[5], issuers[6]] {
        later.append(bl.draft(TraceKind.status, RegistryPayload.status(body: issuer.id, status: .suspended, effective: benchNow.adding(seconds: -2 * 86400)), by: bl.regulator(issuer.region)))
    }
    let carrier = fixture.enterprises[1]
    later += try journeyEvents(item: code.canonical, lot: "LOT-R1", case: sscc(100), readings: 3, start: day("2026-05-02")).map { bl.eventDraft($0, by: carrier.key) }
    try bl.signAndAppend(later)
    try bl.checkpoint()
    let size = try bl.ledger.size()
    print("  product \(code.canonical): \(attestationCount) attestations on lot \(lotCode) from \(Set(issuers.map(\.id)).count) bodies, recorded in \(sec(seconds() - t)); ledger \(size) entries, \(fileMiB(bl.path))")

    let reader = TraceReader(ledger: bl.ledger)
    let (rebuild, registry) = try measure(runsOverride ?? 20) { try reader.registry() }
    print("  registry rebuild (TraceReader.registry(), \(registry.bodies.count) bodies, \(registry.bindings.count) bindings, "
          + "\(registry.bodies.values.map(\.history.count).reduce(0, +)) status changes): \(rebuild.text)")

    let journey = try ProductJourney.build(code, source: { try reader.entries($0) }, registry: registry)
    let verifier = RecognitionVerifier(registry: registry, now: benchNow)
    let (verdicts, last) = measure(runsOverride ?? 200) {
        Region.allCases.map { verifier.productVerdict(journey.attestations, region: $0, product: journey.code, lot: journey.lot) }
    }
    print("  verdicts GD, HK, MO for \(journey.attestations.count) attestations (RecognitionVerifier.productVerdict ×3): \(verdicts.text)")
    print("    \(verdicts.against(100))")
    let (once, _) = measure(runsOverride ?? 200) { verifier.productVerdicts(journey.attestations, product: journey.code, lot: journey.lot) }
    print("  the same with each proof checked once for all three (RecognitionVerifier.productVerdicts, as ProductVerifier.verify does): \(once.text)")
    print("    \(once.against(100))")
    print("    " + last.map { "\($0.region.rawValue) \($0.verdict.rawValue) (\($0.attestations.filter { $0.verdict == .recognised }.count) recognised)" }.joined(separator: ", "))
    try verifyRuns(code, in: bl, runs: runsOverride ?? 20, target: 1000, label: "ProductVerifier.verify")
}

// MARK: 2. A big product in a big ledger

let big = try ProductCode(parsing: item("SN-BIG")), small = try ProductCode(parsing: item("SN-SMALL"))

if mode == "reuse" {
    // The ledger of an earlier `--mode ledger --keep` run in --dir: only the reads are timed again.
    let bl = try BenchLedger(reopening: dir + "/big.db")
    print("\n2. Reopened \(bl.path): \(try bl.ledger.size()) entries")
    // A ledger kept by an earlier version: its term index is brought up to date once (Specs/storage.md).
    let indexed = try bl.ledger.store.termIndexVersion()
    if indexed < bl.ledger.rules.termIndexVersion {
        let t = seconds()
        try bl.ledger.upgradeTermIndex()
        print("  term index upgraded from version \(indexed) to \(bl.ledger.rules.termIndexVersion) in \(String(format: "%.0f", (seconds() - t) * 1000)) ms (once per ledger)")
    }
    // A product's verification reads only the registry facts about its signers and bodies; the first
    // run is what a new process (a `suyuan verify` on the command line) pays.
    try verifyRuns(big, in: bl, runs: runsOverride ?? 10, target: 1000, label: "product SN-BIG")
    try verifyRuns(small, in: bl, runs: runsOverride ?? 50, target: 1000, label: "product with ~10 events")
    // What a reader of the whole registry (`suyuan registry show`) pays once per process (a ledger
    // opened anew: the one above cached the registry for the parts' timings).
    let fresh = try BenchLedger(reopening: dir + "/big.db")
    let (t, c) = (seconds(), cpuSeconds())
    let replayed = try TraceReader(ledger: fresh.ledger).registry()
    print("  whole registry replayed (not needed by the verifications above): \(String(format: "%.0f", (seconds() - t) * 1000)) ms wall, "
          + "\(String(format: "%.0f", (cpuSeconds() - c) * 1000)) ms CPU (\(replayed.bodies.count) bodies, \(replayed.bindings.count) bindings)")
}

if mode == "ledger" || mode == "all" {
    print("\n2. A product with \(readings) events in a ledger of \(entryCount) entries")
    let bl = try BenchLedger(path: dir + "/big.db")
    var rng = SplitMix64(seed: 0x5359_4C47)
    let fillStart = seconds()
    let fixture = try RegistryFixture.record(on: bl, rng: &rng)
    let registry = try bl.registry()

    // The two measured products, their attestations and their events (the events spread through the fill).
    try bl.signAndAppend(try attestationDrafts(for: lot("LOT-BIG"), count: 3, bodies: 3, fixture: fixture, registry: registry, rng: &rng).drafts
                         + attestationDrafts(for: lot("LOT-SMALL"), count: 2, bodies: 2, fixture: fixture, registry: registry, rng: &rng).drafts)
    let carrier = fixture.enterprises[1]
    let productEvents = try journeyEvents(item: big.canonical, lot: "LOT-BIG", case: sscc(1), readings: readings, start: day("2026-05-02"))
        + journeyEvents(item: small.canonical, lot: "LOT-SMALL", case: sscc(2), readings: 3, start: day("2026-05-05"))
    let special = bl.sign(productEvents.map { bl.eventDraft($0, by: carrier.key) })

    // The rest: nine in ten regulator notices, one in ten an event of another product (commission,
    // ship, sensor reading, delivery of items F-0, F-1, …) by the enterprises.
    let fill = max(0, entryCount - Int(try bl.ledger.size()))
    guard fill >= 2 * special.count else {
        FileHandle.standardError.write(Data("--entries \(entryCount) is too small for \(special.count) product events; use at least \(Int(try bl.ledger.size()) + 2 * special.count)\n".utf8))
        exit(2)
    }
    let slots = Dictionary(uniqueKeysWithValues: special.indices.map { ($0 + 1) * fill / (special.count + 1) }.enumerated().map { ($1, $0) })
    let regulators = Region.allCases.map { bl.regulator($0) }
    let enterpriseKeys = fixture.enterprises.map(\.key)
    @Sendable func filler(_ k: Int, at time: Timestamp) -> SignedStatement {
        if k % 10 == 0 {
            let n = k / 10
            let steps: [JourneyStepKind] = [.commission, .ship, .sensor, .deliver]
            var d = StepDetails()
            d.originCountry = "FR"; d.lot = "FL-\(n / 400)"; d.temperature = 4
            let e = try! EventBuilder.build(steps[n % 4], product: item("F-\(n / 4)"), time: day("2026-04-01").adding(seconds: Int64(n)), details: d)
            let key = enterpriseKeys[n % enterpriseKeys.count]
            return try! Statement(kind: TraceKind.event, payload: EventBuilder.payload(e), signer: key.publicKey, time: time).sign(with: key)
        }
        let notice = try! Notice(level: "notice", title: "Notice \(k)", text: "Routine inspection notice number \(k) for imported goods in the bonded zone.",
                                 products: [item("F-\(k / 40)")], categories: ["infant-formula"])
        let key = regulators[k % 3]
        return try! Statement(kind: Notice.kind, payload: notice.payload, signer: key.publicKey, time: time).sign(with: key)
    }
    var signSeconds = 0.0, appendSeconds = 0.0
    let chunk = 100_000
    for start in stride(from: 0, to: fill, by: chunk) {
        let positions = Array(start..<min(start + chunk, fill))
        let base = bl.reserveTimes(positions.count)
        var t = seconds()
        let statements = Parallel.map(positions) { k in slots[k].map { special[$0] } ?? filler(k, at: base.adding(milliseconds: Int64(k - start))) }
        signSeconds += seconds() - t
        t = seconds()
        try bl.append(statements)
        appendSeconds += seconds() - t
        FileHandle.standardError.write(Data("  … \(start + positions.count) of \(fill) filler entries\n".utf8))
    }
    try bl.checkpoint()
    let size = try bl.ledger.size()
    print("  filled \(size) entries (registry: \(fixture.summary)) in \(sec(seconds() - fillStart)): "
          + "signing \(sec(signSeconds)), appending \(sec(appendSeconds)) (\(String(format: "%.0f", Double(fill) / appendSeconds)) entries/s); \(fileMiB(bl.path))")

    let reader = TraceReader(ledger: bl.ledger)
    let (rebuild, _) = try measure(runsOverride ?? 10) { try reader.registry() }
    print("  registry rebuild at \(size) entries: \(rebuild.text)")
    try verifyRuns(big, in: bl, runs: runsOverride ?? 10, target: 1000, label: "product with \(readings) readings")
    try verifyRuns(small, in: bl, runs: runsOverride ?? 50, target: 1000, label: "product with ~10 events")
    if keep { print("  ledger kept at \(bl.path)") }
}

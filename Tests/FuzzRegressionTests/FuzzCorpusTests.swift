import Foundation
import SuyuanFuzz
import Testing

/// Every file in `Tools/fuzz/corpus/TARGET/` (the seeds, what fuzzing kept, and every input that once crashed
/// or broke a property, named `crash-*`) goes through its target: each must be accepted soundly or refused
/// with a clean error — never a crash, never a broken property.
@Suite("fuzz corpora and crash regressions") struct FuzzCorpusTests {
    static let corpus: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("Tools/fuzz/corpus")
    }()

    static func files(_ target: String) -> [URL] {
        let dir = corpus.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.all.map(\.name))
    func everyCorpusFileIsHandledCleanly(target name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let files = Self.files(name)
        #expect(files.count >= 3, "Tools/fuzz/corpus/\(name) should hold seed inputs")
        var accepted = 0
        for f in files {
            let bytes = [UInt8](try Data(contentsOf: f))
            let o = target.run(bytes)
            #expect(o.violations.isEmpty, "\(name) on \(f.lastPathComponent): \(o)")
            if o.accepted { accepted += 1 } else {
                #expect(!(o.refusal ?? "").isEmpty, "\(name) refused \(f.lastPathComponent) without saying why")
            }
        }
        // The seeds include valid inputs, so the corpus exercises the accepting paths too.
        #expect(accepted > 0, "no input in Tools/fuzz/corpus/\(name) is accepted")
    }

    @Test func everyCorpusDirectoryHasATarget() throws {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)) ?? []
        #expect(Set(dirs) == Set(FuzzTarget.all.map(\.name)), "corpus directories vs targets")
    }

    /// A few hundred deterministic mutations of every seed, so the normal suite fuzzes a little too.
    @Test(arguments: FuzzTarget.all.map(\.name))
    func mutationsOfTheSeedsAreHandledCleanly(target name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        var rng = SplitMix64(seed: 0x5eed_0000 &+ UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }))
        // The hand-made seeds (not what fuzzing merged in), so the run stays short.
        let seeds = try Self.files(name).filter { !$0.lastPathComponent.hasPrefix("fuzz-") }.prefix(60).map { [UInt8](try Data(contentsOf: $0)) }
        for seed in seeds {
            for _ in 0..<40 {
                let m = mutate(seed, &rng)
                let o = target.run(m)
                #expect(o.violations.isEmpty, "\(name) on a mutation (\(m.count) bytes, base64 \(Data(m).base64EncodedString().prefix(300))): \(o)")
            }
        }
    }
}

struct SplitMix64: RandomNumberGenerator {
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

/// One to four byte-level edits: flip, replace with an interesting byte, insert, delete, duplicate a slice.
func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var b = input
    let interesting: [UInt8] = [0, 0x0a, 0x20, 0x22, 0x2b, 0x2d, 0x2e, 0x30, 0x39, 0x3d, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x7f, 0x80, 0xc3, 0xe2, 0xff]
    for _ in 0..<Int.random(in: 1...4, using: &rng) {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0 where !b.isEmpty:
            b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
        case 1 where !b.isEmpty:
            b[Int.random(in: 0..<b.count, using: &rng)] = interesting.randomElement(using: &rng)!
        case 2:
            b.insert(interesting.randomElement(using: &rng)!, at: Int.random(in: 0...b.count, using: &rng))
        case 3 where !b.isEmpty:
            b.remove(at: Int.random(in: 0..<b.count, using: &rng))
        case 4 where b.count > 1:
            let i = Int.random(in: 0..<b.count, using: &rng), n = Int.random(in: 1...min(16, b.count - i), using: &rng)
            b.insert(contentsOf: b[i..<(i + n)], at: Int.random(in: 0...b.count, using: &rng))
        default:
            break
        }
    }
    return b
}

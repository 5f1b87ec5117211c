// `suyuan-fuzz`: the fuzz targets of `SuyuanFuzz` as one binary.
//
// Built normally, it replays inputs: `suyuan-fuzz TARGET FILE|DIR...` runs each file through TARGET and exits 1
// if any breaks a property (`suyuan-fuzz --list` names the targets).
// Built by `Tools/fuzz.sh` with `-sanitize=fuzzer -D FUZZING`, libFuzzer supplies `main` and calls
// `LLVMFuzzerTestOneInput` with the target named by `$SUYUAN_FUZZ_TARGET`; a broken property aborts, so
// libFuzzer saves the input as a crash.
import SuyuanFuzz

#if canImport(Glibc)
import Glibc
#endif

/// Writes `s` to standard error (unbuffered).
func warn(_ s: String) {
    let b = Array(s.utf8)
    _ = b.withUnsafeBytes { write(2, $0.baseAddress, b.count) }
}

#if FUZZING
nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if selected == nil {
        let name = getenv("SUYUAN_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let t = FuzzTarget.named(name) else {
            warn("suyuan-fuzz: set SUYUAN_FUZZ_TARGET to one of: \(FuzzTarget.all.map(\.name).joined(separator: " "))\n")
            exit(2)
        }
        selected = t
    }
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data!, count: size))
    let outcome = selected!.run(bytes)
    if !outcome.violations.isEmpty {
        warn("suyuan-fuzz: \(selected!.name): \(outcome)\n")
        abort()
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's `main` to `<module>_main`; hand it to libFuzzer's driver.
@_cdecl("suyuan_fuzz_main")
public func suyuanFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzzOne)
}
#else
import Foundation

@main
struct FuzzReplay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.isEmpty || args[0] == "--help" || args[0] == "--list" {
            print("usage: suyuan-fuzz TARGET FILE|DIR...   (replays inputs; Tools/fuzz.sh TARGET SECONDS fuzzes)")
            for t in FuzzTarget.all { print("  \(t.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(t.about)") }
            exit(args.isEmpty ? 64 : 0)
        }
        if args[0] == "--write-seeds", args.count == 2 {
            do {
                for (t, name, bytes) in try FuzzSeeds.generate() {
                    let dir = args[1] + "/" + t
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
                }
            } catch { warn("suyuan-fuzz: \(error)\n"); exit(1) }
            exit(0)
        }
        guard let target = FuzzTarget.named(args[0]) else {
            warn("suyuan-fuzz: unknown target \(args[0]); one of \(FuzzTarget.all.map(\.name).joined(separator: " "))\n")
            exit(64)
        }
        var files: [String] = []
        let fm = FileManager.default
        for p in args.dropFirst() {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { warn("suyuan-fuzz: no file \(p)\n"); exit(66) }
            if isDir.boolValue {
                files += ((try? fm.contentsOfDirectory(atPath: p)) ?? []).sorted().map { p + "/" + $0 }
            } else {
                files.append(p)
            }
        }
        var accepted = 0, refused = 0, broken = 0
        for f in files {
            guard let d = fm.contents(atPath: f) else { continue }
            let o = target.run([UInt8](d))
            if !o.violations.isEmpty {
                broken += 1
                print("\(f): \(o)")
            } else if o.accepted { accepted += 1 } else { refused += 1 }
        }
        print("\(target.name): \(files.count) inputs, \(accepted) accepted, \(refused) refused cleanly, \(broken) broke a property")
        exit(broken == 0 ? 0 : 1)
    }
}
#endif

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A C2SP tlog-witness for one log: cosigns checkpoints offered with `POST /add-checkpoint` when they
/// are consistent with the last one it cosigned, persisting its `WitnessState` file (the same file
/// `suyuan witness cosign` uses) before it answers. Checking and persisting are atomic: one request at
/// a time in this process, and an exclusive `flock` on `STATE.lock` against other processes.
public final class WitnessService: Sendable {
    /// The witness's key name (the name in its cosignature lines).
    public let name: String
    /// The state file.
    public let statePath: String
    private let key: SecretKey
    private let serial = Mutex(())

    /// The largest request body: a note of at most `Note.maxSize` bytes plus the old size and 63 proof lines.
    public static let maxRequestBytes = Note.maxSize + 4096

    /// A witness signing as `name` with `key`, keeping its state in `statePath` (which must hold a
    /// valid state: `suyuan witness cosign --log` or `suyuan serve --witness-log` creates it).
    public init(name: String, key: SecretKey, statePath: String) throws {
        self.name = name
        self.key = key
        self.statePath = statePath
        _ = try WitnessService.load(statePath)
    }

    /// The witness's cosigner verifier key (algorithm 0x04).
    public var verifierKey: VerifierKey {
        get throws { try VerifierKey(name: name, publicKey: key.publicKey, algorithm: .cosignatureV1) }
    }

    /// The current state (a fresh read of the file).
    public func currentState() throws -> WitnessState { try WitnessService.load(statePath) }

    static func load(_ path: String) throws -> WitnessState {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw APIError(.internalServerError, "cannot read the witness state file \(path)")
        }
        guard data.count <= 1 << 16 else { throw APIError(.internalServerError, "the witness state file \(path) is larger than 64 KiB") }
        do { return try WitnessState(json: try JSONValue.parse([UInt8](data))) } catch {
            throw APIError(.internalServerError, "the witness state file \(path) is malformed: \(error)")
        }
    }

    /// The request body of `add-checkpoint`: `old N\n`, up to 63 base64 proof lines, an empty line, the note.
    struct Submission {
        let oldSize: UInt64
        let proof: [Hash]
        let note: [UInt8]

        init(parsing body: [UInt8]) throws(APIError) {
            var lines: [ArraySlice<UInt8>] = []
            var start = 0
            var rest: Int?
            for i in body.indices where body[i] == 0x0a {
                let line = body[start..<i]
                start = i + 1
                if line.isEmpty { rest = start; break }
                lines.append(line)
                guard lines.count <= 64 else { throw .badRequest("more than 63 consistency proof lines; the limit is 63") }
            }
            guard let rest, let first = lines.first else {
                throw .badRequest("the body must be \"old <size>\\n\", up to 63 proof lines, an empty line and the checkpoint (C2SP tlog-witness)")
            }
            let oldLine = String(decoding: first, as: UTF8.self)
            guard oldLine.hasPrefix("old "), let old = Query.decimal(oldLine.dropFirst(4)) else {
                throw .badRequest("the first line must be \"old <size>\" with a decimal size without leading zeros, got \"\(oldLine.prefix(40))\"")
            }
            var proof: [Hash] = []
            for (n, l) in lines.dropFirst().enumerated() {
                guard let b = Base64.decode(String(decoding: l, as: UTF8.self)), let h = Hash(bytes: b) else {
                    throw .badRequest("consistency proof line \(n + 1) is not the standard base64 of a 32-byte hash")
                }
                proof.append(h)
            }
            self.oldSize = old
            self.proof = proof
            self.note = Array(body[rest...])
        }
    }

    /// Handles one `add-checkpoint` body; returns the cosignature line(s). Blocking (file I/O).
    func addCheckpoint(_ body: [UInt8], now: Timestamp) throws -> [UInt8] {
        let sub = try Submission(parsing: body)
        let cp: Checkpoint
        do { cp = try Checkpoint.parse(body: try Note.parse(sub.note).text) } catch {
            throw APIError.badRequest("the checkpoint is malformed: \(error)")
        }
        return try serial.withLock { _ in
            let lockFD = open(statePath + ".lock", O_CREAT | O_RDWR, 0o600)
            guard lockFD >= 0, flock(lockFD, LOCK_EX) == 0 else {
                throw APIError(.internalServerError, "cannot lock \(statePath).lock: \(String(cString: strerror(errno)))")
            }
            defer { flock(lockFD, LOCK_UN); close(lockFD) }
            let state = try WitnessService.load(statePath)
            guard cp.origin == state.origin else {
                throw APIError.notFound("this witness does not know the log \"\(cp.origin)\"; it witnesses \"\(state.origin)\"")
            }
            do { _ = try Checkpoint.verify(sub.note, trusting: [state.log]) } catch {
                throw APIError(.forbidden, "the checkpoint is not signed by the log key this witness trusts (\(state.log)): \(error)")
            }
            guard sub.oldSize <= cp.size else {
                throw APIError.badRequest("old size \(sub.oldSize) is larger than the checkpoint's size \(cp.size)")
            }
            guard sub.oldSize == state.size else { throw WitnessService.conflict(state.size, "old size \(sub.oldSize) is not the size this witness last cosigned") }
            if sub.oldSize == 0, !sub.proof.isEmpty {
                throw APIError(.unprocessableContent, "a consistency proof from size 0 must be empty, got \(sub.proof.count) lines")
            }
            let cosigned: Note, next: WitnessState
            do throws(WitnessError) {
                (cosigned, next) = try state.cosign(note: sub.note, proof: sub.proof, proofSizes: (sub.oldSize, cp.size),
                                                    witnessName: name, key: key, now: now)
            } catch {
                switch error {
                case .wrongLog: throw APIError.notFound(error.description)
                case .badCheckpoint: throw APIError(.forbidden, error.description)
                case .rollback, .fork: throw WitnessService.conflict(state.size, error.description)
                case .proofRequired, .proofMismatch, .inconsistent: throw APIError(.unprocessableContent, error.description)
                case .malformedState: throw APIError(.internalServerError, error.description)
                }
            }
            try WitnessService.save(next, to: statePath)
            return Array((cosigned.signatures.last!.line + "\n").utf8)
        }
    }

    /// 409 with the witness's current size as `text/x.tlog.size`, as C2SP tlog-witness requires.
    private static func conflict(_ size: UInt64, _ why: String) -> APIError {
        var h = HTTPFields()
        h[.init("X-Suyuan-Reason")!] = String(why.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" })
        return APIError(.conflict, why, extra: ["size": .number(Double(size))], headers: h)
    }

    /// Replaces the state file atomically: a private temporary file, fsync, rename.
    private static func save(_ state: WitnessState, to path: String) throws {
        let bytes = Array((state.json.prettyPrinted() + "\n").utf8)
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw APIError(.internalServerError, "cannot write the witness state \(tmp): \(String(cString: strerror(errno)))") }
        let ok = bytes.withUnsafeBytes { buf -> Bool in
            var off = 0
            while off < buf.count {
                let n = write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { return false }
                off += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw APIError(.internalServerError, "cannot replace the witness state \(path): \(String(cString: strerror(errno))); nothing was cosigned")
        }
    }
}

/// `POST /add-checkpoint` (C2SP tlog-witness).
struct WitnessRoutes: RouteGroup {
    let witness: WitnessService

    func register(on router: Router<ServerContext>, environment env: ServerEnvironment) {
        router.post("add-checkpoint") { request, _ in
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: WitnessService.maxRequestBytes) } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
                throw APIError(.contentTooLarge, "the add-checkpoint body is larger than \(WitnessService.maxRequestBytes) bytes")
            }
            let bytes = Array(buffer: body)
            let now = env.clock()
            do {
                let lines = try await env.blocking { try witness.addCheckpoint(bytes, now: now) }
                return Response.bytes(lines, contentType: "text/plain; charset=utf-8")
            } catch let e as APIError where e.status == .conflict {
                // The body must be the witness's size in decimal and a newline (text/x.tlog.size).
                let size = e.extra["size"]?.integerValue ?? 0
                return Response.bytes(Array("\(size)\n".utf8), contentType: "text/x.tlog.size", status: .conflict, headers: e.headers)
            }
        }
    }
}

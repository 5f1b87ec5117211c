import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// A consistency proof as the server sent it: the tree of `size2` entries extends that of `size1`.
/// Its roots are the server's claims; verify the proof against roots you trust (`RFC6962.verifyConsistency`).
public struct ConsistencyProof: Sendable, Equatable {
    public let size1: UInt64
    public let size2: UInt64
    public let root1: Hash
    public let root2: Hash
    public let proof: [Hash]
}

/// An inclusion proof as the server sent it: entry `leafIndex` is in the tree of `treeSize` entries.
/// `checkpoint` is the server's latest checkpoint note when `treeSize` is its size.
public struct InclusionProof: Sendable, Equatable {
    public let leafIndex: UInt64
    public let treeSize: UInt64
    public let leafHash: Hash
    public let root: Hash
    public let proof: [Hash]
    public let checkpoint: [UInt8]?
}

/// What the server said about a submitted statement it appended.
public struct Submission: Sendable, Equatable {
    /// The entry's index.
    public let index: UInt64
    /// The entry's leaf hash, as the server computed it.
    public let leafHash: Hash
    /// The checkpoint note the server signed after the commit, if it holds the operator key.
    public let checkpoint: [UInt8]?
}

/// A checkpoint that does not extend the tree the caller verified before.
public enum HistoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The checkpoint covers fewer entries than the tree known before: the log was rolled back.
    case rollback(knownSize: UInt64, size: UInt64)
    /// The checkpoint's tree does not extend the known tree (a fork or a rewritten history): its
    /// consistency proof does not verify, or equal sizes have different roots.
    case inconsistent(knownSize: UInt64, knownRoot: Hash, size: UInt64, root: Hash, reason: String)

    public var description: String {
        switch self {
        case let .rollback(known, size):
            return "the checkpoint covers \(size) entries, fewer than the \(known) verified before: the log was rolled back"
        case let .inconsistent(knownSize, knownRoot, size, root, reason):
            return "the tree of \(size) entries (root \(root.hex)) does not extend the tree of \(knownSize) entries verified before (root \(knownRoot.hex)): \(reason)"
        }
    }
}

/// A blocking client for a Suyuan server's JSON API (`Specs/http-api.md`), for synchronous callers
/// such as the command line. Every call waits for its answer (do not call it from a thread the
/// answer's delivery needs, such as a Swift concurrency thread serving the same process's server).
///
/// Nothing the server says about hashes is taken on trust: entries come back as their canonical bytes
/// with leaf hashes computed here, and the verified operations check signatures and proofs locally.
public final class SuyuanClient: Sendable {
    /// The server's base URL, without a trailing slash.
    public let baseURL: String
    private let transport: Transport

    /// The most entries one request asks for (the server's page limit).
    public static let maxEntriesPerRequest = 1000

    /// A client for the server at `baseURL` (`http://host:port`, optionally with a path prefix).
    /// An answer's status must arrive within `connectTimeout` seconds and its body within `readTimeout`
    /// seconds after that.
    public init(baseURL: String, connectTimeout: Double = 10, readTimeout: Double = 60) throws(ClientError) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard let u = URL(string: base), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty, u.query == nil, u.fragment == nil
        else { throw .invalidURL(baseURL) }
        self.baseURL = base
        transport = Transport(connectTimeout: connectTimeout, readTimeout: readTimeout)
    }

    // MARK: Reads

    /// The server's latest signed checkpoint note, unverified (`GET /api/v1/checkpoint`).
    public func checkpointNote() throws(ClientError) -> [UInt8] {
        let (url, body) = try get("/api/v1/checkpoint", limit: Note.maxSize)
        guard !body.isEmpty else { throw .malformed(url: url, reason: "the checkpoint is empty") }
        return body
    }

    /// Entries `from`, `from + 1`, … (at most `count`, 1–1000), as their canonical bytes with leaf hashes
    /// computed here (`GET /api/v1/entries`). Fewer come back at the end of the ledger. The server's
    /// `leafHash` members are ignored; the bytes are JCS of the `entry` members, which for an intact
    /// ledger are exactly the stored entry bytes.
    public func entries(from: UInt64, count: Int) throws(ClientError) -> [StoredEntry] {
        precondition((1...SuyuanClient.maxEntriesPerRequest).contains(count), "count must be 1–\(SuyuanClient.maxEntriesPerRequest)")
        let (url, json) = try getJSON("/api/v1/entries?from=\(from)&count=\(count)",
                                      limit: count * (Entry.maxBytes + 512) + 4096, maxDepth: 72)
        guard let items = json["entries"]?.arrayValue else { throw .malformed(url: url, reason: "no \"entries\" array") }
        guard items.count <= count else { throw .malformed(url: url, reason: "\(items.count) entries for a request of \(count)") }
        var values: [(UInt64, JSONValue)] = []
        values.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            let want = from + UInt64(i)
            guard let index = item["index"]?.integerValue, index >= 0, UInt64(index) == want else {
                throw .malformed(url: url, reason: "item \(i) should be entry \(want), its \"index\" is \(item["index"].map { "\($0)" } ?? "missing")")
            }
            guard let entry = item["entry"], entry.objectValue != nil else {
                throw .malformed(url: url, reason: "entry \(want) has no \"entry\" object")
            }
            values.append((want, entry))
        }
        // Canonical encoding and hashing of a page are the expensive part: on every core.
        let encoded = Parallel.map(values) { (index, entry) -> StoredEntry? in
            guard let bytes = try? entry.canonical() else { return nil }
            return StoredEntry(index: index, bytes: bytes, leafHash: RFC6962.leafHash(bytes))
        }
        var out: [StoredEntry] = []
        out.reserveCapacity(encoded.count)
        for (i, e) in encoded.enumerated() {
            guard let e else { throw .malformed(url: url, reason: "entry \(from + UInt64(i)) has no canonical JSON form") }
            out.append(e)
        }
        return out
    }

    /// The consistency proof from the tree of `from` entries to that of `to` (`1 ≤ from ≤ to`), as sent.
    public func consistencyProof(from: UInt64, to: UInt64) throws(ClientError) -> ConsistencyProof {
        let (url, j) = try getJSON("/api/v1/proofs/consistency?from=\(from)&to=\(to)", limit: 64 << 10)
        let p = ConsistencyProof(
            size1: try Self.uint(j, "size1", url), size2: try Self.uint(j, "size2", url),
            root1: try Self.hash(j["root1"], "root1", url), root2: try Self.hash(j["root2"], "root2", url),
            proof: try Self.hashes(j, url))
        guard p.size1 == from, p.size2 == to else {
            throw .malformed(url: url, reason: "a proof from \(p.size1) to \(p.size2) was sent for \(from) to \(to)")
        }
        return p
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries (default: the server's latest
    /// checkpoint's size), as sent.
    public func inclusionProof(index: UInt64, size: UInt64? = nil) throws(ClientError) -> InclusionProof {
        let (url, j) = try getJSON("/api/v1/proofs/inclusion?index=\(index)" + (size.map { "&size=\($0)" } ?? ""),
                                   limit: Note.maxSize + (64 << 10))
        let p = InclusionProof(
            leafIndex: try Self.uint(j, "leafIndex", url), treeSize: try Self.uint(j, "treeSize", url),
            leafHash: try Self.hash(j["leafHash"], "leafHash", url), root: try Self.hash(j["root"], "root", url),
            proof: try Self.hashes(j, url), checkpoint: j["checkpoint"]?.stringValue.map { Array($0.utf8) })
        guard p.leafIndex == index, size == nil || p.treeSize == size else {
            throw .malformed(url: url, reason: "a proof for entry \(p.leafIndex) in \(p.treeSize) entries was sent for entry \(index)\(size.map { " in \($0)" } ?? "")")
        }
        return p
    }

    // MARK: Submissions

    /// Submits a signed statement (a DSSE envelope as `suyuan sign` writes it); returns its index and
    /// leaf hash once the server has committed it (`POST /api/v1/statements`). A refusal is
    /// `ClientError.http` with the server's sentence (409 for a duplicate, naming the existing index).
    public func submit(_ envelope: [UInt8]) throws(ClientError) -> Submission {
        var request = try request("/api/v1/statements")
        request.httpMethod = "POST"
        request.httpBody = Data(envelope)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let (url, j) = try json(request, limit: Note.maxSize + 4096, maxDepth: 8)
        guard let hex = j["leafHash"]?.stringValue, let leaf = Hash(hex: hex) else {
            throw .malformed(url: url, reason: "no 64-hex-digit \"leafHash\"")
        }
        return Submission(index: try Self.uint(j, "index", url), leafHash: leaf,
                          checkpoint: j["checkpoint"]?.stringValue.map { Array($0.utf8) })
    }

    // MARK: Other routes

    /// The body of a 2xx answer to `GET path` (e.g. a product or term bundle), at most `limit` bytes.
    public func get(_ path: String, limit: Int) throws(ClientError) -> [UInt8] {
        try get(path, limit: limit).1
    }

    /// POSTs a JSON `body` to `path` (e.g. a batch of statements); returns the JSON object of a 2xx answer.
    public func post(_ path: String, body: [UInt8], limit: Int) throws(ClientError) -> JSONValue {
        var r = try request(path)
        r.httpMethod = "POST"
        r.httpBody = Data(body)
        r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        return try json(r, limit: limit, maxDepth: 8).1
    }

    // MARK: Verified reads

    /// The server's latest checkpoint, verified with `keys` (`Checkpoint.verify`: at least one trusted
    /// signature, and no trusted signature that fails). Throws `NoteError` when it does not verify.
    public func checkpoint(trusting keys: [VerifierKey]) throws -> VerifiedCheckpoint {
        try Checkpoint.verify(try checkpointNote(), trusting: keys)
    }

    /// The server's latest checkpoint, verified with `keys` and proved to extend the tree of `known.size`
    /// entries with root `known.root`, which the caller verified before. Throws `HistoryError` when it
    /// does not extend it (a rollback, a fork or a rewrite).
    public func checkpoint(trusting keys: [VerifierKey], extending known: (size: UInt64, root: Hash)) throws -> VerifiedCheckpoint {
        let v = try checkpoint(trusting: keys)
        try verifyConsistency(of: v.checkpoint, extending: known)
        return v
    }

    /// Proves with a consistency proof from the server that `checkpoint`'s tree extends the tree of
    /// `known.size` entries with root `known.root`; the proof is checked against these two roots only,
    /// never against the roots the server sends with it. Throws `HistoryError` when it does not.
    public func verifyConsistency(of checkpoint: Checkpoint, extending known: (size: UInt64, root: Hash)) throws {
        guard checkpoint.size >= known.size else { throw HistoryError.rollback(knownSize: known.size, size: checkpoint.size) }
        func inconsistent(_ reason: String) -> HistoryError {
            .inconsistent(knownSize: known.size, knownRoot: known.root, size: checkpoint.size, root: checkpoint.root, reason: reason)
        }
        if known.size == 0 {
            guard known.root == RFC6962.emptyRoot else { throw inconsistent("the empty tree's root is \(RFC6962.emptyRoot.hex)") }
            return
        }
        if checkpoint.size == known.size {
            guard checkpoint.root == known.root else { throw inconsistent("the same size has another root") }
            return
        }
        let p = try consistencyProof(from: known.size, to: checkpoint.size)
        do {
            try RFC6962.verifyConsistency(oldSize: known.size, newSize: checkpoint.size, oldRoot: known.root, newRoot: checkpoint.root, proof: p.proof)
        } catch {
            throw inconsistent("its consistency proof does not verify (\(error))")
        }
    }

    // MARK: HTTP

    private func request(_ path: String) throws(ClientError) -> URLRequest {
        guard let url = URL(string: baseURL + path) else { throw .invalidURL(baseURL + path) }
        var r = URLRequest(url: url)
        r.setValue("suyuan", forHTTPHeaderField: "User-Agent")
        return r
    }

    /// GETs `path`; returns the URL and the body of a 2xx answer.
    private func get(_ path: String, limit: Int) throws(ClientError) -> (String, [UInt8]) {
        try send(try request(path), limit: limit)
    }

    private func getJSON(_ path: String, limit: Int, maxDepth: Int = 8) throws(ClientError) -> (String, JSONValue) {
        var r = try request(path)
        r.setValue("application/json", forHTTPHeaderField: "Accept")
        return try json(r, limit: limit, maxDepth: maxDepth)
    }

    private func json(_ request: URLRequest, limit: Int, maxDepth: Int) throws(ClientError) -> (String, JSONValue) {
        let (url, body) = try send(request, limit: limit)
        do {
            let j = try JSONValue.parse(body, maxDepth: maxDepth, maxBytes: limit)
            guard j.objectValue != nil else { throw JSONError(message: "the answer is not a JSON object") }
            return (url, j)
        } catch {
            throw .malformed(url: url, reason: "\(error)")
        }
    }

    /// Sends `request`; an answer outside 2xx becomes `ClientError.http` carrying the server's sentence.
    private func send(_ request: URLRequest, limit: Int) throws(ClientError) -> (String, [UInt8]) {
        let url = request.url?.absoluteString ?? baseURL
        let (status, body) = try transport.exchange(request, limit: limit)
        guard (200..<300).contains(status) else { throw .http(url: url, status: status, message: Self.errorSentence(body)) }
        return (url, body)
    }

    /// The `error` member of a JSON error body, else the start of the body's first line.
    private static func errorSentence(_ body: [UInt8]) -> String {
        if let j = try? JSONValue.parse(body, maxDepth: 4), let s = j["error"]?.stringValue { return s }
        let line = String(decoding: body.prefix(200), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let printable = String(line.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f })
        return printable.isEmpty ? "no error message" : printable
    }

    private static func uint(_ j: JSONValue, _ name: String, _ url: String) throws(ClientError) -> UInt64 {
        guard let v = j[name]?.integerValue, v >= 0 else { throw .malformed(url: url, reason: "no non-negative integer \"\(name)\"") }
        return UInt64(v)
    }

    private static func hash(_ v: JSONValue?, _ name: String, _ url: String) throws(ClientError) -> Hash {
        guard let s = v?.stringValue, let b = Base64.decode(s), let h = Hash(bytes: b) else {
            throw .malformed(url: url, reason: "\"\(name)\" is not base64 of 32 bytes")
        }
        return h
    }

    private static func hashes(_ j: JSONValue, _ url: String) throws(ClientError) -> [Hash] {
        guard let a = j["proof"]?.arrayValue, a.count <= 128 else { throw .malformed(url: url, reason: "no \"proof\" array of at most 128 hashes") }
        var out: [Hash] = []
        for v in a { out.append(try hash(v, "proof", url)) }
        return out
    }
}

import HTTPTypes
import Hummingbird
import NIOCore
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// The JSON API under `/api/v1`: submissions, entries, proofs and the checkpoint. Response shapes are
/// those of the CLI's `--json` output (`Specs/http-api.md`).
struct LedgerRoutes: RouteGroup {
    /// The largest submission body: twice a statement's limit, room for the base64 envelope around it.
    static let maxSubmissionBytes = 2 * Statement.maxBytes
    /// The most entries one `GET /api/v1/entries` returns.
    static let maxEntriesPerPage = 1000
    /// The default page size.
    static let defaultEntriesPerPage = 100

    let writer: BatchWriter

    func register(on router: Router<ServerContext>, environment env: ServerEnvironment) {
        let api = router.group("api/v1")
        api.post("statements") { request, _ in try await submit(request) }
        api.post("statements/batch") { request, _ in try await submitAll(request) }
        api.get("checkpoint") { _, _ in try await Self.checkpointResponse(env) }
        api.get("entries") { request, _ in try await entries(request, env) }
        api.get("entries/:index") { request, context in try await entry(request, context, env) }
        api.get("proofs/inclusion") { request, _ in try await inclusion(request, env) }
        api.get("proofs/consistency") { request, _ in try await consistency(request, env) }
    }

    // MARK: Submissions

    /// The request body, refused with 413 (`tooLarge`, given the declared length if any) past `limit`
    /// bytes, before it is read when its declared length says so.
    private static func body(_ request: Request, limit: Int, tooLarge: (Int?) -> APIError) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit { throw tooLarge(declared) }
        do { return try await request.body.collect(upTo: limit) } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw tooLarge(nil)
        }
    }

    private func submit(_ request: Request) async throws -> Response {
        let body = try await Self.body(request, limit: Self.maxSubmissionBytes, tooLarge: Self.tooLarge)
        guard body.readableBytes > 0 else {
            throw APIError.badRequest("the request body is empty; send a DSSE envelope as written by `suyuan sign`")
        }
        let signed: SignedStatement
        do { signed = try SignedStatement(envelope: Array(buffer: body)) } catch { throw APIError.refusal(error) }
        let committed = try await writer.submit(signed)
        switch committed.result {
        case .failure(let e):
            throw APIError.refusal(e)
        case .success(let a):
            var o: [String: JSONValue] = ["index": .number(Double(a.index)), "leafHash": .string(a.leafHash.hex)]
            if let note = committed.checkpoint { o["checkpoint"] = .string(String(decoding: note, as: UTF8.self)) }
            var h = HTTPFields()
            h[.location] = "/api/v1/entries/\(a.index)"
            return .json(.object(o), status: .created, headers: h)
        }
    }

    /// `{"statements":[envelope, …]}`: all appended in one transaction, or none (the first refusal,
    /// naming its position, with the status a single submission would get).
    private func submitAll(_ request: Request) async throws -> Response {
        let body = try await Self.body(request, limit: Self.maxBatchBytes, tooLarge: Self.batchTooLarge)
        let statements: [SignedStatement]
        do { statements = try SignedStatement.batch(parsing: Array(buffer: body)) } catch { throw APIError.refusal(error) }
        do {
            let (appended, note) = try await writer.submitAll(statements)
            var o: [String: JSONValue] = ["appended": .array(appended.map { .object(["index": .number(Double($0.index)), "leafHash": .string($0.leafHash.hex)]) })]
            if let note { o["checkpoint"] = .string(String(decoding: note, as: UTF8.self)) }
            return .json(.object(o), status: .created)
        } catch let e as LedgerError {
            throw APIError.refusal(e)
        }
    }

    static let maxBatchBytes = SignedStatement.maxBatchBytes

    private static func batchTooLarge(_ declared: Int?) -> APIError {
        APIError(.contentTooLarge, "the request body\(declared.map { " (\($0) bytes)" } ?? "") is larger than the \(maxBatchBytes)-byte limit for a batch of statements")
    }

    private static func tooLarge(_ declared: Int?) -> APIError {
        APIError(.contentTooLarge, "the request body\(declared.map { " (\($0) bytes)" } ?? "") is larger than the \(maxSubmissionBytes)-byte limit for a signed statement (twice the \(Statement.maxBytes)-byte statement limit)")
    }

    // MARK: Checkpoint

    static func checkpointResponse(_ env: ServerEnvironment) async throws -> Response {
        guard let cp = try await env.latestCheckpoint() else {
            throw APIError.notFound("the ledger has no signed checkpoint yet; the operator signs one with `suyuan checkpoint`")
        }
        var h = HTTPFields()
        h[.cacheControl] = "no-cache"
        return .bytes(cp.note, contentType: "text/plain; charset=utf-8", headers: h)
    }

    // MARK: Entries

    private func entries(_ request: Request, _ env: ServerEnvironment) async throws -> Response {
        let q = Query(request)
        let from = try q.uint("from") ?? 0
        let count = try q.uint("count") ?? UInt64(Self.defaultEntriesPerPage)
        guard count >= 1, count <= UInt64(Self.maxEntriesPerPage) else {
            throw APIError.badRequest("count must be between 1 and \(Self.maxEntriesPerPage), got \(count)")
        }
        let ledger = env.ledger
        let (size, page) = try await env.blocking { try ledger.store.sizeAndEntries(from: from, count: Int(count)) }
        var items: [JSONValue] = []
        items.reserveCapacity(page.count)
        for e in page { items.append(try Self.entryJSON(e)) }
        return .json(.object(["size": .number(Double(size)), "entries": .array(items)]))
    }

    private func entry(_ request: Request, _ context: ServerContext, _ env: ServerEnvironment) async throws -> Response {
        let text = context.parameters.get("index") ?? ""
        guard let index = Query.decimal(text) else {
            throw APIError.badRequest("entry index \"\(text)\" is not a non-negative decimal integer")
        }
        let ledger = env.ledger
        let (size, e) = try await env.blocking { (try ledger.size(), try ledger.store.entry(at: index)) }
        guard let e else { throw APIError.notFound("no entry \(index): the ledger has \(size) entries (0…\(size == 0 ? 0 : size - 1))") }
        return .json(try Self.entryJSON(e))
    }

    static func entryJSON(_ e: StoredEntry) throws -> JSONValue {
        let entry: JSONValue
        do { entry = try JSONValue.parse(e.bytes) } catch {
            throw APIError(.internalServerError, "stored entry \(e.index) is not valid JSON (\(error)); the ledger file needs an audit")
        }
        return .object(["index": .number(Double(e.index)), "leafHash": .string(e.leafHash.hex), "entry": entry])
    }

    // MARK: Proofs

    /// The size a proof refers to by default: the latest checkpoint's, else the whole tree.
    private static func defaultSize(_ env: ServerEnvironment) async throws -> (size: UInt64, note: [UInt8]?) {
        if let cp = try await env.latestCheckpoint() { return (cp.size, cp.note) }
        return (try await env.blocking { [ledger = env.ledger] in try ledger.size() }, nil)
    }

    private func inclusion(_ request: Request, _ env: ServerEnvironment) async throws -> Response {
        let q = Query(request)
        guard let index = try q.uint("index") else {
            throw APIError.badRequest("the query parameter index is required: /api/v1/proofs/inclusion?index=N[&size=M]")
        }
        let requested = try q.uint("size")
        let (defSize, note) = try await Self.defaultSize(env)
        let n = requested ?? defSize
        let ledger = env.ledger
        let (current, proof) = try await env.blocking { () -> (UInt64, (StoredEntry, [Hash], Hash)?) in
            let current = try ledger.size()
            guard n <= current, index < n, let e = try ledger.store.entry(at: index) else { return (current, nil) }
            let proof = try ledger.inclusionProof(index: index, size: n)
            let root = try ledger.root(size: n)
            try RFC6962.verifyInclusion(leafHash: e.leafHash, index: index, size: n, proof: proof, root: root)
            return (current, (e, proof, root))
        }
        guard n <= current else { throw APIError.badRequest("size \(n) is larger than the ledger (\(current) entries)") }
        guard let found = proof else { throw APIError.badRequest("index \(index) is not below the tree size \(n)") }
        let (e, path, root) = found
        var o: [String: JSONValue] = [
            "leafIndex": .number(Double(index)), "treeSize": .number(Double(n)),
            "leafHash": .string(Base64.encode(e.leafHash.bytes)), "root": .string(Base64.encode(root.bytes)),
            "proof": .array(path.map { .string(Base64.encode($0.bytes)) }),
        ]
        if n == defSize, let note { o["checkpoint"] = .string(String(decoding: note, as: UTF8.self)) }
        return .json(.object(o))
    }

    private func consistency(_ request: Request, _ env: ServerEnvironment) async throws -> Response {
        let q = Query(request)
        guard let from = try q.uint("from") else {
            throw APIError.badRequest("the query parameter from is required: /api/v1/proofs/consistency?from=N[&to=M]")
        }
        let requested = try q.uint("to")
        let m: UInt64
        if let requested { m = requested } else { m = try await Self.defaultSize(env).size }
        let ledger = env.ledger
        let result = try await env.blocking { () -> (UInt64, ([Hash], Hash, Hash)?) in
            let current = try ledger.size()
            guard m <= current, from >= 1, from <= m else { return (current, nil) }
            let proof = try ledger.consistencyProof(from: from, to: m)
            let r1 = try ledger.root(size: from), r2 = try ledger.root(size: m)
            try RFC6962.verifyConsistency(oldSize: from, newSize: m, oldRoot: r1, newRoot: r2, proof: proof)
            return (current, (proof, r1, r2))
        }
        guard m <= result.0 else { throw APIError.badRequest("to \(m) is larger than the ledger (\(result.0) entries)") }
        guard let found = result.1 else { throw APIError.badRequest("from must be between 1 and \(m), got \(from)") }
        let (proof, r1, r2) = found
        return .json(.object([
            "size1": .number(Double(from)), "size2": .number(Double(m)),
            "root1": .string(Base64.encode(r1.bytes)), "root2": .string(Base64.encode(r2.bytes)),
            "proof": .array(proof.map { .string(Base64.encode($0.bytes)) }),
        ]))
    }
}

/// Strict query parameters: each at most once, decimal integers without sign, spaces or leading zeros.
struct Query {
    private let pairs: [(String, String)]

    init(_ request: Request) {
        pairs = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
    }

    /// The parameter `name` as an unsigned integer, nil when absent; throws 400 when malformed.
    func uint(_ name: String) throws -> UInt64? {
        let values = pairs.filter { $0.0 == name }.map(\.1)
        guard let text = values.first else { return nil }
        guard values.count == 1 else { throw APIError.badRequest("the query parameter \(name) is given \(values.count) times; give it once") }
        guard let v = Query.decimal(text) else {
            throw APIError.badRequest("the query parameter \(name) must be a non-negative decimal integer, got \"\(text.prefix(40))\"")
        }
        return v
    }

    /// Parses `0` or a decimal without leading zeros that fits in 63 bits (SQLite's integer range).
    static func decimal(_ text: some StringProtocol) -> UInt64? {
        let u = text.utf8
        guard !u.isEmpty, u.count <= 19, u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if u.count > 1 && u.first == 0x30 { return nil }
        guard let v = UInt64(text), v <= UInt64(Int64.max) else { return nil }
        return v
    }
}

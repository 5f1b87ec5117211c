import HTTPTypes
import Hummingbird
import NIOCore
import SuyuanFormats
import SuyuanLedger
import SuyuanServer
import SuyuanTrace

/// Product verification for consumers: the JSON verification and offline bundle under
/// `/api/v1/products/…`, the GS1 Digital Link resolver (`/01/{gtin}/21/{serial}` and the other forms)
/// answering with the consumer page, which verifies the bundle in the browser, the page's assets, and
/// a printable QR code label (`/qr/…`) of the product's Digital Link URI.
public struct ProductRoutes: RouteGroup {
    private let cache: VerificationCache

    /// `cacheLifetime`: how long a computed verification is served again while the ledger does not
    /// grow (verdicts depend on the time: validity periods end); 0 turns the cache off.
    public init(cacheLifetime seconds: Int64 = VerificationCache.defaultLifetime) {
        cache = VerificationCache(lifetime: seconds)
    }

    public func register(on router: Router<ServerContext>, environment env: ServerEnvironment) {
        let api = router.group("api/v1/products")
        api.get("verification") { [cache] request, _ in try await Self.verification(request, env, bundle: false, cache: cache) }
        api.get("bundle") { [cache] request, _ in try await Self.verification(request, env, bundle: true, cache: cache) }
        // Digital Link forms (Specs/product-codes.md): item, lot, class, logistic unit.
        for path in ["01/:gtin/21/:serial", "01/:gtin/10/:lot", "01/:gtin", "00/:sscc", "01/:gtin/10/:lot/21/:serial"] {
            router.get(RouterPath(path)) { request, _ in try Self.page(request, env) }
            router.get(RouterPath("qr/" + path)) { request, _ in try Self.qr(request) }
        }
        router.get("assets/:name") { _, context in try Self.asset(context.parameters.get("name") ?? "") }
        router.get("api/v1/bundles") { request, _ in try await Self.termBundle(request, env) }
    }

    /// The product code in `?code=` (any accepted form), canonicalised; 400 with the parser's reason.
    static func code(_ request: Request) throws -> ProductCode {
        let values = request.uri.queryParameters.filter { $0.key == "code" }.map { String($0.value) }
        // Hummingbird has already percent-decoded query values.
        guard values.count == 1, let text = values.first, !text.isEmpty else {
            throw APIError.badRequest("give the product code once as ?code=…, e.g. ?code=https://id.gs1.org/01/09421902960055/21/MP-000731")
        }
        do { return try ProductCode(parsing: text) } catch { throw APIError.badRequest("the product code \"\(text.prefix(80))\" is invalid: \(error)") }
    }

    /// The code a Digital Link request path names (the path is the URI's path; any domain is accepted).
    static func pathCode(_ request: Request) throws -> ProductCode {
        let path = request.uri.path.hasPrefix("/qr/") ? String(request.uri.path.dropFirst(3)) : request.uri.path
        do { return try ProductCode(parsing: ProductCode.canonicalPrefix + path) } catch {
            throw APIError.notFound("\(path.prefix(120)) is not a valid GS1 Digital Link: \(error)")
        }
    }

    static func verification(_ request: Request, _ env: ServerEnvironment, bundle: Bool, cache: VerificationCache) async throws -> Response {
        let code = try code(request)
        let key = VerificationCache.Key(code: code.canonical, bundle: bundle)
        // A hit costs one read of the ledger's head (microseconds, never waiting for a writer), so it
        // is answered here; only a miss goes to the blocking pool to compute.
        let now = env.clock()
        let head = try env.ledger.store.head()
        if let hit = cache.lookup(key, head: head, now: now) {
            return .bytes(hit, contentType: "application/json", headers: noStore)
        }
        let body = try await env.blocking { () throws -> [UInt8] in
            let (v, b) = try ProductVerifier.verify(code, in: env.ledger, now: now, bundle: bundle)
            let doc: JSONValue
            if bundle {
                guard let b else {
                    throw APIError(.serviceUnavailable, "the ledger has no signed checkpoint yet, so there is nothing to prove against")
                }
                doc = b.json(report: v)
            } else { doc = v.json }
            let bytes = try doc.canonical() + [0x0a]
            // Stored under the head read before computing: if the ledger grew meanwhile, the next
            // request misses and computes again.
            cache.store(key, bytes, head: head, now: now)
            return bytes
        }
        return .bytes(body, contentType: "application/json", headers: noStore)
    }

    static let noStore: HTTPFields = [.cacheControl: "no-store"]

    /// Every entry indexed under `?term=` (`registry`, `attestation:ID`, `product:CODE`) with its proof in
    /// the latest checkpoint, and the genesis: what a remote CLI uses without trusting this server.
    static func termBundle(_ request: Request, _ env: ServerEnvironment) async throws -> Response {
        let values = request.uri.queryParameters.filter { $0.key == "term" }.map { String($0.value) }
        guard values.count == 1, let term = values.first, !term.isEmpty, term.utf8.count <= 600 else {
            throw APIError.badRequest("give the index term once as ?term=…, e.g. ?term=registry or ?term=attestation:urn:uuid:…")
        }
        let bundle = try await env.blocking { () throws -> TermBundle in
            do { return try TermBundle.build(term, in: env.ledger) } catch let e as LedgerError {
                if case .state(let s) = e { throw APIError(.serviceUnavailable, s) }
                if case .malformed(let s) = e { throw APIError(.contentTooLarge, s) }
                throw e
            }
        }
        return .json(bundle.json, headers: noStore)
    }

    /// The consumer page: the browser fetches the bundle and verifies it itself.
    static func page(_ request: Request, _ env: ServerEnvironment) throws -> Response {
        let code = try pathCode(request)
        let html = ConsumerPage.html(code: code.canonical, operatorKey: env.ledger.genesis.operatorKey.description,
                                     bundleURL: "/api/v1/products/bundle?code=" + code.canonical.percentEncodedQueryValue)
        return .bytes(Array(html.utf8), contentType: "text/html; charset=utf-8", headers: [.contentSecurityPolicy: ConsumerPage.csp])
    }

    /// A printable label: the Digital Link URI as an SVG QR code (error correction M).
    static func qr(_ request: Request) throws -> Response {
        let code = try pathCode(request)
        let svg: String
        do { svg = try QRCode(encoding: code.canonical).svg(scale: 8, title: code.canonical) } catch {
            throw APIError.badRequest("cannot encode \(code.canonical) as a QR code: \(error)")
        }
        return .bytes(Array(svg.utf8), contentType: "image/svg+xml", headers: [.cacheControl: "public, max-age=86400"])
    }

    static func asset(_ name: String) throws -> Response {
        guard let a = ConsumerPage.assets[name] else { throw APIError.notFound("no asset \(name.prefix(40))") }
        return .bytes(Array(a.body.utf8), contentType: a.type, headers: [.cacheControl: "public, max-age=300"])
    }
}

extension String {
    /// Percent-encodes everything but unreserved characters, for a query value.
    var percentEncodedQueryValue: String {
        var s = ""
        for b in utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E {
                s.unicodeScalars.append(Unicode.Scalar(b))
            } else { s += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) }
        }
        return s
    }
}

import Dispatch
import HTTPTypes
import Hummingbird
import Synchronization
import SuyuanFormats
import SuyuanLedger

/// Request counters, latency histograms and append counters, exposed as Prometheus text at `/metrics`.
final class ServerMetrics: Sendable {
    /// Histogram bucket upper bounds, in seconds.
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct RequestKey: Hashable { let route: String; let method: String; let status: Int }
    private struct Histogram {
        var counts = [UInt64](repeating: 0, count: ServerMetrics.buckets.count)
        var sum = 0.0
        var count: UInt64 = 0
    }
    private struct State {
        var requests: [RequestKey: UInt64] = [:]
        var latency: [String: Histogram] = [:]
        var batches: UInt64 = 0
        var submitted: UInt64 = 0
        var appended: UInt64 = 0
        var refusals: [Refusal: UInt64] = [:]
    }
    private let state = Mutex(State())

    /// A server limit that refused a request or a connection (the `limit` label of `suyuan_limit_refusals_total`).
    enum Refusal: String, CaseIterable, Sendable {
        /// A request over its client's `RateLimit` (429).
        case rate
        /// A connection over `ServerConfiguration.maxConnectionsPerClient` (429).
        case connections
        /// A request head over `RequestHeadLimits` (431).
        case headers
    }

    func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { s in
            s.requests[RequestKey(route: route, method: method, status: status), default: 0] += 1
            var h = s.latency[route] ?? Histogram()
            if let i = ServerMetrics.buckets.firstIndex(where: { seconds <= $0 }) { h.counts[i] += 1 }
            h.sum += seconds
            h.count += 1
            s.latency[route] = h
        }
    }

    /// A submission refused before reaching the writer (bad signature or shape): submitted, not appended.
    func recordRefusedBeforeBatch() {
        state.withLock { $0.submitted += 1 }
    }

    func recordBatch(statements: Int, appended: Int) {
        state.withLock { s in
            s.batches += 1
            s.submitted += UInt64(statements)
            s.appended += UInt64(appended)
        }
    }

    func recordRefusal(_ refusal: Refusal) {
        state.withLock { $0.refusals[refusal, default: 0] += 1 }
    }

    /// The Prometheus text exposition (format 0.0.4); `rateLimitedClients` is how many clients the rate
    /// limiter tracks, when there is one.
    func exposition(ledgerSize: UInt64?, checkpointSize: UInt64?, uptime: Double, rateLimitedClients: Int?) -> String {
        let s = state.withLock { $0 }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        family("suyuan_http_requests_total", "counter", "HTTP requests by route pattern, method and status.")
        for (k, v) in s.requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            out += "suyuan_http_requests_total{route=\"\(Self.escape(k.route))\",method=\"\(Self.escape(k.method))\",status=\"\(k.status)\"} \(v)\n"
        }
        family("suyuan_http_request_duration_seconds", "histogram", "Time to produce a response, by route pattern.")
        for (route, h) in s.latency.sorted(by: { $0.key < $1.key }) {
            let r = Self.escape(route)
            var cumulative: UInt64 = 0
            for (i, le) in ServerMetrics.buckets.enumerated() {
                cumulative += h.counts[i]
                out += "suyuan_http_request_duration_seconds_bucket{route=\"\(r)\",le=\"\(Self.number(le))\"} \(cumulative)\n"
            }
            out += "suyuan_http_request_duration_seconds_bucket{route=\"\(r)\",le=\"+Inf\"} \(h.count)\n"
            out += "suyuan_http_request_duration_seconds_sum{route=\"\(r)\"} \(Self.number(h.sum))\n"
            out += "suyuan_http_request_duration_seconds_count{route=\"\(r)\"} \(h.count)\n"
        }
        family("suyuan_append_batches_total", "counter", "Commit transactions run by the submission writer.")
        out += "suyuan_append_batches_total \(s.batches)\n"
        family("suyuan_append_submitted_total", "counter", "Statements submitted (one at a time or in batches), including those refused.")
        out += "suyuan_append_submitted_total \(s.submitted)\n"
        family("suyuan_append_appended_total", "counter", "Statements appended (the rest were refused).")
        out += "suyuan_append_appended_total \(s.appended)\n"
        family("suyuan_limit_refusals_total", "counter", "Requests and connections refused by a limit on one client: request rate, open connections, request head size.")
        for r in Refusal.allCases {
            out += "suyuan_limit_refusals_total{limit=\"\(r.rawValue)\"} \(s.refusals[r, default: 0])\n"
        }
        if let rateLimitedClients {
            family("suyuan_rate_limit_clients", "gauge", "Client addresses the request-rate limiter tracks.")
            out += "suyuan_rate_limit_clients \(rateLimitedClients)\n"
        }
        if let ledgerSize {
            family("suyuan_ledger_size", "gauge", "Entries in the ledger.")
            out += "suyuan_ledger_size \(ledgerSize)\n"
        }
        if let checkpointSize {
            family("suyuan_checkpoint_size", "gauge", "Tree size of the latest signed checkpoint.")
            out += "suyuan_checkpoint_size \(checkpointSize)\n"
        }
        family("suyuan_uptime_seconds", "gauge", "Seconds since the server started.")
        out += "suyuan_uptime_seconds \(Self.number(uptime))\n"
        return out
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func number(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }
}

/// Counts every request by the route pattern it matched (`/api/v1/entries/{index}`, not the concrete
/// path, so the label set stays small) and times it.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let response: Response
        do { response = try await next(request, context) } catch {
            record(request, context, status: (error as? any HTTPResponseError)?.status.code ?? 500, start)
            throw error
        }
        record(request, context, status: response.status.code, start)
        return response
    }

    private func record(_ request: Request, _ context: Context, status: Int, _ start: UInt64) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var route = context.endpointPath ?? "unmatched"
        if route == "NotFound" { route = "unmatched" }
        metrics.recordRequest(route: route, method: request.method.rawValue, status: status, seconds: seconds)
    }
}

/// `GET /health` and `GET /metrics`.
struct OperationsRoutes: RouteGroup {
    let metrics: ServerMetrics
    let rateLimiter: ClientRateLimiter?
    let startedAt: Timestamp

    func register(on router: Router<ServerContext>, environment env: ServerEnvironment) {
        router.get("health") { _, _ in
            let ledger = env.ledger
            do {
                let size = try await env.blocking { try ledger.size() }
                return Response.json(["status": "ok", "size": .number(Double(size)), "origin": .string(ledger.genesis.origin)])
            } catch {
                return Response.json(["status": "unavailable", "error": .string("the ledger cannot be read: \(error)")], status: .serviceUnavailable)
            }
        }
        router.get("metrics") { _, _ in
            let ledger = env.ledger
            let size = try? await env.blocking { try ledger.size() }
            let cp = try? await env.blocking { try ledger.store.latestCheckpoint()?.size }
            let uptime = Double(env.clock().nanoseconds - startedAt.nanoseconds) / 1e9
            let text = metrics.exposition(ledgerSize: size, checkpointSize: cp, uptime: uptime, rateLimitedClients: rateLimiter?.clients)
            return Response.bytes(Array(text.utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}

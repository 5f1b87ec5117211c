import Dispatch
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import SuyuanFormats

/// How many requests one client may send: a token bucket of `burst` tokens per client address, refilled
/// at `requestsPerSecond`; a request takes a token, and one that finds none is answered 429.
public struct RateLimit: Sendable, Equatable {
    /// The sustained rate allowed per client, in requests per second.
    public var requestsPerSecond: Double
    /// How many requests a client may send at once after being quiet.
    public var burst: Int
    /// The most clients tracked at once. Clients whose bucket is full again are forgotten (checked every
    /// second); when this many are active, the least recently seen one is forgotten for a new one.
    public var maxClients: Int

    /// A limit of `requestsPerSecond` with bursts of `burst`, tracking at most `maxClients` clients.
    public init(requestsPerSecond: Double, burst: Int, maxClients: Int = 10_000) {
        precondition(requestsPerSecond > 0 && burst >= 1 && maxClients >= 1, "a rate limit needs a positive rate, burst and client count")
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
        self.maxClients = maxClients
    }

    /// What `suyuan serve` applies unless told otherwise: 100 requests per second, bursts of 200.
    public static let standard = RateLimit(requestsPerSecond: 100, burst: 200)

    /// The limit in words, e.g. `100 per second with bursts of 200`.
    var sentence: String {
        let rate = requestsPerSecond == requestsPerSecond.rounded() ? String(Int(requestsPerSecond)) : String(requestsPerSecond)
        return "\(rate) per second with bursts of \(burst)"
    }
}

/// Whom a limit counts against: an IPv4 address, or an IPv6 /64 (one subscriber's usual allocation, so
/// that rotating through the addresses of one's own network does not escape the limits). An IPv4-mapped
/// IPv6 address counts as its IPv4 address.
struct ClientKey: Hashable, Sendable {
    let family: UInt8
    let bits: UInt64

    private init(family: UInt8, bits: UInt64) {
        self.family = family
        self.bits = bits
    }

    /// The client of `address`, or nil for one that is not IP (such as the router tests' channel).
    init?(_ address: SocketAddress?) {
        // The address sits at the same offset on every platform: byte 4 of a sockaddr_in, byte 8 of a sockaddr_in6.
        switch address {
        case .v4(let a):
            let ip = SocketAddress.v4(a).withSockAddr { p, _ in UInt32(bigEndian: UnsafeRawPointer(p).loadUnaligned(fromByteOffset: 4, as: UInt32.self)) }
            self.init(family: 4, bits: UInt64(ip))
        case .v6(let a):
            let (high, low) = SocketAddress.v6(a).withSockAddr { p, _ in
                (UInt64(bigEndian: UnsafeRawPointer(p).loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                 UInt64(bigEndian: UnsafeRawPointer(p).loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
            }
            if high == 0, low >> 32 == 0xffff {
                self.init(family: 4, bits: low & 0xffff_ffff)
            } else {
                self.init(family: 6, bits: high)
            }
        default:
            return nil
        }
    }
}

/// The token buckets of `RateLimit`, one per client, bounded in memory by `RateLimit.maxClients`.
final class ClientRateLimiter: Sendable {
    let limit: RateLimit

    private struct Bucket {
        var tokens: Double
        /// When the client was last seen (uptime nanoseconds); `tokens` is as of then.
        var seen: UInt64
    }
    private struct State {
        var buckets: [ClientKey: Bucket] = [:]
        var swept: UInt64 = 0
    }
    private let state = Mutex(State())

    init(_ limit: RateLimit) {
        self.limit = limit
    }

    /// Takes a token from `client`'s bucket: nil when it had one, else the whole seconds until it has.
    func take(_ client: ClientKey) -> Int? {
        state.withLock { s in
            // Read under the lock, so that no bucket is ever from a later instant than `now`.
            let now = DispatchTime.now().uptimeNanoseconds
            if now - s.swept >= 1_000_000_000 {
                s.buckets = s.buckets.filter { refilled($0.value, now) < Double(limit.burst) }
                s.swept = now
            }
            var bucket: Bucket
            if let known = s.buckets[client] {
                bucket = Bucket(tokens: refilled(known, now), seen: now)
            } else {
                if s.buckets.count >= limit.maxClients, let stalest = s.buckets.min(by: { $0.value.seen < $1.value.seen })?.key {
                    s.buckets[stalest] = nil
                }
                bucket = Bucket(tokens: Double(limit.burst), seen: now)
            }
            defer { s.buckets[client] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / limit.requestsPerSecond).rounded(.up)))
        }
    }

    /// How many clients are tracked now.
    var clients: Int { state.withLock { $0.buckets.count } }

    private func refilled(_ b: Bucket, _ now: UInt64) -> Double {
        min(Double(limit.burst), b.tokens + Double(now - b.seen) / 1e9 * limit.requestsPerSecond)
    }
}

/// Answers a request from a client over its `RateLimit` with 429, `Retry-After` and the JSON error body.
struct RateLimitMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let limiter: ClientRateLimiter
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let client = ClientKey(context.remoteAddress), let wait = limiter.take(client) {
            metrics.recordRefusal(.rate)
            throw APIError(.tooManyRequests, "too many requests from your address (the limit is \(limiter.limit.sentence)); retry after \(wait) s",
                           headers: [.retryAfter: String(wait)])
        }
        return try await next(request, context)
    }
}

/// The size of a request head NIO's HTTP/1 decoder accepts; a head over any of them is answered 431.
enum RequestHeadLimits {
    /// Header fields in one request.
    static let fields = 100
    /// Bytes of the request target, or of one header name or value.
    static let fieldBytes = 8 * 1024
    /// Bytes of the request target and all header names and values together.
    static let totalBytes = 32 * 1024

    static var decoder: HTTP1Channel.Configuration.DecoderConfiguration {
        .init(maxHeaderFieldSize: fieldBytes, maxHeaderListSize: totalBytes, maxHeaderFieldCount: fields)
    }
}

/// Open connections per client, for `ServerConfiguration.maxConnectionsPerClient`; an entry lives as
/// long as its client has a connection open.
final class OpenConnections: Sendable {
    private let counts = Mutex<[ClientKey: Int]>([:])

    /// Counts a new connection of `client`, unless it already has `cap` open (then false).
    func open(_ client: ClientKey, cap: Int) -> Bool {
        counts.withLock { c in
            let n = c[client, default: 0]
            guard n < cap else { return false }
            c[client] = n + 1
            return true
        }
    }

    /// Forgets a connection `open` counted.
    func close(_ client: ClientKey) {
        counts.withLock { c in
            if let n = c[client] { c[client] = n > 1 ? n - 1 : nil }
        }
    }
}

/// What every connection's `ConnectionGuard` shares.
struct ConnectionLimits: Sendable {
    let maxPerClient: Int?
    let readTimeout: TimeAmount
    let open: OpenConnections
    let metrics: ServerMetrics
}

/// Hummingbird's HTTP/1 channel with a `ConnectionGuard` right after the HTTP decoder.
struct LimitedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let limits: ConnectionLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let limits = self.limits
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(ConnectionGuard(limits: limits), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

/// The limits of one connection that Hummingbird does not enforce itself:
/// - a client over `maxPerClient` open connections is answered 429 at once and disconnected;
/// - a request body not complete within `readTimeout` of its head closes the connection (Hummingbird's
///   idle timeout only restarts on every body chunk, so it cannot stop a client trickling a body);
/// - a request head over `RequestHeadLimits` (NIO's decoder reports it) is answered 431 instead of the
///   400 Hummingbird gives every parse error.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let limits: ConnectionLimits
    private var started = false
    /// The client, while `limits.open` counts this connection.
    private var counted: ClientKey?
    /// Request heads read whose response has not been written to the end.
    private var unanswered = 0
    private var bodyDeadline: Scheduled<Void>?
    /// Set once a refusal is sent: from then on the input is dropped until the connection closes.
    private var refused = false
    private var linger: Scheduled<Void>?

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            bodyDeadline?.cancel()
            bodyDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: limits.readTimeout) { context.close(promise: nil) }
        case .body:
            break
        case .end:
            bodyDeadline?.cancel()
            bodyDeadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Hummingbird also answers a request it could not parse (400), which was never counted.
        if case .end = unwrapOutboundIn(data) { unanswered = max(0, unanswered - 1) }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // After a refusal the decoder complains about every further read; those bytes are meant to be dropped.
        guard !refused else { return }
        guard let e = error as? HTTPParserError, case .headerOverflow = e else {
            context.fireErrorCaught(error)
            return
        }
        limits.metrics.recordRefusal(.headers)
        let message = "the request head is too large: at most \(RequestHeadLimits.fields) header fields, \(RequestHeadLimits.fieldBytes) bytes "
            + "in the target or any one name or value, \(RequestHeadLimits.totalBytes) bytes in all"
        if unanswered == 0 {
            refuse(context, APIError(.requestHeaderFieldsTooLarge, message), linger: true)
        } else {
            // A response is still being written on this connection; an answer now would break into it.
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if refused, event as? ChannelEvent == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard let cap = limits.maxPerClient, let client = ClientKey(context.channel.remoteAddress) else { return }
        if limits.open.open(client, cap: cap) {
            counted = client
        } else {
            limits.metrics.recordRefusal(.connections)
            // Closed at once: a client opening connections as fast as it can must not hold them open.
            refuse(context, APIError(.tooManyRequests, "too many open connections from your address (at most \(cap)); close some and retry",
                                     headers: [.retryAfter: "1"]), linger: false)
        }
    }

    private func stop() {
        bodyDeadline?.cancel()
        bodyDeadline = nil
        linger?.cancel()
        if let c = counted {
            limits.open.close(c)
            counted = nil
        }
    }

    /// Sends `error` as the JSON error response and closes the connection: at once, or when `linger`, after
    /// closing the output and dropping the client's input until it closes its side or a second passes, so
    /// that what the client had already sent does not reset the connection before the client has read the
    /// answer (RFC 9112 §9.6).
    private func refuse(_ context: ChannelHandlerContext, _ error: APIError, linger: Bool) {
        refused = true
        bodyDeadline?.cancel()
        bodyDeadline = nil
        let body = error.json.responseBody
        var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: error.status.code, reasonPhrase: error.status.reasonPhrase))
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.count))
        head.headers.add(name: "Connection", value: "close")
        for field in error.headers { head.headers.add(name: field.name.canonicalName, value: field.value) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        guard linger else {
            context.close(promise: nil)
            return
        }
        context.close(mode: .output, promise: nil)
        self.linger = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}

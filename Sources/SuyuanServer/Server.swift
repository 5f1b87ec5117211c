import Dispatch
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SuyuanFormats
import SuyuanLedger

/// Everything `buildApplication` needs, injected so tests decide the ledger, the keys and "now".
public struct ServerConfiguration: Sendable {
    /// The address to bind (default `127.0.0.1`).
    public var host: String
    /// The port to bind; 0 picks a free one (reported to `onServerRunning`).
    public var port: Int
    /// The ledger served.
    public var ledger: Ledger
    /// The operator's checkpoint signer; when set, a checkpoint is signed after every committed batch.
    public var operatorSigner: NoteSigner?
    /// A C2SP tlog-witness for another log (`POST /add-checkpoint`), when this server is one.
    public var witness: WitnessService?
    /// The clock (witness cosignature timestamps, uptime).
    public var clock: Clock
    /// The most submissions committed in one transaction.
    public var maxBatch: Int
    /// Names storage errors (the server does not know the store): busy and read-only become 503,
    /// disk full 507, the rest 500, each with the store's message.
    public var classifyStorageError: @Sendable (any Error) -> (StorageTrouble, String)?
    /// The logger (default: warnings and above).
    public var logger: Logger
    /// The request rate allowed per client address (an IPv6 /64 counts as one); nil for no limit.
    /// A request over it is answered 429 with `Retry-After`.
    public var rateLimit: RateLimit?
    /// The most connections one client address may have open at once; nil for no cap. A connection over
    /// it is answered 429 with `Retry-After` and closed.
    public var maxConnectionsPerClient: Int?
    /// How long a client may take to send a request. A connection is closed without an answer when it
    /// sends no complete request head this long after connecting or after its previous response (idle, or
    /// trickling the head), or when a request body is not complete this long after its head.
    public var readTimeout: Duration

    /// A configuration serving `ledger` on `host:port`.
    public init(
        ledger: Ledger, host: String = "127.0.0.1", port: Int = 8080, operatorSigner: NoteSigner? = nil,
        witness: WitnessService? = nil, clock: @escaping Clock = systemClock, maxBatch: Int = 512,
        classifyStorageError: @escaping @Sendable (any Error) -> (StorageTrouble, String)? = { _ in nil },
        logger: Logger? = nil, rateLimit: RateLimit? = .standard, maxConnectionsPerClient: Int? = 64,
        readTimeout: Duration = .seconds(10)
    ) {
        self.ledger = ledger
        self.host = host
        self.port = port
        self.operatorSigner = operatorSigner
        self.witness = witness
        self.clock = clock
        self.maxBatch = maxBatch
        self.classifyStorageError = classifyStorageError
        self.rateLimit = rateLimit
        self.maxConnectionsPerClient = maxConnectionsPerClient
        self.readTimeout = readTimeout
        self.logger = logger ?? {
            var l = Logger(label: "suyuan.server")
            l.logLevel = .warning
            return l
        }()
    }
}

/// What kind of storage failure an error is, as the store classifies it.
public enum StorageTrouble: Sendable, Equatable {
    /// Locked by another writer for too long.
    case busy
    /// The file cannot be written.
    case readOnly
    /// No space left.
    case diskFull
    /// The file is damaged.
    case corrupt
    /// Anything else.
    case other
}

/// The request context of every route (other modules' route groups included).
public struct ServerContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage (logger, route parameters, matched route).
    public var coreContext: CoreRequestContextStorage
    /// The address of the client at the other end of the connection.
    public let remoteAddress: SocketAddress?

    /// A context for one request on a connection.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}

/// What a route group can use: the ledger, the clock, and a way to run blocking work off the event loop.
public struct ServerEnvironment: Sendable {
    /// The ledger served.
    public let ledger: Ledger
    /// The injected clock.
    public let clock: Clock
    let checkpoints: CheckpointCache
    let describeStorageError: @Sendable (any Error) -> APIError?

    /// Runs `work` (ledger reads: SQLite calls block) on a thread that is not an event loop or a
    /// Swift concurrency thread, and returns its result.
    public func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            ServerEnvironment.readQueue.async { c.resume(with: Result { try work() }) }
        }
    }

    /// The latest checkpoint note (verified once per size against the operator key and the tree).
    public func latestCheckpoint() async throws -> (size: UInt64, note: [UInt8])? {
        try await blocking { try checkpoints.latest() }
    }

    static let readQueue = DispatchQueue(label: "suyuan.server.reads", attributes: .concurrent)
}

/// A set of routes another module adds to the server, e.g. product verification under
/// `/api/v1/products/…` or a GS1 Digital Link resolver under `/01/{gtin}/…`.
public protocol RouteGroup: Sendable {
    /// Adds this group's routes to `router`. Errors thrown by handlers become JSON error responses
    /// (throw `APIError` for a specific status and sentence); requests are counted in `/metrics`.
    func register(on router: Router<ServerContext>, environment: ServerEnvironment)
}

/// Builds the HTTP application: the JSON API under `/api/v1`, the C2SP tlog-tiles read API at the
/// root, the tlog-witness endpoint when configured, `/health`, `/metrics`, and `routeGroups`, behind
/// the configured limits per client (see `Specs/http-api.md`, Limits).
///
/// `onServerRunning` is called with the bound port once the server listens.
public func buildApplication(
    _ configuration: ServerConfiguration,
    routeGroups: [any RouteGroup] = [],
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let metrics = ServerMetrics()
    let env = ServerEnvironment(
        ledger: configuration.ledger, clock: configuration.clock,
        checkpoints: CheckpointCache(ledger: configuration.ledger),
        describeStorageError: { APIError.storage($0, configuration.classifyStorageError) })
    let writer = BatchWriter(
        ledger: configuration.ledger, signer: configuration.operatorSigner, checkpoints: env.checkpoints,
        maxBatch: configuration.maxBatch, metrics: metrics, logger: configuration.logger)

    let rateLimiter = configuration.rateLimit.map(ClientRateLimiter.init)

    let router = Router(context: ServerContext.self)
    // Middleware first, so it wraps every route and the not-found responder.
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: JSONErrorMiddleware(describe: env.describeStorageError))
    if let rateLimiter { router.add(middleware: RateLimitMiddleware(limiter: rateLimiter, metrics: metrics)) }

    LedgerRoutes(writer: writer).register(on: router, environment: env)
    TileRoutes().register(on: router, environment: env)
    if let w = configuration.witness { WitnessRoutes(witness: w).register(on: router, environment: env) }
    OperationsRoutes(metrics: metrics, rateLimiter: rateLimiter, startedAt: configuration.clock()).register(on: router, environment: env)
    for g in routeGroups { g.register(on: router, environment: env) }

    let readTimeout = TimeAmount(configuration.readTimeout)
    let limits = ConnectionLimits(
        maxPerClient: configuration.maxConnectionsPerClient, readTimeout: readTimeout, open: OpenConnections(), metrics: metrics)
    // Hummingbird's idle timeout restarts only on a parsed request part, so it also closes a connection
    // trickling its request head; the guard adds what it does not cover.
    let http1 = HTTP1Channel.Configuration(idleTimeout: readTimeout, httpDecoderConfiguration: RequestHeadLimits.decoder)
    return Application(
        router: router,
        server: HTTPServerBuilder { responder in
            LimitedHTTP1Channel(http1: HTTP1Channel(responder: responder, configuration: http1), limits: limits)
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "suyuan"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: configuration.logger
    )
}

/// Builds the application and runs it until SIGINT or SIGTERM, which stop it after the requests in
/// flight are answered (what `suyuan serve` does).
public func runServer(
    _ configuration: ServerConfiguration,
    routeGroups: [any RouteGroup] = [],
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) async throws {
    let app = buildApplication(configuration, routeGroups: routeGroups, onServerRunning: onServerRunning)
    try await app.runService()  // its default: graceful shutdown on SIGTERM and SIGINT
}

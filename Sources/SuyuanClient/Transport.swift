import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// Why talking to a Suyuan server failed: the transport, an HTTP error status, or an answer that is not
/// what the API specifies (`Specs/http-api.md`). Each reads as one sentence naming the URL.
public enum ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The base URL is not an absolute `http://` or `https://` URL with a host.
    case invalidURL(String)
    /// No connection could be made, or no complete answer came in time.
    case unreachable(url: String, reason: String)
    /// The server answered with an error status; `message` is its JSON error sentence.
    case http(url: String, status: Int, message: String)
    /// The answer is larger than this client accepts for the request.
    case tooLarge(url: String, limit: Int)
    /// The answer is not what the API specifies.
    case malformed(url: String, reason: String)

    public var description: String {
        switch self {
        case .invalidURL(let s):
            return "\(s) is not an http:// or https:// URL with a host; give the server's base URL, e.g. http://127.0.0.1:8080"
        case .unreachable(let url, let reason): return "cannot reach \(url): \(reason)"
        case .http(let url, let status, let message): return "\(url) answered \(status): \(message)"
        case .tooLarge(let url, let limit): return "\(url) sent more than \(limit) bytes, over this client's limit for that answer"
        case .malformed(let url, let reason): return "\(url) did not answer as a Suyuan server does: \(reason)"
        }
    }
}

/// A blocking HTTP exchange over `URLSession` (libcurl on Linux): each call waits on a semaphore, so it
/// must not run on a thread that the answer's delivery needs (URLSession delivers on its own queue).
final class Transport: Sendable {
    private let session: URLSession
    private let delegate: Delegate
    let connectTimeout: Double
    let readTimeout: Double

    init(connectTimeout: Double, readTimeout: Double) {
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = connectTimeout + readTimeout
        config.timeoutIntervalForResource = connectTimeout + readTimeout
        config.httpMaximumConnectionsPerHost = 2
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        delegate = Delegate()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: config, delegate: delegate, delegateQueue: queue)
    }

    deinit { session.invalidateAndCancel() }

    /// Sends the request and waits for the whole answer: the status must arrive within `connectTimeout`
    /// seconds, the body within `readTimeout` seconds after that, and the body may not exceed `limit` bytes.
    func exchange(_ request: URLRequest, limit: Int) throws(ClientError) -> (status: Int, body: [UInt8]) {
        let url = request.url?.absoluteString ?? "?"
        let x = Exchange(limit: limit)
        let task = session.dataTask(with: request)
        delegate.register(task.taskIdentifier, x)
        defer { delegate.unregister(task.taskIdentifier) }
        task.resume()
        if !x.wait(until: { $0.status != nil || $0.finished }, seconds: connectTimeout) {
            task.cancel()
            throw .unreachable(url: url, reason: "no answer within \(Transport.seconds(connectTimeout))")
        }
        if !x.wait(until: { $0.finished }, seconds: readTimeout) {
            task.cancel()
            throw .unreachable(url: url, reason: "the answer did not arrive within \(Transport.seconds(readTimeout))")
        }
        let outcome = x.state.withLock { $0 }
        if outcome.overLimit { throw .tooLarge(url: url, limit: limit) }
        if let e = outcome.error { throw .unreachable(url: url, reason: Transport.reason(e)) }
        guard let status = outcome.status else { throw .unreachable(url: url, reason: "the connection closed without an answer") }
        return (status, outcome.body)
    }

    private static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }

    /// A transport failure in words (Foundation's own descriptions on Linux name only the error code).
    private static func reason(_ error: any Error) -> String {
        guard let e = error as? URLError else { return "\(error)" }
        switch e.code {
        case .cannotConnectToHost: return "connection refused (is the server running, and is the port right?)"
        case .cannotFindHost, .dnsLookupFailed: return "unknown host"
        case .timedOut: return "timed out"
        case .networkConnectionLost: return "the connection was lost"
        case .notConnectedToInternet: return "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            return "the TLS connection failed (\(e.code.rawValue))"
        case .badServerResponse: return "the answer is not valid HTTP"
        case .unsupportedURL: return "unsupported URL"
        default: return "URL error \(e.code.rawValue)"
        }
    }
}

/// One request's progress, filled in by the session's delegate queue and read by the waiting caller.
private final class Exchange: Sendable {
    struct State: Sendable {
        var status: Int?
        var body: [UInt8] = []
        var error: (any Error)?
        var overLimit = false
        var finished = false
    }

    let limit: Int
    let state = Mutex(State())
    /// Signalled on every change of `state`.
    private let changed = DispatchSemaphore(value: 0)

    init(limit: Int) { self.limit = limit }

    func update(_ change: (inout State) -> Void) {
        state.withLock { change(&$0) }
        changed.signal()
    }

    /// Waits until `condition` holds, at most `seconds`; false when the time ran out first.
    func wait(until condition: (State) -> Bool, seconds: Double) -> Bool {
        let deadline = DispatchTime.now() + seconds
        while !state.withLock({ condition($0) }) {
            if changed.wait(timeout: deadline) == .timedOut { return state.withLock { condition($0) } }
        }
        return true
    }
}

/// The session's delegate: routes each task's events to its `Exchange` and enforces the size limit while
/// the body streams in.
private final class Delegate: NSObject, URLSessionDataDelegate, Sendable {
    private let exchanges = Mutex<[Int: Exchange]>([:])

    func register(_ id: Int, _ x: Exchange) { exchanges.withLock { $0[id] = x } }
    func unregister(_ id: Int) { _ = exchanges.withLock { $0.removeValue(forKey: id) } }
    private func exchange(_ task: URLSessionTask) -> Exchange? { exchanges.withLock { $0[task.taskIdentifier] } }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let x = exchange(dataTask) else { return completionHandler(.cancel) }
        let declared = response.expectedContentLength
        let tooLarge = declared > Int64(x.limit)
        x.update {
            $0.status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if tooLarge { $0.overLimit = true }
        }
        completionHandler(tooLarge ? .cancel : .allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let x = exchange(dataTask) else { return }
        var over = false
        x.update {
            if $0.body.count + data.count > x.limit {
                $0.overLimit = true
                over = true
            } else {
                $0.body.append(contentsOf: data)
            }
        }
        if over { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        exchange(task)?.update {
            $0.error = $0.overLimit ? nil : error
            $0.finished = true
        }
    }
}

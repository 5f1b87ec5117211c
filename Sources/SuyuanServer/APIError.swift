import HTTPTypes
import Hummingbird
import NIOCore
import SuyuanFormats
import SuyuanLedger

/// A refusal or failure as the API reports it: a status and a JSON body `{"error": "<sentence>", …}`
/// whose sentence says what was wrong and what to do (see `Specs/http-api.md`).
public struct APIError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public let status: HTTPResponse.Status
    /// One sentence naming the problem.
    public let message: String
    /// Extra JSON members next to `error` (e.g. `index` for a duplicate).
    public let extra: [String: JSONValue]
    /// Extra response headers (e.g. `Retry-After`).
    public let headers: HTTPFields

    /// An error with `status` and `message`, plus optional extra members and headers.
    public init(_ status: HTTPResponse.Status, _ message: String, extra: [String: JSONValue] = [:], headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.extra = extra
        self.headers = headers
    }

    /// The status code and the sentence, e.g. `409 duplicate: …`.
    public var description: String { "\(status.code) \(message)" }

    /// The JSON body of this error.
    public var json: JSONValue {
        var o = extra
        o["error"] = .string(message)
        return .object(o)
    }

    /// The JSON error response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var r = Response.json(json, status: status)
        r.headers.append(contentsOf: headers)
        return r
    }

    /// 400 Bad Request.
    public static func badRequest(_ m: String) -> APIError { APIError(.badRequest, m) }
    /// 404 Not Found.
    public static func notFound(_ m: String) -> APIError { APIError(.notFound, m) }

    /// A storage failure as an answer: busy and read-only are 503 (retry), disk full 507, the rest 500.
    static func storage(_ error: any Error, _ classify: (any Error) -> (StorageTrouble, String)?) -> APIError? {
        guard let (kind, msg) = classify(error) else { return nil }
        switch kind {
        case .busy:
            return APIError(.serviceUnavailable, "the ledger is locked by another process; nothing was appended; retry (\(msg))", headers: [.retryAfter: "1"])
        case .readOnly: return APIError(.serviceUnavailable, "the ledger file is read-only; nothing was written (\(msg))")
        case .diskFull: return APIError(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "disk full while writing the ledger; nothing was appended (\(msg))")
        case .corrupt: return APIError(.internalServerError, "the ledger file is corrupt (\(msg)); the operator must restore it from a backup")
        case .other: return APIError(.internalServerError, "ledger storage error: \(msg)")
        }
    }

    /// How the ledger's refusal of a submitted statement maps to a status (see `Specs/http-api.md`).
    public static func refusal(_ e: LedgerError) -> APIError {
        switch e {
        case .malformed: return APIError(.badRequest, e.description)
        case .badSignature: return APIError(.unprocessableContent, e.description)
        case .unknownKind: return APIError(.unprocessableContent, e.description)
        case .timeOutOfWindow: return APIError(.unprocessableContent, e.description)
        case .unauthorized: return APIError(.forbidden, e.description)
        case .duplicate(let i): return APIError(.conflict, e.description, extra: ["index": .number(Double(i))])
        case .state(let s): return APIError(.internalServerError, "the ledger could not take the statement: \(s)")
        case .corrupt: return APIError(.internalServerError, e.description)
        }
    }
}

extension Response {
    /// A response whose body is `value` in RFC 8785 canonical form, `Content-Type: application/json`.
    package static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: value.responseBody)))
    }

    /// A response with raw bytes and a content type.
    package static func bytes(_ bytes: [UInt8], contentType: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = contentType
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension JSONValue {
    /// The value as a JSON response body: RFC 8785 canonical form and a newline.
    var responseBody: [UInt8] {
        ((try? canonical()) ?? Array(#"{"error":"the response could not be encoded as JSON"}"#.utf8)) + [0x0a]
    }
}

/// Turns every error thrown below it into a JSON error response, so no client ever sees an empty
/// body or a framework-specific error shape.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Maps errors the server does not know (storage errors) to a response, or nil for a plain 500.
    let describe: @Sendable (any Error) -> APIError?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return APIError.from(error, request: request, describe: describe).responseValue
        }
    }
}

extension APIError {
    /// The response without a request (for middleware).
    var responseValue: Response {
        var r = Response.json(json, status: status)
        r.headers.append(contentsOf: headers)
        return r
    }

    /// Any error as an `APIError` with a specific sentence.
    static func from(_ error: any Error, request: Request, describe: (any Error) -> APIError?) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case let e as LedgerError:
            return refusal(e)
        case let e as HTTPError:
            switch e.status {
            case .notFound:
                return .notFound("no route for \(request.method) \(request.uri.path); the routes are listed in Specs/http-api.json")
            case .methodNotAllowed:
                return APIError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
            default:
                return APIError(e.status, e.body ?? "\(e.status.reasonPhrase)")
            }
        case let e as any HTTPResponseError where e.status == .contentTooLarge:
            return APIError(.contentTooLarge, "the request body is too large for \(request.uri.path)")
        case let e as any HTTPResponseError:
            return APIError(e.status, "\(e.status.reasonPhrase) (\(e))")
        default:
            if let d = describe(error) { return d }
            return APIError(.internalServerError, "internal error: \(error)")
        }
    }
}

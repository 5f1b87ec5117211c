import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanServer
import SuyuanWeb
import Testing

/// Checks `Specs/http-api.json` against the server: every documented operation exists and answers,
/// for its documented example request (and, where the example cannot succeed, a valid one), with a
/// documented status and the content type documented for that status.
@Suite("Specs/http-api.json matches the server")
struct OpenAPITests {
    static func spec() throws -> JSONValue {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("Specs/http-api.json"))
        return try JSONValue.parse([UInt8](data))
    }

    /// One request per documented operation: the path with its parameters' examples substituted.
    struct Operation: CustomStringConvertible {
        let method: HTTPRequest.Method
        let template: String
        let uri: String
        let body: [UInt8]?
        let responses: [String: JSONValue]
        var description: String { "\(method) \(template)" }
    }

    static func operations(_ spec: JSONValue) throws -> [Operation] {
        var out: [Operation] = []
        for (template, item) in try #require(spec["paths"]?.objectValue) {
            for (m, op) in try #require(item.objectValue) {
                let method = try #require(HTTPRequest.Method(m.uppercased()))
                var path = template
                var query: [String] = []
                for p in op["parameters"]?.arrayValue ?? [] {
                    let name = try #require(p["name"]?.stringValue)
                    let example = try #require(p["example"], "parameter \(name) of \(m) \(template) needs an example")
                    let text = example.stringValue ?? example.integerValue.map { String($0) } ?? ""
                    switch p["in"]?.stringValue {
                    case "path": path = path.replacingOccurrences(of: "{\(name)}", with: text)
                    case "query": query.append("\(name)=\(text)")
                    default: Issue.record("parameter \(name) of \(template) is neither in path nor query")
                    }
                }
                #expect(!path.contains("{"), "unsubstituted parameter in \(template)")
                var body: [UInt8]?
                if let content = op["requestBody"]?["content"]?.objectValue, let (_, media) = content.first {
                    let example = try #require(media["example"], "\(m) \(template) needs a request body example")
                    body = try example.stringValue.map { Array($0.utf8) } ?? example.canonical()
                }
                // Responses shared by every operation (the limits' 429 and 431) are references into components.
                var responses = try #require(op["responses"]?.objectValue)
                for (code, r) in responses {
                    guard let ref = r["$ref"]?.stringValue else { continue }
                    let name = try #require(ref.split(separator: "/").last.map(String.init), "\(ref)")
                    responses[code] = try #require(spec["components"]?["responses"]?[name], "\(m) \(template) \(code): \(ref) does not exist")
                }
                out.append(Operation(method: method, template: template, uri: path + (query.isEmpty ? "" : "?" + query.joined(separator: "&")),
                                     body: body, responses: responses))
            }
        }
        return out
    }

    @Test("every documented operation exists and answers with a documented status and content type")
    func documentedRoutes() async throws {
        let spec = try Self.spec()
        #expect(spec["openapi"]?.stringValue == "3.1.0")
        let ops = try Self.operations(spec)
        #expect(ops.count == 29)
        let t = try TestLedger(entries: 300)
        let witness = try WitnessTests.makeWitness(t.dir)
        let app = buildApplication(t.configuration(witness: witness), routeGroups: [ProductRoutes()])
        let valid = Fixture.envelope(Fixture.notice(999, at: t.clock.current))
        let validBatch = try JSONValue.object(["statements": .array([try JSONValue.parse(Fixture.envelope(Fixture.notice(998, at: t.clock.current)))])]).canonical()
        try await app.test(.router) { client in
            func check(_ op: Operation, _ uri: String, _ body: [UInt8]?) async throws -> Int {
                let r = try await client.execute(uri: uri, method: op.method, body: body.map { ByteBuffer(bytes: $0) })
                let code = String(r.status.code)
                let documented = try #require(op.responses[code], "\(op) answered \(code), which is not documented: \(r.text)")
                let types = Set(documented["content"]?.objectValue?.keys.map { $0 } ?? [])
                #expect(types.contains(r.contentType ?? ""), "\(op) \(code) has Content-Type \(r.contentType ?? "none"), documented: \(types)")
                if r.status == .notFound {
                    #expect(r.json["error"]?.stringValue?.hasPrefix("no route") != true, "\(op): the route does not exist")
                }
                return r.status.code
            }
            for op in ops {
                let code = try await check(op, op.uri, op.body)
                if op.template == "/api/v1/statements" || op.template == "/api/v1/statements/batch" {
                    #expect(code >= 400, "the documented example envelope is not validly signed")
                    #expect(try await check(op, op.uri, op.template == "/api/v1/statements" ? valid : validBatch) == 201)
                } else if op.template != "/add-checkpoint" {
                    #expect(code == 200, "\(op) example: \(code)")
                }
            }
        }
    }

    @Test("every route the server registers is documented")
    func routesAreDocumented() throws {
        let documented = Set(try #require(Self.spec()["paths"]?.objectValue).keys)
        let served = ["/api/v1/statements", "/api/v1/statements/batch", "/api/v1/checkpoint", "/api/v1/entries", "/api/v1/entries/{index}", "/api/v1/proofs/inclusion",
                      "/api/v1/proofs/consistency", "/checkpoint", "/tile/{L}/{N}", "/tile/{L}/{N}.p/{W}", "/tile/entries/{N}",
                      "/tile/entries/{N}.p/{W}", "/add-checkpoint", "/health", "/metrics",
                      // SuyuanWeb's ProductRoutes, served by `suyuan serve`.
                      "/api/v1/products/verification", "/api/v1/products/bundle", "/api/v1/bundles", "/assets/{name}"]
            + ["/01/{gtin}/21/{serial}", "/01/{gtin}/10/{lot}", "/01/{gtin}", "/00/{sscc}", "/01/{gtin}/10/{lot}/21/{serial}"].flatMap { [$0, "/qr" + $0] }
        #expect(documented == Set(served))
    }
}

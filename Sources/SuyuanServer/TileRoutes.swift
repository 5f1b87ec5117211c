import HTTPTypes
import Hummingbird
import NIOCore
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle

/// A C2SP tlog-tiles resource path, parsed strictly: `tile/<L>/<N>[.p/<W>]` or
/// `tile/entries/<N>[.p/<W>]`, where `<N>` is zero-padded 3-digit elements, all but the last
/// prefixed with `x` (index 1234067 is `x001/x234/067`). See `Specs/http-api.md`.
public struct TilePath: Equatable, Sendable, CustomStringConvertible {
    /// Hashes per full tile (tile height 8).
    public static let width = 256
    /// Tile height: a level-`L` tile holds hashes of subtrees of `2^(8L)` leaves.
    public static let height = 8

    /// The tile level, or nil for an entry bundle.
    public let level: Int?
    /// The tile index within its level.
    public let index: UInt64
    /// The width: 256 for a full tile, 1–255 for a partial one.
    public let width: Int

    /// Is this an entry bundle (`tile/entries/…`)?
    public var isEntryBundle: Bool { level == nil }
    /// Is this a partial tile?
    public var isPartial: Bool { width < TilePath.width }

    /// A tile of level `level` (nil: an entry bundle).
    public init(level: Int?, index: UInt64, width: Int = TilePath.width) {
        self.level = level; self.index = index; self.width = width
    }

    /// The path, e.g. `tile/0/x001/x234/067.p/8` (no leading slash).
    public var description: String {
        var parts: [String] = []
        var n = index
        repeat { parts.append(String(n % 1000)); n /= 1000 } while n > 0
        let elems = parts.reversed().enumerated().map { i, p -> String in
            let padded = String(repeating: "0", count: 3 - p.count) + p
            return i == parts.count - 1 ? padded : "x" + padded
        }
        let prefix = level.map { "tile/\($0)/" } ?? "tile/entries/"
        return prefix + elems.joined(separator: "/") + (isPartial ? ".p/\(width)" : "")
    }

    /// Why a path is not a tile path.
    public enum ParseError: Error, Equatable, CustomStringConvertible, Sendable {
        /// The path is not a canonical tile path; the string says why.
        case malformed(String)
        /// The sentence naming the problem.
        public var description: String { switch self { case .malformed(let s): return s } }
    }

    /// Parses the path after the `/tile/` prefix was matched (the whole URL path, e.g. `/tile/0/000`).
    /// Only the canonical encoding is accepted: no empty, `.` or `..` elements, no percent-encoding,
    /// no leading zeros, no superfluous `x000` elements.
    public init(path: String) throws(ParseError) {
        let bad = { (why: String) -> ParseError in .malformed("\(path.prefix(200)) is not a tile path: \(why); tiles are /tile/<L>/<N>[.p/<W>] and /tile/entries/<N>[.p/<W>] with <N> as in x001/x234/067") }
        guard path.utf8.count <= 100 else { throw bad("it is too long") }
        guard path.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2f || $0 == 0x78 || $0 == 0x2e || $0 == 0x70 || ($0 >= 0x61 && $0 <= 0x7a) }) else {
            throw bad("it has characters other than digits, letters, '.' and '/'")
        }
        var elems = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard elems.count >= 3, elems[0].isEmpty, elems[1] == "tile" else { throw bad("it does not start with /tile/") }
        elems.removeFirst(2)
        guard !elems.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { throw bad("it has an empty, '.' or '..' element") }

        let level: Int?
        if elems[0] == "entries" {
            level = nil
        } else {
            guard let l = TilePath.smallDecimal(elems[0]), l <= 63 else { throw bad("the level must be 0–63 without leading zeros") }
            level = l
        }
        elems.removeFirst()

        var width = TilePath.width
        if elems.count >= 2, elems[elems.count - 2].hasSuffix(".p") {
            guard let w = TilePath.smallDecimal(elems[elems.count - 1]), w >= 1, w <= 255 else {
                throw bad("a partial tile's width must be 1–255 without leading zeros")
            }
            width = w
            elems.removeLast()
            elems[elems.count - 1].removeLast(2)
        }
        guard !elems.isEmpty, elems.count <= 7 else { throw bad("the index must have 1 to 7 elements") }
        var index: UInt64 = 0
        for (i, e) in elems.enumerated() {
            let last = i == elems.count - 1
            let digits = last ? Substring(e) : (e.hasPrefix("x") ? e.dropFirst() : "")
            guard digits.utf8.count == 3, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let d = UInt64(digits) else {
                throw bad(last ? "the last index element must be 3 digits" : "index elements before the last must be x and 3 digits")
            }
            if i == 0 && !last && d == 0 { throw bad("the index must not start with x000") }
            let (m, o1) = index.multipliedReportingOverflow(by: 1000)
            let (s, o2) = m.addingReportingOverflow(d)
            guard !o1, !o2 else { throw bad("the index is larger than 2^64") }
            index = s
        }
        self.init(level: level, index: index, width: width)
    }

    private static func smallDecimal(_ s: String) -> Int? {
        guard !s.isEmpty, s.utf8.count <= 3, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if s.utf8.count > 1 && s.utf8.first == 0x30 { return nil }
        return Int(s)
    }

    /// The Merkle subtrees whose hashes make up this tile, for a tree of `size` leaves, or nil when
    /// the tree is too small to have them all.
    public func nodeIDs(treeSize size: UInt64) -> [NodeID]? {
        let nodeLevel = (level ?? 0) * TilePath.height
        guard nodeLevel < 64 else { return nil }
        let complete = size >> UInt64(nodeLevel)  // complete subtrees at that level
        let (first, o) = index.multipliedReportingOverflow(by: UInt64(TilePath.width))
        guard !o, first <= complete, UInt64(width) <= complete - first else { return nil }
        return (0..<UInt64(width)).map { NodeID(level: nodeLevel, index: first + $0) }
    }
}

/// The C2SP tlog-tiles read API at the root: `/checkpoint`, `/tile/<L>/<N>[.p/<W>]`,
/// `/tile/entries/<N>[.p/<W>]`. Everything is computed from the store, so the responses are the
/// files a static tile server would hold.
struct TileRoutes: RouteGroup {
    /// The largest entry an entry bundle can carry (uint16 length prefix).
    static let maxBundledEntry = Int(UInt16.max)
    static let immutable = "public, max-age=31536000, immutable"

    func register(on router: Router<ServerContext>, environment env: ServerEnvironment) {
        router.get("checkpoint") { _, _ in try await LedgerRoutes.checkpointResponse(env) }
        router.get("tile/**") { request, _ in try await tile(request, env) }
    }

    private func tile(_ request: Request, _ env: ServerEnvironment) async throws -> Response {
        let t: TilePath
        do { t = try TilePath(path: request.uri.path) } catch { throw APIError.badRequest(error.description) }
        let ledger = env.ledger
        let body = try await env.blocking { () -> [UInt8]? in
            let size = try ledger.size()
            guard let ids = t.nodeIDs(treeSize: size) else { return nil }
            if t.isEntryBundle {
                let entries = try ledger.store.entries(from: ids[0].index, count: ids.count)
                guard entries.count == ids.count else { return nil }
                var out: [UInt8] = []
                out.reserveCapacity(entries.reduce(0) { $0 + 2 + $1.bytes.count })
                for e in entries {
                    guard e.bytes.count <= TileRoutes.maxBundledEntry else {
                        throw APIError(.internalServerError, "entry \(e.index) is \(e.bytes.count) bytes, more than the \(TileRoutes.maxBundledEntry) an entry bundle's uint16 length can carry; fetch it from /api/v1/entries/\(e.index)")
                    }
                    out.append(UInt8(e.bytes.count >> 8))
                    out.append(UInt8(e.bytes.count & 0xff))
                    out.append(contentsOf: e.bytes)
                }
                return out
            }
            return try ledger.store.hashes(for: ids).flatMap(\.bytes)
        }
        guard let body else {
            throw APIError.notFound("\(t) does not exist (yet): the tree is not large enough for it")
        }
        var h = HTTPFields()
        h[.cacheControl] = Self.immutable
        return .bytes(body, contentType: "application/octet-stream", headers: h)
    }
}

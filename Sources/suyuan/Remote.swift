import Foundation
import SuyuanClient
import SuyuanCrypto
import SuyuanFormats
import SuyuanLedger
import SuyuanMerkle
import SuyuanTrace

/// A ledger served by `suyuan serve`, read and appended to with `--server URL` (see
/// `Specs/remote-cli.md`). Nothing the server says is taken on trust: every checkpoint is verified with
/// the operator key and proved consistent with the last one this machine verified for that server
/// (pinned in `$SUYUAN_HOME/servers/`), and every entry used is proved included in such a checkpoint.
final class RemoteLedger {
    let client: SuyuanClient
    let operatorKey: VerifierKey
    let genesis: Genesis
    /// The newest checkpoint verified so far.
    private(set) var checkpoint: VerifiedCheckpoint
    private let pinPath: String

    /// Connects to `url`. The operator key is `trust` if given, else the one pinned at first contact,
    /// else (first contact) the one the server's genesis names, which is then pinned.
    init(url: String, trust: VerifierKey?) throws {
        client = try SuyuanClient(baseURL: url)
        pinPath = Self.pinDirectory + "/" + Self.pinName(client.baseURL)
        let pin = try Self.readPin(pinPath)
        guard let first = try client.entries(from: 0, count: 1).first else {
            throw CLIError(code: CLIError.verification, message: "\(client.baseURL) sent no genesis entry")
        }
        let e0 = try Entry(parsing: first.bytes)
        guard e0.index == 0, e0.statement.kind == Genesis.kind else {
            throw CLIError(code: CLIError.verification, message: "\(client.baseURL)'s entry 0 is not a genesis statement")
        }
        genesis = try Genesis(payload: e0.statement.payload)
        if let key = trust ?? pin?.key {
            guard key.publicKey == genesis.operatorKey.publicKey else {
                let whose = trust != nil ? "the key given with --server-key" : "the key pinned at first contact in \(pinPath)"
                throw CLIError(code: CLIError.verification, message: "\(client.baseURL)'s genesis names operator key \(genesis.operatorKey), not \(whose) (\(key)); this is not the ledger you trusted")
            }
            operatorKey = key
        } else {
            operatorKey = genesis.operatorKey
            IO.note("trusting operator key \(operatorKey) named in \(client.baseURL)'s genesis (pinned in \(pinPath)); pass --server-key KEYREF to pin it yourself")
        }
        let cp = try Checkpoint.verify(try client.checkpointNote(), trusting: [operatorKey])
        guard cp.checkpoint.origin == genesis.origin else {
            throw CLIError(code: CLIError.verification, message: "\(client.baseURL)'s checkpoint is for origin \(cp.checkpoint.origin), its genesis names \(genesis.origin)")
        }
        let proof = try client.inclusionProof(index: 0, size: cp.checkpoint.size)
        try RFC6962.verifyInclusion(leafHash: first.leafHash, index: 0, size: cp.checkpoint.size, proof: proof.proof, root: cp.checkpoint.root)
        if let pin, pin.key.publicKey == operatorKey.publicKey {
            try client.verifyConsistency(of: cp.checkpoint, extending: (pin.size, pin.root))
        }
        checkpoint = cp
        try savePin()
    }

    // MARK: Checkpoints

    /// Moves to the server's latest checkpoint, proved to extend the one verified before.
    @discardableResult
    func refresh() throws -> VerifiedCheckpoint {
        try adopt(try Checkpoint.verify(try client.checkpointNote(), trusting: [operatorKey]))
        return checkpoint
    }

    /// Checks that `cp` (verified with the operator key) and the newest verified checkpoint are one
    /// history, whichever is newer, and keeps the newer.
    private func adopt(_ cp: VerifiedCheckpoint) throws {
        let known = checkpoint.checkpoint
        guard cp.checkpoint.origin == known.origin else {
            throw CLIError(code: CLIError.verification, message: "a checkpoint for origin \(cp.checkpoint.origin) came from \(client.baseURL), which serves \(known.origin)")
        }
        if cp.checkpoint.size >= known.size {
            try client.verifyConsistency(of: cp.checkpoint, extending: (known.size, known.root))
            checkpoint = cp
            try savePin()
        } else {
            try client.verifyConsistency(of: known, extending: (cp.checkpoint.size, cp.checkpoint.root))
        }
    }

    /// Proves that the tree of `size` entries has root `root` (a root the server claimed), from the
    /// newest verified checkpoint.
    func verifyRoot(_ root: Hash, size: UInt64) throws {
        let known = checkpoint.checkpoint
        guard size <= known.size else {
            throw CLIError(code: CLIError.data, message: "the server's newest checkpoint covers \(known.size) entries, fewer than \(size)")
        }
        try client.verifyConsistency(of: known, extending: (size, root))
    }

    // MARK: Reading

    /// The entries indexed under `term` (the genesis left out), proved included; see `TermBundle`.
    func entries(_ term: String) throws -> [Entry] {
        let bytes = try client.get("/api/v1/bundles?term=" + term.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, limit: ProductBundle.maxBytes * 4)
        let bundle = try TermBundle(parsing: bytes)
        guard bundle.term == term else {
            throw CLIError(code: CLIError.verification, message: "\(client.baseURL) sent the entries of \(bundle.term) when asked for \(term)")
        }
        let (cp, entries) = try bundle.verify(trusting: [operatorKey])
        try adopt(cp)
        return entries
    }

    /// The registry, replayed from its proved entries.
    func registry() throws -> Registry {
        var r = Registry(genesis: genesis)
        r.apply(all: try entries(Registry.term))
        return r
    }

    /// The product's offline bundle as the server makes it (checked by `ProductBundle.verify`), after
    /// proving its checkpoint consistent with the newest verified one.
    func productBundle(_ code: ProductCode) throws -> ProductBundle {
        let bytes = try client.get("/api/v1/products/bundle?code=" + code.canonical.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, limit: ProductBundle.maxBytes)
        let bundle = try ProductBundle(parsing: bytes)
        guard bundle.code == code else {
            throw CLIError(code: CLIError.verification, message: "\(client.baseURL) sent the bundle of \(bundle.code.canonical) when asked for \(code.canonical)")
        }
        try adopt(try Checkpoint.verify(bundle.material.checkpoint, trusting: [operatorKey]))
        return bundle
    }

    /// Entries `from`… (at most `count`), proved included in the newest verified checkpoint as one run
    /// of consecutive leaves: two inclusion proofs (of the first and the last) for the whole run.
    func entries(from: UInt64, count: Int) throws -> [StoredEntry] {
        let cp = checkpoint.checkpoint
        guard from < cp.size else { return [] }
        var out: [StoredEntry] = []
        var next = from
        let end = min(cp.size, from + UInt64(count))
        while next < end {
            let page = try client.entries(from: next, count: Int(min(UInt64(SuyuanClient.maxEntriesPerRequest), end - next)))
            guard !page.isEmpty else { break }
            out += page
            next += UInt64(page.count)
        }
        guard next == end else {
            throw CLIError(code: CLIError.verification,
                           message: "\(client.baseURL) sent \(out.count) of entries \(from)–\(end - 1), which its checkpoint of \(cp.size) entries covers")
        }
        // `client.entries` checked each page's indexes: `out` is entries from..<end, in order.
        let firstProof = try client.inclusionProof(index: from, size: cp.size).proof
        let lastProof = try end - 1 == from ? firstProof : client.inclusionProof(index: end - 1, size: cp.size).proof
        do {
            try RFC6962.verifyRange(leafHashes: out.map(\.leafHash), from: from, size: cp.size, firstProof: firstProof, lastProof: lastProof, root: cp.root)
        } catch {
            throw CLIError(code: CLIError.verification,
                           message: "entries \(from)–\(end - 1) from \(client.baseURL) are not included in its checkpoint of \(cp.size) entries: \(error)")
        }
        return out
    }

    /// Proves `entry` included in the newest verified checkpoint.
    func proveIncluded(_ entry: StoredEntry) throws {
        let cp = checkpoint.checkpoint
        let p = try client.inclusionProof(index: entry.index, size: cp.size)
        do {
            try RFC6962.verifyInclusion(leafHash: entry.leafHash, index: entry.index, size: cp.size, proof: p.proof, root: cp.root)
        } catch {
            throw CLIError(code: CLIError.verification, message: "entry \(entry.index) from \(client.baseURL) is not included in its checkpoint of \(cp.size) entries: \(error)")
        }
    }

    // MARK: Appending

    /// Submits `statements` (one, or several all-or-none), then proves each is in the ledger as sent:
    /// the entry at the index the server names carries exactly this signed statement and is included
    /// in a checkpoint verified with the operator key. Returns the indexes, leaf hashes and that note.
    func append(_ statements: [SignedStatement]) throws -> (appended: [(index: UInt64, leafHash: Hash)], checkpoint: [UInt8]) {
        var answered: [(index: UInt64, leafHash: Hash)] = []
        if statements.count == 1 {
            let s = try client.submit(Array(statements[0].envelope.canonicalString().utf8))
            answered = [(s.index, s.leafHash)]
        } else {
            let body = try JSONValue.object(["statements": .array(statements.map(\.envelope))]).canonical()
            let doc = try client.post("/api/v1/statements/batch", body: body, limit: statements.count * 256 + (64 << 10))
            for item in doc["appended"]?.arrayValue ?? [] {
                guard let i = item["index"]?.integerValue, i >= 0, let h = item["leafHash"]?.stringValue.flatMap(Hash.init(hex:)) else { continue }
                answered.append((UInt64(i), h))
            }
        }
        guard answered.count == statements.count else {
            throw CLIError(code: CLIError.verification, message: "\(client.baseURL) answered for \(answered.count) of \(statements.count) statements")
        }
        try refresh()
        for (s, a) in zip(statements, answered) {
            guard a.index < checkpoint.checkpoint.size else {
                throw CLIError(code: CLIError.verification, message: "entry \(a.index) is not covered by \(client.baseURL)'s newest checkpoint (\(checkpoint.checkpoint.size) entries); the server holds no operator key to sign one")
            }
            guard let stored = try client.entries(from: a.index, count: 1).first, stored.leafHash == a.leafHash,
                  let e = try? Entry(parsing: stored.bytes), e.signed.canonical == s.canonical, e.signed.signature == s.signature else {
                throw CLIError(code: CLIError.verification, message: "\(client.baseURL) says it appended the statement as entry \(a.index), but that entry does not carry it")
            }
            try proveIncluded(stored)
        }
        return (answered, Array(checkpoint.note.encoded.utf8))
    }

    // MARK: Pins

    /// Where the operator key and the newest verified checkpoint of each server are kept:
    /// `$SUYUAN_HOME/servers`, else `~/.suyuan/servers`.
    static var pinDirectory: String {
        let env = ProcessInfo.processInfo.environment
        return (env["SUYUAN_HOME"] ?? (env["HOME"] ?? ".") + "/.suyuan") + "/servers"
    }

    static func pinName(_ url: String) -> String {
        String(url.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }) + ".json"
    }

    private static func readPin(_ path: String) throws -> (key: VerifierKey, size: UInt64, root: Hash)? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let j = try? JSONValue.parse([UInt8](data)), let k = j["operatorKey"]?.stringValue, let key = try? VerifierKey(parsing: k),
              let size = j["size"]?.integerValue, size >= 0, let root = j["root"]?.stringValue.flatMap(Hash.init(hex:)) else {
            throw CLIError(code: CLIError.data, message: "the server pin \(path) is damaged; remove it to trust the server's key again")
        }
        return (key, UInt64(size), root)
    }

    private func savePin() throws {
        try FileManager.default.createDirectory(atPath: Self.pinDirectory, withIntermediateDirectories: true)
        let doc = JSONValue.object(["url": .string(client.baseURL), "operatorKey": .string(operatorKey.description),
                                    "size": .number(Double(checkpoint.checkpoint.size)), "root": .string(checkpoint.checkpoint.root.hex)])
        try IO.write(Array((doc.prettyPrinted() + "\n").utf8), to: pinPath)
    }
}

import SuyuanCrypto
import SuyuanFormats
import SuyuanMerkle

/// What the ledger appends: `{"index","prev","recordedAt","signature","statement"}` in JCS form.
///
/// `prev` is the RFC 6962 leaf hash of the entry before (64 zero hex digits for entry 0), so the
/// entries form a hash chain as well as the leaves of the Merkle tree. See `Specs/ledger.md`.
public struct Entry: Sendable, Equatable {
    /// Position in the ledger, from 0.
    public let index: UInt64
    /// Leaf hash of the previous entry (`Hash.zero` for entry 0).
    public let prev: Hash
    /// When the ledger recorded it, millisecond precision.
    public let recordedAt: Timestamp
    /// The signed statement it carries.
    public let signed: SignedStatement
    /// The canonical entry bytes (the Merkle leaf data).
    public let bytes: [UInt8]

    /// The RFC 6962 leaf hash: SHA-256(0x00 ‖ bytes).
    public var leafHash: Hash { RFC6962.leafHash(bytes) }

    /// The statement inside.
    public var statement: Statement { signed.statement }

    /// Builds an entry. The encoding is a direct concatenation, which equals JCS because the keys are
    /// already in order and every value is canonical.
    public init(index: UInt64, prev: Hash, recordedAt: Timestamp, signed: SignedStatement) {
        let t = recordedAt.truncatedToMilliseconds
        self.init(index: index, prev: prev, recordedAt: t, recordedAtText: t.millisecondString, signed: signed)
    }

    /// As above, with `recordedAt` already truncated to milliseconds and formatted (once per batch).
    init(index: UInt64, prev: Hash, recordedAt: Timestamp, recordedAtText: String, signed: SignedStatement) {
        self.index = index
        self.prev = prev
        self.recordedAt = recordedAt
        self.signed = signed
        var b = [UInt8]()
        b.reserveCapacity(signed.canonical.count + 256)
        b.append(contentsOf: #"{"index":"#.utf8)
        b.append(contentsOf: String(index).utf8)
        b.append(contentsOf: #","prev":""#.utf8)
        b.append(contentsOf: prev.hex.utf8)
        b.append(contentsOf: #"","recordedAt":""#.utf8)
        b.append(contentsOf: recordedAtText.utf8)
        b.append(contentsOf: #"","signature":""#.utf8)
        b.append(contentsOf: Base64.encode(signed.signature).utf8)
        b.append(contentsOf: #"","statement":"#.utf8)
        b.append(contentsOf: signed.canonical)
        b.append(UInt8(ascii: "}"))
        self.bytes = b
    }

    /// The largest entry accepted when reading, in bytes.
    public static let maxBytes = Statement.maxBytes + 1024

    /// Parses entry bytes strictly: canonical JCS, exactly the five fields, each well formed.
    /// Does not verify the signature or the chain (see `LedgerVerifier`).
    public init(parsing bytes: [UInt8]) throws(LedgerError) {
        guard bytes.count <= Entry.maxBytes else { throw .corrupt("entry is \(bytes.count) bytes, over the \(Entry.maxBytes)-byte limit") }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch { throw .corrupt("entry is not valid JSON: \(error)") }
        guard let obj = json.objectValue, Set(obj.keys) == ["index", "prev", "recordedAt", "signature", "statement"] else {
            throw .corrupt("entry must have exactly index, prev, recordedAt, signature, statement")
        }
        guard let idx = obj["index"]?.integerValue, idx >= 0 else { throw .corrupt("entry index is not a non-negative integer") }
        guard let prevText = obj["prev"]?.stringValue, let prev = Hash(hex: prevText) else { throw .corrupt("entry prev is not 64 lowercase hex digits") }
        guard let rt = obj["recordedAt"]?.stringValue, let recordedAt = Timestamp(parsing: rt), recordedAt.millisecondString == rt else {
            throw .corrupt("entry recordedAt is not a millisecond RFC 3339 UTC time")
        }
        guard let st = obj["signature"]?.stringValue, let sig = Base64.decode(st), sig.count == 64 else {
            throw .corrupt("entry signature is not base64 of 64 bytes")
        }
        guard let stJSON = obj["statement"] else { throw .corrupt("entry has no statement") }
        let stBytes: [UInt8]
        do { stBytes = try stJSON.canonical() } catch { throw .corrupt("\(error)") }
        guard stBytes.count <= Statement.maxBytes else { throw .corrupt("entry statement is over the \(Statement.maxBytes)-byte limit") }
        let statement: Statement
        do { statement = try Statement(json: stJSON) } catch { throw .corrupt("entry statement: \(error)") }
        // No second parse of the statement: comparing the rebuilt entry bytes with the input below also
        // proves the statement was in canonical form.
        let signed = SignedStatement(unverifiedStatement: statement, canonical: stBytes, signature: sig)
        self.init(index: UInt64(idx), prev: prev, recordedAt: recordedAt, signed: signed)
        guard self.bytes == bytes else { throw .corrupt("entry \(idx) is not in canonical form") }
    }
}

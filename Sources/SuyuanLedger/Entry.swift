import SuyuanCrypto
import SuyuanFormats
import SuyuanMerkle

/// What the ledger appends: `{"index","prev","recordedAt","signature","statement"}` in JCS form.
///
/// `prev` is the RFC 6962 leaf hash of the entry before (64 zero hex digits for entry 0), so the
/// entries form a hash chain as well as the leaves of the Merkle tree. See `Specs/ledger.md`.
public struct Entry: Sendable, Equatable {
    /// The fields, held once: an entry is copied through arrays, dictionaries and tuples many times
    /// on its way through a journey or an audit, and a copy is then one reference count, not a dozen.
    @usableFromInline final class Storage: Sendable {
        @usableFromInline let index: UInt64, prev: Hash, recordedAt: Timestamp, signed: SignedStatement, bytes: [UInt8]
        init(_ index: UInt64, _ prev: Hash, _ recordedAt: Timestamp, _ signed: SignedStatement, _ bytes: [UInt8]) {
            self.index = index; self.prev = prev; self.recordedAt = recordedAt; self.signed = signed; self.bytes = bytes
        }
    }
    @usableFromInline let storage: Storage

    /// Position in the ledger, from 0.
    @inlinable public var index: UInt64 { storage.index }
    /// Leaf hash of the previous entry (`Hash.zero` for entry 0).
    @inlinable public var prev: Hash { storage.prev }
    /// When the ledger recorded it, millisecond precision.
    @inlinable public var recordedAt: Timestamp { storage.recordedAt }
    /// The signed statement it carries.
    @inlinable public var signed: SignedStatement { storage.signed }
    /// The canonical entry bytes (the Merkle leaf data).
    @inlinable public var bytes: [UInt8] { storage.bytes }

    /// The canonical bytes encode every other field.
    public static func == (a: Entry, b: Entry) -> Bool { a.storage === b.storage || a.bytes == b.bytes }

    /// The RFC 6962 leaf hash: SHA-256(0x00 ‖ bytes).
    public var leafHash: Hash { RFC6962.leafHash(bytes) }

    /// The statement inside.
    @inlinable public var statement: Statement { storage.signed.statement }

    /// Builds an entry. The encoding is a direct concatenation, which equals JCS because the keys are
    /// already in order and every value is canonical.
    public init(index: UInt64, prev: Hash, recordedAt: Timestamp, signed: SignedStatement) {
        let t = recordedAt.truncatedToMilliseconds
        self.init(index: index, prev: prev, recordedAt: t, recordedAtText: t.millisecondString, signed: signed)
    }

    /// As above, with `recordedAt` already truncated to milliseconds and formatted (once per batch).
    init(index: UInt64, prev: Hash, recordedAt: Timestamp, recordedAtText: String, signed: SignedStatement) {
        var b = [UInt8]()
        b.reserveCapacity(signed.canonical.count + 256)
        b.append(contentsOf: #"{"index":"#.utf8)
        b.append(contentsOf: String(index).utf8)
        b.append(contentsOf: #","prev":""#.utf8)
        Hex.append(prev.bytes, to: &b)
        b.append(contentsOf: #"","recordedAt":""#.utf8)
        b.append(contentsOf: recordedAtText.utf8)
        b.append(contentsOf: #"","signature":""#.utf8)
        Base64.append(signed.signature, to: &b)
        b.append(contentsOf: #"","statement":"#.utf8)
        b.append(contentsOf: signed.canonical)
        b.append(UInt8(ascii: "}"))
        storage = Storage(index, prev, recordedAt, signed, b)
    }

    /// The largest entry accepted when reading, in bytes.
    public static let maxBytes = Statement.maxBytes + 1024

    /// Parses entry bytes strictly: canonical JCS, exactly the five fields, each well formed.
    /// Does not verify the signature or the chain (the audit does).
    public init(parsing bytes: [UInt8]) throws(LedgerError) {
        guard bytes.count <= Entry.maxBytes else { throw .corrupt("entry is \(bytes.count) bytes, over the \(Entry.maxBytes)-byte limit") }
        if let e = Entry.parseCanonicalLayout(bytes) { self = e } else { self = try Entry.parseGeneral(bytes) }
    }

    /// The general parser: the whole entry parsed as JSON, each field checked and named when wrong.
    static func parseGeneral(_ bytes: [UInt8]) throws(LedgerError) -> Entry {
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
        let signed = SignedStatement(unverifiedStatement: statement, canonical: stBytes, signature: sig, hashed: false)
        let e = Entry(index: UInt64(idx), prev: prev, recordedAt: recordedAt, signed: signed)
        guard e.bytes == bytes else { throw .corrupt("entry \(idx) is not in canonical form") }
        return e
    }

    /// The fast path for what a ledger stores: bytes laid out exactly as the canonical form is
    /// (`{"index":N,"prev":"…","recordedAt":"…","signature":"…","statement":{…}}`), read field by field
    /// without parsing the outer object. Only the statement is parsed, and its bytes must be its own
    /// JCS form. Every check of the general parser holds: the literal parts match the canonical layout
    /// and each field is in the one form the canonical encoding writes (digits without a leading zero,
    /// lowercase hex, a millisecond time, canonical base64, a JCS statement), so the input is the entry
    /// rebuilt from its parts, byte for byte. Returns nil for anything else; the general parser then
    /// says what is wrong.
    static func parseCanonicalLayout(_ bytes: [UInt8]) -> Entry? {
        var i = 0
        func literal(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard i + n <= bytes.count else { return false }
            let ok = s.withUTF8Buffer { lit in (0..<n).allSatisfy { bytes[i + $0] == lit[$0] } }
            if ok { i += n }
            return ok
        }
        /// The bytes up to the next `"` (none of them a backslash or control character), skipping it.
        func quoted() -> ArraySlice<UInt8>? {
            let start = i
            while i < bytes.count, bytes[i] != 0x22 {
                if bytes[i] == 0x5C || bytes[i] < 0x20 { return nil }
                i += 1
            }
            guard i < bytes.count else { return nil }
            defer { i += 1 }
            return bytes[start..<i]
        }
        guard literal(#"{"index":"#) else { return nil }
        var index: UInt64 = 0
        let digitsStart = i
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, i - digitsStart < 15 {
            index = index * 10 + UInt64(bytes[i] - 0x30)
            i += 1
        }
        // 1 to 15 digits (exact as a JSON number), no leading zero.
        guard i > digitsStart, bytes[digitsStart] != 0x30 || i == digitsStart + 1 else { return nil }
        // The canonical time has exactly three fractional digits: 24 characters with the point at 19
        // (the parser checks every digit and range, so the text is what `millisecondString` writes).
        guard literal(#","prev":""#), let prevText = quoted(), let prev = Hash(lowercaseHex: prevText),
              literal(#","recordedAt":""#), let rtBytes = quoted(), rtBytes.count == 24, rtBytes[rtBytes.startIndex + 19] == UInt8(ascii: ".") else { return nil }
        let rt = String(decoding: rtBytes, as: UTF8.self)
        guard let recordedAt = Timestamp(parsing: rt),
              literal(#","signature":""#), let sigText = quoted(), let sig = Base64.decode(String(decoding: sigText, as: UTF8.self)), sig.count == 64,
              literal(#","statement":"#), bytes.last == UInt8(ascii: "}"), i < bytes.count - 1 else { return nil }
        let stBytes = Array(bytes[i..<(bytes.count - 1)])
        // One level less deep than the whole entry, as the general parser would see it.
        guard stBytes.count <= Statement.maxBytes, let (stJSON, isCanonical) = try? JSONValue.parseCheckingCanonical(stBytes, maxDepth: 63),
              isCanonical, let statement = try? Statement(json: stJSON) else { return nil }
        let signed = SignedStatement(unverifiedStatement: statement, canonical: stBytes, signature: sig, hashed: false)
        return Entry(index: index, prev: prev, recordedAt: recordedAt, signed: signed, bytes: bytes)
    }

    /// Parses stored entries on all cores, in their order; throws the first that does not parse.
    public static func parseAll(_ stored: [StoredEntry]) throws(LedgerError) -> [Entry] {
        try Parallel.map(stored) { s in Result { () throws(LedgerError) in try Entry(parsing: s.bytes) } }.map { r throws(LedgerError) in try r.get() }
    }

    /// An entry whose `bytes` the caller has shown to be its canonical encoding.
    private init(index: UInt64, prev: Hash, recordedAt: Timestamp, signed: SignedStatement, bytes: [UInt8]) {
        storage = Storage(index, prev, recordedAt, signed, bytes)
    }
}

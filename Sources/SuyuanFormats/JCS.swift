// RFC 8785 JSON Canonicalization Scheme (JCS) and pretty printing.
// Specification: Specs/jcs.md.

import Dispatch

extension JSONValue {
    /// RFC 8785 canonical bytes. Throws for a non-finite number.
    public func canonical() throws(JSONError) -> [UInt8] {
        var out = JSONByteSink(capacity: 1024)
        defer { out.deallocate() }
        try JSONWriter.writeCanonical(self, into: &out)
        return out.bytes()
    }

    /// Same, as a String.
    public func canonicalString() throws(JSONError) -> String {
        String(decoding: try canonical(), as: UTF8.self)
    }

    /// Human-readable: 2-space indent, keys in JCS order, same number/string formatting as JCS,
    /// no trailing newline. Empty containers print as `[]` / `{}`; a member is `"key": value`.
    /// Non-finite numbers (which have no JSON form) print as `NaN`, `Infinity`, `-Infinity`.
    public func prettyPrinted() -> String { String(decoding: prettyPrintedBytes(), as: UTF8.self) }

    /// The UTF-8 bytes of `prettyPrinted()`, followed by `terminator`.
    public func prettyPrintedBytes(terminator: [UInt8] = []) -> [UInt8] {
        var out = JSONByteSink(capacity: 1024)
        defer { out.deallocate() }
        JSONWriter.writePretty(self, level: 0, into: &out)
        terminator.withUnsafeBufferPointer { out.append(contentsOf: $0) }
        return out.bytes()
    }
}

/// RFC 8785 entry points on raw bytes.
public enum JCS {
    /// Parses strictly (`JSONValue.parse` with its default limits) and returns the canonical form.
    public static func canonicalize(_ bytes: some Collection<UInt8>) throws(JSONError) -> [UInt8] {
        try JSONValue.parse(bytes).canonical()
    }

    /// True if `bytes` is already exactly in canonical form (and parses strictly).
    public static func isCanonical(_ bytes: some Collection<UInt8>) -> Bool {
        (try? JSONValue.parseCheckingCanonical(bytes))?.isCanonical ?? false
    }
}

/// Serialisation shared by canonical and pretty output.
enum JSONWriter {
    // MARK: Canonical

    static func writeCanonical(_ value: JSONValue, into out: inout JSONByteSink) throws(JSONError) {
        switch value {
        case .null:
            out.append(contentsOf: "null")
        case .bool(let b):
            out.append(contentsOf: b ? "true" : "false")
        case .number(let d):
            guard d.isFinite else {
                throw JSONError(message: "cannot canonicalize non-finite number \(d)", offset: nil)
            }
            writeNumber(d, into: &out)
        case .string(let s):
            writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            try writeItems(items, into: &out) { item, first, out throws(JSONError) in
                if !first { out.append(UInt8(ascii: ",")) }
                try writeCanonical(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            var first = true
            for member in sortedMembers(object) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                try writeCanonical(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    // MARK: Pretty

    static func writePretty(_ value: JSONValue, level: Int, into out: inout JSONByteSink) {
        switch value {
        case .number(let d) where !d.isFinite:
            out.append(contentsOf: d.isNaN ? "NaN" : d < 0 ? "-Infinity" : "Infinity")
        case .null, .bool, .number, .string:
            try? writeCanonical(value, into: &out) // cannot throw: finite number or no number
        case .array(let items):
            if items.isEmpty {
                out.append(contentsOf: "[]")
                return
            }
            out.append(UInt8(ascii: "["))
            writeItems(items, into: &out) { item, first, out in
                if !first { out.append(UInt8(ascii: ",")) }
                newline(level + 1, &out)
                writePretty(item, level: level + 1, into: &out)
            }
            newline(level, &out)
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.isEmpty {
                out.append(contentsOf: "{}")
                return
            }
            out.append(UInt8(ascii: "{"))
            var first = true
            for member in sortedMembers(object) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                newline(level + 1, &out)
                writeString(member.key, into: &out)
                out.append(contentsOf: ": ")
                writePretty(member.value, level: level + 1, into: &out)
            }
            newline(level, &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Arrays of at least this many items are written in parts on all cores.
    static let parallelItems = 4096

    /// Writes each item with `write(item, isFirst, sink)`, in order. A long array (a product's
    /// thousands of events) is cut into parts written into their own sinks on all cores, then joined:
    /// each item's bytes depend on nothing but the item, so the output is the same. The first error
    /// (in item order) is thrown.
    static func writeItems<E: Error>(_ items: [JSONValue], into out: inout JSONByteSink,
                                     _ write: (JSONValue, Bool, inout JSONByteSink) throws(E) -> Void) throws(E) {
        guard items.count >= parallelItems else {
            for (n, item) in items.enumerated() { try write(item, n == 0, &out) }
            return
        }
        let partCount = 16
        let size = (items.count + partCount - 1) / partCount
        var parts = [(sink: JSONByteSink, error: E?)]()
        parts.reserveCapacity(partCount)
        for _ in 0..<partCount { parts.append((JSONByteSink(capacity: 4096), nil)) }
        defer { for p in parts { p.sink.deallocate() } }
        parts.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let parts = buffer  // each part is written by exactly one iteration
            withoutActuallyEscaping(write) { write in
                nonisolated(unsafe) let write = write
                DispatchQueue.concurrentPerform(iterations: partCount) { k in
                    var sink = parts[k].sink
                    do throws(E) {
                        for n in (k * size)..<Swift.min(items.count, (k + 1) * size) { try write(items[n], n == 0, &sink) }
                    } catch { parts[k].error = error }
                    parts[k].sink = sink
                }
            }
        }
        for p in parts {
            if let e = p.error { throw e }
            out.append(contentsOf: UnsafeBufferPointer(start: p.sink.base, count: p.sink.count))
        }
    }

    private static func newline(_ level: Int, _ out: inout JSONByteSink) {
        out.append(0x0A)
        out.append(UInt8(ascii: " "), repeating: 2 * level)
    }

    // MARK: Member order

    /// Members sorted by the UTF-16 code units of their names (RFC 8785 §3.2.3).
    static func sortedMembers(_ object: [String: JSONValue]) -> [Member] {
        var members = object.map { Member(key: $0.key, value: $0.value) }
        guard members.count > 1 else { return members }
        if members.allSatisfy({ isASCII($0.key) }) {
            // For ASCII, String's `<` is byte order, which equals UTF-16 code unit order.
            members.sort { $0.key < $1.key }
            return members
        }
        var decorated = members.map { (units: Array($0.key.utf16), member: $0) }
        decorated.sort { $0.units.lexicographicallyPrecedes($1.units) }
        return decorated.map(\.member)
    }

    /// Whether a member named `a` comes before one named `b` in JCS order (UTF-16 code units).
    static func precedes(_ a: String, _ b: String) -> Bool {
        // For ASCII, String's `<` is byte order, which equals UTF-16 code unit order.
        if isASCII(a) && isASCII(b) { return a < b }
        return a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    /// Whether `text` is exactly how JCS writes the number `d`.
    static func isCanonicalNumber(_ d: Double, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var out = JSONByteSink(capacity: 32)
        defer { out.deallocate() }
        writeNumber(d, into: &out)
        return out.count == text.count && UnsafeBufferPointer(start: out.base, count: out.count).elementsEqual(text)
    }

    /// An object member (a struct rather than a tuple: arrays of it copy and destroy faster).
    struct Member {
        let key: String
        let value: JSONValue
    }

    private static func isASCII(_ s: String) -> Bool {
        if let ascii = s.utf8.withContiguousStorageIfAvailable({ buffer -> Bool in
            var combined: UInt8 = 0
            for b in buffer { combined |= b }
            return combined < 0x80
        }) {
            return ascii
        }
        return s.utf8.allSatisfy { $0 < 0x80 }
    }

    // MARK: Strings

    /// Writes `s` quoted, escaping only `"`, `\` and U+0000–U+001F (RFC 8785 §3.2.2.2).
    static func writeString(_ s: String, into out: inout JSONByteSink) {
        var s = s
        s.withUTF8 { writeString(utf8: $0, into: &out) }
    }

    private static func writeString(utf8 buffer: UnsafeBufferPointer<UInt8>, into out: inout JSONByteSink) {
        let n = buffer.count
        out.reserve(n + 2)
        out.append(UInt8(ascii: "\""))
        guard let p = buffer.baseAddress else {
            out.append(UInt8(ascii: "\""))
            return
        }
        var run = 0
        var k = 0
        while k < n {
            // Skip 8 bytes at a time while none needs escaping.
            if k + 8 <= n {
                let mask = JSONWordScan.escapableMask(JSONWordScan.load(p + k))
                if mask == 0 {
                    k += 8
                    continue
                }
                k += mask.trailingZeroBitCount >> 3 // the first byte to escape
            } else if n >= 8, JSONWordScan.escapableMask(JSONWordScan.load(p + n - 8)) == 0 {
                break // the (overlapping) last word is clean, so the tail is
            }
            let b = p[k]
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else {
                k += 1
                continue
            }
            out.append(contentsOf: UnsafeBufferPointer(start: p + run, count: k - run))
            k += 1
            run = k
            out.append(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            default:
                out.append(contentsOf: "u00")
                out.append(hexDigit(b >> 4))
                out.append(hexDigit(b & 0x0F))
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(start: p + run, count: n - run))
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    // MARK: Numbers

    /// Writes a finite double as ECMAScript `Number.prototype.toString` does
    /// (ES2019 §7.1.12.1, RFC 8785 §3.2.2.3).
    static func writeNumber(_ d: Double, into out: inout JSONByteSink) {
        // Integers up to 2^53 print as plain digits (also turns -0 into 0).
        if d.magnitude <= 9_007_199_254_740_992, d.rounded(.towardZero) == d {
            writeInteger(Int64(d), into: &out)
            return
        }
        let (digits, count, pointPosition) = shortestDigits(d.magnitude)
        if d < 0 { out.append(UInt8(ascii: "-")) }
        formatECMAScript(digits: digits, k: count, n: pointPosition, into: &out)
    }

    private static func writeInteger(_ value: Int64, into out: inout JSONByteSink) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 1
        var rest = magnitude / 10
        while rest != 0 {
            digits += 1
            rest /= 10
        }
        out.reserve(digits)
        var j = out.count + digits
        out.count = j
        repeat {
            j -= 1
            out.base[j] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude != 0
    }

    /// The shortest round-trip decimal digits of a positive finite double, as
    /// (digits without leading/trailing zeros, digit count k, n) with value = 0.digits × 10^n.
    /// Swift's `description` produces the shortest round-trip digits (closest to the exact value
    /// when several are shortest), which is what ECMAScript requires; only its layout differs,
    /// so we read the digits and the exponent back out of it.
    static func shortestDigits(_ d: Double) -> (digits: UInt64, k: Int, n: Int) {
        var text = d.description
        return text.withUTF8 { buffer in
            var digits: UInt64 = 0
            var k = 0
            var integerDigits = 0   // digits before '.' (or before 'e' with no '.')
            var leadingZeros = 0    // zero digits before the first non-zero digit
            var seenPoint = false
            var exponent = 0
            var index = 0
            while index < buffer.count {
                let b = buffer[index]
                index += 1
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if !seenPoint { integerDigits += 1 }
                    let digit = UInt64(b - UInt8(ascii: "0"))
                    if digits == 0 && digit == 0 {
                        leadingZeros += 1
                    } else {
                        digits = digits &* 10 &+ digit
                        k += 1
                    }
                case UInt8(ascii: "."):
                    seenPoint = true
                case UInt8(ascii: "e"), UInt8(ascii: "E"):
                    var negative = false
                    if index < buffer.count, buffer[index] == UInt8(ascii: "-") || buffer[index] == UInt8(ascii: "+") {
                        negative = buffer[index] == UInt8(ascii: "-")
                        index += 1
                    }
                    while index < buffer.count {
                        exponent = exponent * 10 + Int(buffer[index] - UInt8(ascii: "0"))
                        index += 1
                    }
                    if negative { exponent = -exponent }
                default:
                    break
                }
            }
            while k > 1, digits % 10 == 0 {
                digits /= 10
                k -= 1
            }
            return (digits, k, integerDigits + exponent - leadingZeros)
        }
    }

    /// ES2019 §7.1.12.1 steps 6–10 for a positive number with k digits and point position n.
    static func formatECMAScript(digits: UInt64, k: Int, n: Int, into out: inout JSONByteSink) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var value = digits
            var j = k
            while j > 0 {
                j -= 1
                buffer[j] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            let s = UnsafeBufferPointer(rebasing: buffer[0..<k])
            if k <= n && n <= 21 {
                out.append(contentsOf: s)
                out.append(UInt8(ascii: "0"), repeating: n - k)
            } else if 0 < n && n <= 21 {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: s[0..<n]))
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: UnsafeBufferPointer(rebasing: s[n..<k]))
            } else if -6 < n && n <= 0 {
                out.append(contentsOf: "0.")
                out.append(UInt8(ascii: "0"), repeating: -n)
                out.append(contentsOf: s)
            } else {
                out.append(s[0])
                if k > 1 {
                    out.append(UInt8(ascii: "."))
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: s[1..<k]))
                }
                out.append(UInt8(ascii: "e"))
                let e = n - 1
                out.append(e >= 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
                writeInteger(Int64(e.magnitude), into: &out)
            }
        }
    }
}

/// A growable byte buffer with unchecked appends (capacity is checked, uniqueness is not:
/// it is only ever used as a local). Call `deallocate()` exactly once.
struct JSONByteSink {
    var base: UnsafeMutablePointer<UInt8>
    var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    func deallocate() { base.deallocate() }

    func bytes() -> [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Ensures room for `n` more bytes.
    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(n) }
    }

    private mutating func grow(_ n: Int) {
        let newCapacity = Swift.max(capacity * 2, count + n)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(contentsOf buffer: UnsafeBufferPointer<UInt8>) {
        guard let source = buffer.baseAddress, buffer.count > 0 else { return }
        reserve(buffer.count)
        (base + count).update(from: source, count: buffer.count)
        count += buffer.count
    }

    mutating func append(contentsOf text: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func append(_ byte: UInt8, repeating n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (base + count).initialize(repeating: byte, count: n)
        count += n
    }
}

/// Word-at-a-time byte tests. Each mask has the high bit set in the bytes that match; bytes
/// above (later than) the first match may be false positives, but the first one is exact, so
/// `mask.trailingZeroBitCount / 8` is the index of the first matching byte of a little-endian word.
enum JSONWordScan {
    private static var ones: UInt64 { 0x0101_0101_0101_0101 }
    private static var highs: UInt64 { 0x8080_8080_8080_8080 }

    /// Loads 8 bytes as a little-endian word (byte 0 in the low bits).
    @inline(__always)
    static func load(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    }

    @inline(__always)
    private static func zeroBytes(_ w: UInt64) -> UInt64 {
        (w &- ones) & ~w & highs
    }

    /// Bytes that are < 0x20, `"` or `\`.
    @inline(__always)
    static func escapableMask(_ w: UInt64) -> UInt64 {
        ((w &- ones &* 0x20) & ~w & highs) | zeroBytes(w ^ (ones &* 0x22)) | zeroBytes(w ^ (ones &* 0x5C))
    }

    /// Bytes that are < 0x20, `"`, `\` or >= 0x80.
    @inline(__always)
    static func stringSpecialMask(_ w: UInt64) -> UInt64 {
        (((w &- ones &* 0x20) | w) & highs) | zeroBytes(w ^ (ones &* 0x22)) | zeroBytes(w ^ (ones &* 0x5C))
    }
}

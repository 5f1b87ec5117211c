// Strict RFC 8259 JSON parser over a contiguous UTF-8 byte buffer.
// What is accepted and rejected is specified in Specs/jcs.md.

import Dispatch

extension JSONValue {
    /// Strict RFC 8259 parse of UTF-8 bytes.
    ///
    /// Rejects: invalid UTF-8, duplicate object keys, lone surrogates (escaped `\uD800` without a
    /// following low surrogate, or a lone low surrogate), numbers that overflow to infinity
    /// (e.g. `1e400`), leading zeros, trailing garbage, control chars in strings, a BOM, nesting
    /// deeper than `maxDepth`, input larger than `maxBytes`. Errors carry a specific message
    /// with the byte offset (e.g. `duplicate key "a" at byte 17`).
    ///
    /// Nesting depth counts containers: a scalar has depth 0, `[]` depth 1, `[[]]` depth 2.
    public static func parse(
        _ bytes: some Collection<UInt8>,
        maxDepth: Int = 64,
        maxBytes: Int = 16 << 20
    ) throws(JSONError) -> JSONValue {
        try contiguous(bytes, maxBytes: maxBytes) { JSONParser.parse($0, maxDepth: maxDepth, maxBytes: maxBytes) }
    }

    /// Parses like `parse(_:maxDepth:maxBytes:)` and also tells whether `bytes` is exactly the RFC 8785
    /// canonical form of the value (`canonical() == bytes`), decided while parsing instead of by
    /// writing that form: no whitespace, members in JCS order, only the escapes JCS writes, and each
    /// number as JCS writes it (`Specs/jcs.md` §canonical check).
    public static func parseCheckingCanonical(
        _ bytes: some Collection<UInt8>,
        maxDepth: Int = 64,
        maxBytes: Int = 16 << 20
    ) throws(JSONError) -> (value: JSONValue, isCanonical: Bool) {
        try contiguous(bytes, maxBytes: maxBytes) { JSONParser.parse($0, maxDepth: maxDepth, maxBytes: maxBytes, checkCanonical: true) }
    }

    /// Runs `parse` over `bytes` in place when they are contiguous, else over a copy (not made when
    /// the input is over `maxBytes`).
    private static func contiguous<T>(
        _ bytes: some Collection<UInt8>, maxBytes: Int, _ parse: (UnsafeBufferPointer<UInt8>) -> Result<T, JSONError>
    ) throws(JSONError) -> T {
        if let direct = bytes.withContiguousStorageIfAvailable(parse) { return try direct.get() }
        let count = bytes.count
        if count > maxBytes { throw JSONParser.tooLarge(count, maxBytes) }
        return try Array(bytes).withUnsafeBufferPointer(parse).get()
    }

    /// Strict parse of the UTF-8 encoding of `text` (same rules and the same default size
    /// limit, 16 MiB, as the byte form).
    public static func parse(_ text: String, maxDepth: Int = 64) throws(JSONError) -> JSONValue {
        var text = text
        return try text.withUTF8 { buffer in
            JSONParser.parse(buffer, maxDepth: maxDepth, maxBytes: 16 << 20)
        }.get()
    }
}

/// Recursive-descent parser over raw bytes. Positions are byte offsets from the buffer start.
struct JSONParser {
    private let p: UnsafePointer<UInt8>
    private let end: Int
    private let maxDepth: Int
    private var i = 0
    /// Reused buffer for strings that contain escapes.
    private var scratch: [UInt8] = []
    /// Pending array elements / object members of the containers being parsed.
    private var valueStack: [JSONValue] = []
    private var memberStack: [Member] = []
    /// Whether to check the parts of the canonical form that cost something to check (member order,
    /// number forms); whitespace and escapes are tracked always, at no cost to input without them.
    private let checkCanonical: Bool
    /// False once anything outside the RFC 8785 canonical form has been seen.
    private var canonical = true

    private struct Member {
        let key: String
        let value: JSONValue
        let offset: Int
    }

    private init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int, checkCanonical: Bool) {
        p = base
        end = count
        self.maxDepth = maxDepth
        self.checkCanonical = checkCanonical
    }

    static func tooLarge(_ count: Int, _ limit: Int) -> JSONError {
        JSONError(message: "input too large: \(count) bytes exceeds the limit of \(limit) bytes", offset: nil)
    }

    static func parse(_ buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int, maxBytes: Int) -> Result<JSONValue, JSONError> {
        parse(buffer, maxDepth: maxDepth, maxBytes: maxBytes, checkCanonical: false).map(\.0)
    }

    static func parse(_ buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int, maxBytes: Int, checkCanonical: Bool) -> Result<(JSONValue, Bool), JSONError> {
        if buffer.count > maxBytes { return .failure(tooLarge(buffer.count, maxBytes)) }
        guard let base = buffer.baseAddress, buffer.count > 0 else {
            return .failure(.at("empty input", 0))
        }
        if buffer.count >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF {
            return .failure(.at("byte order mark (BOM) not allowed", 0))
        }
        var parser = JSONParser(base: base, count: buffer.count, maxDepth: maxDepth, checkCanonical: checkCanonical)
        do {
            let value = try parser.parseDocument()
            return .success((value, parser.canonical))
        } catch {
            return .failure(error)
        }
    }

    // MARK: Structure

    private mutating func parseDocument() throws(JSONError) -> JSONValue {
        skipWhitespace()
        if i == end { throw .at("empty input (only whitespace)", i) }
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if i != end { throw .at("unexpected trailing data after the JSON value (\(describeByte(i)))", i) }
        return value
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < end {
            let b = p[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
            canonical = false
        }
    }

    /// `depth` is the number of containers enclosing this value.
    private mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard i < end else { throw .at("unexpected end of input, expected a value", i) }
        switch p[i] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = i
            let d = try parseNumber()
            if checkCanonical && canonical { canonical = JSONWriter.isCanonicalNumber(d, UnsafeBufferPointer(start: p + start, count: i - start)) }
            return .number(d)
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw .at("NaN and Infinity are not valid JSON", i)
        default:
            throw .at("unexpected \(describeByte(i)), expected a value", i)
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        guard end - i >= n else { throw .at("invalid literal, expected \(word)", i) }
        for k in 0..<n where p[i + k] != w[k] {
            throw .at("invalid literal, expected \(word)", i)
        }
        i += n
    }

    private mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        if depth > maxDepth { throw .at("nesting deeper than the maximum depth \(maxDepth)", i) }
        i += 1 // [
        skipWhitespace()
        if i < end, p[i] == UInt8(ascii: "]") {
            i += 1
            return .array([])
        }
        // Elements go on a shared stack so each array is allocated once, at its final size.
        let base = valueStack.count
        while true {
            valueStack.append(try parseValue(depth: depth))
            skipWhitespace()
            guard i < end else { throw .at("unexpected end of input in array, expected ',' or ']'", i) }
            switch p[i] {
            case UInt8(ascii: ","):
                let comma = i
                i += 1
                skipWhitespace()
                if i < end, p[i] == UInt8(ascii: "]") { throw .at("trailing comma in array", comma) }
            case UInt8(ascii: "]"):
                i += 1
                let items = Array(valueStack[base...])
                valueStack.removeLast(valueStack.count - base)
                return .array(items)
            default:
                throw .at("unexpected \(describeByte(i)) in array, expected ',' or ']'", i)
            }
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        if depth > maxDepth { throw .at("nesting deeper than the maximum depth \(maxDepth)", i) }
        i += 1 // {
        skipWhitespace()
        if i < end, p[i] == UInt8(ascii: "}") {
            i += 1
            return .object([:])
        }
        // Members go on a shared stack so each dictionary is allocated once, at its final size.
        let base = memberStack.count
        var comma = -1
        while true {
            guard i < end else { throw .at("unexpected end of input in object, expected a string key", i) }
            guard p[i] == UInt8(ascii: "\"") else {
                if p[i] == UInt8(ascii: "}"), comma >= 0 { throw .at("trailing comma in object", comma) }
                throw .at("unexpected \(describeByte(i)) in object, expected a string key", i)
            }
            let keyStart = i
            let key = try parseString()
            skipWhitespace()
            guard i < end else { throw .at("unexpected end of input in object, expected ':'", i) }
            guard p[i] == UInt8(ascii: ":") else {
                throw .at("unexpected \(describeByte(i)) after object key, expected ':'", i)
            }
            i += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if checkCanonical && canonical && memberStack.count > base && !JSONWriter.precedes(memberStack[memberStack.count - 1].key, key) {
                canonical = false
            }
            memberStack.append(Member(key: key, value: value, offset: keyStart))
            skipWhitespace()
            guard i < end else { throw .at("unexpected end of input in object, expected ',' or '}'", i) }
            switch p[i] {
            case UInt8(ascii: ","):
                comma = i
                i += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                i += 1
                let object = try makeObject(from: base)
                memberStack.removeLast(memberStack.count - base)
                return .object(object)
            default:
                throw .at("unexpected \(describeByte(i)) in object, expected ',' or '}'", i)
            }
        }
    }

    /// Builds the dictionary for `memberStack[base...]`, rejecting duplicate keys.
    private func makeObject(from base: Int) throws(JSONError) -> [String: JSONValue] {
        // Built in one go at its final capacity (incremental growth rehashes; reserveCapacity is
        // not specialised and is slower still).
        var duplicate = false
        let members = memberStack[base...]
        let object = Dictionary(members.lazy.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in
            duplicate = true
            return first
        })
        if duplicate { throw duplicateKeyError(in: members) }
        return object
    }

    /// The error for the first member whose key repeats an earlier one.
    private func duplicateKeyError(in members: ArraySlice<Member>) -> JSONError {
        var seen: [String: Int] = [:]
        for (index, member) in zip(members.indices, members) {
            if let earlier = seen.updateValue(index, forKey: member.key) {
                // Swift's String equality is canonical equivalence; say so when the bytes differ.
                let earlierKey = memberStack[earlier].key
                let note = JSONValue.exactlyEqual(earlierKey, member.key) ? "" :
                    " (canonically equivalent to the earlier key \(JSONParser.quoted(earlierKey)), "
                    + "which a [String: JSONValue] object cannot hold separately)"
                return .at("duplicate key \(JSONParser.quoted(member.key))\(note)", member.offset)
            }
        }
        return .at("duplicate key", members.first?.offset ?? 0)
    }

    // MARK: Strings

    /// Parses a string starting at the opening quote.
    private mutating func parseString() throws(JSONError) -> String {
        let open = i
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < end {
            if i + 8 <= end {
                let mask = JSONWordScan.stringSpecialMask(JSONWordScan.load(p + i))
                if mask == 0 {
                    i += 8
                    continue
                }
                i += mask.trailingZeroBitCount >> 3 // the first byte that needs a look
            }
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
                i += 1
                return s
            }
            if b == UInt8(ascii: "\\") { return try parseEscapedString(open: open, start: start) }
            if b < 0x20 { throw controlCharacter(b) }
            if b < 0x80 { i += 1 } else { try validateUTF8Sequence() }
        }
        throw unterminatedString(open)
    }

    /// Slow path: the string has at least one escape; `i` is at the first backslash.
    private mutating func parseEscapedString(open: Int, start: Int) throws(JSONError) -> String {
        scratch.removeAll(keepingCapacity: true)
        var run = start
        while i < end {
            if i + 8 <= end {
                let mask = JSONWordScan.stringSpecialMask(JSONWordScan.load(p + i))
                if mask == 0 {
                    i += 8
                    continue
                }
                i += mask.trailingZeroBitCount >> 3 // the first byte that needs a look
            }
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                scratch.append(contentsOf: UnsafeBufferPointer(start: p + run, count: i - run))
                i += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") {
                scratch.append(contentsOf: UnsafeBufferPointer(start: p + run, count: i - run))
                try parseEscape(open: open)
                run = i
                continue
            }
            if b < 0x20 { throw controlCharacter(b) }
            if b < 0x80 { i += 1 } else { try validateUTF8Sequence() }
        }
        throw unterminatedString(open)
    }

    /// Decodes one escape at `i` (a backslash) into `scratch`.
    private mutating func parseEscape(open: Int) throws(JSONError) {
        let escape = i
        guard i + 1 < end else { throw unterminatedString(open) }
        let c = p[i + 1]
        let simple: UInt8
        switch c {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F; canonical = false
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            let unit = try hex4(at: i + 2, escape: escape)
            // JCS writes \u only for controls without a short escape, as \u00 and two lowercase digits.
            if !(unit < 0x20 && ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(unit) && p[i + 2] == UInt8(ascii: "0") && p[i + 3] == UInt8(ascii: "0")
                 && (p[i + 5] < UInt8(ascii: "A") || p[i + 5] > UInt8(ascii: "F"))) {
                canonical = false
            }
            i += 6
            var scalar = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                guard i + 1 < end, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") else {
                    throw .at("lone high surrogate \\u\(JSONParser.hex(unit)) (not followed by a low surrogate escape)", escape)
                }
                let low = try hex4(at: i + 2, escape: i)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw .at("high surrogate \\u\(JSONParser.hex(unit)) followed by \\u\(JSONParser.hex(low)), which is not a low surrogate", escape)
                }
                i += 6
                scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw .at("lone low surrogate \\u\(JSONParser.hex(unit))", escape)
            }
            appendUTF8(scalar)
            return
        default:
            throw .at("invalid escape sequence '\\\(JSONParser.printable(c))' in string", escape)
        }
        scratch.append(simple)
        i += 2
    }

    private func hex4(at position: Int, escape: Int) throws(JSONError) -> UInt16 {
        guard position + 4 <= end else { throw .at("invalid \\u escape: expected 4 hex digits", escape) }
        var value: UInt16 = 0
        for k in 0..<4 {
            let b = p[position + k]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw .at("invalid \\u escape: expected 4 hex digits", escape)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Validates one multi-byte UTF-8 sequence at `i` (lead byte >= 0x80) per Unicode Table 3-7
    /// and advances past it.
    private mutating func validateUTF8Sequence() throws(JSONError) {
        let b0 = p[i]
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        let need: Int
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        case 0x80...0xBF:
            throw .at("invalid UTF-8: unexpected continuation byte 0x\(JSONParser.hex(b0))", i)
        case 0xC0, 0xC1:
            throw .at("invalid UTF-8: overlong encoding (lead byte 0x\(JSONParser.hex(b0)))", i)
        default:
            throw .at("invalid UTF-8: byte 0x\(JSONParser.hex(b0)) never occurs in UTF-8", i)
        }
        guard i + need < end else { throw .at("invalid UTF-8: truncated multi-byte sequence", i) }
        let b1 = p[i + 1]
        if b1 < lo || b1 > hi {
            if b1 & 0xC0 != 0x80 {
                throw .at("invalid UTF-8: missing continuation byte", i)
            } else if b0 == 0xE0 || b0 == 0xF0 {
                throw .at("invalid UTF-8: overlong encoding", i)
            } else if b0 == 0xED {
                throw .at("invalid UTF-8: encoded surrogate code point", i)
            } else {
                throw .at("invalid UTF-8: code point above U+10FFFF", i)
            }
        }
        if need >= 2 {
            for k in 2...need where p[i + k] & 0xC0 != 0x80 {
                throw .at("invalid UTF-8: missing continuation byte", i)
            }
        }
        i += need + 1
    }

    private func controlCharacter(_ b: UInt8) -> JSONError {
        .at("unescaped control character 0x\(JSONParser.hex(b)) in string", i)
    }

    private func unterminatedString(_ open: Int) -> JSONError {
        JSONError(message: "unterminated string starting at byte \(open)", offset: open)
    }

    // MARK: Numbers

    /// Powers of ten exactly representable as Double.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    @inline(__always)
    private func isDigit(_ k: Int) -> Bool {
        k < end && p[k] &- UInt8(ascii: "0") < 10
    }

    private mutating func parseNumber() throws(JSONError) -> Double {
        let start = i
        var negative = false
        if p[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
            if i < end, p[i] == UInt8(ascii: "I") { throw .at("NaN and Infinity are not valid JSON", start) }
        }
        var mantissa: UInt64 = 0
        var significant = 0 // digits from the first non-zero one on
        guard isDigit(i) else { throw .at("invalid number: expected a digit after '-'", i) }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { throw .at("invalid number: leading zeros are not allowed", start) }
        } else {
            while isDigit(i) {
                let d = p[i] &- UInt8(ascii: "0")
                significant += 1
                if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(d) }
                i += 1
            }
        }
        var fractionDigits = 0
        if i < end, p[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw .at("invalid number: expected a digit after the decimal point", i) }
            while isDigit(i) {
                let d = p[i] &- UInt8(ascii: "0")
                if mantissa != 0 || d != 0 {
                    significant += 1
                    if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(d) }
                }
                fractionDigits += 1
                i += 1
            }
        }
        var exponent = 0
        if i < end, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            i += 1
            var negativeExponent = false
            if i < end, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
                negativeExponent = p[i] == UInt8(ascii: "-")
                i += 1
            }
            guard isDigit(i) else { throw .at("invalid number: expected a digit in the exponent", i) }
            while isDigit(i) {
                if exponent < 1_000_000 { exponent = exponent * 10 + Int(p[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            if negativeExponent { exponent = -exponent }
        }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        // Clinger's fast path: an exact integer significand and an exact power of ten give a
        // correctly rounded result with one IEEE operation.
        let scale = exponent - fractionDigits
        if significant <= 15, scale >= -22, scale <= 22 {
            var value = Double(mantissa)
            if scale >= 0 {
                value *= JSONParser.exactPowersOfTen[scale]
            } else {
                value /= JSONParser.exactPowersOfTen[-scale]
            }
            return negative ? -value : value
        }
        // General case: the standard library's correctly rounded conversion of the validated text.
        let text = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw .at("number out of range (overflows to infinity)", start)
        }
        return value
    }

    // MARK: Diagnostics

    private func describeByte(_ k: Int) -> String {
        guard k < end else { return "end of input" }
        let b = p[k]
        if b >= 0x21, b <= 0x7E { return "character '\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(JSONParser.hex(b))"
    }

    static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return s.count < 2 ? "0" + s : s
    }

    static func hex(_ u: UInt16) -> String {
        let s = String(u, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    static func printable(_ b: UInt8) -> String {
        b >= 0x21 && b <= 0x7E ? String(Character(Unicode.Scalar(b))) : "<0x\(hex(b))>"
    }

    /// A key for an error message: quoted, control characters escaped, truncated.
    static func quoted(_ key: String) -> String {
        var out = "\""
        var count = 0
        for scalar in key.unicodeScalars {
            if count == 64 { out += "…"; break }
            count += 1
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{0}"..."\u{1F}", "\u{7F}": out += "\\u" + hex(UInt16(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

// MARK: - Parallel parse of one large array member

extension JSONValue {
    /// Parses like `parse(_:maxDepth:maxBytes:)` a document that is an object, parsing the items of
    /// its top-level member `key`, when that is an array, on all cores: a structural scan (strings
    /// and nesting only) finds the items, each is parsed alone, and the rest of the document is
    /// parsed with an empty array in their place. The answer and every error are those of `parse`:
    /// any document the split parse does not accept whole is parsed again by `parse`, which then says
    /// what is wrong.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64, maxBytes: Int = 16 << 20, splittingArrayMember key: String) throws(JSONError) -> JSONValue {
        if bytes.count <= maxBytes, bytes.count >= splitMinimumBytes, maxDepth >= 2,
           let value = bytes.withUnsafeBufferPointer({ splitParse($0, key: key, maxDepth: maxDepth, maxBytes: maxBytes) }) {
            return value
        }
        return try parse(bytes, maxDepth: maxDepth, maxBytes: maxBytes)
    }

    /// Below this size a document is parsed in one piece.
    static let splitMinimumBytes = 1 << 20

    /// The split parse alone, at any size: nil where `parse(_:maxDepth:maxBytes:splittingArrayMember:)`
    /// falls back to the whole parse.
    static func splitParse(_ bytes: [UInt8], key: String, maxDepth: Int = 64, maxBytes: Int = 16 << 20) -> JSONValue? {
        bytes.withUnsafeBufferPointer { splitParse($0, key: key, maxDepth: maxDepth, maxBytes: maxBytes) }
    }

    private static func splitParse(_ p: UnsafeBufferPointer<UInt8>, key: String, maxDepth: Int, maxBytes: Int) -> JSONValue? {
        guard let (array, items) = JSONParser.arrayMemberItems(p, key: key) else { return nil }
        let rest = Array(p[..<array.lowerBound]) + Array("[]".utf8) + Array(p[array.upperBound...])
        // The rest of the document first (on one core while the others start on the items), then the
        // items in parts; items sit two containers deep in the document (its object, the array).
        let partCount = Swift.min(16, items.count)
        let size = partCount == 0 ? 0 : (items.count + partCount - 1) / partCount
        nonisolated(unsafe) var parts = [[JSONValue]?](repeating: nil, count: partCount)
        nonisolated(unsafe) var restValue: JSONValue?
        nonisolated(unsafe) let p = p  // read only
        parts.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out  // each part is written by exactly one worker
            DispatchQueue.concurrentPerform(iterations: partCount + 1) { k in
                guard k > 0 else {
                    restValue = try? parse(rest, maxDepth: maxDepth, maxBytes: maxBytes)
                    return
                }
                let part = k - 1
                var values: [JSONValue] = []
                for n in Swift.min(items.count, part * size)..<Swift.min(items.count, (part + 1) * size) {
                    guard let v = try? JSONParser.parse(UnsafeBufferPointer(rebasing: p[items[n]]), maxDepth: maxDepth - 2, maxBytes: maxBytes).get() else { return }
                    values.append(v)
                }
                out[part] = values
            }
        }
        guard case .object(var object)? = restValue else { return nil }
        var values: [JSONValue] = []
        values.reserveCapacity(items.count)
        for part in parts {
            guard let part else { return nil }
            values += part
        }
        object[key] = .array(values)
        return .object(object)
    }
}

extension JSONParser {
    /// In a document that is an object (whitespace around it allowed), the range of the first
    /// top-level member named exactly `key` (no escapes in the name) when its value is an array,
    /// and the range of each item: found by following strings and nesting only, and checking the
    /// commas and white space between the items. Nil when there is no such member or the scan meets
    /// anything out of place; what it does return holds a valid array whenever each item parses alone.
    static func arrayMemberItems(_ p: UnsafeBufferPointer<UInt8>, key: String) -> (array: Range<Int>, items: [Range<Int>])? {
        let n = p.count
        var i = 0
        @inline(__always) func at(_ k: Int) -> UInt8 { k < n ? p[k] : 0 }
        @inline(__always) func space() {
            while i < n, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
        }
        /// Past the string starting at `i` (its opening quote); false if it does not end.
        func string() -> Bool {
            i += 1
            // Eight bytes at a time while none is a quote, a backslash or a control byte (most of a
            // long string).
            while i + 8 <= n, JSONWordScan.escapableMask(JSONWordScan.load(p.baseAddress! + i)) == 0 { i += 8 }
            while i < n {
                let c = p[i]
                if c == 0x22 { i += 1; return true }
                i += c == 0x5C ? 2 : 1
            }
            return false
        }
        /// Past the value starting at `i`; false if it does not end.
        func value() -> Bool {
            switch at(i) {
            case 0x22: return string()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while i < n {
                    switch p[i] {
                    case 0x22: if !string() { return false }; continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 { i += 1; return true }
                    default: break
                    }
                    i += 1
                }
                return false
            case 0, UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "}"), UInt8(ascii: "]"): return false
            default:  // a number or literal: up to the next delimiter
                while i < n, !(p[i] == UInt8(ascii: ",") || p[i] == UInt8(ascii: "}") || p[i] == UInt8(ascii: "]")
                              || p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09) { i += 1 }
                return true
            }
        }
        let name = Array("\"\(key)\"".utf8)
        space()
        guard at(i) == UInt8(ascii: "{") else { return nil }
        i += 1
        space()
        while at(i) == 0x22 {
            let nameStart = i
            guard string() else { return nil }
            let isKey = i - nameStart == name.count && name.indices.allSatisfy { p[nameStart + $0] == name[$0] }
            space()
            guard at(i) == UInt8(ascii: ":") else { return nil }
            i += 1
            space()
            if isKey, at(i) == UInt8(ascii: "[") {
                let start = i
                i += 1
                space()
                var items: [Range<Int>] = []
                if at(i) == UInt8(ascii: "]") { return (start..<(i + 1), []) }
                while true {
                    let itemStart = i
                    guard value() else { return nil }
                    items.append(itemStart..<i)
                    space()
                    switch at(i) {
                    case UInt8(ascii: ","): i += 1; space()
                    case UInt8(ascii: "]"): return (start..<(i + 1), items)
                    default: return nil
                    }
                }
            }
            guard value() else { return nil }
            space()
            guard at(i) == UInt8(ascii: ",") else { return nil }
            i += 1
            space()
        }
        return nil
    }
}

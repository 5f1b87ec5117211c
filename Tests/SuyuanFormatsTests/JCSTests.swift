import Foundation
import SuyuanFormats
import Testing

// Tests for the strict JSON parser and RFC 8785 canonicalization (Specs/jcs.md).

private let jcsRepoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent() // SuyuanFormatsTests
    .deletingLastPathComponent() // Tests
    .deletingLastPathComponent() // repository root

private let jcsVectorsDirectory = jcsRepoRoot.appendingPathComponent("Specs/vectors/published/jcs")

private func jsonBytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Parses and returns the error message, or nil when parsing succeeds.
private func jsonParseError(_ input: [UInt8], maxDepth: Int = 64, maxBytes: Int = 16 << 20) -> JSONError? {
    do {
        _ = try JSONValue.parse(input, maxDepth: maxDepth, maxBytes: maxBytes)
        return nil
    } catch {
        return error
    }
}

private func jsonCanonical(_ value: JSONValue) -> String {
    (try? value.canonicalString()) ?? "<error>"
}

// MARK: - Published vectors

@Suite struct JCSVectorTests {
    struct Vector {
        let name: String
        let input: [UInt8]
        let output: [UInt8]
        let outhex: [UInt8]
    }

    static func loadVectors() throws -> [Vector] {
        let inputDirectory = jcsVectorsDirectory.appendingPathComponent("input")
        let names = try FileManager.default.contentsOfDirectory(atPath: inputDirectory.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
        return try names.map { name in
            let stem = String(name.dropLast(".json".count))
            let input = try Data(contentsOf: inputDirectory.appendingPathComponent(name))
            let output = try Data(contentsOf: jcsVectorsDirectory.appendingPathComponent("output/\(name)"))
            let hexText = try String(
                contentsOf: jcsVectorsDirectory.appendingPathComponent("outhex/\(stem).txt"), encoding: .utf8)
            let outhex = hexText.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" })
                .map { UInt8($0, radix: 16)! }
            return Vector(name: name, input: Array(input), output: Array(output), outhex: outhex)
        }
    }

    @Test func everyPublishedVectorCanonicalizesByteForByte() throws {
        let vectors = try Self.loadVectors()
        #expect(vectors.count > 0)
        for vector in vectors {
            #expect(vector.output == vector.outhex, "output and outhex disagree for \(vector.name)")
            let result = try JCS.canonicalize(vector.input)
            #expect(result == vector.output, "\(vector.name): got \(String(decoding: result, as: UTF8.self))")
            #expect(result == vector.outhex, "\(vector.name) differs from outhex")
            // The output is a fixed point.
            #expect(try JCS.canonicalize(vector.output) == vector.output, "\(vector.name) output not a fixed point")
        }
    }

    @Test func isCanonicalOnVectors() throws {
        let vectors = try Self.loadVectors()
        #expect(vectors.count > 0)
        for vector in vectors {
            #expect(JCS.isCanonical(vector.output), "\(vector.name) output should be canonical")
            #expect(vector.input != vector.output)
            #expect(!JCS.isCanonical(vector.input), "\(vector.name) input should not be canonical")
        }
    }

    @Test func prettyPrintedVectorsReparseToTheSameValue() throws {
        for vector in try Self.loadVectors() {
            let value = try JSONValue.parse(vector.input)
            let pretty = value.prettyPrinted()
            #expect(try JSONValue.parse(pretty) == value, "\(vector.name)")
            #expect(try JCS.canonicalize(Array(pretty.utf8)) == vector.output, "\(vector.name)")
        }
    }

    /// A long array (written in parts on all cores) comes out byte for byte as its items written one
    /// after another: canonical and pretty, at the top and nested; a non-finite number in any part
    /// fails the canonical form.
    @Test func longArraysAreWrittenAsTheirItemsInOrder() throws {
        let vectors = try Self.loadVectors().map { try JSONValue.parse($0.input) }
        let items: [JSONValue] = (0..<10_007).map { n in
            switch n % 4 {
            case 0: vectors[n % vectors.count]
            case 1: .object(["n": .number(Double(n)), "s": .string("é\u{1}\"\(n)"), "a": .array([.null, .bool(n % 8 == 1)])])
            case 2: .string(String(repeating: "x", count: n % 50))
            default: .number(Double(n) / 7)
            }
        }
        let array = JSONValue.array(items)
        let canonical = "[" + (try items.map { String(decoding: try $0.canonical(), as: UTF8.self) }).joined(separator: ",") + "]"
        #expect(String(decoding: try array.canonical(), as: UTF8.self) == canonical)
        let nested = JSONValue.object(["events": array, "count": .number(Double(items.count))])
        #expect(String(decoding: try nested.canonical(), as: UTF8.self) == #"{"count":10007,"events":"# + canonical + "}")
        let pretty = "[" + items.map { "\n  " + $0.prettyPrinted().replacingOccurrences(of: "\n", with: "\n  ") }.joined(separator: ",") + "\n]"
        #expect(array.prettyPrinted() == pretty)
        #expect(nested.prettyPrinted() == "{\n  \"count\": 10007,\n  \"events\": " + pretty.replacingOccurrences(of: "\n", with: "\n  ") + "\n}")
        for bad in [3, 5_000, 10_006] {
            var v = items
            v[bad] = .number(.infinity)
            #expect(throws: JSONError.self) { try JSONValue.array(v).canonical() }
            #expect(JSONValue.array(v).prettyPrinted().contains("Infinity"))
        }
    }
}

// MARK: - Rejections

@Suite struct JCSRejectionTests {
    struct Rejection: Sendable, CustomTestStringConvertible {
        let name: String
        let input: [UInt8]
        let fragment: String
        var maxDepth = 64
        var maxBytes = 16 << 20
        var testDescription: String { name }
    }

    static let nested65 = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
    static let nestedObjects65 = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)

    static let cases: [Rejection] = [
        // Duplicate keys.
        Rejection(name: "duplicate key", input: jsonBytes(#"{"a":1,"a":2}"#), fragment: #"duplicate key "a" at byte 7"#),
        Rejection(name: "nested duplicate key", input: jsonBytes(#"{"x":{"b":true,"b":false}}"#),
                  fragment: #"duplicate key "b" at byte 15"#),
        Rejection(name: "duplicate key in array element", input: jsonBytes(#"[1,{"k":1,"z":2,"k":3}]"#),
                  fragment: #"duplicate key "k" at byte 16"#),
        Rejection(name: "duplicate key via escape", input: jsonBytes(#"{"a":1,"\u0061":2}"#),
                  fragment: #"duplicate key "a""#),
        Rejection(name: "canonically equivalent keys", input: jsonBytes(#"{"\u00e9":1,"e\u0301":2}"#),
                  fragment: "canonically equivalent"),
        // Surrogates.
        Rejection(name: "lone high surrogate", input: jsonBytes(#""\uD800""#),
                  fragment: #"lone high surrogate \uD800 (not followed by a low surrogate escape) at byte 1"#),
        Rejection(name: "lone high surrogate then text", input: jsonBytes(#""\ud83dx""#), fragment: #"lone high surrogate \uD83D"#),
        Rejection(name: "lone low surrogate", input: jsonBytes(#""\uDC00""#), fragment: #"lone low surrogate \uDC00 at byte 1"#),
        Rejection(name: "lone low surrogate after text", input: jsonBytes(#""ab\udfff""#), fragment: #"lone low surrogate \uDFFF at byte 3"#),
        Rejection(name: "high surrogate then non-low", input: jsonBytes(#""\uD800\u0041""#),
                  fragment: #"high surrogate \uD800 followed by \u0041, which is not a low surrogate"#),
        Rejection(name: "high surrogate then high", input: jsonBytes(#""\uD800\uD800""#), fragment: "which is not a low surrogate"),
        Rejection(name: "reversed surrogate pair", input: jsonBytes(#""\uDE00\uD83D""#), fragment: #"lone low surrogate \uDE00"#),
        // Numbers.
        Rejection(name: "1e400", input: jsonBytes("1e400"), fragment: "number out of range (overflows to infinity) at byte 0"),
        Rejection(name: "-1e400", input: jsonBytes("[-1e400]"), fragment: "number out of range (overflows to infinity) at byte 1"),
        Rejection(name: "huge integer", input: jsonBytes("1" + String(repeating: "0", count: 400)), fragment: "number out of range"),
        Rejection(name: "NaN", input: jsonBytes("NaN"), fragment: "NaN and Infinity are not valid JSON at byte 0"),
        Rejection(name: "Infinity", input: jsonBytes("[Infinity]"), fragment: "NaN and Infinity are not valid JSON at byte 1"),
        Rejection(name: "-Infinity", input: jsonBytes("-Infinity"), fragment: "NaN and Infinity are not valid JSON at byte 0"),
        Rejection(name: "leading zero", input: jsonBytes("01"), fragment: "leading zeros are not allowed at byte 0"),
        Rejection(name: "negative leading zero", input: jsonBytes("[-01]"), fragment: "leading zeros are not allowed at byte 1"),
        Rejection(name: "double zero", input: jsonBytes("00"), fragment: "leading zeros are not allowed"),
        Rejection(name: "bare minus", input: jsonBytes("-"), fragment: "expected a digit after '-' at byte 1"),
        Rejection(name: "minus then dot", input: jsonBytes("-.5"), fragment: "expected a digit after '-'"),
        Rejection(name: "missing fraction digits", input: jsonBytes("1."), fragment: "expected a digit after the decimal point at byte 2"),
        Rejection(name: "missing exponent digits", input: jsonBytes("1e"), fragment: "expected a digit in the exponent at byte 2"),
        Rejection(name: "missing signed exponent digits", input: jsonBytes("1E+"), fragment: "expected a digit in the exponent at byte 3"),
        Rejection(name: "leading dot", input: jsonBytes(".5"), fragment: "unexpected character '.', expected a value at byte 0"),
        Rejection(name: "leading plus", input: jsonBytes("+1"), fragment: "unexpected character '+'"),
        Rejection(name: "hex number", input: jsonBytes("0x10"), fragment: "unexpected trailing data"),
        // Structure.
        Rejection(name: "trailing garbage", input: jsonBytes("{} x"),
                  fragment: "unexpected trailing data after the JSON value (character 'x') at byte 3"),
        Rejection(name: "two values", input: jsonBytes("1 2"), fragment: "unexpected trailing data"),
        Rejection(name: "trailing NUL", input: [0x31, 0x00], fragment: "unexpected trailing data after the JSON value (byte 0x00) at byte 1"),
        Rejection(name: "literal with suffix", input: jsonBytes("truex"), fragment: "unexpected trailing data"),
        Rejection(name: "trailing comma in array", input: jsonBytes("[1,]"), fragment: "trailing comma in array at byte 2"),
        Rejection(name: "trailing comma in object", input: jsonBytes(#"{"a":1,}"#), fragment: "trailing comma in object at byte 6"),
        Rejection(name: "leading comma", input: jsonBytes("[,1]"), fragment: "unexpected character ','"),
        Rejection(name: "missing comma", input: jsonBytes("[1 2]"), fragment: "unexpected character '2' in array, expected ',' or ']' at byte 3"),
        Rejection(name: "missing colon", input: jsonBytes(#"{"a" 1}"#), fragment: "unexpected character '1' after object key, expected ':' at byte 5"),
        Rejection(name: "non-string key", input: jsonBytes("{1:2}"), fragment: "unexpected character '1' in object, expected a string key at byte 1"),
        Rejection(name: "single quotes", input: jsonBytes("'a'"), fragment: "unexpected character '''"),
        Rejection(name: "unclosed array", input: jsonBytes("[1,2"), fragment: "unexpected end of input in array"),
        Rejection(name: "unclosed object", input: jsonBytes(#"{"a":1"#), fragment: "unexpected end of input in object"),
        Rejection(name: "missing value", input: jsonBytes(#"{"a":}"#), fragment: "unexpected character '}', expected a value at byte 5"),
        Rejection(name: "truncated literal", input: jsonBytes("tru"), fragment: "invalid literal, expected true at byte 0"),
        Rejection(name: "wrong-case literal", input: jsonBytes("nulL"), fragment: "invalid literal, expected null"),
        Rejection(name: "Python literal", input: jsonBytes("True"), fragment: "unexpected character 'T'"),
        Rejection(name: "comment", input: jsonBytes("[1]//"), fragment: "unexpected trailing data"),
        Rejection(name: "non-ASCII outside a string", input: jsonBytes("é"), fragment: "unexpected byte 0xC3, expected a value at byte 0"),
        Rejection(name: "vertical tab whitespace", input: [0x0B, 0x31], fragment: "unexpected byte 0x0B"),
        Rejection(name: "non-breaking space whitespace", input: jsonBytes("\u{A0}1"), fragment: "unexpected byte 0xC2"),
        // Strings.
        Rejection(name: "unterminated string", input: jsonBytes(#""abc"#), fragment: "unterminated string starting at byte 0"),
        Rejection(name: "unterminated string after escape", input: jsonBytes(#"["a\"]"#), fragment: "unterminated string starting at byte 1"),
        Rejection(name: "string ending in backslash", input: jsonBytes(#""\"#), fragment: "unterminated string"),
        Rejection(name: "invalid escape", input: jsonBytes(#""\x""#), fragment: #"invalid escape sequence '\x' in string at byte 1"#),
        Rejection(name: "escaped single quote", input: jsonBytes(#""\'""#), fragment: "invalid escape sequence"),
        Rejection(name: "bad unicode escape", input: jsonBytes(#""\u12G4""#), fragment: #"invalid \u escape: expected 4 hex digits at byte 1"#),
        Rejection(name: "short unicode escape", input: jsonBytes(#""\u12""#), fragment: #"invalid \u escape"#),
        Rejection(name: "raw newline in string", input: [0x22, 0x0A, 0x22], fragment: "unescaped control character 0x0A in string at byte 1"),
        Rejection(name: "raw NUL in string", input: [0x22, 0x61, 0x00, 0x22], fragment: "unescaped control character 0x00 in string at byte 2"),
        Rejection(name: "raw 0x1F in string", input: [0x22, 0x1F, 0x22], fragment: "unescaped control character 0x1F"),
        Rejection(name: "raw tab in long escaped string", input: jsonBytes("\"abcdefghij\\n\tk\""),
                  fragment: "unescaped control character 0x09 in string at byte 13"),
        // Invalid UTF-8.
        Rejection(name: "UTF-8 C3 28", input: [0x22, 0xC3, 0x28, 0x22], fragment: "invalid UTF-8: missing continuation byte at byte 1"),
        Rejection(name: "UTF-8 overlong C0 AF", input: [0x22, 0xC0, 0xAF, 0x22],
                  fragment: "invalid UTF-8: overlong encoding (lead byte 0xC0) at byte 1"),
        Rejection(name: "UTF-8 overlong E0 80 80", input: [0x22, 0xE0, 0x80, 0x80, 0x22], fragment: "invalid UTF-8: overlong encoding"),
        Rejection(name: "UTF-8 overlong F0 80 80 80", input: [0x22, 0xF0, 0x80, 0x80, 0x80, 0x22], fragment: "invalid UTF-8: overlong encoding"),
        Rejection(name: "UTF-8 surrogate ED A0 80", input: [0x22, 0xED, 0xA0, 0x80, 0x22],
                  fragment: "invalid UTF-8: encoded surrogate code point at byte 1"),
        Rejection(name: "UTF-8 above U+10FFFF", input: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], fragment: "invalid UTF-8: code point above U+10FFFF"),
        Rejection(name: "UTF-8 F5", input: [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], fragment: "invalid UTF-8: byte 0xF5 never occurs in UTF-8"),
        Rejection(name: "UTF-8 FF", input: [0x22, 0xFF, 0x22], fragment: "invalid UTF-8: byte 0xFF never occurs"),
        Rejection(name: "UTF-8 lone continuation", input: [0x22, 0x61, 0x80, 0x22], fragment: "invalid UTF-8: unexpected continuation byte 0x80 at byte 2"),
        Rejection(name: "UTF-8 truncated at end", input: [0x22, 0xE2, 0x82], fragment: "invalid UTF-8: truncated multi-byte sequence at byte 1"),
        Rejection(name: "UTF-8 truncated before quote", input: [0x22, 0xE2, 0x82, 0x22], fragment: "invalid UTF-8: missing continuation byte"),
        Rejection(name: "UTF-8 error in escaped string", input: [0x22, 0x5C, 0x6E, 0xC3, 0x28, 0x22], fragment: "invalid UTF-8: missing continuation byte at byte 3"),
        Rejection(name: "UTF-8 error in key", input: [0x7B, 0x22, 0xC0, 0x80, 0x22, 0x3A, 0x31, 0x7D], fragment: "invalid UTF-8: overlong encoding"),
        Rejection(name: "UTF-8 error after 8 clean bytes", input: jsonBytes("\"abcdefghijkl") + [0xC3, 0x28, 0x22],
                  fragment: "invalid UTF-8: missing continuation byte at byte 13"),
        // Limits and framing.
        Rejection(name: "depth 65 arrays", input: jsonBytes(nested65), fragment: "nesting deeper than the maximum depth 64 at byte 64"),
        Rejection(name: "depth 65 objects", input: jsonBytes(nestedObjects65), fragment: "nesting deeper than the maximum depth 64"),
        Rejection(name: "custom depth", input: jsonBytes("[[[1]]]"), fragment: "nesting deeper than the maximum depth 2 at byte 2", maxDepth: 2),
        Rejection(name: "empty input", input: [], fragment: "empty input at byte 0"),
        Rejection(name: "whitespace only", input: jsonBytes(" \n\t\r"), fragment: "empty input (only whitespace) at byte 4"),
        Rejection(name: "BOM", input: [0xEF, 0xBB, 0xBF] + jsonBytes("{}"), fragment: "byte order mark (BOM) not allowed at byte 0"),
        Rejection(name: "UTF-16 BOM", input: [0xFE, 0xFF, 0x00, 0x31], fragment: "unexpected byte 0xFE"),
        Rejection(name: "too large", input: jsonBytes("[1, 2, 3]"), fragment: "input too large: 9 bytes exceeds the limit of 8 bytes", maxBytes: 8),
    ]

    @Test(arguments: cases)
    func rejects(_ rejection: Rejection) {
        let error = jsonParseError(rejection.input, maxDepth: rejection.maxDepth, maxBytes: rejection.maxBytes)
        #expect(error != nil, "accepted: \(rejection.name)")
        if let error {
            #expect(error.message.contains(rejection.fragment), "\(rejection.name): got \"\(error.message)\"")
            #expect(error.description == error.message)
            // JCS.canonicalize and isCanonical agree with the parser (default limits).
            if rejection.maxDepth == 64, rejection.maxBytes == 16 << 20 {
                #expect(throws: JSONError.self) { try JCS.canonicalize(rejection.input) }
                #expect(!JCS.isCanonical(rejection.input))
            }
        }
    }

    @Test func errorOffsets() {
        #expect(jsonParseError(jsonBytes(#"{"a":1,"a":2}"#))?.offset == 7)
        #expect(jsonParseError(jsonBytes("[1,]"))?.offset == 2)
        #expect(jsonParseError([0x22, 0xC3, 0x28, 0x22])?.offset == 1)
        #expect(jsonParseError(jsonBytes(#""\uD800""#))?.offset == 1)
        #expect(jsonParseError(jsonBytes("{} x"))?.offset == 3)
        #expect(jsonParseError(jsonBytes("[1, 2, 3]"), maxBytes: 8)?.offset == nil)
        #expect(jsonParseError([]) == JSONError(message: "empty input at byte 0", offset: 0))
    }

    @Test func limitsAreInclusive() throws {
        let nested64 = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let value = try JSONValue.parse(jsonBytes(nested64))
        #expect(try value.canonicalString() == nested64)
        #expect(try JSONValue.parse(jsonBytes("[[1]]"), maxDepth: 2) == [[1]])
        #expect(try JSONValue.parse(jsonBytes("1"), maxDepth: 0) == 1)
        #expect(jsonParseError(jsonBytes("[]"), maxDepth: 0) != nil)
        #expect(try JSONValue.parse(jsonBytes("[1, 2]"), maxBytes: 6) == [1, 2])
        // The String overload has the same rules.
        #expect(throws: JSONError.self) { try JSONValue.parse(Self.nested65) }
        #expect(throws: JSONError.self) { try JSONValue.parse("[[1]]", maxDepth: 1) }
    }

    @Test func nonFiniteNumbersCannotBeCanonicalized() {
        for value: JSONValue in [.number(.nan), .number(.infinity), [.number(-.infinity)], ["a": .number(.nan)]] {
            let error = #expect(throws: JSONError.self) { try value.canonical() }
            #expect(error?.message.contains("cannot canonicalize non-finite number") == true)
            #expect(throws: JSONError.self) { try value.canonicalString() }
        }
        #expect(JSONValue.number(.nan).prettyPrinted() == "NaN")
        #expect(JSONValue.array([.number(.infinity), .number(-.infinity)]).prettyPrinted() == "[\n  Infinity,\n  -Infinity\n]")
    }
}

// MARK: - Accepted input

@Suite struct JCSParseTests {
    @Test func scalars() throws {
        #expect(try JSONValue.parse("null") == .null)
        #expect(try JSONValue.parse("true") == .bool(true))
        #expect(try JSONValue.parse(" false\n") == .bool(false))
        #expect(try JSONValue.parse("\"\"") == .string(""))
        #expect(try JSONValue.parse("0") == .number(0))
        #expect(try JSONValue.parse("[]") == .array([]))
        #expect(try JSONValue.parse("{}") == .object([:]))
        #expect(try JSONValue.parse(" \t\r\n[ 1 , { \"a\" : [ ] } ] \t\r\n") == [1, ["a": []]])
    }

    @Test func numbersParseCorrectlyRounded() throws {
        let cases: [(String, Double)] = [
            ("1E30", 1e30), ("4.50", 4.5), ("2e-3", 0.002), ("0.000000000000000000000000001", 1e-27),
            ("333333333.33333329", 333333333.3333333), ("-12.5e+2", -1250), ("0.1e1", 1), ("1e-0", 1),
            ("9007199254740993", 9007199254740992), ("9007199254740995", 9007199254740996),
            ("2.2250738585072011e-308", Double(bitPattern: 0x000F_FFFF_FFFF_FFFF)), ("2.2250738585072014e-308", 2.2250738585072014e-308),
            ("4.9406564584124654e-324", .leastNonzeroMagnitude), ("2.4703282292062328e-324", .leastNonzeroMagnitude), ("2.4703282292062327e-324", 0),
            ("1.7976931348623158e308", 1.7976931348623157e308), ("1e-400", 0),
            ("1.00000000000000011102230246251565404236316680908203125", 1),
            ("1.00000000000000011102230246251565404236316680908203126", 1.0000000000000002),
            ("123456789012345678901234567890", 1.2345678901234568e29), ("0.3", 0.3), ("1e23", 1e23),
            ("8.41e21", 8.41e21), ("5e-324", .leastNonzeroMagnitude), ("100000000000000000000000", 1e23),
            ("0e999999999", 0), ("12345678901234567890e-10", 1234567890.1234567),
        ]
        for (text, expected) in cases {
            let value = try JSONValue.parse(text)
            #expect(value.doubleValue?.bitPattern == expected.bitPattern, "\(text) → \(String(describing: value.doubleValue))")
        }
        // -0 keeps its sign when parsed and canonicalizes to 0.
        let negativeZero = try JSONValue.parse("-0")
        #expect(negativeZero.doubleValue?.sign == .minus)
        #expect(try negativeZero.canonicalString() == "0")
        #expect(try JSONValue.parse("-0.0e5").doubleValue?.sign == .minus)
    }

    @Test func stringEscapesDecode() throws {
        let value = try JSONValue.parse(#""\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/\b\f\n\r\t""#)
        #expect(value == .string("€$\u{0F}\nA'B\"\\\\\"/\u{08}\u{0C}\n\r\t"))
        #expect(try JSONValue.parse(#""\ud83d\ude02""#) == .string("😂"))
        #expect(try JSONValue.parse(#""\uD83D\uDE02x""#) == .string("😂x"))
        #expect(try JSONValue.parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try JSONValue.parse(#""\uFFFF\uFEFF""#) == .string("\u{FFFF}\u{FEFF}"))
        // Raw UTF-8 of every length, including U+10FFFF and characters Swift treats specially.
        let raw = "é€😂\u{10FFFF}\u{7F}\u{2028}\u{2029}A\u{030A}"
        #expect(try JSONValue.parse("\"" + raw + "\"") == .string(raw))
        // Long strings exercise the word-at-a-time scanner around escapes and non-ASCII.
        let long = String(repeating: "abcdefghé\"\\\t€", count: 20)
        let encoded = try JSONValue.string(long).canonical()
        #expect(try JSONValue.parse(encoded) == .string(long))
    }

    @Test func nonContiguousInputIsAccepted() throws {
        let text = #"{"b":[1,2.5,"x"],"a":null}"#
        let lazy = Array(text.utf8).lazy.map { $0 }
        #expect(try JSONValue.parse(lazy) == JSONValue.parse(text))
        #expect(try JCS.canonicalize(lazy) == jsonBytes(#"{"a":null,"b":[1,2.5,"x"]}"#))
        #expect(JCS.isCanonical(jsonBytes(#"{"a":null,"b":[1,2.5,"x"]}"#).lazy.map { $0 }))
        let slice = jsonBytes("xx[1]xx").dropFirst(2).dropLast(2)
        #expect(try JSONValue.parse(slice) == [1])
    }
}

// MARK: - Canonical serialisation

@Suite struct JCSSerializationTests {
    @Test func stringEscaping() throws {
        var controls = ""
        for scalar in 0..<0x20 { controls.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        let expected = #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
            + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#
        #expect(jsonCanonical(.string(controls)) == expected)
        #expect(jsonCanonical(.string("\"\\/")) == #""\"\\/""#)
        // Not escaped: DEL, C1 controls, line/paragraph separators, non-BMP, combining marks.
        let raw = "\u{7F}\u{80}\u{9F}\u{2028}\u{2029}😂A\u{030A}</script>"
        #expect(jsonCanonical(.string(raw)) == "\"" + raw + "\"")
        #expect(try JSONValue.string(raw).canonical() == jsonBytes("\"" + raw + "\""))
    }

    @Test func memberOrderIsUTF16CodeUnitOrder() throws {
        // By scalar value U+E000 < U+1F600, but in UTF-16 0xD83D (high surrogate) < 0xE000.
        let value: JSONValue = ["\u{E000}": 1, "\u{1F600}": 2, "a": 3, "\u{FFFF}": 4, "\u{10000}": 5, "": 6, "é": 7, "z": 8]
        #expect(jsonCanonical(value) == #"{"":6,"a":3,"z":8,"é":7,"𐀀":5,"😀":2,"\#u{E000}":1,"\#u{FFFF}":4}"#)
        // ASCII keys: plain byte order (upper case before lower case, shorter prefix first).
        let ascii: JSONValue = ["b": 1, "B": 2, "a": 3, "aa": 4, "a0": 5, "_": 6, "1": 7, "10": 8, "2": 9]
        #expect(jsonCanonical(ascii) == #"{"1":7,"10":8,"2":9,"B":2,"_":6,"a":3,"a0":5,"aa":4,"b":1}"#)
    }

    @Test func structuresHaveNoWhitespace() {
        let value: JSONValue = ["list": [1, "two", [true, false, .null], [:], []], "obj": ["k": .null]]
        #expect(jsonCanonical(value) == #"{"list":[1,"two",[true,false,null],{},[]],"obj":{"k":null}}"#)
    }

    @Test func prettyPrinting() {
        let value: JSONValue = ["b": [1, 2.5, "x\n"], "a": ["z": [:], "y": []], "c": .null, "d": 1e21]
        let expected = """
        {
          "a": {
            "y": [],
            "z": {}
          },
          "b": [
            1,
            2.5,
            "x\\n"
          ],
          "c": null,
          "d": 1e+21
        }
        """
        #expect(value.prettyPrinted() == expected)
        #expect(JSONValue.string("é").prettyPrinted() == "\"é\"")
        #expect(JSONValue.array([]).prettyPrinted() == "[]")
        #expect(JSONValue.number(-0.0).prettyPrinted() == "0")
    }
}

// MARK: - Numbers (ECMAScript Number.prototype.toString)

@Suite struct JCSNumberTests {
    /// RFC 8785 Appendix B.
    static let appendixB: [(UInt64, String)] = [
        (0x0000_0000_0000_0000, "0"),
        (0x8000_0000_0000_0000, "0"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
        (0xFFEF_FFFF_FFFF_FFFF, "-1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xC340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44B5_2D02_C7E1_4AF5, "9.999999999999997e+22"),
        (0x44B5_2D02_C7E1_4AF6, "1e+23"),
        (0x44B5_2D02_C7E1_4AF7, "1.0000000000000001e+23"),
        (0x444B_1AE4_D6E2_EF4E, "999999999999999700000"),
        (0x444B_1AE4_D6E2_EF4F, "999999999999999900000"),
        (0x444B_1AE4_D6E2_EF50, "1e+21"),
        (0x3EB0_C6F7_A0B5_ED8C, "9.999999999999997e-7"),
        (0x3EB0_C6F7_A0B5_ED8D, "0.000001"),
        (0x41B3_DE43_5555_5553, "333333333.3333332"),
        (0x41B3_DE43_5555_5554, "333333333.33333325"),
        (0x41B3_DE43_5555_5555, "333333333.3333333"),
        (0x41B3_DE43_5555_5556, "333333333.3333334"),
        (0x41B3_DE43_5555_5557, "333333333.33333343"),
        (0xBECB_F647_612F_3696, "-0.0000033333333333333333"),
        (0x4314_3FF3_C1CB_0959, "1424953923781206.2"),
        // From the RFC 8785 reference test-file samples.
        (0x4340_0000_0000_0001, "9007199254740994"),
        (0x4340_0000_0000_0002, "9007199254740996"),
    ]

    /// Further values, expected strings produced by Node.js `Number.prototype.toString`.
    static let more: [(Double, String)] = [
        (0.0, "0"), (-0.0, "0"), (1e+21, "1e+21"), (100000000000000000000.0, "100000000000000000000"),
        (0.000001, "0.000001"), (1e-7, "1e-7"), (.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e+308, "1.7976931348623157e+308"),
        (0.1, "0.1"), (123456789012345680000.0, "123456789012345680000"), (4.35, "4.35"),
        (9007199254740992.0, "9007199254740992"), (9007199254740994.0, "9007199254740994"),
        (-9007199254740992.0, "-9007199254740992"), (1.5e+300, "1.5e+300"), (1.5, "1.5"), (-1.5, "-1.5"),
        (100.0, "100"), (10000000000000000.0, "10000000000000000"), (12345.678, "12345.678"), (0.5, "0.5"),
        (0.3333333333333333, "0.3333333333333333"), (0.6666666666666666, "0.6666666666666666"),
        (0.00001, "0.00001"), (0.0000012, "0.0000012"), (1.23e-18, "1.23e-18"),
        (9223372036854776000.0, "9223372036854776000"), (18446744073709552000.0, "18446744073709552000"),
        (1e+22, "1e+22"), (1e+23, "1e+23"), (0.3, "0.3"), (0.30000000000000004, "0.30000000000000004"),
        (2.5e-7, "2.5e-7"), (9.5e-7, "9.5e-7"), (999999999999999900000.0, "999999999999999900000"),
        (1e+301, "1e+301"), (3 * .leastNonzeroMagnitude, "1.5e-323"), (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (2 * .leastNonzeroMagnitude, "1e-323"), (5e-7, "5e-7"), (-1e-7, "-1e-7"), (1234567.125, "1234567.125"),
        (1000000000000000.2, "1000000000000000.2"), (4294967295.0, "4294967295"), (4294967296.0, "4294967296"),
        (-2147483648.0, "-2147483648"), (0.000123, "0.000123"), (17.0, "17"), (1000000.0, "1000000"), (1.0, "1"),
    ]

    /// Pseudo-random doubles, expected strings produced by Node.js `Number.prototype.toString`.
    static let random: [(UInt64, String)] = [
        (0x6e789e6aa1b965f4, "1.4238489803937894e+224"), (0x42c45d188009454f, "44780151116426.62"),
        (0x40a9896a51a8749b, "3268.707654251322"), (0x2c829abe1f4532e1, "2.787202464570213e-94"),
        (0xc034133ac916ab3c, "-20.075115745577236"), (0xc298488c368cb0a6, "-6674967274284.162"),
        (0xc2d326e0055bdef6, "-84230752530299.84"), (0xbef1a03fe0bbdb7b, "-0.000016809439371958078"),
        (0xc0be0f1600cc4d19, "-7695.085949677298"), (0x7d29825c75521255, "8.145973780791715e+294"),
        (0xc24f17102b7f7f86, "-267061843710.99628"), (0xc37a8d2b5a4485ac, "-119577067712436930"),
        (0xa9038a921825f10d, "-4.062794696117944e-111"), (0xc0c5f1d90dca2f6a, "-11235.695733330871"),
        (0xc1bc01d4f5407269, "-469882101.25174576"), (0x69b82ebc92233300, "1.8510556783647586e+201"),
        (0x3d629eb57de1d510, "5.29211003026307e-13"), (0xc2f21d7a0f4d3872, "-318684978795399.1"),
        (0x377d35dea8e40225, "2.0957454835017215e-41"), (0x3e9de8064963bab0, "4.456392813785891e-7"),
        (0xc234741f599dc6f7, "-87847557533.7772"), (0x417ef96181daa383, "32478744.115878593"),
        (0x41fc41a3b43343a1, "7585020739.204011"), (0x40a9fa7324851729, "3325.224887999608"),
        (0x134f7096918175ce, "1.1400210162449041e-215"), (0x3f7c930b302278a8, "0.0069761693031564"),
        (0xc176c31652ebf438, "-23867749.182605952"), (0x3e84ecb1763e79ad, "1.5590029100744657e-7"),
        (0x421ed476743aae49, "33103387918.6702"), (0x3f1353f04f4f52da, "0.00007373003229755749"),
        (0xdf268adeb6513356, "-2.3059462350284765e+150"), (0x4318eb73d4367d77, "1753570538790749.8"),
        (0xbe52c5620043c714, "-1.7481880846534705e-8"), (0x30260345dd9e0ec1, "9.505306001844913e-77"),
        (0xc1648a5882bb9698, "-10769092.085398957"), (0xbfbeaed9a17b3c8f, "-0.11985550110260788"),
        (0x55f070ab1cbbf170, "9.426342936592397e+105"), (0x43b0a34929a88f1d, "1198882369081122000"),
        (0x3e3b67af6c6ad50e, "6.3807285624233525e-9"), (0x42375cb399a4fc72, "100339521956.98611"),
        (0xc3ca1f148a8bb259, "-3764491509091840500"), (0xc000398c8d8553c0, "-2.0281001144707886"),
        (0xdb0215941d86a66f, "-2.507088322836887e+130"), (0x3c6de78203c367a8, "1.2968934787579429e-17"),
        (0xbff54fceee954551, "-1.3319844550754463"), (0x292566ff72403c08, "1.779888363172976e-110"),
        (0xc21d302a1bfa1137, "-31340529406.51681"), (0x4287ff807441bcd2, "3298267400247.6025"),
    ]

    static var allCases: [(Double, String)] {
        appendixB.map { (Double(bitPattern: $0.0), $0.1) } + more + random.map { (Double(bitPattern: $0.0), $0.1) }
    }

    @Test func appendixBTable() {
        #expect(Self.appendixB.count == 26)
        for (bits, expected) in Self.appendixB {
            let value = JSONValue.number(Double(bitPattern: bits))
            #expect(jsonCanonical(value) == expected, "0x\(String(bits, radix: 16))")
        }
    }

    @Test func moreNumbers() {
        for (double, expected) in Self.more + Self.random.map({ (Double(bitPattern: $0.0), $0.1) }) {
            #expect(jsonCanonical(.number(double)) == expected, "\(double)")
            // Same formatting inside structures and in pretty output.
            #expect(jsonCanonical([.number(double)]) == "[\(expected)]")
            #expect(JSONValue.number(double).prettyPrinted() == expected)
        }
    }

    @Test func expectedStringsParseBackToTheSameDouble() throws {
        for (double, expected) in Self.allCases {
            let parsed = try JSONValue.parse(expected)
            #expect(parsed.doubleValue == double, "\(expected)")
        }
    }

    @Test func roundTripIsStable() throws {
        var values = Self.allCases.map(\.0)
        var generator = SplitMix64(seed: 0x5EED)
        for index in 0..<20_000 {
            let bits = generator.next()
            switch index % 4 {
            case 0: values.append(Double(bitPattern: bits))
            case 1: values.append(Double(Int64(bitPattern: bits) >> Int64(bits % 64)))
            case 2: values.append(Double(bits % 1_000_000_000) / Double(1 << (bits % 40)))
            default: values.append(Double(bits % 100_000) * pow(10, Double(Int(bits >> 32 % 60) - 30)))
            }
        }
        var checked = 0
        for double in values where double.isFinite {
            let first = try JSONValue.number(double).canonical()
            let parsed = try JSONValue.parse(first)
            #expect(parsed.doubleValue == double, "\(double) → \(String(decoding: first, as: UTF8.self))")
            #expect(try parsed.canonical() == first)
            #expect(JCS.isCanonical(first))
            checked += 1
        }
        #expect(checked > 20_000)
    }
}

// MARK: - isCanonical and tamper resistance

@Suite struct JCSCanonicalFormTests {
    @Test func isCanonical() {
        let yes = [#"{"a":2,"b":1}"#, "\"€\"", "[]", "{}", "0", "-1.5", "1e+21", #"["\u001f","\n"]"#, "null"]
        for text in yes { #expect(JCS.isCanonical(jsonBytes(text)), "\(text)") }
        let no = [
            #"{"b":1,"a":2}"#, "[1.0]", #""\u0041""#, "[1, 2]", " 1", "1\n", "1E+21", "1e21", "-0", "0.10",
            #""\/""#, #""\u001F""#, "\"\u{7F}\"".replacingOccurrences(of: "\u{7F}", with: "\\u007f"),
            "{\"a\":1,\"a\":1}", "[1,]", "", "nope", "1e400",
        ]
        for text in no { #expect(!JCS.isCanonical(jsonBytes(text)), "\(text)") }
    }

    /// Documents whose canonical form is checked for single-byte deletions.
    static func documents() throws -> [[UInt8]] {
        let constructed: JSONValue = [
            "id": 12345, "ratio": 0.25, "tiny": 1e-7, "neg": -42, "flag": true, "none": .null,
            "name": "Zoë \"quoted\" \\ back\tslash 😂", "list": [1, 10, 100, [], [:], ["k": "v"]],
            "nested": ["a": ["b": ["c": "deep"]]], "": "", "10": 10, "1": 1,
        ]
        return try JCSVectorTests.loadVectors().map(\.output) + [constructed.canonical()]
    }

    /// The canonical check made while parsing agrees with writing the canonical form and comparing,
    /// on random documents (keys and strings from an alphabet of the characters JCS treats specially,
    /// numbers of every shape) and on every single-byte change, deletion and insertion of them.
    @Test func checkingWhileParsingAgreesWithWritingTheCanonicalForm() throws {
        var rng = SplitMix64(seed: 0x4A43_5343)
        let alphabet: [String] = ["a", "b", "B", "1", "_", "\"", "\\", "/", "\n", "\u{1}", "\u{1f}", "\u{7f}", "é", "€", "\u{e000}", "😂", "\u{10000}", " "]
        func string() -> String { (0..<Int.random(in: 0...4, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined() }
        func number() -> Double {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: return Double(Int.random(in: -1000...1000, using: &rng))
            case 1: return Double(Int.random(in: -99_999...99_999, using: &rng)) / 100
            case 2: return Double(Int.random(in: 1...9, using: &rng)) * pow(10, Double(Int.random(in: -30...30, using: &rng)))
            case 3: return Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF)
            default: return -0.0
            }
        }
        func value(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 2 ? 5 : 7), using: &rng) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &rng))
            case 2, 3: return .number(number())
            case 4: return .string(string())
            case 5: return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in value(depth + 1) })
            default:
                var o: [String: JSONValue] = [:]
                for _ in 0..<Int.random(in: 0...4, using: &rng) { o[string()] = value(depth + 1) }
                return .object(o)
            }
        }
        let insertable = Array(" \t\n,:{}[]\"\\/0159.-+eEu".utf8)
        var agreed = 0, canonicalMutants = 0
        func check(_ bytes: [UInt8]) throws {
            guard let parsed = try? JSONValue.parse(bytes) else {
                #expect(throws: JSONError.self) { try JSONValue.parseCheckingCanonical(bytes) }
                return
            }
            let (v, isCanonical) = try JSONValue.parseCheckingCanonical(bytes)
            #expect(v == parsed)
            let expected = try parsed.canonical() == bytes
            #expect(isCanonical == expected, "\(String(decoding: bytes, as: UTF8.self)): checked \(isCanonical), written \(expected)")
            if expected { canonicalMutants += 1 }
            agreed += 1
        }
        for _ in 0..<400 {
            var top: [String: JSONValue] = [:]
            for _ in 0..<4 { top[string()] = value(1) }
            let doc = try JSONValue.object(top).canonical()
            try check(doc)
            for k in doc.indices {
                var changed = doc
                changed[k] = insertable.randomElement(using: &rng)!
                try check(changed)
                var shorter = doc
                shorter.remove(at: k)
                try check(shorter)
                var longer = doc
                longer.insert(insertable.randomElement(using: &rng)!, at: k)
                try check(longer)
            }
        }
        #expect(agreed > 10_000 && canonicalMutants > 1_000, "\(agreed) agreed, \(canonicalMutants) mutants canonical")
    }

    @Test func everySingleByteDeletionIsDetected() throws {
        let documents = try Self.documents()
        #expect(documents.count > 1)
        var mutations = 0
        for original in documents {
            #expect(JCS.isCanonical(original))
            for index in original.indices {
                var mangled = original
                let removed = mangled.remove(at: index)
                mutations += 1
                guard let value = try? JSONValue.parse(mangled) else { continue }
                let recanonical = try value.canonical()
                if recanonical == original {
                    // The one lossless deletion: the '+' of an exponent ("1e+30" → "1e30"), which
                    // yields a non-canonical document for the same value.
                    #expect(removed == UInt8(ascii: "+") && original[index - 1] == UInt8(ascii: "e"),
                            "deleting byte \(index) of \(String(decoding: original, as: UTF8.self)) went unnoticed")
                    #expect(!JCS.isCanonical(mangled))
                }
            }
        }
        #expect(mutations > 500)
    }
}

// MARK: - Model, accessors, literals

@Suite struct JCSValueTests {
    @Test func accessors() throws {
        let value = try JSONValue.parse(#"{"s":"x","n":2.5,"i":42,"b":true,"a":[1],"o":{"k":null},"z":null}"#)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["n"]?.doubleValue == 2.5)
        #expect(value["n"]?.integerValue == nil)
        #expect(value["i"]?.integerValue == 42)
        #expect(value["b"]?.boolValue == true)
        #expect(value["a"]?.arrayValue == [1])
        #expect(value["o"]?.objectValue == ["k": .null])
        #expect(value["o"]?["k"]?.isNull == true)
        #expect(value["z"]?.isNull == true)
        #expect(value["missing"] == nil)
        #expect(value["s"]?["k"] == nil)
        #expect(value["s"]?.doubleValue == nil)
        #expect(value["n"]?.stringValue == nil)
        #expect(value["i"]?.boolValue == nil)
        #expect(value["b"]?.arrayValue == nil)
        #expect(value["a"]?.objectValue == nil)
        #expect(value["a"]?.isNull == false)
        #expect(value.objectValue?.count == 7)
    }

    @Test func integerValue() {
        #expect(JSONValue.number(9_007_199_254_740_992).integerValue == 9_007_199_254_740_992)
        #expect(JSONValue.number(-9_007_199_254_740_992).integerValue == -9_007_199_254_740_992)
        #expect(JSONValue.number(18_014_398_509_481_984).integerValue == nil) // 2^54
        #expect(JSONValue.number(-0.0).integerValue == 0)
        #expect(JSONValue.number(1e300).integerValue == nil)
        #expect(JSONValue.number(.nan).integerValue == nil)
        #expect(JSONValue.number(.infinity).integerValue == nil)
        #expect(JSONValue.number(0.5).integerValue == nil)
        #expect(JSONValue.string("1").integerValue == nil)
    }

    @Test func literals() {
        let value: JSONValue = ["s": "text", "i": 3, "d": 0.5, "b": false, "a": [1, "x", true], "n": .null]
        #expect(value == .object([
            "s": .string("text"), "i": .number(3), "d": .number(0.5), "b": .bool(false),
            "a": .array([.number(1), .string("x"), .bool(true)]), "n": .null,
        ]))
        #expect(jsonCanonical(value) == #"{"a":[1,"x",true],"b":false,"d":0.5,"i":3,"n":null,"s":"text"}"#)
    }

    @Test func equalityIsExact() throws {
        // Swift's String == treats these as equal (canonical equivalence); JSONValue does not.
        #expect("\u{E9}" == "e\u{301}")
        #expect(JSONValue.string("\u{E9}") != JSONValue.string("e\u{301}"))
        #expect(JSONValue.object(["\u{E9}": 1]) != JSONValue.object(["e\u{301}": 1]))
        #expect(JSONValue.object(["\u{E9}": 1])["e\u{301}"] == nil)
        #expect(JSONValue.object(["\u{E9}": 1])["\u{E9}"] == 1)
        #expect(JSONValue.number(0) == JSONValue.number(-0.0))
        #expect(JSONValue.array([1, 2]) != JSONValue.array([2, 1]))
        #expect(JSONValue.object(["a": 1, "b": 2]) == JSONValue.object(["b": 2, "a": 1]))
        #expect(JSONValue.object(["a": 1]) != JSONValue.object(["a": 1, "b": 2]))
        #expect(JSONValue.null != JSONValue.bool(false))
        // Distinct canonical forms for the two spellings.
        // (Compare bytes: the two canonical Strings would again be == as Swift Strings.)
        #expect(try JSONValue.string("\u{E9}").canonical() != JSONValue.string("e\u{301}").canonical())
        #expect(try JSONValue.parse(#""\u00e9""#) == .string("\u{E9}"))
        #expect(try JSONValue.parse(#""e\u0301""#) != .string("\u{E9}"))
    }

    @Test func errorDescription() {
        let error = JSONError(message: "boom at byte 3", offset: 3)
        #expect(error.description == "boom at byte 3")
        #expect("\(error)" == "boom at byte 3")
        #expect(error == JSONError(message: "boom at byte 3", offset: 3))
        #expect(error != JSONError(message: "boom at byte 3", offset: nil))
    }
}

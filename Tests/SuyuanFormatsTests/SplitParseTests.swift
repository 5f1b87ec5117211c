import Testing
@testable import SuyuanFormats

/// `JSONValue.parse(_:splittingArrayMember:)`: the items of one large array member parsed on all cores
/// must give exactly what the whole parse gives, value or error.
@Suite struct SplitParseTests {
    /// Items that try the structural scan: quotes, brackets and commas inside strings, escaped quotes
    /// and backslashes, nesting, numbers, literals, empty containers.
    static let items: [String] = [
        #"{"index":1,"entry":"QUJD","proof":["a","b"]}"#, #""plain""#, #""with \"quote\" and ] } , [ {""#, #""back\\slash\\""#,
        #""\\\"""#, #""\u005d\u0022""#, "[]", "{}", "[[1,[2,[3]]],{\"a\":{\"b\":[]}}]", "-12.5e3", "0", "true", "false", "null",
        #"{"k":"v]","l":[",",":"]}"#, #""日本語 — ✓""#,
    ]

    static func document(_ items: [String], pretty: Bool, key: String = "entries") -> [UInt8] {
        let sep = pretty ? ",\n    " : ","
        let array = pretty ? "[\n    " + items.joined(separator: sep) + "\n  ]" : "[" + items.joined(separator: sep) + "]"
        let before = pretty ? "{\n  \"format\": \"x\",\n  \"report\": {\"entries\": [1, 2]},\n  " : #"{"format":"x","report":{"entries":[1,2]},"#
        let after = pretty ? ",\n  \"z\": [\"]\", {\"entries\": 3}]\n}\n" : #","z":["]",{"entries":3}]}"#
        return Array((before + "\"\(key)\"" + (pretty ? ": " : ":") + array + after).utf8)
    }

    @Test(arguments: [false, true])
    func theSplitParseEqualsTheWholeParse(pretty: Bool) throws {
        for count in [0, 1, 2, 17, 100] {
            let doc = Self.document((0..<count).map { Self.items[$0 % Self.items.count] }, pretty: pretty)
            let whole = try JSONValue.parse(doc)
            #expect(JSONValue.splitParse(doc, key: "entries") == whole, "\(count) items")
            #expect(try JSONValue.parse(doc, splittingArrayMember: "entries") == whole)
        }
        // Large enough for the split path in `parse` itself: the same value.
        let big = Self.document((0..<80_000).map { Self.items[$0 % Self.items.count] }, pretty: pretty)
        #expect(big.count >= JSONValue.splitMinimumBytes)
        #expect(try JSONValue.parse(big, splittingArrayMember: "entries") == JSONValue.parse(big))
    }

    /// No member of that name, one that is not an array, an escaped name, a repeated name, a document
    /// that is not an object: not split, or split to the whole parse's answer.
    @Test func otherShapesAreLeftToTheWholeParse() throws {
        let shapes = [
            #"{"other":[1,2]}"#, #"{"entries":{"a":1}}"#, #"{"entr\u0069es":[1,2]}"#, #"{"entries":[1],"entries":[2]}"#,
            #"[{"entries":[1]}]"#, #""entries""#, #"{"a":[{"entries":[1]}]}"#, #"{}"#, #" {"entries":[]} "#,
        ]
        for text in shapes {
            let doc = Array(text.utf8)
            let whole = Result { () throws(JSONError) in try JSONValue.parse(doc) }
            let split = Result { () throws(JSONError) in try JSONValue.parse(doc, splittingArrayMember: "entries") }
            #expect("\(split)" == "\(whole)", "\(text)")
            if let v = JSONValue.splitParse(doc, key: "entries") { #expect(v == (try? whole.get()), "\(text)") }
        }
        // Too deep for the limit: refused as the whole parse refuses it.
        let deep = Array(#"{"entries":[[[1]]]}"#.utf8)
        #expect(JSONValue.splitParse(deep, key: "entries", maxDepth: 3) == nil)
        #expect(throws: JSONError.self) { _ = try JSONValue.parse(deep, maxDepth: 3, splittingArrayMember: "entries") }
    }

    /// Damaged documents (a byte replaced, dropped or inserted, many times over): whenever the split
    /// parse gives a value, the whole parse gives the same value; it never accepts what the whole
    /// parse refuses.
    @Test func aDamagedDocumentIsNeverAcceptedByTheSplitAlone() {
        var rng = SplitMix64(seed: 0x5EED_5_1)
        let base = Self.document(Array(Self.items.prefix(12)), pretty: true)
        let alphabet = Array(#"{}[],:"\ 0a-e.ntu"#.utf8) + [0x00, 0x0A, 0xFF]
        var splitAccepted = 0, refused = 0
        for _ in 0..<4000 {
            var doc = base
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<doc.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: doc[at] = alphabet.randomElement(using: &rng)!
                case 1: doc.remove(at: at)
                default: doc.insert(alphabet.randomElement(using: &rng)!, at: at)
                }
            }
            let whole = try? JSONValue.parse(doc)
            if let v = JSONValue.splitParse(doc, key: "entries") {
                splitAccepted += 1
                #expect(v == whole, "\(String(decoding: doc, as: UTF8.self))")
            }
            if whole == nil { refused += 1 }
        }
        // Both kinds of damage occurred: some survive as JSON, most do not.
        #expect(splitAccepted > 100 && refused > 1000 && splitAccepted < 3000, "\(splitAccepted) accepted by the split, \(refused) refused")
    }
}

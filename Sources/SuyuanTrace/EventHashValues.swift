// Value canonicalisation of the CBV 2.0 event hash (Specs/event-hash.md, "Values"): timestamps,
// numbers, CBV vocabulary terms and identifiers. Pure: no I/O, no Foundation.

import SuyuanFormats

enum EventHashValues {
    // MARK: Values

    /// A value outside a time field: trimmed, old CBV URNs to web URIs, numbers to their plain
    /// decimal form, GS1 identifiers to constrained canonical Digital Link URIs.
    static func canonical(_ text: String) -> String {
        let value = webVocabulary(trimmed(text))
        let number = plainDecimal(value) ?? value
        return EPCNormaliser.normalise(number) ?? number
    }

    /// `text` without leading and trailing white space.
    static func trimmed(_ text: String) -> String {
        // Most values start and end with ASCII that is not white space: nothing to trim. (The ASCII
        // white space characters are exactly TAB, LF, VT, FF, CR and space.)
        if let first = text.utf8.first, let last = text.utf8.last, first < 0x80, last < 0x80,
           !Self.isASCIIWhitespace(first), !Self.isASCIIWhitespace(last) { return text }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }

    private static func isASCIIWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }

    /// CBV 1.x URN vocabulary prefixes and their CBV 2.0 web URI replacements.
    private static let urnVocabularies = [
        ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
        ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
        ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
        ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
        ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
    ]

    /// A CBV 1.x vocabulary URN as its CBV 2.0 web URI; other text unchanged.
    static func webVocabulary(_ text: String) -> String {
        guard text.utf8.starts(with: "urn:epcglobal:cbv:".utf8) else { return text }
        for (urn, web) in urnVocabularies where text.hasPrefix(urn) {
            return web + text.dropFirst(urn.count)
        }
        return text
    }

    // MARK: Numbers

    /// The plain decimal form of a decimal number written `[+-]digits[.digits][e[+-]digits]`
    /// (or `.digits`, `digits.`): no sign for zero or positives, no leading or trailing zeros,
    /// no exponent, no decimal point for integers. Nil if `text` is not such a number (or its
    /// exponent is beyond ±400).
    static func plainDecimal(_ text: String) -> String? {
        // A number starts with a sign, a digit or a point: most values (identifiers, URIs) do not.
        guard let lead = text.utf8.first, lead == UInt8(ascii: "+") || lead == UInt8(ascii: "-") || lead == UInt8(ascii: ".") || isDigit(lead) else {
            return nil
        }
        var bytes = Array(text.utf8)[...]
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        let integer = bytes.prefix(while: isDigit)
        bytes = bytes.dropFirst(integer.count)
        var fraction: ArraySlice<UInt8> = []
        if bytes.first == UInt8(ascii: ".") {
            fraction = bytes.dropFirst().prefix(while: isDigit)
            bytes = bytes.dropFirst(1 + fraction.count)
        }
        guard !integer.isEmpty || !fraction.isEmpty else { return nil }
        var exponent = 0
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            guard let value = exponentValue(bytes.dropFirst()) else { return nil }
            exponent = value
            bytes = []
        }
        guard bytes.isEmpty else { return nil }
        return plainDecimal(negative: negative, digits: Array(integer + fraction), point: integer.count + exponent)
    }

    /// `[+-]digits` with magnitude at most 400.
    private static func exponentValue(_ bytes: ArraySlice<UInt8>) -> Int? {
        var rest = bytes
        var sign = 1
        if let s = rest.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") {
            sign = s == UInt8(ascii: "-") ? -1 : 1
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty, rest.allSatisfy(isDigit) else { return nil }
        let digits = rest.drop { $0 == UInt8(ascii: "0") }
        guard digits.count <= 3 else { return nil }
        let magnitude = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return magnitude <= 400 ? sign * magnitude : nil
    }

    /// Formats the number `0.{digits} × 10^point` (sign aside) in plain decimal.
    private static func plainDecimal(negative: Bool, digits: [UInt8], point: Int) -> String {
        guard let first = digits.firstIndex(where: { $0 != UInt8(ascii: "0") }) else { return "0" }
        let last = digits.lastIndex { $0 != UInt8(ascii: "0") }! // exists: `first` does
        let significant = digits[first...last]
        let pointInSignificant = point - first // digits before the decimal point
        var out = negative ? "-" : ""
        if pointInSignificant <= 0 {
            out += "0." + String(repeating: "0", count: -pointInSignificant) + ascii(significant)
        } else if pointInSignificant >= significant.count {
            out += ascii(significant) + String(repeating: "0", count: pointInSignificant - significant.count)
        } else {
            let split = significant.index(significant.startIndex, offsetBy: pointInSignificant)
            out += ascii(significant[..<split]) + "." + ascii(significant[split...])
        }
        return out
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func ascii(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The text of a JSON number: its shortest round-trip decimal form (the plain-decimal rule
    /// then removes any exponent). Nil for integers of magnitude 2^53 or more, whose JSON text
    /// a `Double` may not have kept exactly.
    static func numberText(_ value: Double) -> String? {
        if value.rounded(.towardZero) == value, value.magnitude >= 9_007_199_254_740_992 { return nil }
        return value.description
    }

    // MARK: Timestamps

    /// True for the fields whose values are timestamps: the name contains `time` and not `offset`
    /// (case-insensitive), e.g. `eventTime`, `time`, `startTime`.
    static func isTimeField(_ name: String) -> Bool {
        // ASCII names (all of EPCIS's) by their bytes: lowercasing ASCII changes only A-Z.
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            let lower = String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
            return lower.utf8.containsBytes(of: "time".utf8) && !lower.utf8.containsBytes(of: "offset".utf8)
        }
        let lower = name.lowercased()
        // Fast exit, exact: where these ASCII characters occur, their bytes occur.
        guard lower.utf8.containsBytes(of: "time".utf8) else { return false }
        return lower.contains("time") && !lower.contains("offset")
    }

    /// An XML Schema `dateTime` with a time zone (`YYYY-MM-DDThh:mm:ss[.f…](Z|±hh:mm)`) in UTC with
    /// exactly three fractional digits, rounded half up on the fourth. Nil if `text` is not such a
    /// time or lies before 1970 once in UTC.
    static func utcMilliseconds(_ text: String) -> String? {
        let u = Array(text.utf8)
        guard u.count >= 20, u[10] == UInt8(ascii: "T") else { return nil }
        let (fractionDigits, zoneStart) = fraction(u)
        guard let offsetSeconds = zoneOffset(u[zoneStart...]),
              let local = Timestamp(parsing: String(decoding: u[0..<19], as: UTF8.self) + "Z") else { return nil }
        let firstThree = (fractionDigits + [0x30, 0x30, 0x30]).prefix(3)
        let roundUp = (fractionDigits.dropFirst(3).first ?? 0) >= UInt8(ascii: "5")
        let milliseconds = Int64(ascii(firstThree))! + (roundUp ? 1 : 0) // three ASCII digits
        let utc = local.nanoseconds + milliseconds * 1_000_000 - offsetSeconds * 1_000_000_000
        guard utc >= 0 else { return nil }
        return Timestamp(nanoseconds: utc).millisecondString
    }

    /// The fractional-second digits after `ss` and the index where the zone designator starts.
    private static func fraction(_ u: [UInt8]) -> (ArraySlice<UInt8>, Int) {
        guard u[19] == UInt8(ascii: ".") else { return ([], 19) }
        let digits = u[20...].prefix(while: isDigit)
        return (digits, digits.isEmpty ? 19 : 20 + digits.count)
    }

    /// `Z`, `+hh:mm` or `-hh:mm` as seconds east of UTC.
    private static func zoneOffset(_ zone: ArraySlice<UInt8>) -> Int64? {
        let z = Array(zone)
        if z == [UInt8(ascii: "Z")] { return 0 }
        guard z.count == 6, z[0] == UInt8(ascii: "+") || z[0] == UInt8(ascii: "-"), z[3] == UInt8(ascii: ":"),
              [z[1], z[2], z[4], z[5]].allSatisfy(isDigit) else { return nil }
        let hours = Int64(z[1] - 0x30) * 10 + Int64(z[2] - 0x30)
        let minutes = Int64(z[4] - 0x30) * 10 + Int64(z[5] - 0x30)
        guard hours <= 14, minutes < 60 else { return nil }
        return (z[0] == UInt8(ascii: "-") ? -1 : 1) * (hours * 3600 + minutes * 60)
    }

    /// True for an `eventTimeZoneOffset` value: `+hh:mm` or `-hh:mm`.
    static func isZoneOffset(_ text: String) -> Bool {
        let u = Array(text.utf8)
        return u != [UInt8(ascii: "Z")] && zoneOffset(u[...]) != nil
    }
}

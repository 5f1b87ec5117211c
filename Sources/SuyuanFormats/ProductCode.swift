// GS1 product codes: GS1 Digital Link URIs, GS1 element strings and EPC pure-identity URNs,
// parsed, validated and normalised to one canonical Digital Link key. Pure: no I/O, no Foundation.
// Normative description: Specs/product-codes.md.

/// GS1 check-digit arithmetic and character sets.
public enum GS1 {
    /// The GS1 mod-10 check digit for `digitsWithoutCheck` (weights 3, 1, 3, 1, … from the
    /// rightmost digit). Precondition: every character is an ASCII digit `0`–`9`.
    public static func checkDigit(_ digitsWithoutCheck: String) -> Int {
        var sum = 0
        var weight = 3
        for byte in digitsWithoutCheck.utf8.reversed() {
            precondition(byte >= 0x30 && byte <= 0x39, "GS1.checkDigit: non-digit character")
            sum += Int(byte - 0x30) * weight
            weight = 4 - weight
        }
        return (10 - sum % 10) % 10
    }

    /// True if `key` is two or more ASCII digits whose last digit is the GS1 check digit of the rest
    /// (GTIN-8/12/13/14, SSCC-18, GLN-13, …). Lengths are not checked beyond that.
    public static func isValid(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count >= 2, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return checkDigit(String(decoding: bytes.dropLast(), as: UTF8.self)) == Int(bytes[bytes.count - 1] - 0x30)
    }

    /// True if `character` is in the GS1 AI encodable character set 82:
    /// `A`–`Z`, `a`–`z`, `0`–`9` and `! " % & ' ( ) * + , - . / : ; < = > ? _`.
    public static func isCharacterSet82(_ character: Character) -> Bool {
        guard character.unicodeScalars.count == 1, let byte = character.asciiValue else { return false }
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return punctuation82.contains(byte)
        }
    }

    /// `! " % & ' ( ) * + , - . / : ; < = > ? _`
    static let punctuation82: Set<UInt8> = Set("!\"%&'()*+,-./:;<=>?_".utf8)
}

/// Why a product code was refused. Every case's `description` says exactly what is wrong.
public enum ProductCodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input is empty or only whitespace.
    case empty
    /// The input is not a Digital Link URI, an element string or an EPC URN.
    case unrecognisedForm(String)
    /// A Digital Link URI whose structure is wrong (no host, empty path segment, AI without value…).
    case malformedDigitalLink(uri: String, reason: String)
    /// An element string whose structure is wrong (text outside `(AI)value` pairs…).
    case malformedElementString(input: String, reason: String)
    /// An EPC URN with the wrong number of components or wrong component lengths.
    case malformedEPC(urn: String, reason: String)
    /// An `urn:epc:` URN of a scheme other than sgtin, sscc, sgln (id) or lgtin (class).
    case unsupportedEPCScheme(String)
    /// A `%` not followed by two hexadecimal digits.
    case badPercentEncoding(String)
    /// An Application Identifier other than 00, 01, 10, 21, 22, 254, 414.
    case unknownAI(String)
    /// The same Application Identifier twice.
    case duplicateAI(String)
    /// A Digital Link qualifier after one that must follow it (order: 01, 22, 10, 21; 414, 254).
    case aiOutOfOrder(ai: String, after: String)
    /// No primary key (01, 00 or 414).
    case missingPrimaryKey
    /// AIs that cannot be used together (two primary keys, (10) with (00), (254) with (01), …).
    case invalidCombination(String)
    /// A field with an empty value.
    case emptyValue(field: String)
    /// A GTIN/SSCC/GLN containing something other than ASCII digits.
    case nonDigit(key: String, value: String, character: Character)
    /// A GTIN/SSCC/GLN of the wrong length.
    case wrongLength(key: String, value: String, expected: [Int])
    /// A GTIN/SSCC/GLN whose last digit is not its GS1 check digit.
    case wrongCheckDigit(key: String, value: String, found: Int, expected: Int)
    /// A serial, lot, CPV or GLN extension containing a character outside GS1 character set 82.
    case invalidCharacter(field: String, value: String, character: Character)
    /// A serial, lot, CPV or GLN extension longer than 20 characters.
    case tooLong(field: String, value: String, length: Int, maximum: Int)

    public var description: String {
        switch self {
        case .empty:
            return "empty product code"
        case .unrecognisedForm(let text):
            return "unrecognised product code \"\(text)\": expected a GS1 Digital Link URI (http:// or https://), "
                + "a GS1 element string starting with \"(\", or an EPC URN (urn:epc:id:sgtin:, urn:epc:id:sscc:, "
                + "urn:epc:id:sgln:, urn:epc:class:lgtin:)"
        case .malformedDigitalLink(let uri, let reason):
            return "malformed GS1 Digital Link URI \"\(uri)\": \(reason)"
        case .malformedElementString(let input, let reason):
            return "malformed GS1 element string \"\(input)\": \(reason)"
        case .malformedEPC(let urn, let reason):
            return "malformed EPC URN \"\(urn)\": \(reason)"
        case .unsupportedEPCScheme(let scheme):
            return "unsupported EPC URN scheme \"\(scheme)\"; accepted: urn:epc:id:sgtin, urn:epc:id:sscc, "
                + "urn:epc:id:sgln, urn:epc:class:lgtin"
        case .badPercentEncoding(let text):
            return "invalid percent-encoding in \"\(text)\": every '%' must be followed by two hexadecimal digits"
        case .unknownAI(let ai):
            return "unsupported GS1 Application Identifier (\(ai)); accepted: 00, 01, 10, 21, 22, 254, 414"
        case .duplicateAI(let ai):
            return "Application Identifier (\(ai)) appears more than once"
        case .aiOutOfOrder(let ai, let after):
            return "Application Identifier (\(ai)) must come before (\(after)) in a Digital Link path; "
                + "the order is 01, 22, 10, 21 (and 414, 254)"
        case .missingPrimaryKey:
            return "no GS1 primary key: expected (01) GTIN, (00) SSCC or (414) GLN"
        case .invalidCombination(let reason):
            return reason
        case .emptyValue(let field):
            return "\(field) is empty"
        case .nonDigit(let key, let value, let character):
            return "\(key) \(value) contains \(ProductCodeError.show(character)); it must contain only the digits 0-9"
        case .wrongLength(let key, let value, let expected):
            return "\(key) \(value) has \(value.count) digits; expected \(ProductCodeError.list(expected))"
        case .wrongCheckDigit(let key, let value, let found, let expected):
            return "\(key) \(value) has check digit \(found); expected \(expected)"
        case .invalidCharacter(let field, let value, let character):
            return "\(field) \"\(value)\" contains \(ProductCodeError.show(character)), "
                + "which is not in the GS1 AI encodable character set 82"
        case .tooLong(let field, let value, let length, let maximum):
            return "\(field) \"\(value)\" is \(length) characters long; at most \(maximum) are allowed"
        }
    }

    static func show(_ character: Character) -> String {
        if character.unicodeScalars.count == 1, let byte = character.asciiValue, byte >= 0x21, byte <= 0x7E {
            return "'\(character)'"
        }
        return character.unicodeScalars.map { scalar in
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }.joined(separator: " ")
    }

    static func list(_ numbers: [Int]) -> String {
        let texts = numbers.map(String.init)
        guard texts.count > 1 else { return texts.first ?? "" }
        return texts.dropLast().joined(separator: ", ") + " or " + texts[texts.count - 1]
    }
}

/// A validated GS1 identifier: a serialised item, a lot, a product class (GTIN), a logistic unit
/// (SSCC) or a location (GLN), with one canonical key (`canonical`) whatever form it was parsed from.
public struct ProductCode: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case item
        case lot
        case productClass = "class"
        case logisticUnit = "logistic-unit"
        case location
    }

    /// The host and scheme of every canonical key.
    public static let canonicalPrefix = "https://id.gs1.org"

    public let kind: Kind
    /// GTIN-14 (14 digits, check digit valid).
    public let gtin: String?
    /// AI (10) batch/lot. Present for `.lot`, and for `.item` when given alongside the serial.
    public let lot: String?
    /// AI (21) serial number. Present exactly for `.item`.
    public let serial: String?
    /// AI (22) consumer product variant: kept, but not part of any key.
    public let cpv: String?
    /// SSCC-18 (18 digits, check digit valid).
    public let sscc: String?
    /// GLN-13 (13 digits, check digit valid).
    public let gln: String?
    /// AI (254) GLN extension component.
    public let glnExtension: String?

    /// The canonical GS1 Digital Link URI that identifies this thing.
    public var canonical: String {
        let base = ProductCode.canonicalPrefix
        switch kind {
        case .item: return base + "/01/" + (gtin ?? "") + "/21/" + ProductCode.percentEncode(serial ?? "")
        case .lot: return base + "/01/" + (gtin ?? "") + "/10/" + ProductCode.percentEncode(lot ?? "")
        case .productClass: return base + "/01/" + (gtin ?? "")
        case .logisticUnit: return base + "/00/" + (sscc ?? "")
        case .location:
            let key = base + "/414/" + (gln ?? "")
            guard let glnExtension else { return key }
            return key + "/254/" + ProductCode.percentEncode(glnExtension)
        }
    }

    /// The canonical key of the lot this code belongs to (`…/01/{gtin}/10/{lot}`), when both are known.
    public var lotKey: String? {
        guard let gtin, let lot else { return nil }
        return ProductCode.canonicalPrefix + "/01/" + gtin + "/10/" + ProductCode.percentEncode(lot)
    }

    /// The canonical key of the product class (`…/01/{gtin}`), when a GTIN is known.
    public var classKey: String? {
        guard let gtin else { return nil }
        return ProductCode.canonicalPrefix + "/01/" + gtin
    }

    public var description: String { canonical }

    /// Parses a GS1 Digital Link URI, a GS1 element string or an EPC URN. Surrounding whitespace is ignored.
    public init(parsing text: String) throws(ProductCodeError) {
        let trimmed = ProductCode.trim(text)
        guard !trimmed.isEmpty else { throw .empty }
        let lower = trimmed.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            self = try ProductCode.parseDigitalLink(trimmed, schemeLength: lower.hasPrefix("https://") ? 8 : 7)
        } else if trimmed.hasPrefix("(") {
            self = try ProductCode.parseElementString(trimmed)
        } else if lower.hasPrefix("urn:epc:") {
            self = try ProductCode.parseEPC(trimmed)
        } else {
            throw .unrecognisedForm(String(trimmed))
        }
    }

    private init(kind: Kind, gtin: String? = nil, lot: String? = nil, serial: String? = nil, cpv: String? = nil,
                 sscc: String? = nil, gln: String? = nil, glnExtension: String? = nil) {
        self.kind = kind
        self.gtin = gtin
        self.lot = lot
        self.serial = serial
        self.cpv = cpv
        self.sscc = sscc
        self.gln = gln
        self.glnExtension = glnExtension
    }
}

// MARK: - Application Identifiers and validation

extension ProductCode {
    enum AI: String, CaseIterable {
        case sscc = "00", gtin = "01", lot = "10", serial = "21", cpv = "22", glnExtension = "254", gln = "414"

        var field: String {
            switch self {
            case .sscc: return "SSCC"
            case .gtin: return "GTIN"
            case .lot: return "lot"
            case .serial: return "serial"
            case .cpv: return "CPV"
            case .glnExtension: return "GLN extension"
            case .gln: return "GLN"
            }
        }

        var isPrimary: Bool { self == .sscc || self == .gtin || self == .gln }

        /// Qualifiers allowed with this primary key, in Digital Link path order.
        var qualifiers: [AI] {
            switch self {
            case .gtin: return [.cpv, .lot, .serial]
            case .gln: return [.glnExtension]
            default: return []
            }
        }
    }

    static let maximumTextLength = 20

    /// Validates a set of AI values (already percent-decoded) and builds the code.
    static func build(_ values: [AI: String]) throws(ProductCodeError) -> ProductCode {
        let primaries = AI.allCases.filter { $0.isPrimary && values[$0] != nil }
        guard let primary = primaries.first else { throw .missingPrimaryKey }
        if primaries.count > 1 {
            throw .invalidCombination("(\(primaries[0].rawValue)) and (\(primaries[1].rawValue)) cannot be combined: "
                + "a product code has exactly one primary key")
        }
        for ai in AI.allCases where !ai.isPrimary && values[ai] != nil && !primary.qualifiers.contains(ai) {
            throw .invalidCombination("(\(ai.rawValue)) cannot be used with (\(primary.rawValue)); "
                + (ai == .glnExtension ? "it qualifies (414)" : "it qualifies (01)"))
        }
        switch primary {
        case .sscc:
            let sscc = try key(.sscc, values[.sscc] ?? "", lengths: [18])
            return ProductCode(kind: .logisticUnit, sscc: sscc)
        case .gln:
            let gln = try key(.gln, values[.gln] ?? "", lengths: [13])
            var ext: String?
            if let v = values[.glnExtension] { ext = try text(.glnExtension, v) }
            return ProductCode(kind: .location, gln: gln, glnExtension: ext)
        default:
            let gtin = try key(.gtin, values[.gtin] ?? "", lengths: [8, 12, 13, 14])
            var cpv: String?
            var lot: String?
            var serial: String?
            if let v = values[.cpv] { cpv = try text(.cpv, v) }
            if let v = values[.lot] { lot = try text(.lot, v) }
            if let v = values[.serial] { serial = try text(.serial, v) }
            let kind: Kind = serial != nil ? .item : (lot != nil ? .lot : .productClass)
            return ProductCode(kind: kind, gtin: gtin, lot: lot, serial: serial, cpv: cpv)
        }
    }

    /// Validates a numeric key and left-pads it with zeros to the longest allowed length.
    static func key(_ ai: AI, _ value: String, lengths: [Int]) throws(ProductCodeError) -> String {
        guard !value.isEmpty else { throw .emptyValue(field: ai.field) }
        for character in value where !isDigit(character) {
            throw .nonDigit(key: ai.field, value: value, character: character)
        }
        let count = value.utf8.count
        guard lengths.contains(count) else { throw .wrongLength(key: ai.field, value: value, expected: lengths) }
        let expected = GS1.checkDigit(String(value.dropLast()))
        let found = Int(value.utf8.last! - 0x30)
        guard found == expected else {
            throw .wrongCheckDigit(key: ai.field, value: value, found: found, expected: expected)
        }
        let width = lengths.max() ?? count
        return String(repeating: "0", count: width - count) + value
    }

    /// Validates a serial, lot, CPV or GLN extension: 1–20 characters of GS1 character set 82.
    static func text(_ ai: AI, _ value: String) throws(ProductCodeError) -> String {
        guard !value.isEmpty else { throw .emptyValue(field: ai.field) }
        for character in value where !GS1.isCharacterSet82(character) {
            throw .invalidCharacter(field: ai.field, value: value, character: character)
        }
        let length = value.utf8.count
        guard length <= maximumTextLength else {
            throw .tooLong(field: ai.field, value: value, length: length, maximum: maximumTextLength)
        }
        return value
    }

    static func isDigit(_ character: Character) -> Bool {
        guard character.unicodeScalars.count == 1, let byte = character.asciiValue else { return false }
        return byte >= 0x30 && byte <= 0x39
    }

    static func isAllDigits(_ text: Substring) -> Bool { text.allSatisfy(isDigit) }

    static func trim(_ text: String) -> Substring {
        var sub = Substring(text)
        while let first = sub.first, first.isWhitespace { sub = sub.dropFirst() }
        while let last = sub.last, last.isWhitespace { sub = sub.dropLast() }
        return sub
    }

    // MARK: Percent-encoding

    /// Decodes `%HH` escapes (either case); other characters are kept as they are.
    static func percentDecode(_ text: Substring) throws(ProductCodeError) -> String {
        guard text.contains("%") else { return String(text) }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x25 {
                guard i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) else {
                    throw .badPercentEncoding(String(text))
                }
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// Canonical encoding: every byte other than `A–Z a–z 0–9 - . _` becomes `%HH` (uppercase hex).
    static func percentEncode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F:
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }
}

// MARK: - The three input forms

extension ProductCode {
    /// `http(s)://host[/prefix…]/{primary AI}/{key}[/{AI}/{value}]…[?query][#fragment]`
    static func parseDigitalLink(_ uri: Substring, schemeLength: Int) throws(ProductCodeError) -> ProductCode {
        let whole = String(uri)
        let rest = uri.dropFirst(schemeLength).prefix { $0 != "?" && $0 != "#" }
        let host = rest.prefix { $0 != "/" }
        guard !host.isEmpty else { throw .malformedDigitalLink(uri: whole, reason: "no host") }
        if let bad = host.first(where: { $0.isWhitespace }) {
            throw .malformedDigitalLink(uri: whole, reason: "host contains \(ProductCodeError.show(bad))")
        }
        let path = rest.dropFirst(host.count)
        guard path.count > 1 else { throw .missingPrimaryKey }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard let start = segments.firstIndex(where: { AI(rawValue: String($0))?.isPrimary == true }) else {
            throw .missingPrimaryKey
        }
        let pairs = segments[start...]
        if pairs.contains(where: \.isEmpty) {
            throw .malformedDigitalLink(uri: whole, reason: "empty path segment (double or trailing '/')")
        }
        var values: [AI: String] = [:]
        let primary = AI(rawValue: String(pairs[start]))!
        var lastQualifierIndex = -1
        var lastQualifier: AI?
        var index = start
        while index < pairs.endIndex {
            let aiText = String(pairs[index])
            guard index + 1 < pairs.endIndex else {
                throw .malformedDigitalLink(uri: whole, reason: "AI (\(aiText)) has no value segment")
            }
            guard let ai = AI(rawValue: aiText) else {
                if isAllDigits(pairs[index]) { throw .unknownAI(aiText) }
                throw .malformedDigitalLink(uri: whole, reason: "expected an Application Identifier, found \"\(aiText)\"")
            }
            if index != start {
                if values[ai] != nil { throw .duplicateAI(ai.rawValue) }
                guard let position = primary.qualifiers.firstIndex(of: ai) else {
                    if ai.isPrimary {
                        throw .invalidCombination("(\(primary.rawValue)) and (\(ai.rawValue)) cannot be combined: "
                            + "a product code has exactly one primary key")
                    }
                    throw .invalidCombination("(\(ai.rawValue)) cannot be used with (\(primary.rawValue)); "
                        + (ai == .glnExtension ? "it qualifies (414)" : "it qualifies (01)"))
                }
                if position < lastQualifierIndex, let lastQualifier {
                    throw .aiOutOfOrder(ai: ai.rawValue, after: lastQualifier.rawValue)
                }
                lastQualifierIndex = position
                lastQualifier = ai
            }
            values[ai] = try percentDecode(pairs[index + 1])
            index += 2
        }
        return try build(values)
    }

    /// `(AI)value(AI)value…`; a value runs to the next `(` that starts `(` 2–4 digits `)`, or to the end.
    static func parseElementString(_ input: Substring) throws(ProductCodeError) -> ProductCode {
        let chars = Array(input)
        var values: [AI: String] = [:]
        var i = 0
        while i < chars.count {
            guard let close = aiEnd(chars, i) else {
                throw .malformedElementString(input: String(input),
                    reason: "expected an Application Identifier of 2 to 4 digits in parentheses at character \(i + 1)")
            }
            let aiText = String(chars[(i + 1)..<close])
            guard let ai = AI(rawValue: aiText) else { throw .unknownAI(aiText) }
            var end = close + 1
            while end < chars.count, aiEnd(chars, end) == nil { end += 1 }
            let value = String(chars[(close + 1)..<end])
            if values[ai] != nil { throw .duplicateAI(ai.rawValue) }
            guard !value.isEmpty else { throw .emptyValue(field: ai.field) }
            values[ai] = value
            i = end
        }
        return try build(values)
    }

    /// If `chars[i]` starts `(` + 2–4 ASCII digits + `)`, the index of the `)`.
    static func aiEnd(_ chars: [Character], _ i: Int) -> Int? {
        guard i < chars.count, chars[i] == "(" else { return nil }
        var j = i + 1
        while j < chars.count, j - i <= 5, isDigit(chars[j]) { j += 1 }
        let digits = j - i - 1
        guard j < chars.count, chars[j] == ")", digits >= 2, digits <= 4 else { return nil }
        return j
    }

    /// `urn:epc:id:sgtin:`, `urn:epc:id:sscc:`, `urn:epc:id:sgln:`, `urn:epc:class:lgtin:`.
    static func parseEPC(_ urn: Substring) throws(ProductCodeError) -> ProductCode {
        let whole = String(urn)
        let lower = whole.lowercased()
        let schemes = ["urn:epc:id:sgtin:", "urn:epc:id:sscc:", "urn:epc:id:sgln:", "urn:epc:class:lgtin:"]
        guard let scheme = schemes.first(where: { lower.hasPrefix($0) }) else {
            // Report the scheme part: up to the 4th ':' (urn:epc:id:xxx).
            var colons = 0
            let name = whole.prefix { c in
                if c == ":" { colons += 1 }
                return colons < 4
            }
            throw .unsupportedEPCScheme(String(name))
        }
        let body = urn.dropFirst(scheme.count)
        func fail(_ reason: String) -> ProductCodeError { .malformedEPC(urn: whole, reason: reason) }
        let parts = body.split(separator: ".", maxSplits: scheme == "urn:epc:id:sscc:" ? Int.max : 2,
                               omittingEmptySubsequences: false)
        let expectedParts = scheme == "urn:epc:id:sscc:" ? 2 : 3
        guard parts.count == expectedParts else {
            throw fail("expected \(expectedParts) components separated by '.', found \(parts.count)")
        }
        let prefix = parts[0]
        guard isAllDigits(prefix), (6...12).contains(prefix.count) else {
            throw fail("company prefix \"\(prefix)\" must be 6 to 12 digits")
        }
        let reference = parts[1]
        guard isAllDigits(reference) else { throw fail("reference \"\(reference)\" must contain only digits") }
        let total = prefix.count + reference.count
        switch scheme {
        case "urn:epc:id:sscc:":
            guard total == 17 else {
                throw fail("company prefix (\(prefix.count) digits) + extension digit and serial reference "
                    + "(\(reference.count) digits) must total 17 digits, not \(total)")
            }
            let body17 = String(reference.prefix(1)) + prefix + reference.dropFirst()
            return try build([.sscc: body17 + String(GS1.checkDigit(body17))])
        case "urn:epc:id:sgln:":
            guard total == 12 else {
                throw fail("company prefix (\(prefix.count) digits) + location reference (\(reference.count) digits) "
                    + "must total 12 digits, not \(total)")
            }
            let body12 = String(prefix + reference)
            var values: [AI: String] = [.gln: body12 + String(GS1.checkDigit(body12))]
            let ext = try percentDecode(parts[2])
            guard !ext.isEmpty else { throw .emptyValue(field: AI.glnExtension.field) }
            if ext != "0" { values[.glnExtension] = ext }
            return try build(values)
        default:  // sgtin, lgtin
            guard !reference.isEmpty, total == 13 else {
                throw fail("company prefix (\(prefix.count) digits) + indicator and item reference "
                    + "(\(reference.count) digits) must total 13 digits, not \(total)")
            }
            let body13 = String(reference.prefix(1)) + prefix + reference.dropFirst()
            let gtin = body13 + String(GS1.checkDigit(body13))
            let last = try percentDecode(parts[2])
            let ai: AI = scheme == "urn:epc:id:sgtin:" ? .serial : .lot
            guard !last.isEmpty else { throw .emptyValue(field: ai.field) }
            return try build([.gtin: gtin, ai: last])
        }
    }
}

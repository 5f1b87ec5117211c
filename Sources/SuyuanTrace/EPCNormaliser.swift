// The identifier normalisation of the CBV 2.0 event hash (Specs/event-hash.md, "Identifiers"):
// EPC pure-identity URNs, EPC class and ID-pattern URNs and GS1 Digital Link URIs become one
// constrained canonical Digital Link URI on https://id.gs1.org. Anything else is left alone.
// Pure: no I/O, no Foundation; answers for ASCII text are memoised.

import Synchronization
import SuyuanFormats

/// Converts GS1 identifiers to the constrained canonical GS1 Digital Link form used by the event hash.
enum EPCNormaliser {
    static let canonicalHost = "https://id.gs1.org"

    /// The canonical Digital Link URI for `text`, or nil if `text` is not a GS1 identifier this
    /// normalisation knows.
    static func normalise(_ text: String) -> String? {
        // A product's thousands of events name the same few identifiers (its pallet, its places):
        // each is normalised once. Only ASCII text is memoised: String keys compare by canonical
        // equivalence, and two byte-different non-ASCII texts must not share an answer.
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return normaliseAnew(text) }
        if let known = memo.withLock({ $0[text] }) { return known }
        let answer = normaliseAnew(text)
        memo.withLock { m in
            if m.count >= memoLimit { m.removeAll(keepingCapacity: true) }
            m[text] = answer
        }
        return answer
    }

    /// Answers already computed (nil answers too), at most `memoLimit` of them.
    private static let memo = Mutex<[String: String?]>([:])
    static let memoLimit = 4096

    static func normaliseAnew(_ text: String) -> String? {
        if text.hasPrefix("urn:epc:") { return epcURN(text) }
        if text.hasPrefix("http://") || text.hasPrefix("https://") { return digitalLink(text) }
        return nil
    }

    // MARK: EPC URNs

    /// The `urn:epc:id:`, `urn:epc:class:` and `urn:epc:idpat:` schemes the hash understands.
    private static func epcURN(_ urn: String) -> String? {
        let parts = urn.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5 else { return nil }
        let fields = parts[4].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch (parts[2], parts[3]) {
        case ("id", "sgtin"): return sgtin(fields)
        case ("id", "sscc"): return serialReference(fields, digits: 17, ai: "00", extensionDigitFirst: true)
        case ("id", "sgln"): return sgln(fields)
        case ("id", "grai"): return grai(fields)
        case ("id", "giai"): return companyText(fields, ai: "8004")
        case ("id", "gsrn"): return serialReference(fields, digits: 17, ai: "8018", extensionDigitFirst: false)
        case ("id", "gsrnp"): return serialReference(fields, digits: 17, ai: "8017", extensionDigitFirst: false)
        case ("id", "gdti"): return keyWithSerial(fields, ai: "253", serial: { isEPCText($0, 0...19) })
        case ("id", "cpi"): return cpi(fields)
        case ("id", "sgcn"): return keyWithSerial(fields, ai: "255", serial: { isDigits($0, 1...12) })
        case ("id", "ginc"): return companyText(fields, ai: "401")
        case ("id", "gsin"): return serialReference(fields, digits: 16, ai: "402", extensionDigitFirst: false)
        case ("id", "itip"): return itip(fields)
        case ("id", "upui"): return gtinWithText(fields, ai: "235", max: 28)
        case ("id", "pgln"): return pgln(fields)
        case ("class", "lgtin"): return gtinWithText(fields, ai: "10", max: 20)
        case ("idpat", let scheme): return idPattern(scheme, fields)
        default: return nil
        }
    }

    /// `CP.IR.serial` → `/01/{GTIN-14}/21/{serial}`.
    private static func sgtin(_ f: [String]) -> String? {
        gtinWithText(f, ai: "21", max: 20)
    }

    /// `CP.IR.text` with a GTIN-14 from company prefix and item reference, then `/ai/text`.
    private static func gtinWithText(_ f: [String], ai: String, max: Int) -> String? {
        guard f.count >= 3, let gtin = gtin14(f[0], f[1]) else { return nil }
        let text = f[2...].joined(separator: ".")
        guard isEPCText(text, 1...max) else { return nil }
        return "\(canonicalHost)/01/\(gtin)/\(ai)/\(percentEncode(text))"
    }

    /// `CP.IR.PP.TT.serial` → `/8006/{GTIN-14}{PP}{TT}/21/{serial}`.
    private static func itip(_ f: [String]) -> String? {
        guard f.count >= 5, let gtin = gtin14(f[0], f[1]), isDigits(f[2], 2...2), isDigits(f[3], 2...2) else { return nil }
        let serial = f[4...].joined(separator: ".")
        guard isEPCText(serial, 1...20) else { return nil }
        return "\(canonicalHost)/8006/\(gtin)\(f[2])\(f[3])/21/\(percentEncode(serial))"
    }

    /// SSCC, GSRN, GSRN-P, GSIN: `CP.ref` of `digits` digits in total, plus a check digit.
    private static func serialReference(_ f: [String], digits: Int, ai: String, extensionDigitFirst: Bool) -> String? {
        guard f.count == 2, isCompanyPrefix(f[0]), isDigits(f[1], 1...digits),
              f[0].count + f[1].count == digits else { return nil }
        let raw = extensionDigitFirst ? String(f[1].prefix(1)) + f[0] + String(f[1].dropFirst()) : f[0] + f[1]
        return "\(canonicalHost)/\(ai)/\(withCheckDigit(raw))"
    }

    /// `CP.LR.ext` → `/414/{GLN}` (extension `0`) or `/414/{GLN}/254/{ext}`.
    private static func sgln(_ f: [String]) -> String? {
        guard f.count >= 3, let gln = key13(f[0], f[1]) else { return nil }
        let ext = f[2...].joined(separator: ".")
        guard isEPCText(ext, 1...20) else { return nil }
        return ext == "0" ? "\(canonicalHost)/414/\(gln)" : "\(canonicalHost)/414/\(gln)/254/\(percentEncode(ext))"
    }

    /// `CP.AT.serial` → `/8003/0{CP}{AT}{check}{serial}`.
    private static func grai(_ f: [String]) -> String? {
        guard f.count >= 3, isDigits(f[0] + f[1], 12...12), isCompanyPrefix(f[0]) else { return nil }
        let serial = f[2...].joined(separator: ".")
        guard isEPCText(serial, 1...16) else { return nil }
        return "\(canonicalHost)/8003/\(withCheckDigit("0" + f[0] + f[1]))\(percentEncode(serial))"
    }

    /// GDTI and SGCN: `CP.ref.serial` → `/ai/{13-digit key}{serial}`.
    private static func keyWithSerial(_ f: [String], ai: String, serial valid: (String) -> Bool) -> String? {
        guard f.count >= 3, let key = key13(f[0], f[1]) else { return nil }
        let serial = f[2...].joined(separator: ".")
        guard valid(serial) else { return nil }
        return "\(canonicalHost)/\(ai)/\(key)\(percentEncode(serial))"
    }

    /// GIAI and GINC: `CP.text` → `/ai/{CP}{text}`, at most 30 characters together.
    private static func companyText(_ f: [String], ai: String) -> String? {
        guard f.count >= 2, isCompanyPrefix(f[0]) else { return nil }
        let text = f[1...].joined(separator: ".")
        guard isEPCText(text, 1...(30 - f[0].count)) else { return nil }
        return "\(canonicalHost)/\(ai)/\(f[0])\(percentEncode(text))"
    }

    /// `CP.ref.serial` → `/8010/{CP}{ref}/8011/{serial}`.
    private static func cpi(_ f: [String]) -> String? {
        guard f.count == 3, isCompanyPrefix(f[0]), isCPIReference(f[1], max: 30 - f[0].count),
              isDigits(f[2], 1...12) else { return nil }
        return "\(canonicalHost)/8010/\(percentEncode(f[0] + f[1]))/8011/\(f[2])"
    }

    /// `CP.PR.` → `/417/{GLN}`.
    private static func pgln(_ f: [String]) -> String? {
        guard f.count == 2, let gln = key13(f[0], f[1]) else { return nil }
        return "\(canonicalHost)/417/\(gln)"
    }

    /// EPC ID patterns with a `*` in the last position: the class-level key.
    private static func idPattern(_ scheme: Substring, _ f: [String]) -> String? {
        guard f.last == "*" else { return nil }
        switch (scheme, f.count) {
        case ("sgtin", 3), ("upui", 3):
            return gtin14(f[0], f[1]).map { "\(canonicalHost)/01/\($0)" }
        case ("grai", 3):
            guard isDigits(f[0] + f[1], 12...12), isCompanyPrefix(f[0]) else { return nil }
            return "\(canonicalHost)/8003/\(withCheckDigit("0" + f[0] + f[1]))"
        case ("gdti", 3):
            return key13(f[0], f[1]).map { "\(canonicalHost)/253/\($0)" }
        case ("sgcn", 3):
            return key13(f[0], f[1]).map { "\(canonicalHost)/255/\($0)" }
        case ("cpi", 3):
            guard isCompanyPrefix(f[0]), isCPIReference(f[1], max: 30 - f[0].count) else { return nil }
            return "\(canonicalHost)/8010/\(percentEncode(f[0] + f[1]))"
        case ("itip", 5):
            guard let gtin = gtin14(f[0], f[1]), isDigits(f[2], 2...2), isDigits(f[3], 2...2) else { return nil }
            return "\(canonicalHost)/8006/\(gtin)\(f[2])\(f[3])"
        default:
            return nil
        }
    }

    // MARK: Digital Link URIs

    /// Primary-key path segments, long and short names.
    private static let primaryKeys = ["01", "gtin", "8006", "itip", "8010", "cpid", "414", "gln", "417", "party",
                                      "8017", "gsrnp", "8018", "gsrn", "255", "gcn", "00", "sscc", "253", "gdti",
                                      "401", "ginc", "402", "gsin", "8003", "grai", "8004", "giai"]
    /// Short names and their application identifiers, replaced in this order.
    private static let shortNames = [("gtin", "01"), ("itip", "8006"), ("cpid", "8010"), ("gln", "414"),
                                     ("party", "417"), ("gsrnp", "8017"), ("gsrn", "8018"), ("gcn", "255"),
                                     ("sscc", "00"), ("gdti", "253"), ("ginc", "401"), ("gsin", "402"),
                                     ("grai", "8003"), ("giai", "8004"), ("cpv", "22"), ("lot", "10"), ("ser", "21")]
    /// Where a non-canonical URI is cut, in this order of preference.
    private static let rehomeKeys = ["00", "01", "253", "255", "401", "402", "414", "417",
                                     "8003", "8004", "8006", "8010", "8017", "8018"]
    private static let canonicalKeys = Set(rehomeKeys)

    /// A GS1 Digital Link URI, constrained: canonical host, AIs instead of short names, no query,
    /// no CPV, no lot when a serial is present. Nil if the result is not a valid constrained URI.
    private static func digitalLink(_ uri: String) -> String? {
        guard hasPrimaryKey(uri) else { return nil }
        var out = String(uri.prefix { $0 != "?" })
        for (short, ai) in shortNames { out = out.replacingAll("/\(short)/", with: "/\(ai)/") }
        if !startsWithCanonicalKey(out) { out = rehomed(out) }
        out = paddedGTIN(out)
        out = withoutCPV(out)
        out = withoutLotBeforeSerial(out)
        return isValidConstrained(out) ? out : nil
    }

    /// `http(s):` followed, before any `?` or `#`, by `/{primary key}/` and four digits and one more
    /// character that is not `/`.
    private static func hasPrimaryKey(_ uri: String) -> Bool {
        guard uri.hasPrefix("http:") || uri.hasPrefix("https:") else { return false }
        let bytes = Array(uri.utf8)
        let end = bytes.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.count
        for key in primaryKeys {
            let needle = Array("/\(key)/".utf8)
            var i = 0
            while i + needle.count <= end {
                if bytes[i..<(i + needle.count)].elementsEqual(needle) {
                    let v = i + needle.count
                    if v + 5 <= bytes.count, bytes[v..<(v + 4)].allSatisfy(isDigitByte), bytes[v + 4] != UInt8(ascii: "/") {
                        return true
                    }
                }
                i += 1
            }
        }
        return false
    }

    /// True if `uri` is `https://id.gs1.org/{AI}/` with four digits and one more non-`/` character.
    private static func startsWithCanonicalKey(_ uri: String) -> Bool {
        guard uri.hasPrefix(canonicalHost + "/") else { return false }
        let path = uri.dropFirst(canonicalHost.count + 1)
        guard let slash = path.firstIndex(of: "/"), canonicalKeys.contains(String(path[..<slash])) else { return false }
        let value = Array(path[path.index(after: slash)...].utf8)
        return value.count >= 5 && value.prefix(4).allSatisfy(isDigitByte) && value[4] != UInt8(ascii: "/")
    }

    /// The URI moved to the canonical host, cut at the first primary key found (in `rehomeKeys` order).
    private static func rehomed(_ uri: String) -> String {
        for key in rehomeKeys {
            if let range = uri.firstRange(of: "/\(key)/") {
                return canonicalHost + uri[range.lowerBound...]
            }
        }
        return uri
    }

    /// GTIN-8, -12 and -13 padded with zeros to 14 digits.
    private static func paddedGTIN(_ uri: String) -> String {
        let prefix = canonicalHost + "/01/"
        guard uri.hasPrefix(prefix) else { return uri }
        let digits = uri.dropFirst(prefix.count).utf8.prefix(while: isDigitByte).count
        switch digits {
        case 14...: return uri
        case 13: return uri.replacingAll("/01/", with: "/01/0")
        case 12: return uri.replacingAll("/01/", with: "/01/00")
        case 8...11: return uri.replacingAll("/01/", with: "/01/000000")
        default: return uri
        }
    }

    /// Drops a consumer product variant (`/22/…`) after a GTIN or ITIP key.
    private static func withoutCPV(_ uri: String) -> String {
        guard let key = gtinOrITIPKeyEnd(uri), let cpv = uri.firstRange(of: "/22/"), key == cpv.lowerBound else { return uri }
        let rest = uri[cpv.upperBound...]
        if rest.utf8.count <= 20, rest.utf8.allSatisfy(isDLByte) { return String(uri[..<cpv.lowerBound]) }
        if rest.utf8.count <= 20, rest.utf8.allSatisfy({ isDLByte($0) || $0 == UInt8(ascii: "/") }),
           let slash = rest.firstIndex(of: "/") {
            return String(uri[..<cpv.lowerBound]) + rest[slash...]
        }
        return uri
    }

    /// Drops the lot (`/10/…`) when a serial (`/21/…`) follows it.
    private static func withoutLotBeforeSerial(_ uri: String) -> String {
        guard let key = gtinOrITIPKeyEnd(uri), let lot = uri.firstRange(of: "/10/"), key == lot.lowerBound,
              let serial = uri[lot.upperBound...].firstRange(of: "/21/"),
              uri[lot.upperBound..<serial.lowerBound].utf8.count <= 20,
              uri[lot.upperBound..<serial.lowerBound].utf8.allSatisfy(isDLByte),
              uri[serial.upperBound...].utf8.count <= 20, uri[serial.upperBound...].utf8.allSatisfy(isDLByte)
        else { return uri }
        return String(uri[..<lot.lowerBound]) + uri[serial.lowerBound...]
    }

    /// The end of `https://id.gs1.org/01/{14 digits}` or `…/8006/{18 digits}` at the start of `uri`.
    private static func gtinOrITIPKeyEnd(_ uri: String) -> String.Index? {
        for (ai, length) in [("01", 14), ("8006", 18)] {
            let prefix = "\(canonicalHost)/\(ai)/"
            guard uri.hasPrefix(prefix) else { continue }
            let value = uri.dropFirst(prefix.count)
            guard value.utf8.count >= length, value.utf8.prefix(length).allSatisfy(isDigitByte) else { return nil }
            return value.utf8.index(value.startIndex, offsetBy: length)
        }
        return nil
    }

    /// The syntax check of a constrained canonical Digital Link URI (one primary key, at most one
    /// qualifier, value character sets and lengths per AI).
    private static func isValidConstrained(_ uri: String) -> Bool {
        guard uri.hasPrefix(canonicalHost + "/") else { return false }
        let segments = uri.dropFirst(canonicalHost.count + 1).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let key = segments[0]
        let rest = Array(segments.dropFirst())
        func d(_ s: String, _ n: Int) -> Bool { isDigits(s, n...n) }
        func a(_ s: String, _ max: Int) -> Bool { s.utf8.count <= max && s.utf8.allSatisfy(isDLByte) }
        switch (key, rest.count) {
        case ("00", 1), ("8017", 1), ("8018", 1): return d(rest[0], 18)
        case ("01", 1): return d(rest[0], 14)
        case ("01", 3):
            switch rest[1] {
            case "21", "10": return d(rest[0], 14) && a(rest[2], 20)
            case "235": return d(rest[0], 14) && a(rest[2], 28)
            default: return false
            }
        case ("253", 1): return keyThenText(rest[0], digits: 13) { a($0, 17) }
        case ("255", 1): return keyThenText(rest[0], digits: 13) { $0.isEmpty || isDigits($0, 1...12) }
        case ("401", 1), ("8004", 1): return a(rest[0], 30)
        case ("402", 1): return d(rest[0], 17)
        case ("414", 1), ("417", 1): return d(rest[0], 13)
        case ("414", 3): return d(rest[0], 13) && rest[1] == "254" && a(rest[2], 20)
        case ("8003", 1): return keyThenText(rest[0], digits: 14) { a($0, 16) }
        case ("8006", 1): return d(rest[0], 18)
        case ("8006", 3): return d(rest[0], 18) && (rest[1] == "21" || rest[1] == "10") && a(rest[2], 20)
        case ("8010", _): return isValidCPI(rest.joined(separator: "/"))
        default: return false
        }
    }

    /// `digits` digits, then a remainder accepted by `text`.
    private static func keyThenText(_ value: String, digits: Int, _ text: (String) -> Bool) -> Bool {
        isDigits(String(value.prefix(digits)), digits...digits) && text(String(value.dropFirst(digits)))
    }

    /// `{CPID}` or `{CPID}/8011/{serial}`: CPID up to 30 of `# - / 0-9 A-Z`, serial up to 12 digits.
    private static func isValidCPI(_ value: String) -> Bool {
        func cpid(_ s: Substring) -> Bool {
            s.utf8.count <= 30 && s.utf8.allSatisfy { cpiPlain.contains($0) || $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: "/") }
        }
        if cpid(value[...]) { return true }
        var search = value.startIndex
        while let range = value[search...].firstRange(of: "/8011/") {
            let serial = value[range.upperBound...]
            if cpid(value[..<range.lowerBound]), serial.utf8.count <= 12, serial.utf8.allSatisfy(isDigitByte) { return true }
            search = value.index(after: range.lowerBound)
        }
        return false
    }

    private static func isDigitByte(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// The value characters of a constrained URI: `" ' - . 0-9 ; < = > ? A-Z _ a-z`.
    private static func isDLByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x22, 0x27, 0x2D, 0x2E, 0x30...0x39, 0x3B...0x3F, 0x41...0x5A, 0x5F, 0x61...0x7A: return true
        default: return false
        }
    }

    // MARK: Keys

    private static func isCompanyPrefix(_ text: String) -> Bool { isDigits(text, 6...12) }

    /// GTIN-14 from a company prefix and an item reference (indicator digit first), 13 digits together.
    private static func gtin14(_ companyPrefix: String, _ itemReference: String) -> String? {
        guard isCompanyPrefix(companyPrefix), isDigits(itemReference, 1...7),
              companyPrefix.count + itemReference.count == 13 else { return nil }
        return withCheckDigit(String(itemReference.prefix(1)) + companyPrefix + String(itemReference.dropFirst()))
    }

    /// A 13-digit key (GLN, GDTI, GCN type) from a company prefix and a reference, 12 digits together.
    private static func key13(_ companyPrefix: String, _ reference: String) -> String? {
        guard isCompanyPrefix(companyPrefix), reference.isEmpty || isDigits(reference, 1...6),
              companyPrefix.count + reference.count == 12 else { return nil }
        return withCheckDigit(companyPrefix + reference)
    }

    private static func withCheckDigit(_ digits: String) -> String {
        digits + String(GS1.checkDigit(digits))
    }

    // MARK: Character sets

    private static func isDigits(_ text: String, _ lengths: ClosedRange<Int>) -> Bool {
        lengths.contains(text.utf8.count) && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// An EPC URN text component whose length (an escape counts as one character) is in `lengths`:
    /// characters of `! ' ( ) * + , - . 0-9 : ; = A-Z _ a-z` or the escapes the EPC Tag Data Standard allows.
    private static func isEPCText(_ text: String, _ lengths: ClosedRange<Int>) -> Bool {
        countUnits(text, plain: epcPlain, escape: isEPCEscape).map(lengths.contains) ?? false
    }

    /// A CPI component reference of 1…`max` characters: `- 0-9 A-Z` or the escapes `%23 %2D %2F %30-%39 %41-%5A`.
    private static func isCPIReference(_ text: String, max: Int) -> Bool {
        max >= 1 && (countUnits(text, plain: cpiPlain, escape: isCPIEscape).map((1...max).contains) ?? false)
    }

    private static let epcPlain: Set<UInt8> = Set("!')(*+,.:;=_-".utf8).union(alphanumerics)
    private static let cpiPlain: Set<UInt8> = Set("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    private static let alphanumerics: Set<UInt8> = Set((0x30...0x39).map(UInt8.init)
        + (0x41...0x5A).map(UInt8.init) + (0x61...0x7A).map(UInt8.init))

    /// `%2[125-9A-F] %3x %4[1-9A-F] %5[0-9AF] %6[1-9A-F] %7[0-9A]` (hex digits in either case).
    private static func isEPCEscape(_ high: UInt8, _ low: UInt8) -> Bool {
        switch high {
        case 2: return low == 1 || low == 2 || low >= 5
        case 3: return true
        case 4, 6: return low >= 1
        case 5: return low <= 0xA || low == 0xF
        case 7: return low <= 0xA
        default: return false
        }
    }

    /// `%2[3DF] %3[0-9] %4[1-9A-F] %5[0-9A]`.
    private static func isCPIEscape(_ high: UInt8, _ low: UInt8) -> Bool {
        switch high {
        case 2: return low == 3 || low == 0xD || low == 0xF
        case 3: return low <= 9
        case 4: return low >= 1
        case 5: return low <= 0xA
        default: return false
        }
    }

    /// The number of characters of `text` (an escape `%XY` counts as one), or nil if a byte is not allowed.
    private static func countUnits(_ text: String, plain: Set<UInt8>, escape: (UInt8, UInt8) -> Bool) -> Int? {
        let bytes = Array(text.utf8)
        var i = 0
        var count = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]),
                      escape(high, low) else { return nil }
                i += 3
            } else {
                guard plain.contains(bytes[i]) else { return nil }
                i += 1
            }
            count += 1
        }
        return count
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// Percent-encodes the characters GS1 Digital Link requires encoded and EPC URNs may carry bare:
    /// `! ( ) * + , :`.
    static func percentEncode(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "!": out += "%21"
            case "(": out += "%28"
            case ")": out += "%29"
            case "*": out += "%2A"
            case "+": out += "%2B"
            case ",": out += "%2C"
            case ":": out += "%3A"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    /// Every non-overlapping occurrence of `target` (left to right) replaced by `replacement`.
    func replacingAll(_ target: String, with replacement: String) -> String {
        // An ASCII target matches (as characters) only where its bytes occur: without them, nothing to do.
        if target.utf8.allSatisfy({ $0 < 0x80 }) && !utf8.containsBytes(of: target.utf8) { return self }
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

extension String.UTF8View {
    /// Whether `needle`'s bytes occur somewhere in these bytes.
    func containsBytes(of needle: String.UTF8View) -> Bool {
        guard let first = needle.first else { return true }
        var i = startIndex
        while let j = self[i...].firstIndex(of: first) {
            if self[j...].starts(with: needle) { return true }
            i = index(after: j)
        }
        return false
    }
}

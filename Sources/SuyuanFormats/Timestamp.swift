/// An instant in UTC with nanosecond precision, written as an RFC 3339 string ending in `Z`.
///
/// Accepted form (strict): `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, years 1970–2261, real calendar dates,
/// seconds 00–59 (no leap second). (Nanoseconds since 1970 in 64 bits end in April 2262; later years
/// are refused, not wrapped.) The canonical form used by the ledger for `recordedAt` has exactly
/// three fractional digits (milliseconds).
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public let nanoseconds: Int64

    /// Wraps a nanosecond count since the Unix epoch.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// Whole seconds since the epoch (floored).
    public var seconds: Int64 { nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000 }

    /// Milliseconds since the epoch (floored).
    public var milliseconds: Int64 { nanoseconds >= 0 ? nanoseconds / 1_000_000 : (nanoseconds - 999_999) / 1_000_000 }

    /// The last accepted year: every instant up to its end fits in `nanoseconds` with room to add the
    /// ledger's time window.
    public static let maxYear = 2261

    /// Parses the strict RFC 3339 UTC form; nil for anything else.
    public init?(parsing text: String) {
        let u = Array(text.utf8)
        guard u.count >= 20, u.count <= 30, u.last == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r { guard u[i] >= 0x30, u[i] <= 0x39 else { return nil }; v = v * 10 + Int(u[i] - 0x30) }
            return v
        }
        guard u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T"),
              u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":"),
              let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10),
              let h = num(11..<13), let mi = num(14..<16), let s = num(17..<19),
              y >= 1970, y <= Timestamp.maxYear, (1...12).contains(mo), d >= 1, d <= Timestamp.daysIn(month: mo, year: y),
              h < 24, mi < 60, s < 60
        else { return nil }
        var frac: Int64 = 0
        if u.count > 20 {
            guard u[19] == UInt8(ascii: "."), u.count - 21 >= 1, u.count - 21 <= 9, let f = num(20..<(u.count - 1)) else { return nil }
            var scale: Int64 = 1
            for _ in 0..<(9 - (u.count - 21)) { scale *= 10 }
            frac = Int64(f) * scale
        } else if u[19] != UInt8(ascii: "Z") { return nil }
        let days = Timestamp.daysFromCivil(y, mo, d)
        nanoseconds = ((days * 86400) + Int64(h * 3600 + mi * 60 + s)) * 1_000_000_000 + frac
    }

    /// RFC 3339 with exactly three fractional digits, e.g. `2026-11-28T23:39:18.123Z`.
    public var millisecondString: String { format(fractionDigits: 3) }

    /// RFC 3339 with no fractional digits (truncated), e.g. `2026-11-28T23:39:18Z`.
    public var secondString: String { format(fractionDigits: 0) }

    public var description: String { millisecondString }

    /// This instant truncated to whole milliseconds.
    public var truncatedToMilliseconds: Timestamp {
        Timestamp(nanoseconds: milliseconds * 1_000_000)
    }

    /// Adds whole seconds.
    public func adding(seconds: Int64) -> Timestamp { Timestamp(nanoseconds: nanoseconds + seconds * 1_000_000_000) }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    private func format(fractionDigits: Int) -> String {
        let secs = seconds
        let frac = nanoseconds - secs * 1_000_000_000
        var days = secs / 86400
        var rem = secs - days * 86400
        if rem < 0 { rem += 86400; days -= 1 }
        let (y, m, d) = Timestamp.civilFromDays(days)
        func pad(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem / 60 % 60, 2)):\(pad(rem % 60, 2))"
        if fractionDigits > 0 {
            var f = frac
            for _ in 0..<(9 - fractionDigits) { f /= 10 }
            out += "." + pad(f, fractionDigits)
        }
        return out + "Z"
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    private static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = Int64(m <= 2 ? y0 - 1 : y0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((m + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    private static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

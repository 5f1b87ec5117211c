/// Standard base64 (RFC 4648 section 4): alphabet `A–Z a–z 0–9 + /`, `=` padding.
///
/// `decode` is strict: it accepts exactly the strings `encode` produces. Padding is required, no
/// whitespace or line breaks are allowed, the URL-safe alphabet is rejected, and the unused low bits
/// of the last character must be zero, so every byte string has exactly one accepted encoding.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let pad = UInt8(ascii: "=")

    private static let values: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Encodes `bytes` with padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        append(Array(bytes), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the padded encoding of `input` to `out` (as ASCII bytes).
    public static func append(_ input: [UInt8], to out: inout [UInt8]) {
        out.reserveCapacity(out.count + (input.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        switch input.count - i {
        case 1:
            let n = UInt32(input[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(pad)
            out.append(pad)
        case 2:
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(pad)
        default:
            break
        }
    }

    /// Decodes canonical padded base64; nil for anything `encode` would not have produced.
    public static func decode(_ text: String) -> [UInt8]? {
        decode(utf8: Array(text.utf8))
    }

    /// Decodes canonical padded base64 from its ASCII bytes.
    static func decode(utf8 s: [UInt8]) -> [UInt8]? {
        guard s.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(s.count / 4 * 3)
        var i = 0
        while i < s.count {
            let last = i + 4 == s.count
            let c0 = values[Int(s[i])], c1 = values[Int(s[i + 1])]
            guard c0 != 0xff, c1 != 0xff else { return nil }
            if last && s[i + 2] == pad {
                // "xx==": one byte; the low 4 bits of the second character must be zero.
                guard s[i + 3] == pad, c1 & 0x0f == 0 else { return nil }
                out.append(c0 << 2 | c1 >> 4)
            } else if last && s[i + 3] == pad {
                // "xxx=": two bytes; the low 2 bits of the third character must be zero.
                let c2 = values[Int(s[i + 2])]
                guard c2 != 0xff, c2 & 0x03 == 0 else { return nil }
                out.append(c0 << 2 | c1 >> 4)
                out.append(c1 << 4 | c2 >> 2)
            } else {
                let c2 = values[Int(s[i + 2])], c3 = values[Int(s[i + 3])]
                guard c2 != 0xff, c3 != 0xff else { return nil }
                out.append(c0 << 2 | c1 >> 4)
                out.append(c1 << 4 | c2 >> 2)
                out.append(c2 << 6 | c3)
            }
            i += 4
        }
        return out
    }
}

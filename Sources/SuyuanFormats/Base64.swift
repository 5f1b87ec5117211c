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
        var text = text
        return text.withUTF8 { decode(ascii: $0) }
    }

    /// Decodes canonical padded base64 from its ASCII bytes.
    static func decode(utf8 s: [UInt8]) -> [UInt8]? {
        s.withUnsafeBufferPointer { decode(ascii: $0) }
    }

    private static func decode(ascii s: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard s.count % 4 == 0 else { return nil }
        guard s.count > 0 else { return [] }
        // The last group may carry padding; every group before it is four alphabet characters.
        let padding = s[s.count - 1] == pad ? (s[s.count - 2] == pad ? 2 : 1) : 0
        let count = s.count / 4 * 3 - padding
        var valid = true
        let out = values.withUnsafeBufferPointer { v in
            [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                var i = 0, o = 0
                let full = padding == 0 ? s.count : s.count - 4
                while i < full {
                    let c0 = v[Int(s[i])], c1 = v[Int(s[i + 1])], c2 = v[Int(s[i + 2])], c3 = v[Int(s[i + 3])]
                    // Alphabet values are below 64; anything else is 0xff.
                    if (c0 | c1 | c2 | c3) & 0xc0 != 0 { valid = false; break }
                    buffer[o] = c0 << 2 | c1 >> 4
                    buffer[o + 1] = c1 << 4 | c2 >> 2
                    buffer[o + 2] = c2 << 6 | c3
                    i += 4
                    o += 3
                }
                if valid && padding > 0 {
                    let c0 = v[Int(s[i])], c1 = v[Int(s[i + 1])]
                    if c0 == 0xff || c1 == 0xff {
                        valid = false
                    } else if padding == 2 {
                        // "xx==": one byte; the low 4 bits of the second character must be zero.
                        if c1 & 0x0f != 0 { valid = false } else { buffer[o] = c0 << 2 | c1 >> 4; o += 1 }
                    } else {
                        // "xxx=": two bytes; the low 2 bits of the third character must be zero.
                        let c2 = v[Int(s[i + 2])]
                        if c2 == 0xff || c2 & 0x03 != 0 {
                            valid = false
                        } else {
                            buffer[o] = c0 << 2 | c1 >> 4
                            buffer[o + 1] = c1 << 4 | c2 >> 2
                            o += 2
                        }
                    }
                }
                initialized = valid ? o : 0
            }
        }
        return valid ? out : nil
    }
}

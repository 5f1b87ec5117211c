/// Base58 with the Bitcoin alphabet (multibase prefix `z`), as used by `did:key`.
///
/// Each leading zero byte is written as one `1`; the rest is the big-endian number in base 58.
/// The conversion is quadratic in the length, so callers should bound their input (did:key strings
/// are under 100 characters).
public enum Base58BTC {
    private static let alphabet: [UInt8] = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    private static let values: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Encodes `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix(while: { $0 == 0 }).count
        // Little-endian base-58 digits of the number formed by the remaining bytes.
        var digits = [UInt8]()
        digits.reserveCapacity(bytes.count * 138 / 100 + 1)
        for b in bytes.dropFirst(zeros) {
            var carry = Int(b)
            for j in digits.indices {
                carry += Int(digits[j]) << 8
                digits[j] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        var out = [UInt8](repeating: alphabet[0], count: zeros)
        for d in digits.reversed() { out.append(alphabet[Int(d)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base58btc; nil when a character is outside the alphabet.
    public static func decode(_ text: String) -> [UInt8]? {
        let s = Array(text.utf8)
        let ones = s.prefix(while: { $0 == alphabet[0] }).count
        // Little-endian base-256 bytes of the number.
        var bytes = [UInt8]()
        bytes.reserveCapacity(s.count * 733 / 1000 + 1)
        for c in s.dropFirst(ones) {
            let v = values[Int(c)]
            guard v != 0xff else { return nil }
            var carry = Int(v)
            for j in bytes.indices {
                carry += Int(bytes[j]) * 58
                bytes[j] = UInt8(carry & 0xff)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xff))
                carry >>= 8
            }
        }
        return [UInt8](repeating: 0, count: ones) + bytes.reversed()
    }
}

/// Base58 with the Bitcoin alphabet (multibase prefix `z`), as used by `did:key`.
///
/// Each leading zero byte is written as one `1`; the rest is the big-endian number in base 58.
/// The conversion is quadratic in the length (in limbs of several digits), so callers should bound
/// their input (did:key strings are under 100 characters).
public enum Base58BTC {
    private static let alphabet: [UInt8] = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    private static let values: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// 58^9, the largest power of 58 whose product with 256 still fits in a `UInt64` limb.
    private static let limb58: UInt64 = 7_427_658_739_644_928
    private static let digitsPerLimb = 9

    /// Encodes `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix(while: { $0 == 0 }).count
        // Little-endian limbs of 9 base-58 digits each: one multiply-add per limb and input byte.
        var limbs = [UInt64]()
        limbs.reserveCapacity((bytes.count - zeros) * 138 / 100 / digitsPerLimb + 1)
        for b in bytes.dropFirst(zeros) {
            var carry = UInt64(b)
            for j in limbs.indices {
                let x = limbs[j] << 8 | carry
                limbs[j] = x % limb58
                carry = x / limb58
            }
            while carry > 0 {
                limbs.append(carry % limb58)
                carry /= limb58
            }
        }
        // Little-endian base-58 digits, without the top limb's leading zeros.
        var digits = [UInt8]()
        digits.reserveCapacity(limbs.count * digitsPerLimb)
        for (k, limb) in limbs.enumerated() {
            var v = limb
            for _ in 0..<digitsPerLimb {
                if k == limbs.count - 1 && v == 0 { break }
                digits.append(UInt8(v % 58))
                v /= 58
            }
        }
        var out = [UInt8](repeating: alphabet[0], count: zeros)
        out.reserveCapacity(zeros + digits.count)
        for d in digits.reversed() { out.append(alphabet[Int(d)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base58btc; nil when a character is outside the alphabet.
    public static func decode(_ text: String) -> [UInt8]? {
        let s = Array(text.utf8)
        let ones = s.prefix(while: { $0 == alphabet[0] }).count
        // Little-endian 32-bit limbs of the number: one multiply-add per limb and input character.
        var limbs = [UInt32]()
        limbs.reserveCapacity((s.count - ones) * 733 / 1000 / 4 + 1)
        for c in s.dropFirst(ones) {
            let v = values[Int(c)]
            guard v != 0xff else { return nil }
            var carry = UInt64(v)
            for j in limbs.indices {
                let x = UInt64(limbs[j]) * 58 + carry
                limbs[j] = UInt32(truncatingIfNeeded: x)
                carry = x >> 32
            }
            if carry > 0 { limbs.append(UInt32(carry)) }
        }
        // Big-endian bytes, without the top limb's leading zero bytes.
        var bytes = [UInt8](repeating: 0, count: ones)
        bytes.reserveCapacity(ones + limbs.count * 4)
        var started = false
        for limb in limbs.reversed() {
            for shift in stride(from: 24, through: 0, by: -8) {
                let b = UInt8(truncatingIfNeeded: limb >> UInt32(shift))
                if !started && b == 0 { continue }
                started = true
                bytes.append(b)
            }
        }
        return bytes
    }
}

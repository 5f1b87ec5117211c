import SuyuanFormats
import Testing

/// Base58BTC against the textbook digit-at-a-time conversion, on inputs of every length 0…80 with
/// leading zeros, and on the did:key form (`z` + 0xed 0x01 + 32 bytes).
@Suite struct Base58Tests {
    static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    /// One base-58 digit per step, as in the Bitcoin reference implementation.
    static func referenceEncode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix(while: { $0 == 0 }).count
        var digits: [UInt8] = []
        for b in bytes.dropFirst(zeros) {
            var carry = Int(b)
            for j in digits.indices {
                carry += Int(digits[j]) << 8
                digits[j] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 { digits.append(UInt8(carry % 58)); carry /= 58 }
        }
        return String(decoding: [UInt8](repeating: alphabet[0], count: zeros) + digits.reversed().map { alphabet[Int($0)] }, as: UTF8.self)
    }

    @Test func agreesWithTheReferenceAndRoundTrips() {
        var rng = SystemRandomNumberGenerator()
        var failures: [String] = []
        for length in 0...80 {
            for zeros in [0, 1, 3] where zeros <= length {
                for _ in 0..<20 {
                    var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    for i in 0..<zeros { bytes[i] = 0 }
                    if zeros < length, bytes[zeros] == 0 { bytes[zeros] = 1 }
                    // The extremes of each byte too.
                    if length > zeros, Bool.random(using: &rng) { for i in zeros..<length { bytes[i] = 0xff } }
                    let text = Base58BTC.encode(bytes)
                    if text != Self.referenceEncode(bytes) { failures.append("encode \(bytes)") }
                    if Base58BTC.decode(text) != bytes { failures.append("decode \(text)") }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(Base58BTC.encode([]) == "" && Base58BTC.decode("") == [])
        #expect(Base58BTC.encode([0, 0, 1]) == "112" && Base58BTC.decode("112") == [0, 0, 1])
        #expect(Base58BTC.encode([58]) == "21" && Base58BTC.decode("21") == [58])
        #expect(Base58BTC.decode("0OIl") == nil)
        // Bitcoin's published example.
        #expect(Base58BTC.encode(Array("Hello World!".utf8)) == "2NEpo7TZRRrLZSi2U")
    }

    @Test func didKeysRoundTrip() throws {
        for seed in 0..<64 {
            let key = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ seed &* 11) }
            let raw = [0xed, 0x01] + key
            let text = Base58BTC.encode(raw)
            #expect(text == Self.referenceEncode(raw))
            #expect(Base58BTC.decode(text) == raw)
        }
    }
}

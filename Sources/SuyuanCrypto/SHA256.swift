import CSodium

/// A SHA-256 digest: exactly 32 bytes.
public struct Hash: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The digest size in bytes.
    public static let byteCount = 32
    /// The all-zero hash, used as `prev` of the genesis entry.
    public static let zero = Hash(unchecked: [UInt8](repeating: 0, count: 32))

    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Hash.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Wraps bytes the caller guarantees are 32 long.
    public init(unchecked bytes: [UInt8]) {
        assert(bytes.count == Hash.byteCount)
        self.bytes = bytes
    }

    /// Parses 64 lowercase hexadecimal digits; nil for anything else.
    public init?(hex: String) {
        self.init(lowercaseHex: hex.utf8)
    }

    /// Parses the ASCII bytes of 64 lowercase hexadecimal digits; nil for anything else.
    public init?(lowercaseHex digits: some Collection<UInt8>) {
        guard let b = digits.withContiguousStorageIfAvailable(Hash.decodeLowercase) ?? Hash.decodeLowercase(Array(digits)) else { return nil }
        self.bytes = b
    }

    private static func decodeLowercase(_ digits: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard digits.count == 2 * byteCount else { return nil }
        @inline(__always) func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c &- 0x30
            case 0x61...0x66: return c &- 0x61 &+ 10
            default: return nil
            }
        }
        var ok = true
        let out = [UInt8](unsafeUninitializedCapacity: byteCount) { buf, count in
            for k in 0..<byteCount {
                guard let hi = value(digits[2 * k]), let lo = value(digits[2 * k + 1]) else { ok = false; buf[k] = 0; continue }
                buf[k] = hi << 4 | lo
            }
            count = byteCount
        }
        return ok ? out : nil
    }

    private static func decodeLowercase(_ digits: [UInt8]) -> [UInt8]? {
        digits.withUnsafeBufferPointer(decodeLowercase)
    }

    /// Lowercase hexadecimal, 64 digits.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    public static func < (a: Hash, b: Hash) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

/// SHA-256 (FIPS 180-4) via libsodium.
public enum SHA256 {
    /// Hashes `data`.
    public static func hash(_ data: some Collection<UInt8>) -> Hash {
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: 32)
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        update(&state, data)
        crypto_hash_sha256_final(&state, &out)
        return Hash(unchecked: out)
    }

    /// Hashes the concatenation of `parts`, without building it.
    public static func hash(parts: [[UInt8]]) -> Hash {
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: 32)
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        for p in parts { update(&state, p) }
        crypto_hash_sha256_final(&state, &out)
        return Hash(unchecked: out)
    }

    /// Hashes `prefix ‖ data` (RFC 6962 leaf hashing uses prefix 0x00).
    public static func hash(prefix: UInt8, _ data: some Collection<UInt8>) -> Hash {
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: 32)
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        var p = prefix
        crypto_hash_sha256_update(&state, &p, 1)
        update(&state, data)
        crypto_hash_sha256_final(&state, &out)
        return Hash(unchecked: out)
    }

    /// Hashes `prefix ‖ left ‖ right` (RFC 6962 interior nodes use prefix 0x01).
    public static func hash(prefix: UInt8, _ left: Hash, _ right: Hash) -> Hash {
        Sodium.ensure()
        var buf = [UInt8]()
        buf.reserveCapacity(65)
        buf.append(prefix)
        buf.append(contentsOf: left.bytes)
        buf.append(contentsOf: right.bytes)
        var out = [UInt8](repeating: 0, count: 32)
        crypto_hash_sha256(&out, buf, 65)
        return Hash(unchecked: out)
    }

    private static func update(_ state: inout crypto_hash_sha256_state, _ data: some Collection<UInt8>) {
        let done = data.withContiguousStorageIfAvailable { buf in
            crypto_hash_sha256_update(&state, buf.baseAddress, UInt64(buf.count))
        }
        if done == nil {
            let copy = Array(data)
            crypto_hash_sha256_update(&state, copy, UInt64(copy.count))
        }
    }
}

/// Lowercase hexadecimal encoding.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lowercase hex.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        append(Array(bytes), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the lowercase hex of `bytes` to `out` (as ASCII bytes).
    public static func append(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.reserveCapacity(out.count + bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
    }

    /// Decodes hex (either case); nil on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = value(u[i]), let lo = value(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}

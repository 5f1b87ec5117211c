import CSodium

/// Makes sure libsodium is initialised exactly once before any use.
enum Sodium {
    /// Evaluated once, thread-safely, by the Swift runtime.
    static let ready: Bool = {
        precondition(sodium_init() >= 0, "libsodium failed to initialise")
        return true
    }()

    @inline(__always) static func ensure() { _ = ready }
}

/// Cryptographically secure random bytes from libsodium.
public enum SecureRandom {
    /// Returns `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) } }
        return out
    }
}

/// Overwrites a byte array with zeros in a way the compiler cannot elide.
public func secureZero(_ bytes: inout [UInt8]) {
    Sodium.ensure()
    if !bytes.isEmpty { bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, $0.count) } }
}

/// Constant-time comparison of two byte strings of equal length; false when lengths differ.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    Sodium.ensure()
    return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in a.isEmpty || sodium_memcmp(pa.baseAddress!, pb.baseAddress!, a.count) == 0 } }
}

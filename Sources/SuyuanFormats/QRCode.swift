// QR Code Model 2 symbols (ISO/IEC 18004): the code a consumer scans on a product, carrying a
// GS1 Digital Link URI. Byte mode over UTF-8, versions 1–40, levels L/M/Q/H, the eight data masks
// with the standard penalty rules, SVG output. Pure: no I/O, no Foundation.
// Normative description: Specs/qr.md.

/// Why a QR Code could not be made.
public enum QRCodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text's UTF-8 bytes do not fit in a version 40 symbol at this error-correction level.
    case tooLong(bytes: Int, maximum: Int, correction: QRCode.ErrorCorrection)
    /// A forced mask outside 0–7.
    case invalidMask(Int)

    public var description: String {
        switch self {
        case let .tooLong(bytes, maximum, correction):
            return "text is \(bytes) bytes in UTF-8; a QR Code at error-correction level \(correction.letter) holds at most \(maximum) bytes"
        case let .invalidMask(mask):
            return "mask \(mask) is not a QR Code data mask (0–7)"
        }
    }
}

/// A QR Code Model 2 symbol: a square of `size` × `size` modules, without quiet zone.
public struct QRCode: Sendable, Equatable {
    /// The error-correction level: the share of codewords that may be restored
    /// (about 7 %, 15 %, 25 %, 30 %).
    public enum ErrorCorrection: Sendable, Equatable, CaseIterable {
        case low, medium, quartile, high

        /// `L`, `M`, `Q` or `H`.
        public var letter: Character {
            switch self {
            case .low: return "L"
            case .medium: return "M"
            case .quartile: return "Q"
            case .high: return "H"
            }
        }

        /// Index into the block tables below.
        var ordinal: Int {
            switch self {
            case .low: return 0
            case .medium: return 1
            case .quartile: return 2
            case .high: return 3
            }
        }

        /// The two format-information bits (Table 12 of ISO/IEC 18004:2015).
        var formatBits: Int {
            switch self {
            case .low: return 1
            case .medium: return 0
            case .quartile: return 3
            case .high: return 2
            }
        }
    }

    /// 1–40.
    public let version: Int
    /// Modules per side: 17 + 4 × version.
    public let size: Int
    /// The data mask, 0–7.
    public let mask: Int
    public let correction: ErrorCorrection
    /// Row-major, `true` = dark.
    let modules: [Bool]

    /// Whether the module in column `x`, row `y` (0-based from the top left) is dark.
    /// Coordinates outside the symbol (the quiet zone) are light.
    public func isDark(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < size, y < size else { return false }
        return modules[y * size + x]
    }

    /// The largest number of bytes a byte-mode symbol can hold at `correction`
    /// (version 40: 2953, 2331, 1663, 1273).
    public static func maximumBytes(correction: ErrorCorrection) -> Int {
        byteCapacity(version: 40, correction: correction)
    }

    /// Encodes the UTF-8 bytes of `text` in byte mode, in the smallest version that holds them at
    /// `correction`. With `mask` nil the mask with the lowest penalty score is chosen (the first
    /// such on a tie); otherwise that mask is used.
    public init(encoding text: String, correction: ErrorCorrection = .medium, mask: Int? = nil) throws(QRCodeError) {
        try self.init(bytes: Array(text.utf8), correction: correction, mask: mask)
    }

    /// Encodes `bytes` in byte mode; see `init(encoding:correction:mask:)`.
    public init(bytes: [UInt8], correction: ErrorCorrection = .medium, mask: Int? = nil) throws(QRCodeError) {
        if let mask, !(0...7).contains(mask) { throw .invalidMask(mask) }
        guard let version = (1...40).first(where: { Self.byteCapacity(version: $0, correction: correction) >= bytes.count }) else {
            throw .tooLong(bytes: bytes.count, maximum: Self.maximumBytes(correction: correction), correction: correction)
        }
        let data = Self.dataCodewords(bytes, version: version, correction: correction)
        let codewords = Self.interleavedWithErrorCorrection(data, version: version, correction: correction)

        var grid = QRGrid(version: version)
        grid.placeCodewords(codewords)

        let chosen: Int
        if let mask {
            chosen = mask
        } else {
            // Penalties are scored with the format and version areas (and the dark module) still
            // light: ISO/IEC 18004:2015, 7.1, adds format and version information after masking.
            var best = 0
            var bestScore = Int.max
            for candidate in 0..<8 {
                var trial = grid
                trial.applyMask(candidate)
                let score = Self.penalty(trial.dark, size: trial.size)
                if score < bestScore {
                    bestScore = score
                    best = candidate
                }
            }
            chosen = best
        }
        grid.applyMask(chosen)
        grid.drawFormatInformation(correction: correction, mask: chosen)
        grid.drawVersionInformation()

        self.version = version
        self.size = grid.size
        self.mask = chosen
        self.correction = correction
        self.modules = grid.dark
    }

    // MARK: SVG

    /// An SVG document: a white quiet zone of 4 modules, one path of dark modules, `scale` px per module.
    /// The viewBox is in modules, `0 0 (size+8) (size+8)`; width and height are in pixels.
    public func svg(scale: Int = 8, title: String? = nil) -> String {
        let side = size + 8
        let pixels = side * max(scale, 1)
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else { x += 1; continue }
                var run = 1
                while x + run < size, isDark(x: x + run, y: y) { run += 1 }
                path += "M\(x + 4) \(y + 4)h\(run)v1h-\(run)z"
                x += run
            }
        }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 \(side) \(side)\""
        out += " width=\"\(pixels)\" height=\"\(pixels)\" shape-rendering=\"crispEdges\""
        if let title {
            let escaped = Self.escapeXML(title)
            out += " role=\"img\" aria-label=\"\(escaped)\"><title>\(escaped)</title>"
        } else {
            out += ">"
        }
        out += "<rect width=\"\(side)\" height=\"\(side)\" fill=\"#fff\"/>"
        out += "<path fill=\"#000\" d=\"\(path)\"/>"
        out += "</svg>\n"
        return out
    }

    static func escapeXML(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Characters XML 1.0 does not allow are left out.
                if scalar.value < 0x20, scalar != "\t", scalar != "\n", scalar != "\r" { continue }
                if scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: Capacity and blocks (Tables 7 and 9 of ISO/IEC 18004:2015)

    /// Error-correction codewords per block, by level (L, M, Q, H) and version (index 0 unused).
    static let eccCodewordsPerBlock: [[Int]] = [
        [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
        [0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    ]

    /// Error-correction blocks, by level (L, M, Q, H) and version (index 0 unused).
    static let errorCorrectionBlocks: [[Int]] = [
        [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
        [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
        [0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
        [0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
    ]

    /// Modules available for codewords and remainder bits: everything but function patterns,
    /// format and version information.
    static func rawDataModules(version: Int) -> Int {
        var result = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignments = version / 7 + 2
            result -= (25 * alignments - 10) * alignments - 55
            if version >= 7 { result -= 36 }
        }
        return result
    }

    static func totalCodewords(version: Int) -> Int { rawDataModules(version: version) / 8 }

    static func dataCodewordCount(version: Int, correction: ErrorCorrection) -> Int {
        totalCodewords(version: version)
            - eccCodewordsPerBlock[correction.ordinal][version] * errorCorrectionBlocks[correction.ordinal][version]
    }

    /// Bits of the byte-mode character count indicator (Table 3).
    static func countBits(version: Int) -> Int { version <= 9 ? 8 : 16 }

    /// Bytes a byte-mode segment can carry: mode indicator (4 bits) and character count first.
    static func byteCapacity(version: Int, correction: ErrorCorrection) -> Int {
        let bits = dataCodewordCount(version: version, correction: correction) * 8 - 4 - countBits(version: version)
        return min(bits / 8, (1 << countBits(version: version)) - 1)
    }

    // MARK: Data codewords (7.4)

    /// Mode indicator 0100, character count, the bytes, terminator, zero bits to a codeword
    /// boundary, then the pad codewords 0xEC 0x11 alternately.
    static func dataCodewords(_ bytes: [UInt8], version: Int, correction: ErrorCorrection) -> [UInt8] {
        let capacity = dataCodewordCount(version: version, correction: correction)
        var bits = QRBitBuffer()
        bits.append(0b0100, count: 4)
        bits.append(bytes.count, count: countBits(version: version))
        for byte in bytes { bits.append(Int(byte), count: 8) }
        bits.append(0, count: min(4, capacity * 8 - bits.count))
        bits.append(0, count: (8 - bits.count % 8) % 8)
        var codewords = bits.bytes
        var pad: UInt8 = 0xEC
        while codewords.count < capacity {
            codewords.append(pad)
            pad ^= 0xEC ^ 0x11
        }
        return codewords
    }

    /// Splits `data` into blocks (shorter blocks first), appends each block's Reed–Solomon
    /// codewords, and interleaves: data codewords column by column, then error-correction codewords.
    static func interleavedWithErrorCorrection(_ data: [UInt8], version: Int, correction: ErrorCorrection) -> [UInt8] {
        let blockCount = errorCorrectionBlocks[correction.ordinal][version]
        let eccLength = eccCodewordsPerBlock[correction.ordinal][version]
        let total = totalCodewords(version: version)
        let longBlocks = total % blockCount
        let shortDataLength = total / blockCount - eccLength
        let generator = ReedSolomon.generator(degree: eccLength)

        var dataBlocks: [[UInt8]] = []
        var eccBlocks: [[UInt8]] = []
        var offset = 0
        for index in 0..<blockCount {
            let length = shortDataLength + (index >= blockCount - longBlocks ? 1 : 0)
            let block = Array(data[offset..<offset + length])
            offset += length
            dataBlocks.append(block)
            eccBlocks.append(ReedSolomon.remainder(block, generator: generator))
        }
        var result: [UInt8] = []
        result.reserveCapacity(total)
        for column in 0...shortDataLength {
            for block in dataBlocks where column < block.count { result.append(block[column]) }
        }
        for column in 0..<eccLength {
            for block in eccBlocks { result.append(block[column]) }
        }
        return result
    }

    // MARK: Penalty (7.8.3.1, Table 11)

    /// The penalty score of a masked symbol: N1 runs of five or more same-colour modules in a row
    /// or column (3 + length − 5 each), N2 2×2 blocks of one colour (3 each), N3 dark–light–
    /// dark×3–light–dark with four light modules before or after it in a row or column (40 each;
    /// outside the symbol counts as light), N4 10 per full 5 % the dark share is away from 50 %.
    static func penalty(_ dark: [Bool], size: Int) -> Int {
        penaltyScores(dark, size: size).reduce(0, +)
    }

    /// The four penalty features (N1, N2, N3, N4) separately.
    static func penaltyScores(_ dark: [Bool], size: Int) -> [Int] {
        var n1 = 0, n2 = 0, n3 = 0
        var darkCount = 0
        var line = [Bool](repeating: false, count: size)
        for horizontal in [true, false] {
            for i in 0..<size {
                for j in 0..<size { line[j] = horizontal ? dark[i * size + j] : dark[j * size + i] }
                n1 += runPenalty(line)
                n3 += finderLikePenalty(line)
            }
        }
        for y in 0..<size {
            for x in 0..<size {
                let d = dark[y * size + x]
                if d { darkCount += 1 }
                if x > 0, y > 0,
                   d == dark[y * size + x - 1], d == dark[(y - 1) * size + x], d == dark[(y - 1) * size + x - 1] {
                    n2 += 3
                }
            }
        }
        let total = size * size
        // k = floor(|100·dark/total − 50| / 5), in integers.
        let k = abs(darkCount * 20 - total * 10) / total
        return [n1, n2, n3, 10 * k]
    }

    static func runPenalty(_ line: [Bool]) -> Int {
        var score = 0
        var run = 0
        for (index, module) in line.enumerated() {
            if index > 0, module == line[index - 1] {
                run += 1
            } else {
                if run >= 5 { score += run - 2 }
                run = 1
            }
        }
        if run >= 5 { score += run - 2 }
        return score
    }

    static let finderLike: [Bool] = [true, false, true, true, true, false, true]

    static func finderLikePenalty(_ line: [Bool]) -> Int {
        let n = line.count
        func lightBetween(_ from: Int, _ to: Int) -> Bool {
            // Modules outside the symbol are the light quiet zone.
            var index = max(from, 0)
            while index < min(to, n) {
                if line[index] { return false }
                index += 1
            }
            return true
        }
        var score = 0
        var start = 0
        while start + 7 <= n {
            var matches = true
            for k in 0..<7 where line[start + k] != finderLike[k] { matches = false; break }
            if matches, lightBetween(start - 4, start) || lightBetween(start + 7, start + 11) {
                score += 40
            }
            start += 1
        }
        return score
    }
}

// MARK: - The module grid under construction

/// The symbol while it is built: modules and which of them belong to function patterns or to the
/// reserved format and version areas (those are never data, never masked).
struct QRGrid {
    let version: Int
    let size: Int
    var dark: [Bool]
    var reserved: [Bool]

    init(version: Int) {
        self.version = version
        self.size = 17 + 4 * version
        dark = [Bool](repeating: false, count: size * size)
        reserved = [Bool](repeating: false, count: size * size)
        drawFunctionPatterns()
    }

    mutating func set(_ x: Int, _ y: Int, _ isDark: Bool) {
        dark[y * size + x] = isDark
        reserved[y * size + x] = true
    }

    mutating func reserve(_ x: Int, _ y: Int) { reserved[y * size + x] = true }

    /// Finder patterns with their separators, timing patterns, alignment patterns; format and version
    /// areas and the dark module reserved but left light.
    mutating func drawFunctionPatterns() {
        for i in 0..<size {
            set(6, i, i % 2 == 0)
            set(i, 6, i % 2 == 0)
        }
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 {
                for dx in -4...4 {
                    let x = cx + dx, y = cy + dy
                    guard x >= 0, y >= 0, x < size, y < size else { continue }
                    let ring = max(abs(dx), abs(dy))
                    set(x, y, ring != 2 && ring != 4)
                }
            }
        }
        let centres = QRCode.alignmentPatternCentres(version: version)
        for cy in centres {
            for cx in centres {
                // None over the finder patterns.
                if (cx == 6 && cy == 6) || (cx == 6 && cy == size - 7) || (cx == size - 7 && cy == 6) { continue }
                for dy in -2...2 {
                    for dx in -2...2 { set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1) }
                }
            }
        }
        // Format information: around the top-left finder, and split between the other two.
        for i in 0...8 {
            reserve(8, i)
            reserve(i, 8)
        }
        for i in 0..<8 {
            reserve(size - 1 - i, 8)
            reserve(8, size - 1 - i)
        }
        // Version information: two 6×3 blocks.
        if version >= 7 {
            for i in 0..<6 {
                for j in 0..<3 {
                    reserve(size - 11 + j, i)
                    reserve(i, size - 11 + j)
                }
            }
        }
    }

    /// Places the codeword bits, most significant first, in two-module columns from the right,
    /// alternately upwards and downwards, skipping the vertical timing pattern and reserved
    /// modules; modules left over (remainder bits) stay light.
    mutating func placeCodewords(_ codewords: [UInt8]) {
        let totalBits = codewords.count * 8
        var bit = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            let upwards = (right + 1) & 2 == 0
            for vertical in 0..<size {
                let y = upwards ? size - 1 - vertical : vertical
                for column in 0..<2 {
                    let x = right - column
                    guard !reserved[y * size + x] else { continue }
                    if bit < totalBits {
                        dark[y * size + x] = (codewords[bit >> 3] >> (7 - UInt8(bit & 7))) & 1 == 1
                        bit += 1
                    }
                }
            }
            right -= 2
        }
    }

    /// Inverts every non-reserved module where mask condition `mask` holds (Table 10; i row, j column).
    mutating func applyMask(_ mask: Int) {
        for i in 0..<size {
            for j in 0..<size where !reserved[i * size + j] {
                let invert: Bool
                switch mask {
                case 0: invert = (i + j) % 2 == 0
                case 1: invert = i % 2 == 0
                case 2: invert = j % 3 == 0
                case 3: invert = (i + j) % 3 == 0
                case 4: invert = (i / 2 + j / 3) % 2 == 0
                case 5: invert = (i * j) % 2 + (i * j) % 3 == 0
                case 6: invert = ((i * j) % 2 + (i * j) % 3) % 2 == 0
                default: invert = ((i + j) % 2 + (i * j) % 3) % 2 == 0
                }
                if invert { dark[i * size + j].toggle() }
            }
        }
    }

    /// The 15-bit format information (level, mask, BCH(15,5) with generator 0x537, XOR 0x5412)
    /// in both copies, and the dark module at (8, size − 8).
    mutating func drawFormatInformation(correction: QRCode.ErrorCorrection, mask: Int) {
        let bits = QRCode.formatInformation(correction: correction, mask: mask)
        func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
        // Bits 0–14 by the top-left finder: up column 8 below it, then left along row 8.
        for i in 0...5 { set(8, i, bit(i)) }
        set(8, 7, bit(6))
        set(8, 8, bit(7))
        set(7, 8, bit(8))
        for i in 9..<15 { set(14 - i, 8, bit(i)) }
        // The second copy: row 8 under the top-right finder, column 8 beside the bottom-left one.
        for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
        for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
        set(8, size - 8, true)
    }

    /// The 18-bit version information (version, BCH(18,6) with generator 0x1F25), versions 7 and up.
    mutating func drawVersionInformation() {
        guard version >= 7 else { return }
        let bits = QRCode.versionInformation(version: version)
        for i in 0..<18 {
            let isDark = (bits >> i) & 1 == 1
            let a = size - 11 + i % 3, b = i / 3
            set(a, b, isDark)
            set(b, a, isDark)
        }
    }
}

extension QRCode {
    /// Row and column coordinates of the alignment pattern centres (Annex E).
    static func alignmentPatternCentres(version: Int) -> [Int] {
        guard version >= 2 else { return [] }
        let count = version / 7 + 2
        let step = (version * 8 + count * 3 + 5) / (count * 4 - 4) * 2
        let size = 17 + 4 * version
        var result = [6]
        for i in (0..<(count - 1)).reversed() { result.append(size - 7 - i * step) }
        return result
    }

    static func formatInformation(correction: ErrorCorrection, mask: Int) -> Int {
        let data = correction.formatBits << 3 | mask
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        return (data << 10 | remainder) ^ 0x5412
    }

    static func versionInformation(version: Int) -> Int {
        var remainder = version
        for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
        return version << 12 | remainder
    }
}

// MARK: - Bits and Reed–Solomon over GF(256)

struct QRBitBuffer {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0

    /// Appends the low `count` bits of `value`, most significant first.
    mutating func append(_ value: Int, count bitCount: Int) {
        guard bitCount > 0 else { return }
        for i in stride(from: bitCount - 1, through: 0, by: -1) {
            if count % 8 == 0 { bytes.append(0) }
            if (value >> i) & 1 == 1 { bytes[count / 8] |= 0x80 >> UInt8(count % 8) }
            count += 1
        }
    }
}

/// Reed–Solomon codes over GF(2⁸) with the QR Code field polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D).
enum ReedSolomon {
    /// α^i for i in 0..<255 (α = 2).
    static let exp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 255)
        var x = 1
        for i in 0..<255 {
            table[i] = UInt8(x)
            x <<= 1
            if x & 0x100 != 0 { x ^= 0x11D }
        }
        return table
    }()

    static let log: [Int] = {
        var table = [Int](repeating: 0, count: 256)
        for i in 0..<255 { table[Int(exp[i])] = i }
        return table
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        guard a != 0, b != 0 else { return 0 }
        return exp[(log[Int(a)] + log[Int(b)]) % 255]
    }

    /// The coefficients after the leading 1 of ∏_{i<degree} (x − α^i), highest degree first.
    static func generator(degree: Int) -> [UInt8] {
        var poly: [UInt8] = [1]
        for i in 0..<degree {
            var next = [UInt8](repeating: 0, count: poly.count + 1)
            for (k, c) in poly.enumerated() {
                next[k] ^= c
                next[k + 1] ^= multiply(c, exp[i])
            }
            poly = next
        }
        return Array(poly.dropFirst())
    }

    /// The remainder of data(x) · x^degree divided by the generator: the error-correction codewords.
    static func remainder(_ data: [UInt8], generator: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: generator.count)
        for byte in data {
            let factor = byte ^ result[0]
            result.removeFirst()
            result.append(0)
            for k in 0..<generator.count { result[k] ^= multiply(generator[k], factor) }
        }
        return result
    }
}

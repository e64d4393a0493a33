/// A QR code symbol (ISO/IEC 18004:2015) for the second factor's `otpauth://` URI, drawn on the
/// server so that enrolment works with JavaScript off: byte mode, error correction level M, the
/// smallest of versions 1 to 40 that holds the text, and of the eight masks the one with the
/// lowest penalty (section 7.8.3). Tested module for module against an independent encoder.
struct QRCode: Sendable, Equatable {
    /// The most bytes a code holds: version 40 at level M, in byte mode (2,334 data codewords less
    /// the 20 bits of mode and length).
    static let capacity = 2_331

    /// The version, 1 to 40.
    let version: Int
    /// The mask pattern applied, 0 to 7.
    let mask: Int
    /// Modules per side: 17 + 4 × version.
    let size: Int
    /// The modules, row by row, `true` for dark; without the quiet zone.
    private(set) var modules: [Bool]

    /// Whether the module in column `x`, row `y` (both from 0 at the top left) is dark.
    subscript(x: Int, y: Int) -> Bool { modules[y * size + x] }

    /// Encodes text as its UTF-8 bytes.
    /// - Parameter text: The text, at most `capacity` bytes of UTF-8.
    /// - Returns: `nil` when the text is longer than `capacity` bytes.
    init?(text: String) { self.init(bytes: Array(text.utf8)) }

    /// Encodes bytes in byte mode at level M.
    /// - Parameter bytes: At most `capacity` bytes.
    /// - Returns: `nil` when there are more than `capacity` bytes.
    init?(bytes: [UInt8]) {
        guard let version = (1...40).first(where: { Self.dataCodewords($0) * 8 >= Self.bitLength(bytes, $0) })
        else { return nil }
        var symbol = QRSymbol(version: version)
        symbol.place(Self.interleaved(Self.dataCodewords(for: bytes, version: version), version: version))
        let candidates = (0..<8).map { symbol.masked($0) }
        let penalties = candidates.map(Self.penalty)
        let best = penalties.indices.min { penalties[$0] < penalties[$1] } ?? 0
        self.version = version
        self.mask = best
        self.size = candidates[best].size
        self.modules = candidates[best].dark
    }

    /// Modules per side of the drawn image: the symbol and a quiet zone of four modules around it.
    var side: Int { size + 8 }

    /// The dark modules as SVG path data in the image's coordinates (one unit per module, the
    /// quiet zone included): a rectangle per run of dark modules in a row, `M<x> <y>h<n>v1h-<n>z`.
    var pathData: String {
        var runs: [String] = []
        for y in 0..<size {
            var x = 0
            while x < size {
                guard self[x, y] else {
                    x += 1
                    continue
                }
                var end = x
                while end < size, self[end, y] { end += 1 }
                runs.append("M\(x + 4) \(y + 4)h\(end - x)v1h-\(end - x)z")
                x = end
            }
        }
        return runs.joined()
    }

    // MARK: - Codewords (sections 7.4 and 7.5)

    /// Error correction codewords per block at level M, by version (Table 9).
    static let eccPerBlock = [
        0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28,
        28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    ]
    /// Error correction blocks at level M, by version (Table 9).
    static let blocks = [
        0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29,
        31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
    ]

    /// The codewords a version holds: its modules less the function patterns and format and
    /// version information, in bytes (the remainder bits dropped).
    static func totalCodewords(_ version: Int) -> Int {
        var modules = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignments = version / 7 + 2
            modules -= (25 * alignments - 10) * alignments - 55
            if version >= 7 { modules -= 36 }
        }
        return modules / 8
    }

    /// The data codewords of a version at level M.
    static func dataCodewords(_ version: Int) -> Int {
        totalCodewords(version) - eccPerBlock[version] * blocks[version]
    }

    /// The bits of the segment: mode indicator, character count (8 bits before version 10, 16
    /// from it) and the bytes.
    static func bitLength(_ bytes: [UInt8], _ version: Int) -> Int {
        guard bytes.count < (version < 10 ? 256 : 65_536) else { return .max }
        return 4 + (version < 10 ? 8 : 16) + 8 * bytes.count
    }

    /// The data codewords: the segment, a terminator of up to four zero bits, zero bits to a byte
    /// boundary, then the pad codewords 0xEC and 0x11 in turn (section 7.4.10).
    static func dataCodewords(for bytes: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, version < 10 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        let capacity = dataCodewords(version) * 8
        append(0, min(4, capacity - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var codewords = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while codewords.count < dataCodewords(version) {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    /// Splits the data into blocks, adds each block's Reed-Solomon codewords, and interleaves
    /// them: the data codewords column by column, then the error correction codewords.
    static func interleaved(_ data: [UInt8], version: Int) -> [UInt8] {
        let count = blocks[version]
        let ecc = eccPerBlock[version]
        let total = totalCodewords(version)
        let shortBlocks = count - total % count
        let shortLength = total / count - ecc
        var dataBlocks: [[UInt8]] = []
        var start = 0
        for index in 0..<count {
            let length = shortLength + (index < shortBlocks ? 0 : 1)
            dataBlocks.append(Array(data[start..<start + length]))
            start += length
        }
        let divisor = ReedSolomon.generator(degree: ecc)
        let eccBlocks = dataBlocks.map { ReedSolomon.remainder($0, divisor: divisor) }
        var result: [UInt8] = []
        for column in 0...shortLength {
            for block in dataBlocks where column < block.count { result.append(block[column]) }
        }
        for column in 0..<ecc {
            for block in eccBlocks { result.append(block[column]) }
        }
        return result
    }

    // MARK: - Masking (section 7.8)

    /// Whether mask `mask` inverts the module at column `x`, row `y` (Table 10).
    static func inverts(_ mask: Int, _ x: Int, _ y: Int) -> Bool {
        switch mask {
        case 0: (x + y) % 2 == 0
        case 1: y % 2 == 0
        case 2: x % 3 == 0
        case 3: (x + y) % 3 == 0
        case 4: (x / 3 + y / 2) % 2 == 0
        case 5: x * y % 2 + x * y % 3 == 0
        case 6: (x * y % 2 + x * y % 3) % 2 == 0
        default: ((x + y) % 2 + x * y % 3) % 2 == 0
        }
    }

    /// The penalty of a masked symbol (section 7.8.3): runs of five or more modules of one colour
    /// in a row or column (3, plus 1 per module beyond five), 2 × 2 blocks of one colour (3 each),
    /// the finder-like pattern 1:1:3:1:1 with four light modules on one side (40 each), and the
    /// share of dark modules away from half (10 per 5%).
    static func penalty(_ symbol: QRSymbol) -> Int {
        let size = symbol.size
        var score = 0
        for line in 0..<size {
            for horizontal in [true, false] {
                let at = { (index: Int) in horizontal ? symbol[index, line] : symbol[line, index] }
                var run = 1
                for index in 1...size {
                    if index < size, at(index) == at(index - 1) {
                        run += 1
                    } else {
                        if run >= 5 { score += run - 2 }
                        run = 1
                    }
                }
                for index in 0..<size where index + 7 <= size {
                    guard at(index), !at(index + 1), at(index + 2), at(index + 3), at(index + 4), !at(index + 5),
                        at(index + 6)
                    else { continue }
                    let lightBefore = index >= 4 && (index - 4..<index).allSatisfy { !at($0) }
                    let lightAfter = index + 11 <= size && (index + 7..<index + 11).allSatisfy { !at($0) }
                    if lightBefore || lightAfter { score += 40 }
                }
            }
        }
        for y in 0..<size - 1 {
            for x in 0..<size - 1 {
                let colour = symbol[x, y]
                if symbol[x + 1, y] == colour, symbol[x, y + 1] == colour, symbol[x + 1, y + 1] == colour {
                    score += 3
                }
            }
        }
        let dark = symbol.dark.count { $0 }
        let total = size * size
        score += abs(dark * 20 - total * 10) / total * 10
        return score
    }
}

/// Reed-Solomon error correction over GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1
/// (ISO/IEC 18004 section 7.5.2).
enum ReedSolomon {
    /// The product of two field elements.
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var product = 0
        for bit in stride(from: 7, through: 0, by: -1) {
            product = (product << 1) ^ ((product >> 7) * 0x11D)
            product ^= ((Int(b) >> bit) & 1) * Int(a)
        }
        return UInt8(product & 0xFF)
    }

    /// The generator polynomial of a degree, (x − α^0)(x − α^1)…, its coefficients from the
    /// highest power down, the leading 1 left out.
    static func generator(degree: Int) -> [UInt8] {
        var coefficients = [UInt8](repeating: 0, count: degree)
        coefficients[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for index in 0..<degree {
                coefficients[index] = multiply(coefficients[index], root)
                if index + 1 < degree { coefficients[index] ^= coefficients[index + 1] }
            }
            root = multiply(root, 0x02)
        }
        return coefficients
    }

    /// The remainder of the data, as a polynomial times x^degree, divided by the generator.
    static func remainder(_ data: [UInt8], divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for byte in data {
            let factor = byte ^ result.removeFirst()
            result.append(0)
            for index in divisor.indices { result[index] ^= multiply(divisor[index], factor) }
        }
        return result
    }
}

/// A symbol being built: its modules, and which of them belong to function patterns (finders,
/// separators, timing, alignment, format and version information), which data and masks skip.
struct QRSymbol: Sendable {
    let size: Int
    var dark: [Bool]
    var function: [Bool]

    subscript(x: Int, y: Int) -> Bool { dark[y * size + x] }

    /// A symbol with its function patterns drawn and the format information reserved.
    init(version: Int) {
        size = 17 + 4 * version
        dark = Array(repeating: false, count: size * size)
        function = dark
        for index in 0..<size {
            set(6, index, index % 2 == 0)
            set(index, 6, index % 2 == 0)
        }
        for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 {
                for dx in -4...4 where (0..<size).contains(x + dx) && (0..<size).contains(y + dy) {
                    let distance = max(abs(dx), abs(dy))
                    set(x + dx, y + dy, distance != 2 && distance != 4)
                }
            }
        }
        let centres = Self.alignmentCentres(version: version, size: size)
        for (i, x) in centres.enumerated() {
            for (j, y) in centres.enumerated() {
                let last = centres.count - 1
                if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                for dy in -2...2 {
                    for dx in -2...2 { set(x + dx, y + dy, max(abs(dx), abs(dy)) != 1) }
                }
            }
        }
        drawFormat(mask: 0)
        if version >= 7 {
            var remainder = version
            for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
            let bits = version << 12 | remainder
            for index in 0..<18 {
                let bit = (bits >> index) & 1 == 1
                set(size - 11 + index % 3, index / 3, bit)
                set(index / 3, size - 11 + index % 3, bit)
            }
        }
    }

    /// The rows and columns of the alignment patterns' centres (Annex E): 6, then evenly spaced
    /// up to `size` − 7.
    static func alignmentCentres(version: Int, size: Int) -> [Int] {
        guard version >= 2 else { return [] }
        let count = version / 7 + 2
        let step = (version * 8 + count * 3 + 5) / (count * 4 - 4) * 2
        return [6] + (1..<count).map { size - 7 - (count - 1 - $0) * step }
    }

    private mutating func set(_ x: Int, _ y: Int, _ isDark: Bool) {
        dark[y * size + x] = isDark
        function[y * size + x] = true
    }

    /// Draws both copies of the format information: level M (00) and the mask, BCH-coded and
    /// XORed with 101010000010010 (section 7.9), and the dark module.
    mutating func drawFormat(mask: Int) {
        let data = mask
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        let bits = (data << 10 | remainder) ^ 0x5412
        let bit = { (index: Int) in (bits >> index) & 1 == 1 }
        for index in 0..<6 { set(8, index, bit(index)) }
        set(8, 7, bit(6))
        set(8, 8, bit(7))
        set(7, 8, bit(8))
        for index in 9..<15 { set(14 - index, 8, bit(index)) }
        for index in 0..<8 { set(size - 1 - index, 8, bit(index)) }
        for index in 8..<15 { set(8, size - 15 + index, bit(index)) }
        set(8, size - 8, true)
    }

    /// Places the codewords, most significant bit first, in two-module columns from the bottom
    /// right, upwards and downwards in turn, skipping the vertical timing pattern (section 7.7.3).
    mutating func place(_ codewords: [UInt8]) {
        var index = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            for vertical in 0..<size {
                for column in 0..<2 {
                    let x = right - column
                    let y = (right + 1) & 2 == 0 ? size - 1 - vertical : vertical
                    guard !function[y * size + x], index < codewords.count * 8 else { continue }
                    dark[y * size + x] = (codewords[index >> 3] >> (7 - index & 7)) & 1 == 1
                    index += 1
                }
            }
            right -= 2
        }
    }

    /// This symbol with a mask applied to the data modules and its format information drawn.
    func masked(_ mask: Int) -> QRSymbol {
        var result = self
        for y in 0..<size {
            for x in 0..<size where !function[y * size + x] && QRCode.inverts(mask, x, y) {
                result.dark[y * size + x].toggle()
            }
        }
        result.drawFormat(mask: mask)
        return result
    }
}

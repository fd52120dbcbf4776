/// An 8-bit RGB image, rows top to bottom, three bytes per pixel.
public struct RGBImage: Hashable, Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public let pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) throws(LibvirtError) {
        guard width > 0, height > 0, pixels.count == width * height * 3 else {
            throw Self.bad("\(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Decodes a binary PPM (`P6`), as qemu's `screendump` writes it: the header is `P6`, width,
    /// height and maximum value as ASCII decimals separated by whitespace (with `#` comments),
    /// then one whitespace byte and the raster. Maximum values other than 255 are rescaled;
    /// 16-bit samples (maximum above 255) are big-endian (netpbm's ppm(5)).
    public init(ppm bytes: [UInt8]) throws(LibvirtError) {
        var at = 0
        func skipSpaceAndComments() {
            while at < bytes.count {
                if bytes[at] == UInt8(ascii: "#") {
                    while at < bytes.count, bytes[at] != 0x0A { at += 1 }
                } else if Self.isSpace(bytes[at]) {
                    at += 1
                } else {
                    return
                }
            }
        }
        func number() throws(LibvirtError) -> Int {
            skipSpaceAndComments()
            var value = 0, digits = 0
            while at < bytes.count, (0x30...0x39).contains(bytes[at]), digits < 9 {
                value = value * 10 + Int(bytes[at] - 0x30)
                at += 1
                digits += 1
            }
            guard digits > 0 else { throw Self.bad("expected a number at byte \(at)") }
            return value
        }
        guard bytes.starts(with: [UInt8(ascii: "P"), UInt8(ascii: "6")]) else {
            throw Self.bad("not a binary PPM (no P6 magic)")
        }
        at = 2
        let width = try number(), height = try number(), maxValue = try number()
        guard (1...65535).contains(maxValue) else { throw Self.bad("maximum value \(maxValue) out of range") }
        guard at < bytes.count, Self.isSpace(bytes[at]) else { throw Self.bad("no whitespace after the header") }
        at += 1
        let sampleSize = maxValue > 255 ? 2 : 1
        let samples = width * height * 3
        guard width > 0, height > 0, bytes.count - at >= samples * sampleSize else {
            throw Self.bad("\(width)x\(height) raster needs \(samples * sampleSize) bytes, \(bytes.count - at) present")
        }
        var pixels = [UInt8](repeating: 0, count: samples)
        for i in 0..<samples {
            let value = sampleSize == 1 ? Int(bytes[at + i]) : Int(bytes[at + 2 * i]) << 8 | Int(bytes[at + 2 * i + 1])
            pixels[i] = maxValue == 255 ? UInt8(value) : UInt8(min(value, maxValue) * 255 / maxValue)
        }
        try self.init(width: width, height: height, pixels: pixels)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }

    private static func bad(_ message: String) -> LibvirtError {
        LibvirtError(code: .unsupportedImage, message: message, operation: "RGBImage(ppm:)")
    }
}

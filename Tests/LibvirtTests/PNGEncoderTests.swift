import Foundation
import Libvirt
import Testing
import TestSupport

@Suite("Libvirt: PPM decoding and PNG encoding (no daemon)")
struct PNGEncoderTests {
    /// A gradient big enough to need several stored deflate blocks (> 65,535 bytes of scanlines).
    static func gradient(width: Int = 300, height: Int = 100) throws -> RGBImage {
        var pixels = [UInt8]()
        for y in 0..<height {
            for x in 0..<width { pixels += [UInt8(x & 0xFF), UInt8(y & 0xFF), UInt8((x ^ y) & 0xFF)] }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    @Test("the encoder's PNG is what file(1) and Python's zlib say it is, pixel for pixel")
    func encodesValidPNG() throws {
        let image = try Self.gradient()
        let png = PNGEncoder.encode(image)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        let folder = TempDir("png")
        let path = folder.file("g.png")
        try Data(png).write(to: URL(fileURLWithPath: path))
        #expect(PNGCheck.fileSays(path).contains("PNG image data, 300 x 100, 8-bit/color RGB, non-interlaced"))
        #expect(PNGCheck.pythonDecodes(path) == image.pixels)
    }

    @Test("a 1x1 image and a PPM with comments and odd whitespace")
    func tinyAndComments() throws {
        let ppm = Array("P6\n# made by hand\n1 # width\n1\n255\n".utf8) + [10, 20, 30]
        let image = try RGBImage(ppm: ppm)
        #expect(image.width == 1 && image.height == 1 && image.pixels == [10, 20, 30])
        let folder = TempDir("png")
        let path = folder.file("one.png")
        try Data(Screenshot(bytes: ppm, mimeType: "image/x-portable-pixmap").pngBytes()).write(to: URL(fileURLWithPath: path))
        #expect(PNGCheck.pythonDecodes(path) == [10, 20, 30])
    }

    @Test("16-bit and low maximum values are rescaled to 8 bits")
    func rescales() throws {
        let wide = try RGBImage(ppm: Array("P6 1 1 65535\n".utf8) + [0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00])
        #expect(wide.pixels == [255, 127, 0])
        let low = try RGBImage(ppm: Array("P6 1 1 15\n".utf8) + [15, 0, 5])
        #expect(low.pixels == [255, 0, 85])
    }

    @Test("a PNG screenshot passes through untouched")
    func passThrough() throws {
        let png = PNGEncoder.encode(try Self.gradient(width: 2, height: 2))
        let shot = Screenshot(bytes: png, mimeType: "image/png")
        #expect(shot.isPNG)
        #expect(try shot.pngBytes() == png)
    }

    @Test("malformed PPMs are precise errors", arguments: [
        ("P3 1 1 255\n1 2 3", "no P6 magic"),
        ("P6 2 2 255\n", "raster needs 12 bytes"),
        ("P6 1 1 0\n", "maximum value 0"),
        ("P6 x 1 255\n", "expected a number"),
        ("P6 1 1 255", "no whitespace after the header"),
    ])
    func malformed(text: String, expected: String) throws {
        let error = try #require(throws: LibvirtError.self) { try RGBImage(ppm: Array(text.utf8)) }
        #expect(error.code == .unsupportedImage)
        #expect(error.message.contains(expected), "\(error.message)")
    }
}

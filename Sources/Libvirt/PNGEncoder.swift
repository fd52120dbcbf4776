/// A minimal PNG writer for screenshots: 8-bit truecolour, no interlace, filter type 0 (None) on
/// every row, and the zlib stream made of stored (uncompressed) deflate blocks. Larger than a
/// compressed PNG, but valid for every reader and free of a C dependency.
///
/// References: PNG (W3C, 3rd ed.) §5.2 signature, §5.3 chunk layout and CRC, §11.2.2 IHDR;
/// RFC 1950 (zlib header, Adler-32) and RFC 1951 §3.2.4 (stored blocks).
public enum PNGEncoder {
    /// The eight bytes every PNG starts with (PNG §5.2).
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The largest payload of one stored deflate block (its LEN field is 16 bits).
    static let storedBlockLimit = 65_535

    /// Encodes `image` as a PNG file.
    public static func encode(_ image: RGBImage) -> [UInt8] {
        let rowBytes = image.width * 3
        var scanlines = [UInt8]()
        scanlines.reserveCapacity((rowBytes + 1) * image.height)
        for row in 0..<image.height {
            scanlines.append(0) // filter type None
            scanlines.append(contentsOf: image.pixels[row * rowBytes ..< (row + 1) * rowBytes])
        }

        var header = [UInt8]()
        header.appendBigEndian(UInt32(image.width))
        header.appendBigEndian(UInt32(image.height))
        header += [8, 2, 0, 0, 0] // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace

        var file = signature
        appendChunk("IHDR", header, to: &file)
        appendChunk("IDAT", zlibStored(scanlines), to: &file)
        appendChunk("IEND", [], to: &file)
        return file
    }

    /// A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4).
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01] // CM 8 (deflate), 32 KiB window, FCHECK making it a multiple of 31
        var start = 0
        repeat {
            let end = min(start + storedBlockLimit, data.count)
            let length = UInt16(end - start)
            out.append(end == data.count ? 1 : 0) // BFINAL, BTYPE 00 (stored), padded to the byte
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            out.append(contentsOf: data[start..<end])
            start = end
        } while start < data.count
        out.appendBigEndian(adler32(data))
        return out
    }

    /// Adler-32 (RFC 1950 §8.2).
    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        // 5552 is the longest run that cannot overflow 32 bits before the modulo (as zlib's NMAX).
        var index = 0
        while index < data.count {
            let end = min(index + 5552, data.count)
            for i in index..<end {
                a &+= UInt32(data[i])
                b &+= a
            }
            a %= 65521
            b %= 65521
            index = end
        }
        return b << 16 | a
    }

    /// CRC-32 as PNG defines it (PNG Annex D: polynomial 0xEDB88320, reflected, inverted).
    static func crc32<S: Sequence<UInt8>>(_ bytes: S) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return ~crc
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Length, type, data, CRC over type and data (PNG §5.3).
    private static func appendChunk(_ type: String, _ data: [UInt8], to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        file.appendBigEndian(UInt32(data.count))
        file += typeBytes
        file += data
        file.appendBigEndian(crc32(typeBytes + data))
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }
}

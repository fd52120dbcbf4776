import Foundation
import TestSupport

/// Independent checks of PNG files: `file(1)` and a decoder written with Python's zlib.
enum PNGCheck {
    static func fileSays(_ path: String) -> String {
        shell("file -b '\(path)'").output
    }

    /// The RGB pixels of an 8-bit truecolour, non-interlaced PNG whose rows all use filter 0
    /// (what our encoder writes), decoded by Python's zlib with CRCs checked; nil if anything is off.
    static func pythonDecodes(_ path: String) -> [UInt8]? {
        python(path, strict: true).map { [UInt8]($0) }
    }

    /// Whether any 8-bit truecolour PNG (a foreign one, whose rows may use any filter) has valid
    /// chunks and CRCs and a zlib stream that inflates to exactly its scanlines.
    static func pythonValidates(_ path: String) -> Bool {
        python(path, strict: false) != nil
    }

    private static func python(_ path: String, strict: Bool) -> Data? {
        let script = """
            import sys, struct, zlib
            d = open(sys.argv[1], 'rb').read()
            assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'signature'
            i, idat, ihdr = 8, b'', None
            while i < len(d):
                n, = struct.unpack('>I', d[i:i+4]); t = d[i+4:i+8]; body = d[i+8:i+8+n]
                assert struct.unpack('>I', d[i+8+n:i+12+n])[0] == zlib.crc32(t + body), 'crc of ' + t.decode()
                if t == b'IHDR': ihdr = struct.unpack('>IIBBBBB', body)
                if t == b'IDAT': idat += body
                i += 12 + n
                if t == b'IEND': break
            assert i == len(d), 'trailing bytes'
            w, h, depth, colour, comp, filt, inter = ihdr
            assert (depth, colour, comp, filt, inter) == (8, 2, 0, 0, 0), ihdr
            strict = sys.argv[2] == 'strict'
            raw = zlib.decompress(idat)
            assert len(raw) == h * (1 + 3 * w), 'size'
            out = bytearray()
            for r in range(h):
                row = raw[r * (1 + 3 * w):(r + 1) * (1 + 3 * w)]
                assert row[0] == 0 or (not strict and row[0] <= 4), 'filter'
                out += row[1:]
            sys.stdout.buffer.write(bytes(out))
            """
        let folder = TempDir("pngcheck")
        let scriptFile = folder.file("check.py"), output = folder.file("pixels")
        try? script.write(toFile: scriptFile, atomically: true, encoding: .utf8)
        let r = shell("python3 '\(scriptFile)' '\(path)' \(strict ? "strict" : "any") > '\(output)' 2>&1")
        guard r.status == 0 else { return nil }
        return try? Data(contentsOf: URL(fileURLWithPath: output))
    }

    /// qemu's own screendump (PPM by default) of a running domain, via the monitor.
    static func qemuScreendumpPPM(domain: String) throws -> [UInt8] {
        // qemu runs as libvirt-qemu and writes the file itself, so its folder must be writable by it.
        let folder = TempDir("screendump")
        chmod(folder.path, 0o777)
        let path = folder.file("screen.ppm")
        let r = shell("virsh -c qemu:///system qemu-monitor-command '\(domain)' --hmp 'screendump \(path)' 2>&1")
        guard r.status == 0, let data = FileManager.default.contents(atPath: path) else {
            throw CLIError(message: "screendump failed: \(r.output)")
        }
        return [UInt8](data)
    }
}

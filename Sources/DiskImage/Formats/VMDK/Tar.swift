import BlockStore
import Core

extension VMDK {
    /// The ustar archive format (POSIX.1-1988 `ustar`, as OVF 1.0 prescribes for OVA), just what
    /// an OVA needs: regular-file headers to write, and a member list to read back.
    ///
    /// Header (512 B): name @0 (100), mode @100 (8), uid @108, gid @116, size @124 (12), mtime
    /// @136 (12), checksum @148 (8), type @156 ('0' file), linkname @157, magic "ustar\0" @257,
    /// version "00" @263, uname @265 (32), gname @297 (32), devmajor/minor @329/@337, prefix @345.
    /// Numbers are octal text; a size of 8 GiB or more is stored as GNU/star base-256 (first byte
    /// 0x80, then the value big-endian), which GNU tar, bsdtar and Python read.
    enum Tar {
        static let block = 512
        static let magic: [UInt8] = Array("ustar\0".utf8)

        static func header(name: String, size: Int64, mtime: Int64) -> [UInt8] {
            var h = [UInt8](repeating: 0, count: block)
            func text(_ s: String, at offset: Int, length: Int) {
                for (i, byte) in s.utf8.prefix(length).enumerated() { h[offset + i] = byte }
            }
            func octal(_ value: Int64, at offset: Int, length: Int) {
                let digits = String(value, radix: 8)
                text(String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits, at: offset, length: length - 1)
            }
            text(name, at: 0, length: 100)
            octal(0o644, at: 100, length: 8)
            octal(0, at: 108, length: 8)
            octal(0, at: 116, length: 8)
            if size < Int64(1) << 33 {
                octal(size, at: 124, length: 12)
            } else {
                h[124] = 0x80
                for i in 0..<8 { h[135 - i] = UInt8(truncatingIfNeeded: size >> (8 * i)) }
            }
            octal(mtime, at: 136, length: 12)
            h[156] = UInt8(ascii: "0")
            h.replaceSubrange(257..<263, with: magic)
            text("00", at: 263, length: 2)
            text("root", at: 265, length: 32)
            text("root", at: 297, length: 32)
            // Checksum: byte sum with the field as blanks, six octal digits, NUL, blank.
            for i in 148..<156 { h[i] = 0x20 }
            let sum = h.reduce(0) { $0 + Int64($1) }
            octal(sum, at: 148, length: 7)
            h[154] = 0
            h[155] = 0x20
            return h
        }

        struct Member {
            var name: String
            var offset: Int64   // of the data
            var size: Int64
        }

        /// True if `bytes` start with a ustar header whose checksum is right.
        static func isArchive(_ bytes: [UInt8]) -> Bool {
            guard bytes.count >= block, Array(bytes[257..<262]) == Array(magic[0..<5]) else { return false }
            return checksumMatches(Array(bytes[0..<block]))
        }

        static func checksumMatches(_ h: [UInt8]) -> Bool {
            var copy = h
            for i in 148..<156 { copy[i] = 0x20 }
            return number(h, at: 148, length: 8) == copy.reduce(0) { $0 + Int64($1) }
        }

        /// The regular files of an archive, in order (at most `limit` of them).
        static func members(of file: any ImageFile, limit: Int = 16) throws -> [Member] {
            var out: [Member] = []
            var at: Int64 = 0
            while out.count < limit, at + Int64(block) <= file.size {
                let h = try file.read(block, at: at)
                if h.allSatisfy({ $0 == 0 }) { break }
                guard checksumMatches(h) else {
                    throw UnderstudyError(.unsupported, "\(file.path): bad tar header checksum at offset \(at)", at: .init(offset: at, path: file.path))
                }
                let size = number(h, at: 124, length: 12)
                guard let end = Binary.end(at + Int64(block), size, within: file.size) else {
                    throw UnderstudyError(.unsupported, "\(file.path): tar member at offset \(at) claims \(size) bytes, past the archive's end \(file.size)",
                                     at: .init(offset: at, path: file.path))
                }
                var name = string(h, at: 0, length: 100)
                let prefix = string(h, at: 345, length: 155)
                if !prefix.isEmpty { name = prefix + "/" + name }
                if h[156] == UInt8(ascii: "0") || h[156] == 0 {
                    out.append(Member(name: name, offset: at + Int64(block), size: size))
                }
                at = Binary.alignUp(end, Int64(block))
            }
            return out
        }

        static func string(_ h: [UInt8], at offset: Int, length: Int) -> String {
            let field = h[offset..<(offset + length)]
            return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
        }

        /// An octal field, or a base-256 one (high bit of the first byte set).
        static func number(_ h: [UInt8], at offset: Int, length: Int) -> Int64 {
            if h[offset] & 0x80 != 0 {
                return h[(offset + 1)..<(offset + length)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            }
            var value: Int64 = 0
            for byte in h[offset..<(offset + length)] {
                if byte == 0x20 && value == 0 { continue }
                guard byte >= 0x30 && byte <= 0x37 else { break }
                value = value * 8 + Int64(byte - 0x30)
            }
            return value
        }
    }
}

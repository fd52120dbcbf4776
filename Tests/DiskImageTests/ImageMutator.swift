import BlockStore
@testable import DiskImage
import Foundation
import TestSupport
import Core

/// A seeded mutation fuzzer for image files, in the manner of AFL's havoc stage: a few edits per
/// mutant (bit flips, random bytes, "interesting" integers in either byte order, small
/// arithmetic, copied and zeroed runs, now and then a cut or an extension), aimed mostly at the
/// image's metadata, and half the time the format's checksums made right again so the edit
/// reaches the code past the checksum test. Mutant `n` of a seed is always the same bytes.
struct ImageMutator {
    let seed: [UInt8]
    /// Byte ranges holding the format's metadata (headers, tables): three edits in four land there.
    let hot: [Range<Int>]
    /// Recomputes the checksums the format carries (VHD footer and header, VHDX CRC-32C).
    let reseal: @Sendable (inout [UInt8]) -> Void

    init(seed: [UInt8], kind: FormatCase) throws {
        self.seed = seed
        (hot, reseal) = try Self.shape(of: seed, kind: kind)
    }

    func mutant(_ n: Int, base: UInt64) -> [UInt8] {
        var rng = SeededRandom(seed: base &+ UInt64(n) &* 0x9E37_79B9)
        var b = seed
        for _ in 0...(rng.next() % 4) { edit(&b, &rng) }
        switch rng.next() % 40 {
        case 0: b.removeLast(Int(rng.next() % UInt64(b.count)))
        case 1: b += [UInt8](repeating: 0, count: Int(rng.next() % 65536))
        default: break
        }
        if rng.next() % 2 == 0 { reseal(&b) }
        return b
    }

    private func position(_ count: Int, _ rng: inout SeededRandom) -> Int {
        let ranges = hot.compactMap { r -> Range<Int>? in r.clamped(to: 0..<count).isEmpty ? nil : r.clamped(to: 0..<count) }
        if rng.next() % 4 != 0, !ranges.isEmpty {
            let r = ranges[Int(rng.next() % UInt64(ranges.count))]
            return r.lowerBound + Int(rng.next() % UInt64(r.count))
        }
        return Int(rng.next() % UInt64(count))
    }

    private func interesting(_ count: Int, _ rng: inout SeededRandom) -> UInt64 {
        let values: [UInt64] = [0, 1, 2, 7, 0x1FF, 0x200, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000,
                                0xFFFF_FFFF, 0x1_0000_0000, 1 << 62, 1 << 63, .max, .max - 1, UInt64(Int64.max),
                                UInt64(count), UInt64(count / 512), UInt64(count) + 512, UInt64(count / 512) + 1]
        return values[Int(rng.next() % UInt64(values.count))]
    }

    private func edit(_ b: inout [UInt8], _ rng: inout SeededRandom) {
        guard !b.isEmpty else { return }
        let at = position(b.count, &rng)
        let width = [1, 2, 4, 8][Int(rng.next() % 4)]
        let bigEndian = rng.next() % 2 == 0
        func store(_ value: UInt64) {
            for i in 0..<width where at + i < b.count {
                let shift = UInt64(8 * (bigEndian ? width - 1 - i : i))
                b[at + i] = UInt8(truncatingIfNeeded: value >> shift)
            }
        }
        func load() -> UInt64 {
            var v: UInt64 = 0
            for i in 0..<width where at + i < b.count { v |= UInt64(b[at + i]) << UInt64(8 * (bigEndian ? width - 1 - i : i)) }
            return v
        }
        switch rng.next() % 7 {
        case 0: b[at] ^= 1 << UInt8(rng.next() % 8)
        case 1: b[at] = UInt8(truncatingIfNeeded: rng.next())
        case 2, 3: store(interesting(b.count, &rng))
        case 4: store(load() &+ (rng.next() % 2 == 0 ? 1 : UInt64.max) &* (1 + rng.next() % 35))
        case 5:
            let n = min(b.count - at, 1 + Int(rng.next() % 64))
            let from = Int(rng.next() % UInt64(b.count - n + 1))
            b.replaceSubrange(at..<(at + n), with: Array(b[from..<(from + n)]))
        default:
            let n = min(b.count - at, 1 + Int(rng.next() % 4096))
            b.replaceSubrange(at..<(at + n), with: [UInt8](repeating: 0, count: n))
        }
    }

    /// Where a kind keeps its metadata, read from the seed with our own parsers.
    private static func shape(of seed: [UInt8], kind: FormatCase) throws -> ([Range<Int>], @Sendable (inout [UInt8]) -> Void) {
        let file = MemoryImageFile(seed)
        let size = seed.count
        switch kind.format {
        case "qcow2":
            guard let h = QCOW2Header.decode(seed) else { throw CLIError(message: "the qcow2 seed has no header") }
            let c = Int(h.clusterSize)
            var hot = [0..<4096, Int(h.l1TableOffset)..<(Int(h.l1TableOffset) + Int(h.l1Size) * 8),
                       Int(h.refcountTableOffset)..<(Int(h.refcountTableOffset) + Int(h.refcountTableClusters) * c)]
            for i in 0..<Int(h.l1Size) {
                let l2 = Int(Binary.loadBE(UInt64.self, seed, Int(h.l1TableOffset) + i * 8) & QCOW2Header.offsetMask)
                if l2 != 0 { hot.append(l2..<(l2 + c)) }
            }
            let block = Int(Binary.loadBE(UInt64.self, seed, Int(h.refcountTableOffset)))
            hot.append(block..<(block + c))
            return (hot, { _ in })
        case "vmdk":
            let extent = try VMDK.Extent(file)
            var hot = [0..<65536, max(0, size - 65536)..<size]
            if !extent.header.isCompressed { hot.append(0..<(Int(extent.header.overhead) * 512)) }
            return (hot, { _ in })
        case "vhd":
            let image = try VHDImage.read(file)
            var hot = [(size - 512)..<size]
            if let header = image.header {
                hot.append(0..<(Int(header.tableOffset) + Int(header.tableBytes)))
                for entry in image.bat where entry != VHDSpec.unallocated { hot.append((Int(entry) * 512)..<(Int(entry) * 512 + 512)) }
            }
            return (hot, { b in
                for at in [0, b.count - 512] where at >= 0 && at + 512 <= b.count && b[at..<(at + 8)].elementsEqual(VHDSpec.footerCookie) {
                    Binary.storeBE(VHDFooter.expectedChecksum(of: Array(b[at..<(at + 512)])), &b, at + 64)
                }
                if b.count >= 512 + 1024, b[512..<520].elementsEqual(VHDSpec.dynamicCookie) {
                    Binary.storeBE(VHDDynamicHeader.expectedChecksum(of: Array(b[512..<1536])), &b, 512 + 36)
                }
            })
        default:
            let image = try VHDXImage.read(file)
            let bat = Int(image.batRegion.fileOffset)
            let hot = [0..<(320 << 10), (1 << 20)..<((1 << 20) + 4096), Int(image.metadataRegion.fileOffset)..<(Int(image.metadataRegion.fileOffset) + 65536 + 64),
                       bat..<(bat + image.bat.count * 8)]
            return (hot, { b in
                let sealed = VHDXSpec.headerOffsets.map { (Int($0), VHDXSpec.headerSize) } + VHDXSpec.regionTableOffsets.map { (Int($0), VHDXSpec.regionTableSize) }
                for (at, count) in sealed where at + count <= b.count {
                    Binary.storeLE(CRC32C.checksum(Array(b[at..<(at + count)]), zeroing: 4), &b, at + 4)
                }
            })
        }
    }
}

/// An image held in memory: mutants are read by the formats without touching the disk.
final class MemoryImageFile: ImageFile {
    var bytes: [UInt8]
    let path: String
    init(_ bytes: [UInt8], path: String = "mutant") { self.bytes = bytes; self.path = path }
    var size: Int64 { Int64(bytes.count) }

    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
        guard offset >= 0, offset < size, count > 0 else { return 0 }
        let n = min(count, bytes.count - Int(offset))
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + Int(offset), byteCount: n) }
        return n
    }

    func write(_ data: UnsafeRawBufferPointer, at offset: Int64) throws {
        throw UnderstudyError(.unsupported, "\(path) is read-only")
    }

    func truncate(to size: Int64) throws { throw UnderstudyError(.unsupported, "\(path) is read-only") }
}

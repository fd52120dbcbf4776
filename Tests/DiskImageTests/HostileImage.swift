import BlockStore
import Capture
@testable import DiskImage
import Foundation
import TestSupport
import Core

/// Small images of every kind, and the edits a damaged or hostile file carries: one field set
/// in place, checksums made right again so the reader cannot refuse the file at its first test.
enum HostileImage {
    /// Every kind we write, raw aside (it has no structure to damage).
    static var kinds: [FormatCase] { FormatCase.all.filter { $0.format != "raw" } }

    /// A store holding machine `m` with two points of a 6 MiB disk (B differs from A in a few
    /// places), and an image of `c` built at A.
    struct Fixture {
        let dir: TempDir
        let store: Store
        let a: RecoveryPoint
        let b: RecoveryPoint
        let image: String
    }

    static func fixture(_ c: FormatCase, seed: UInt64 = 901, label: String = "hostile") throws -> Fixture {
        let dir = TempDir(label)
        let store = try Store(path: dir.file("store"), create: true)
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 6 << 20, seed: seed, regions: 3)
        let a = try Capturer.capture(store: store, machine: "m", source: SourceDisk(disk))
        try Disks.mutate(disk, seed: seed + 1, writes: 4)
        let b = try Capturer.capture(store: store, machine: "m", source: SourceDisk(disk))
        let image = dir.file("image.\(c.format)")
        _ = try ImageBuilder.build(store: store, point: a, to: image, options: c.options())
        return Fixture(dir: dir, store: store, a: a, b: b, image: image)
    }

    static func read(_ path: String, at offset: Int64, count: Int) throws -> [UInt8] {
        try PlainImageFile(readingFrom: path).read(count, at: offset)
    }

    static func write(_ path: String, at offset: Int64, _ bytes: [UInt8]) throws {
        let file = try FileDescriptor(path: path, flags: O_RDWR)
        try bytes.withUnsafeBytes { try file.write($0, at: offset) }
    }

    static func put<T: FixedWidthInteger>(_ path: String, at offset: Int64, _ value: T, bigEndian: Bool) throws {
        var bytes = [UInt8](repeating: 0, count: MemoryLayout<T>.size)
        if bigEndian { Binary.storeBE(value, &bytes, 0) } else { Binary.storeLE(value, &bytes, 0) }
        try write(path, at: offset, bytes)
    }

    static func get<T: FixedWidthInteger>(_: T.Type, _ path: String, at offset: Int64, bigEndian: Bool) throws -> T {
        let bytes = try read(path, at: offset, count: MemoryLayout<T>.size)
        return bigEndian ? Binary.loadBE(T.self, bytes, 0) : Binary.loadLE(T.self, bytes, 0)
    }

    /// Re-seals a VHD footer (512 bytes at `offset`) after an edit: its checksum right again.
    static func resealVHDFooter(_ path: String, at offset: Int64) throws {
        let footer = try read(path, at: offset, count: VHDSpec.footerSize)
        try put(path, at: offset + 64, VHDFooter.expectedChecksum(of: footer), bigEndian: true)
    }

    /// Re-seals a VHDX header or region table (`count` bytes at `offset`): CRC-32C right again.
    static func resealVHDX(_ path: String, at offset: Int64, count: Int) throws {
        let bytes = try read(path, at: offset, count: count)
        try put(path, at: offset + 4, CRC32C.checksum(bytes, zeroing: 4), bigEndian: false)
    }

    /// Keeps the image's fingerprint as Understudy recorded it (size, inode, and the mtime put
    /// back), as bit rot or `touch -r` after an edit would: the update cannot tell by metadata.
    static func damageKeepingFingerprint(_ path: String, _ edit: () throws -> Void) throws {
        var st = stat()
        stat(path, &st)
        try edit()
        var times = [st.st_atim, st.st_mtim]
        utimensat(AT_FDCWD, path, &times, 0)
    }
}

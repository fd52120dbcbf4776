import BlockStore
import Crypto
import Foundation
import Core

extension VMDK {
    /// Writes an OVA: a ustar archive holding `NAME.ovf` first, then `NAME.mf` (SHA-256 of the
    /// other two), then the streamOptimized disk `NAME-disk1.vmdk` — the order ESXi and ovftool
    /// require, since they read the archive as a stream.
    ///
    /// Why this shape: the disk is written by the ordinary `StreamSink` straight into its final
    /// place inside the archive, through an `OffsetFile` that starts after a prefix of fixed size.
    /// The prefix (tar header + OVF, tar header + manifest, tar header of the disk) is filled in by
    /// `finish`, when the disk's size and hash are known. Its size can be fixed up front because
    /// only numbers change in the OVF (padded with trailing blanks to the longest they can be, as
    /// VMware's own templates are) and the manifest's lines have a fixed length. So the image is
    /// written once, needs no temporary file, and the builder still renames one finished file into
    /// place; only the disk is read back once, to hash it.
    final class OVASink: BlockSink {
        let target: any ImageFile
        let names: Names
        let disk: OffsetFile
        let stream: StreamSink
        let diskSize: Int64
        private let ovfRoom: Int
        private let manifestRoom: Int

        struct Names {
            let ovf: String, manifest: String, disk: String, machine: String

            /// File names from the machine's name, kept to characters every tar and OVF reader takes.
            init(machine: String) {
                let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
                var base = String(machine.map { allowed.contains($0) ? $0 : "_" }.prefix(60))
                if base.isEmpty || base.hasPrefix(".") || base.hasPrefix("-") { base = "disk" + base }
                self.machine = machine.isEmpty ? base : machine
                ovf = base + ".ovf"
                manifest = base + ".mf"
                disk = base + "-disk1.vmdk"
            }
        }

        init(file: any ImageFile, diskSize: Int64, machine: String) throws {
            target = file
            self.diskSize = diskSize
            names = Names(machine: machine)
            ovfRoom = Self.roundUp(Self.envelope(names, diskSize: diskSize, diskFileSize: 0, populatedSize: 0).maximalLength)
            manifestRoom = Self.roundUp(Self.manifest(names, ovfHash: "", diskHash: "").utf8.count + 128)
            let diskStart = Int64(VMDK.sector + ovfRoom + VMDK.sector + manifestRoom + VMDK.sector)
            disk = OffsetFile(file, start: diskStart)
            stream = try StreamSink(file: disk, diskSize: diskSize, extentFile: names.disk)
        }

        static func envelope(_ names: Names, diskSize: Int64, diskFileSize: Int64, populatedSize: Int64) -> OVFEnvelope {
            OVFEnvelope(name: names.machine, diskFile: names.disk, diskFileSize: diskFileSize,
                        capacity: diskSize, populatedSize: populatedSize)
        }

        static func roundUp(_ n: Int) -> Int { Int(Binary.alignUp(Int64(n), Int64(VMDK.sector))) }

        static func manifest(_ names: Names, ovfHash: String, diskHash: String) -> String {
            "SHA256(\(names.ovf))= \(ovfHash)\nSHA256(\(names.disk))= \(diskHash)\n"
        }

        func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
            try stream.write(offset: offset, data: data, frame: frame)
        }

        func zero(offset: Int64, length: Int64) throws {}

        func finish() throws {
            try stream.finish()
            let diskLength = disk.size
            let diskHash = try Self.sha256(of: target, from: disk.start, length: diskLength)
            var ovf = Array(Self.envelope(names, diskSize: diskSize, diskFileSize: diskLength, populatedSize: stream.storedBytes).xml().utf8)
            // Trailing blanks after the root element keep the XML well-formed and the size fixed.
            ovf.insert(contentsOf: [UInt8](repeating: 0x20, count: ovfRoom - ovf.count), at: ovf.count - 1)
            let ovfHash = Self.hex(SHA256.hash(data: ovf))
            var mf = Array(Self.manifest(names, ovfHash: ovfHash, diskHash: diskHash).utf8)
            let mfLength = mf.count
            mf += [UInt8](repeating: 0, count: manifestRoom - mf.count)
            let now = Int64(Date().timeIntervalSince1970)
            var prefix = Tar.header(name: names.ovf, size: Int64(ovfRoom), mtime: now) + ovf
            prefix += Tar.header(name: names.manifest, size: Int64(mfLength), mtime: now) + mf
            prefix += Tar.header(name: names.disk, size: diskLength, mtime: now)
            try target.write(prefix, at: 0)
            // The stream is whole sectors, so the archive's two zero blocks follow it directly.
            try target.write([UInt8](repeating: 0, count: 2 * Tar.block), at: disk.start + diskLength)
        }

        static func sha256(of file: any ImageFile, from start: Int64, length: Int64) throws -> String {
            var hasher = SHA256()
            let buffer = AlignedBuffer(count: 1 << 20)
            var done: Int64 = 0
            while done < length {
                let want = Int(min(Int64(buffer.count), length - done))
                let n = try file.read(into: buffer.pointer, count: want, at: start + done)
                guard n == want else {
                    throw UnderstudyError(.io, "\(file.path): short read while hashing the OVA's disk", at: .init(offset: start + done, path: file.path))
                }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer.slice(0, n)))
                done += Int64(n)
            }
            return hex(hasher.finalize())
        }

        static func hex(_ digest: some Sequence<UInt8>) -> String {
            digest.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
        }
    }

    /// A window onto another image file starting at `start` (and, when reading a member of an
    /// archive, `length` bytes long), so a format writes or reads it as if it were the whole file.
    final class OffsetFile: ImageFile {
        let base: any ImageFile
        let start: Int64
        let length: Int64?

        init(_ base: any ImageFile, start: Int64, length: Int64? = nil) {
            self.base = base
            self.start = start
            self.length = length
        }

        var path: String { base.path }
        var size: Int64 { length ?? max(0, base.size - start) }

        func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
            let count = Int(max(0, min(Int64(count), size - offset)))
            return count == 0 ? 0 : try base.read(into: buffer, count: count, at: start + offset)
        }

        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
            try base.write(bytes, at: start + offset)
        }

        func truncate(to size: Int64) throws {
            try base.truncate(to: start + size)
        }
    }
}

import ArgumentParser
import BlockStore
import Capture
import Foundation

extension Understudy {
    struct Capture: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Capture a disk (image file or block device) as a new recovery point; prints the point id.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The machine the disk belongs to.") var machine: String
        @Argument(help: "A raw image file, a block device, or libvirt:DOMAIN (a consistent copy of its first disk, even while it runs).")
        var source: String
        @Option(help: "libvirt URI for libvirt:DOMAIN sources.") var connect = "qemu:///system"
        @Option(help: ArgumentHelp("Block size of a new machine, a power of two from 64K to 4M.", valueName: "size"))
        var blockSize: String?
        @Option(help: "zstd compression level (1-19).") var level: Int32 = CaptureOptions.defaultCompressionLevel
        @Flag(help: "Accept a source smaller than the previous point.") var allowShrink = false
        @Option(help: "Logical sector size of an image file's disk (512, or 4096 for 4Kn); devices report their own.")
        var sectorSize = 512

        func validate() throws {
            guard (1...19).contains(level) else { throw ValidationError("--level must be from 1 to 19") }
            guard [512, 4096].contains(sectorSize) else { throw ValidationError("--sector-size must be 512 or 4096") }
            if let blockSize {
                guard let bytes = Size.parse(blockSize) else { throw ValidationError("--block-size: cannot read '\(blockSize)' as a size") }
                do { try CaptureOptions.validate(blockSize: bytes) } catch { throw ValidationError("--block-size: \(blockSize) is not a power of two from 64K to 4M") }
            }
        }

        func run() throws {
            var options = CaptureOptions()
            options.blockSize = blockSize.flatMap(Size.parse)
            options.compressionLevel = level
            options.allowShrink = allowShrink
            try Machine.validate(name: machine)
            let store = try global.openStore(create: true)
            try store.requireWritable("capture \(machine)")  // before copying a domain's disk into it
            var copied: String?
            if source.hasPrefix(DomainDiskCopy.prefix) {
                global.note("copying the disk of \(source) (qemu backup job)")
                copied = try DomainDiskCopy.copy(domain: String(source.dropFirst(DomainDiskCopy.prefix.count)), uri: connect, into: store)
            }
            defer { if let copied { unlink(copied) } }
            let disk = try SourceDisk(copied ?? source, sectorSize: sectorSize)
            let point = try Capturer.capture(store: store, machine: machine, source: disk, options: options, progress: global.progress())
            if global.json { Output.json(PointView(point)); return }
            print(point.id!)
            let s = point.stats
            global.note("point \(point.id!) of \(machine): \(Output.bytes(point.diskSize)) disk, \(s.changedBlocks) blocks changed, \(s.newChunks) new chunks, \(Output.bytes(s.storedBytes)) stored, \(s.zeroBlocks) zero blocks, \(String(format: "%.1f", s.seconds)) s")
        }
    }
}

/// Sizes as users type them: 65536, 64K, 64KiB, 4M, 1G.
enum Size {
    static func parse(_ text: String) -> Int? {
        var digits = text.uppercased()
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) { digits.removeLast(suffix.count) }
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var scale = 1
        if let last = digits.last, let unit = units[last] { scale = unit; digits.removeLast() }
        guard let n = Int(digits), n > 0 else { return nil }
        let (value, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : value
    }
}

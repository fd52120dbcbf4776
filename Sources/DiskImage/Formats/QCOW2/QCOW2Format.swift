import BlockStore
import Core

/// qcow2 version 3 (QEMU/KVM, libvirt, Proxmox, OpenStack): 64 KiB clusters, 16-bit refcounts;
/// optionally zstd-compressed clusters made of the store's own frames, passed through unchanged.
public enum QCOW2Format: DiskImageFormat {
    public static let name = "qcow2"
    public static let aliases: [String] = []
    public static let variants = ["v3"]

    /// 64 KiB clusters with 47-bit host offsets; QEMU caps guest size at 2^61 bytes; we keep a
    /// sane ceiling an L1 table of one megabyte entries can address (64 PiB).
    public static func maxDiskSize(variant: String) -> Int64 { 1 << 56 }

    public static func probe(header: [UInt8], trailer: [UInt8], fileSize: Int64) -> Int {
        header.count >= 4 && Binary.loadBE(UInt32.self, header, 0) == QCOW2Header.magic ? 100 : 0
    }

    public static func create(_ file: any ImageFile, diskSize: Int64, options: ImageOptions) throws -> any BlockSink {
        let image = try QCOW2Image(creating: file, size: diskSize, compressed: options.compress)
        return QCOW2Sink(image: image, options: options)
    }

    public static func openForUpdate(_ file: any ImageFile, options: ImageOptions) throws -> (any BlockSink)? {
        // Every entry the update follows must be sound first (bounded by the file's size).
        let problems = try QCOW2Checker(file: file).findings().problems
        guard problems.isEmpty else { throw ImageDamage.refuseUpdate(file, problems: problems) }
        let image = try QCOW2Image(opening: file)
        guard (image.header.compressionType == 1) == options.compress || !options.compress else { return nil }
        return QCOW2Sink(image: image, options: options)
    }

    public static func info(_ file: any ImageFile) throws -> ImageInfo {
        guard let h = QCOW2Header.decode(try file.read(Int(min(4096, file.size)), at: 0)) else {
            throw UnderstudyError(.unsupported, "\(file.path) is not a qcow2 image", at: .init(path: file.path))
        }
        let problems = h.layoutProblems(fileSize: file.size)
        guard problems.isEmpty else {
            throw UnderstudyError(.unsupported, "\(file.path) is a damaged qcow2 image: \(problems.joined(separator: "; "))", at: .init(path: file.path))
        }
        return ImageInfo(format: name, variant: "v\(h.version)", virtualSize: Int64(h.size), fileSize: file.size, details: [
            "cluster size": String(h.clusterSize),
            "refcount bits": String(1 << h.refcountOrder),
            "compression type": h.compressionType == 1 ? "zstd" : "zlib",
            "l1 entries": String(h.l1Size),
            "backing file": h.backingFileOffset == 0 ? "none" : "yes",
            "snapshots": String(h.nbSnapshots),
            "dirty": h.incompatibleFeatures & QCOW2Header.dirtyBit != 0 ? "yes" : "no",
        ])
    }

    public static func check(_ file: any ImageFile) throws -> [String] {
        try QCOW2Checker(file: file).run()
    }
}

/// Feeds store blocks into a qcow2 image, one cluster at a time.
final class QCOW2Sink: BlockSink {
    let image: QCOW2Image
    /// Compressed clusters pass the stored frames through when a block is exactly one cluster.
    let passthrough: Bool

    init(image: QCOW2Image, options: ImageOptions) {
        self.image = image
        passthrough = options.compress && Int64(options.blockSize) == image.clusterSize
    }

    var wantsFrames: Bool { passthrough }

    func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
        let cluster = image.clusterSize
        var at = 0
        while at < data.count {
            let guest = (offset + Int64(at)) / cluster
            try image.evictL2(below: Int(guest / image.header.l2Entries))
            let piece = UnsafeRawBufferPointer(rebasing: data[at..<min(data.count, at + Int(cluster))])
            try image.store(guest, data: piece, frame: passthrough ? frame : nil)
            at += Int(cluster)
        }
    }

    func zero(offset: Int64, length: Int64) throws {
        let cluster = image.clusterSize
        var guest = offset / cluster
        while guest * cluster < offset + length {
            let old = try image.entry(guest)
            if old != 0 {
                image.release(old)
                try image.setEntry(guest, 0)
            }
            guest += 1
        }
    }

    func read(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        try image.read(offset: offset, into: buffer)
    }

    func finish() throws {
        try image.flush()
        // Leaks waste space but mislead no reader; anything else means we wrote a broken image.
        try ImageDamage.verifyOwnOutput("qcow2", image.file, problems: try QCOW2Checker(file: image.file).findings().problems)
    }
}

import BlockStore
import Core

/// VHD (Virtual PC / Hyper-V v1 / Azure): `dynamic` (sparse, 2 MiB blocks) or `fixed` (the raw
/// disk plus a footer, its size rounded up to a whole MiB for Azure). Both hold at most 2040 GiB.
/// We write Hyper-V's creator (`win `, `Wi2k`) with the exact size in the footer, so QEMU reads
/// the size from the footer instead of the coarser CHS geometry.
public enum VHDFormat: DiskImageFormat {
    public static let name = "vhd"
    public static let aliases = ["vpc"]
    public static let variants = ["dynamic", "fixed"]

    public static func maxDiskSize(variant: String) -> Int64 { VHDSpec.maxSize }

    public static func virtualSize(diskSize: Int64, variant: String) -> Int64 {
        variant == "fixed" ? fixedSize(diskSize) : diskSize
    }

    /// A fixed image's size: whole MiB (Azure refuses anything else).
    static func fixedSize(_ diskSize: Int64) -> Int64 { VHDFields.roundUp(diskSize, 1 << 20) }

    static func tooLarge(_ diskSize: Int64, path: String) -> UnderstudyError {
        UnderstudyError(.unsupported, "a \(formatBytes(diskSize)) disk does not fit in a VHD: the format holds at most 2040 GiB; use vhdx",
                   at: .init(path: path))
    }

    /// The footer's cookie at the end (every VHD) or at the start (dynamic disks' copy).
    public static func probe(header: [UInt8], trailer: [UInt8], fileSize: Int64) -> Int {
        if trailer.starts(with: VHDSpec.footerCookie) || header.starts(with: VHDSpec.footerCookie) { return 100 }
        return 0
    }

    public static func create(_ file: any ImageFile, diskSize: Int64, options: ImageOptions) throws -> any BlockSink {
        guard diskSize > 0, diskSize % 512 == 0 else {
            throw UnderstudyError(.invalidArgument, "a VHD holds whole 512-byte sectors; \(diskSize) bytes is not a multiple of 512",
                             at: .init(path: file.path))
        }
        guard diskSize <= VHDSpec.maxSize else { throw tooLarge(diskSize, path: file.path) }
        switch options.variant ?? variants[0] {
        case "dynamic": return try VHDDynamicSink.create(file, diskSize: diskSize)
        case "fixed": return try VHDFixedSink.create(file, diskSize: diskSize)
        case let other:
            throw UnderstudyError(.invalidArgument, "vhd has no subformat '\(other)': use dynamic or fixed", at: .init(path: file.path))
        }
    }

    /// The image's own type decides (a fixed image is rewritten in place; a dynamic one may grow).
    public static func openForUpdate(_ file: any ImageFile, options: ImageOptions) throws -> (any BlockSink)? {
        let image = try VHDImage.read(file)
        let problems = VHDCheck.problems(image, file: file)
        guard problems.isEmpty else { throw ImageDamage.refuseUpdate(file, problems: problems) }
        switch image.type {
        case .fixed: return VHDFixedSink.update(file, image: image)
        case .dynamic: return VHDDynamicSink.update(file, image: image)
        default: return nil
        }
    }

    public static func info(_ file: any ImageFile) throws -> ImageInfo {
        let image = try VHDImage.read(file)
        let footer = image.footer
        guard let virtualSize = footer.sizeAsQEMUReadsIt else {
            throw UnderstudyError(.unsupported, "\(file.path) is a damaged VHD: its current size \(footer.currentSize) is beyond any disk", at: .init(path: file.path))
        }
        var details = [
            "creator": "\(ascii(footer.creatorApp)) \(footer.creatorVersion >> 16).\(footer.creatorVersion & 0xFFFF) (\(ascii(footer.creatorOS)))",
            "geometry": "\(footer.geometry) (C/H/S: \(footer.geometry.sectors * 512) bytes)",
            "original size": "\(footer.originalSize)",
            "current size": "\(footer.currentSize)",
            "uuid": VHDFields.hex(footer.uuid),
            "timestamp": "\(VHDSpec.epoch.addingTimeInterval(Double(footer.timestamp)))",
        ]
        if let header = image.header {
            details["block size"] = "\(header.blockSize)"
            details["BAT entries"] = "\(header.maxTableEntries)"
            details["allocated blocks"] = "\(image.allocatedBlocks)"
        }
        return ImageInfo(format: name, variant: footer.type?.name ?? "type \(footer.diskType)",
                         virtualSize: virtualSize, fileSize: file.size, details: details)
    }

    public static func check(_ file: any ImageFile) throws -> [String] {
        let image: VHDImage
        do { image = try VHDImage.read(file) } catch let error as UnderstudyError { return [error.message] }
        return VHDCheck.problems(image, file: file)
    }

    /// A writer's last step: the image must pass `check` before anyone publishes it.
    static func verify(_ file: any ImageFile) throws {
        try ImageDamage.verifyOwnOutput("VHD", file, problems: try check(file))
    }

    private static func ascii(_ bytes: [UInt8]) -> String { VHDFields(bytes, bigEndian: true).ascii(0, bytes.count) }
}

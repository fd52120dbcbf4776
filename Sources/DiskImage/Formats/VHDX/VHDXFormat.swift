import BlockStore
import Core

/// VHDX (Hyper-V, the only disk Gen2 VMs take): dynamic, 1 MiB blocks (larger past 2 TiB),
/// empty log, the guest's logical sector size recorded, up to 64 TiB.
public enum VHDXFormat: DiskImageFormat {
    public static let name = "vhdx"
    public static let aliases: [String] = []
    public static let variants = ["dynamic"]

    public static func maxDiskSize(variant: String) -> Int64 { VHDXSpec.maxSize }

    public static func probe(header: [UInt8], trailer: [UInt8], fileSize: Int64) -> Int {
        header.starts(with: VHDXSpec.fileSignature) ? 100 : 0
    }

    public static func create(_ file: any ImageFile, diskSize: Int64, options: ImageOptions) throws -> any BlockSink {
        guard (options.variant ?? variants[0]) == "dynamic" else {
            throw UnderstudyError(.invalidArgument, "vhdx has no subformat '\(options.variant!)': use dynamic", at: .init(path: file.path))
        }
        guard diskSize <= VHDXSpec.maxSize else {
            throw UnderstudyError(.unsupported, "a \(formatBytes(diskSize)) disk does not fit in a VHDX (at most 64 TiB)", at: .init(path: file.path))
        }
        return try VHDXSink.create(file, diskSize: diskSize, logicalSectorSize: options.logicalSectorSize)
    }

    public static func openForUpdate(_ file: any ImageFile, options: ImageOptions) throws -> (any BlockSink)? {
        let image = try VHDXImage.read(file)
        let problems = VHDXCheck.problems(image, fileSize: file.size)
        guard problems.isEmpty else { throw ImageDamage.refuseUpdate(file, problems: problems) }
        return VHDXSink.update(file, image: image)
    }

    public static func info(_ file: any ImageFile) throws -> ImageInfo {
        let image = try VHDXImage.read(file)
        let m = image.metadata
        let details = [
            "creator": image.creator,
            "block size": "\(m.blockSize)",
            "logical sector size": "\(m.logicalSectorSize)",
            "physical sector size": "\(m.physicalSectorSize)",
            "chunk ratio": "\(image.layout.chunkRatio)",
            "BAT entries": "\(image.layout.batEntries)",
            "allocated blocks": "\(image.presentBlocks)",
            "header sequence": "\(image.header.sequenceNumber)",
            "page 83 id": "\(m.page83)",
            "data write guid": "\(image.header.dataWriteGuid)",
        ]
        return ImageInfo(format: name, variant: "dynamic", virtualSize: Int64(m.virtualSize), fileSize: file.size, details: details)
    }

    /// A writer's last step: the image must pass `check` before anyone publishes it.
    static func verify(_ file: any ImageFile) throws {
        try ImageDamage.verifyOwnOutput("VHDX", file, problems: try check(file))
    }

    public static func check(_ file: any ImageFile) throws -> [String] {
        let image: VHDXImage
        do { image = try VHDXImage.read(file) } catch let error as UnderstudyError { return [error.message] }
        return VHDXCheck.problems(image, fileSize: file.size)
    }
}

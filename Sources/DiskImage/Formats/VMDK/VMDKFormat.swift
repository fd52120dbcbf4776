import BlockStore
import Foundation
import Core

/// VMDK, VMware's virtual disk: `monolithicSparse` (one file with an embedded descriptor and
/// 64 KiB grains; Workstation, Fusion, VirtualBox, qemu; updatable in place) and `streamOptimized`
/// (compressed grains written front to back; what ESXi imports through OVF/OVA deploys, optionally
/// packed as an OVA with `ImageOptions.ova`). One sparse extent addresses at most 2 TiB.
/// Layout and spec references: `Formats/VMDK/Header.swift`.
public enum VMDKFormat: DiskImageFormat {
    public static let name = "vmdk"
    public static let aliases: [String] = []
    public static let variants = ["monolithicSparse", "streamOptimized"]

    public static func maxDiskSize(variant: String) -> Int64 { VMDK.maxExtentBytes }

    /// "KDMV" at 0 is certain. A descriptor-only text file is a VMDK too, but its data lives in
    /// other files we did not write, so it is not claimed. An OVA (tar with the .ovf first)
    /// holds our streamOptimized disk: claimed with less certainty than a real magic.
    public static func probe(header: [UInt8], trailer: [UInt8], fileSize: Int64) -> Int {
        if header.count >= 4, Array(header[0..<4]) == VMDK.Header.magic { return 100 }
        if VMDK.Tar.isArchive(header), VMDK.Tar.string(header, at: 0, length: 100).lowercased().hasSuffix(".ovf") { return 60 }
        return 0
    }

    public static func create(_ file: any ImageFile, diskSize: Int64, options: ImageOptions) throws -> any BlockSink {
        let variant = try FormatRegistry.variant(options.variant, of: self)
        guard diskSize <= VMDK.maxExtentBytes else {
            throw UnderstudyError(.unsupported, "a \(formatBytes(diskSize)) disk does not fit in a VMDK sparse extent: its 32-bit sector offsets address at most 2 TiB; use qcow2, vhdx or raw",
                             at: .init(path: file.path))
        }
        guard diskSize > 0, diskSize % Int64(VMDK.sector) == 0 else {
            throw UnderstudyError(.unsupported, "VMDK sizes are whole 512-byte sectors; the disk has \(diskSize) bytes", at: .init(path: file.path))
        }
        switch variant {
        case "streamOptimized":
            if options.ova { return try VMDK.OVASink(file: file, diskSize: diskSize, machine: options.machine) }
            return try VMDK.StreamSink(file: file, diskSize: diskSize, extentFile: extentName(file.path))
        default:
            guard !options.ova else {
                throw UnderstudyError(.invalidArgument, "an OVA holds a streamOptimized disk: pass --subformat streamOptimized with --ova")
            }
            return try VMDK.SparseSink(file: file, diskSize: diskSize, extentFile: extentName(file.path))
        }
    }

    /// The name the descriptor's extent line gives the image itself. Full builds write aside as
    /// `.NAME.understudy-PID` (RestoreTarget) and rename at the end, so name the final file.
    /// (Readers locate a monolithic extent by the file they opened, so this is informative.)
    static func extentName(_ path: String) -> String {
        var name = URL(fileURLWithPath: path).lastPathComponent
        if name.hasPrefix("."), let range = name.range(of: ".understudy-", options: .backwards),
           name[range.upperBound...].allSatisfy(\.isNumber) {
            name = String(name[name.index(after: name.startIndex)..<range.lowerBound])
        }
        return name.replacingOccurrences(of: "\"", with: "_")
    }

    /// monolithicSparse only; streams and OVAs are rebuilt (their grains are compressed and
    /// packed back to back, so a changed grain has no place to go).
    public static func openForUpdate(_ file: any ImageFile, options: ImageOptions) throws -> (any BlockSink)? {
        let head = try file.read(Int(min(Int64(VMDK.sector), file.size)), at: 0)
        guard head.count == VMDK.sector, let header = VMDK.Header(decoding: head) else {
            if VMDK.Tar.isArchive(head) { return nil }
            throw UnderstudyError(.unsupported, "\(file.path) is not a VMDK sparse extent (no KDMV header)", at: .init(offset: 0, path: file.path))
        }
        // Streams are rebuilt; a sparse extent is updated only where its tables can be trusted.
        if header.isCompressed || header.hasMarkers || header.gdOffset == VMDK.Header.gdAtEnd { return nil }
        let problems = try VMDK.check(file)
        guard problems.isEmpty else { throw ImageDamage.refuseUpdate(file, problems: problems) }
        return try VMDK.UpdateSink(file)
    }

    public static func info(_ file: any ImageFile) throws -> ImageInfo {
        let (disk, package) = try VMDK.diskInside(file)
        let extent = try VMDK.Extent(disk)
        let h = extent.header
        var details = [
            "createType": extent.createType,
            "version": String(h.version),
            "flags": "0x" + String(h.flags, radix: 16),
            "capacitySectors": String(h.capacity),
            "grainSize": String(h.grainSize * UInt64(VMDK.sector)),
            "grainTableEntries": String(h.gtesPerGT),
            "compression": h.compressAlgorithm == VMDK.Header.compressionDeflate ? "deflate" : "none",
            "markers": h.hasMarkers ? "yes" : "no",
            "grainDirectory": extent.fileHeader.gdOffset == VMDK.Header.gdAtEnd ? "at end (footer)" : "sector \(h.gdOffset)",
        ]
        if let adapter = extent.descriptor?.values["ddb.adapterType"] { details["adapterType"] = adapter }
        if let cid = extent.descriptor?.values["CID"] { details["cid"] = cid }
        if let package { details.merge(package) { $1 } }
        return ImageInfo(format: name, variant: extent.createType, virtualSize: extent.virtualSize,
                         fileSize: file.size, details: details)
    }

    public static func check(_ file: any ImageFile) throws -> [String] {
        let disk: any ImageFile
        var problems: [String] = []
        do {
            (disk, _) = try VMDK.diskInside(file)
            if disk !== file { problems += try VMDK.checkPackage(file) }
        } catch let error as UnderstudyError {
            return [error.message]
        }
        return problems + (try VMDK.check(disk))
    }
}

extension VMDK {
    /// The VMDK to read: the file itself, or the disk inside an OVA (with details about the package).
    static func diskInside(_ file: any ImageFile) throws -> (any ImageFile, [String: String]?) {
        let head = try file.read(Int(min(Int64(VMDK.sector), file.size)), at: 0)
        guard Tar.isArchive(head) else { return (file, nil) }
        let members = try Tar.members(of: file)
        guard let disk = members.first(where: { $0.name.lowercased().hasSuffix(".vmdk") }) else {
            throw UnderstudyError(.unsupported, "\(file.path) is a tar archive without a .vmdk member", at: .init(path: file.path))
        }
        return (OffsetFile(file, start: disk.offset, length: disk.size),
                ["package": "ova", "members": members.map(\.name).joined(separator: ", ")])
    }
}

import BlockStore
import Core

/// Every format we write, by name and alias (like virt-v2v's output selection).
public enum FormatRegistry {
    public static let all: [any DiskImageFormat.Type] = [
        RawFormat.self,
        QCOW2Format.self,
        VMDKFormat.self,
        VHDFormat.self,
        VHDXFormat.self,
    ]

    public static var names: [String] { all.map { $0.name } }

    /// The format for a name or alias (case-insensitive).
    public static func format(named name: String) throws -> any DiskImageFormat.Type {
        let key = name.lowercased()
        if let found = all.first(where: { $0.name == key || $0.aliases.contains(key) }) { return found }
        throw UnderstudyError(.invalidArgument, "unknown image format '\(name)': use one of \(names.joined(separator: ", "))")
    }

    /// The variant to use: the given one (checked) or the format's default.
    public static func variant(_ given: String?, of format: any DiskImageFormat.Type) throws -> String {
        guard let given else { return format.variants[0] }
        if let match = format.variants.first(where: { $0.lowercased() == given.lowercased() }) { return match }
        throw UnderstudyError(.invalidArgument, "format \(format.name) has no subformat '\(given)': use one of \(format.variants.joined(separator: ", "))")
    }

    /// The format a file is in, by probing its header and trailer; nil if none claims it.
    public static func probe(_ file: any ImageFile) throws -> (any DiskImageFormat.Type)? {
        let size = file.size
        guard size > 0 else { return nil }
        var header = [UInt8](repeating: 0, count: Int(min(65536, size)))
        _ = try header.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: $0.count, at: 0) }
        var trailer = [UInt8](repeating: 0, count: Int(min(512, size)))
        _ = try trailer.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: $0.count, at: size - Int64($0.count)) }
        let scored = all.map { ($0, $0.probe(header: header, trailer: trailer, fileSize: size)) }.filter { $0.1 > 0 }
        return scored.max { $0.1 < $1.1 }?.0
    }
}

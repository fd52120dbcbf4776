import DiskImage

/// A format name as users type it, made canonical (`vpc` → `vhd`).
enum FormatName {
    static func canonical(_ name: String) throws -> String {
        try FormatRegistry.format(named: name).name
    }
}

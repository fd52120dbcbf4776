import Foundation

/// The disks of the machine the rescue system runs on, for the interactive choice of a target:
/// whole disks from /sys/block (no loop, RAM, optical or device-mapper devices).
public struct LocalDisk: Sendable, Equatable {
    public var path: String
    public var bytes: Int64
    public var model: String

    public static func list(sysBlock: String = "/sys/block") -> [LocalDisk] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sysBlock)) ?? []
        return names.sorted().compactMap { name in
            guard !["loop", "ram", "sr", "zram", "dm-", "md", "fd"].contains(where: name.hasPrefix) else { return nil }
            let sectors = Int64(read(sysBlock + "/\(name)/size") ?? "") ?? 0
            guard sectors > 0 else { return nil }
            let model = read(sysBlock + "/\(name)/device/model") ?? read(sysBlock + "/\(name)/device/vendor") ?? ""
            return LocalDisk(path: "/dev/" + name, bytes: sectors * 512, model: model)
        }
    }

    static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

import Foundation

/// A loop device over a file, detached when released.
public final class LoopDevice {
    public let path: String

    public init(_ file: String) throws {
        let r = shell("losetup -f --show \(file)")
        guard r.status == 0 else { throw CLIError(message: "losetup: \(r.output)") }
        path = r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { shell("losetup -d \(path)") }

    public static let available: Bool = {
        guard getuid() == 0 else { return false }
        let probe = "/tmp/understudy-loop-probe-\(getpid())"
        defer { unlink(probe) }
        _ = FileManager.default.createFile(atPath: probe, contents: nil)
        truncate(probe, 1 << 20)
        let r = shell("d=$(losetup -f --show \(probe)) && losetup -d $d")
        return r.status == 0
    }()
}

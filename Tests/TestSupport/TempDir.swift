import Foundation

/// A scratch folder under /tmp/understudy-tests, removed when released. World-traversable, since
/// qemu run by libvirt must reach images inside it.
public final class TempDir: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "t") {
        let base = "/tmp/understudy-tests"
        try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        chmod(base, 0o755)
        path = base + "/\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o755)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }
}

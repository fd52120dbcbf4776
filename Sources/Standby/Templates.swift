import BlockStore
import Foundation
import Mustache

/// The Mustache templates of `templates/`: found via `UNDERSTUDY_TEMPLATES`, next to the
/// executable (`templates/` or `../share/understudy/templates/`), or in the source tree.
public struct Templates: Sendable {
    public let folder: String

    public init(folder: String? = nil) throws {
        if let folder {
            self.folder = folder
            return
        }
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["UNDERSTUDY_TEMPLATES"] { candidates.append(env) }
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        let bin = exe.deletingLastPathComponent()
        candidates.append(bin.appendingPathComponent("templates").path)
        candidates.append(bin.deletingLastPathComponent().appendingPathComponent("share/understudy/templates").path)
        // Development and tests: the package's own folder.
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates").path)
        guard let found = candidates.first(where: { FileSystem.exists($0 + "/domain.xml.mustache") }) else {
            throw StoreError(.notFound, "libvirt templates not found (looked in \(candidates.joined(separator: ", "))); set UNDERSTUDY_TEMPLATES")
        }
        self.folder = found
    }

    /// Renders `name`.mustache with `context`.
    public func render(_ name: String, _ context: [String: Any]) throws -> String {
        let path = folder + "/" + name + ".mustache"
        let text = String(decoding: try FileSystem.readFile(path), as: UTF8.self)
        do {
            return try MustacheTemplate(string: text).render(context)
        } catch {
            throw StoreError(.invalidArgument, "template \(path) is broken: \(error)", at: .init(path: path))
        }
    }
}

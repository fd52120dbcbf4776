import BlockStore
import Foundation
import Mustache
import Core

/// The Mustache templates of `templates/`: found via `UNDERSTUDY_TEMPLATES`, next to the
/// executable (`templates/` or `../share/understudy/templates/`), or in the source tree.
public struct Templates: Sendable {
    public let folder: String

    public init(folder: String? = nil) throws {
        if let folder {
            self.folder = folder
            return
        }
        self.folder = try ResourceFolder.find("templates", environment: "UNDERSTUDY_TEMPLATES", marker: "domain.xml.mustache",
                                               what: "libvirt templates")
    }

    /// Renders `name`.mustache with `context`.
    public func render(_ name: String, _ context: [String: Any]) throws -> String {
        let path = folder + "/" + name + ".mustache"
        let text = String(decoding: try FileSystem.readFile(path), as: UTF8.self)
        do {
            return try MustacheTemplate(string: text).render(context)
        } catch {
            throw UnderstudyError(.invalidArgument, "template \(path) is broken: \(error)", at: .init(path: path))
        }
    }
}

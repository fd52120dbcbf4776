public import Foundation

/// Finds a folder Understudy ships beside its binary (`templates/`, `bootimage/`): the environment
/// variable first, then next to the executable, then `../share/understudy/NAME`, then the source
/// tree (development and tests).
public enum ResourceFolder {
    /// The folder of the running executable.
    public static var executableFolder: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
            .deletingLastPathComponent()
    }

    /// The first candidate holding `marker`; `what` names it in the error.
    public static func find(_ name: String, environment: String, marker: String, what: String,
                            isValid: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) },
                            sourceFile: String = #filePath) throws -> String {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment[environment] { candidates.append(env) }
        let bin = executableFolder
        candidates.append(bin.appendingPathComponent(name).path)
        candidates.append(bin.deletingLastPathComponent().appendingPathComponent("share/understudy/\(name)").path)
        // Sources/MODULE/File.swift → the package root.
        candidates.append(URL(fileURLWithPath: sourceFile).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(name).path)
        guard let found = candidates.first(where: { isValid($0 + "/" + marker) }) else {
            throw UnderstudyError(.notFound, "\(what) not found (looked in \(candidates.joined(separator: ", "))); set \(environment)")
        }
        return found
    }
}

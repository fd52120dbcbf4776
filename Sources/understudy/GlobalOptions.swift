import ArgumentParser
import BlockStore
import Foundation
import Core

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store folder (env UNDERSTUDY_STORE).", valueName: "path"))
    var store: String?

    @Flag(name: .long, help: "Print machine-readable JSON on stdout.")
    var json = false

    @Flag(name: [.short, .long], help: "No progress or summary on stderr.")
    var quiet = false

    var storePath: String {
        store ?? ProcessInfo.processInfo.environment["UNDERSTUDY_STORE"] ?? Store.defaultPath
    }

    func openStore(create: Bool = false) throws -> Store {
        try Store(path: storePath, create: create)
    }

    /// Progress on stderr: a bar on a terminal, notes alone anywhere else, nothing with --quiet.
    func progress() -> any ProgressReporter {
        if quiet { return SilentProgress() }
        return isatty(2) == 0 ? NoteProgress() : TerminalProgress()
    }

    /// A line for humans on stderr (the result itself goes to stdout).
    func note(_ text: String) {
        if !quiet { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }
}

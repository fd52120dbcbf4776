import ArgumentParser
import BlockStore
import Foundation
import Core

/// Parses and runs the command; `serve` is the one that runs on Swift concurrency.
func parseAndRun() async throws {
    var command = try Understudy.parseAsRoot()
    if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
    } else {
        try command.run()
    }
}

// Exit codes: 0 success, 1 failure, 2 misuse (DESIGN.md's CLI contract).
do {
    try await parseAndRun()
} catch let error as UnderstudyError {
    Output.error(error.description)
    exit(ExitStatus.code(for: error) { _ in false })
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    // ArgumentParser's own errors (unknown flag, missing argument, failed validation) are misuse;
    // any other error is a failure.
    let code = Understudy.exitCode(for: error)
    if code == .success { Understudy.exit(withError: error) }
    FileHandle.standardError.write(Data((Understudy.fullMessage(for: error) + "\n").utf8))
    exit(ExitStatus.code(for: error) { _ in code == .validationFailure })
}

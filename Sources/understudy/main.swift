import ArgumentParser
import BlockStore
import Foundation

// Exit codes: 0 success, 1 failure, 2 misuse (DESIGN.md's CLI contract).
do {
    var command = try Understudy.parseAsRoot()
    try command.run()
} catch let error as StoreError {
    Output.error(error.description)
    exit(error.code == .invalidArgument ? 2 : 1)
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    if Understudy.exitCode(for: error) == .success { Understudy.exit(withError: error) }
    FileHandle.standardError.write(Data((Understudy.fullMessage(for: error) + "\n").utf8))
    exit(2)
}

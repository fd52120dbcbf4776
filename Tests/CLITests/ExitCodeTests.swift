import Core
import Foundation
import Testing
import TestSupport

/// docs/decisions.md: 0 success, 1 failure, 2 misuse only. One test per path of `main.swift`.
@Suite("Exit codes")
struct ExitCodeTests {
    private struct Unforeseen: Error {}

    @Test func theMappingClassesOnlyMisuseAs2() {
        let never: (any Error) -> Bool = { _ in false }
        #expect(ExitStatus.code(for: Unforeseen(), isMisuse: never) == 1, "an error of no known kind is a failure, not misuse")
        #expect(ExitStatus.code(for: UnderstudyError(.invalidArgument, "bad value"), isMisuse: never) == 2)
        #expect(ExitStatus.code(for: UnderstudyError(.notFound, "no store"), isMisuse: never) == 1)
        #expect(ExitStatus.code(for: UnderstudyError(.corruptChunk, "bad chunk"), isMisuse: { _ in true }) == 1,
                "a store error is a failure whatever the parser thinks")
        #expect(ExitStatus.code(for: Unforeseen(), isMisuse: { _ in true }) == 2)
    }

    @Test func theBinaryExitsByThePath() throws {
        let dir = TempDir("exit-codes")
        let cli = CLI(store: dir.file("store"))
        #expect(try cli.run(["init"]).status == 0)
        #expect(try cli.run(["machines"]).status == 0, "success")
        #expect(try cli.run(["--help"], withStore: false).status == 0, "help is not an error")
        #expect(try cli.run(["machines", "--no-such-flag"]).status == 2, "unknown flag")
        #expect(try cli.run(["token", "create"]).status == 2, "missing option")
        let badValue = try cli.run(["token", "create", "--name", "bad name!"])
        #expect(badValue.status == 2, "an invalid value found while running is misuse: \(badValue.output)")
        let missing = try CLI(store: dir.file("no-store")).run(["machines"])
        #expect(missing.status == 1, "a failure: \(missing.output)")
        #expect(missing.stderr.contains("no Understudy store"))
    }
}

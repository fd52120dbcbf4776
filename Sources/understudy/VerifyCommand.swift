import ArgumentParser
import BlockStore

extension Understudy {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the store: --chunks re-hashes every chunk and checks every point's index.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Re-hash every chunk and check that every point refers only to sound, present chunks.")
        var chunks = false

        func validate() throws {
            guard chunks else {
                throw ValidationError("say what to verify: --chunks (boot tests of standbys come with `understudy standby`)")
            }
        }

        func run() throws {
            let store = try global.openStore()
            let report = try store.verifyChunks(progress: global.progress())
            if global.json {
                Output.json(report)
            } else {
                for problem in report.problems { print(problem.description) }
                global.note("\(report.chunks) chunks (\(Output.bytes(report.chunkBytes))) and \(report.points) points checked in \(String(format: "%.1f", report.seconds)) s: \(report.problems.isEmpty ? "no problems" : "\(report.problems.count) problems")")
            }
            if !report.problems.isEmpty { throw ExitCode(1) }
        }
    }
}

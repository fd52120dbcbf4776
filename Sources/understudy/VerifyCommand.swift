import ArgumentParser
import BlockStore
import Standby
import Core

extension Understudy {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Boot-test standbys (MACHINE or --all) on a disposable copy, or check the store (--chunks).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The machine whose standby to boot-test.") var machine: String?
        @Flag(help: "Boot-test every standby.") var all = false
        @Flag(help: "Re-hash every chunk and check that every point refers only to sound, present chunks.")
        var chunks = false
        @Option(help: "Command to run when a boot test fails (UNDERSTUDY_MACHINE, _POINT, _REASON, _SCREENSHOT, _SERIAL_LOG set).")
        var onFailure: String?
        @Option(help: "Seconds to wait for readiness.") var timeout: Double = 300
        @Option(help: "libvirt URI (default: the one each standby was built for).") var connect: String?

        func validate() throws {
            let modes = [machine != nil, all, chunks].filter { $0 }.count
            guard modes == 1 else { throw ValidationError("say what to verify: a MACHINE, --all, or --chunks") }
        }

        func run() throws {
            let store = try global.openStore()
            if !chunks { return try bootTests(store) }
            let report = try store.verifyChunks(progress: global.progress())
            if global.json {
                Output.json(report)
            } else {
                for problem in report.problems { print(problem.description) }
                global.note("\(report.chunks) chunks (\(Output.bytes(report.chunkBytes))) and \(report.points) points checked in \(String(format: "%.1f", report.seconds)) s: \(report.problems.isEmpty ? "no problems" : "\(report.problems.count) problems")")
            }
            if !report.problems.isEmpty { throw ExitCode(1) }
        }

        private func bootTests(_ store: Store) throws {
            let builder = try StandbyBuilder(store: store)
            let machines = all ? try StandbyCatalog(store: store).standbys().map(\.machine) : [machine!]
            var failed = 0
            for name in machines {
                do {
                    let test = try builder.verify(machine: name, connect: connect, timeout: timeout, onFailure: onFailure,
                                                  progress: global.progress())
                    if global.json { Output.json(test) } else {
                        if test.message != "ready" { global.note("\(name): \(test.message)") }
                        print(String(format: "%@: ready in %.1f s (point %lld)%@", name, test.secondsToReady ?? 0, test.point,
                                     test.screenshot.map { ", screenshot \($0)" } ?? ""))
                    }
                } catch {
                    failed += 1
                    Output.error((error as? UnderstudyError)?.description ?? "\(error)")
                }
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

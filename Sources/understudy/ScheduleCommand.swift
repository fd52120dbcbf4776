import ArgumentParser
import BlockStore
import Foundation
import Schedule
import Standby

extension Understudy {
    struct ScheduleCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedule", abstract: "When `understudy serve` builds and verifies each standby (cron syntax).",
            subcommands: [Set.self, List.self, Remove.self])

        struct Set: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set a machine's nightly standby build and/or verify.")
            @OptionGroup var global: GlobalOptions
            @Argument var machine: String
            @Option(help: "Cron schedule of the standby build, e.g. '0 2 * * *'.") var build: String?
            @Option(help: "Cron schedule of the boot test, e.g. '30 2 * * *'.") var verify: String?
            @Flag(help: "Keep the schedules but pause them.") var disable = false

            func validate() throws {
                guard build != nil || verify != nil else { throw ValidationError("give --build CRON and/or --verify CRON") }
            }

            func run() throws {
                let store = try global.openStore()
                _ = try store.machine(machine)
                let jobs = try ScheduleStore(store: store)
                var set: [JobSchedule] = []
                for (kind, text) in [(JobKind.build, build), (.verify, verify)] {
                    guard let text else { continue }
                    set.append(try jobs.setSchedule(JobKey(machine: machine, kind: kind), cron: CronExpression(text), enabled: !disable, now: Date()))
                }
                if global.json { Output.json(set); return }
                for s in set { global.note("\(s.key.machine) \(s.key.kind.rawValue): \(s.cron)\(s.enabled ? "" : " (paused)")") }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Every scheduled job with its next run and last outcome.")
            @OptionGroup var global: GlobalOptions

            func run() throws {
                let store = try global.openStore()
                let scheduler = Scheduler(store: try ScheduleStore(store: store)) { _ in nil }
                let planned = try scheduler.plannedJobs()
                if global.json { Output.json(planned); return }
                print(Output.table(["MACHINE", "JOB", "CRON", "NEXT RUN", "LAST RUN", "OUTCOME"], planned.map { p in
                    [p.schedule.key.machine, p.schedule.key.kind.rawValue, p.schedule.cron.description + (p.schedule.enabled ? "" : " (paused)"),
                     p.next.map(Output.time) ?? "-", p.lastRun.map { Output.time($0.started) } ?? "never",
                     p.lastRun.map { $0.outcome.rawValue + ($0.seconds.map { String(format: " in %.0f s", $0) } ?? "") } ?? "-"]
                }))
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a machine's build and/or verify schedule.")
            @OptionGroup var global: GlobalOptions
            @Argument var machine: String
            @Flag(help: "Remove the build schedule.") var build = false
            @Flag(help: "Remove the verify schedule.") var verify = false

            func run() throws {
                let store = try global.openStore()
                let jobs = try ScheduleStore(store: store)
                let kinds: [JobKind] = build || verify ? (build ? [.build] : []) + (verify ? [.verify] : []) : [.build, .verify]
                let removed = try kinds.filter { try jobs.removeSchedule(JobKey(machine: machine, kind: $0)) }
                global.note(removed.isEmpty ? "nothing scheduled for \(machine)" : "removed \(removed.map(\.rawValue).joined(separator: ", ")) of \(machine)")
            }
        }
    }
}

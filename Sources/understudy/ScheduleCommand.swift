import ArgumentParser
import ChunkService
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

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the server: the scheduler (standby builds and verifies at their cron times) and, with --listen, the chunk service for rescue clients.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Stop after this many seconds (for tests and one-shot runs).") var duration: Double?
        @Option(help: "Serve chunks to rescue clients on HOST:PORT (port 0 picks a free one; the address is printed).") var listen: String?
        @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve https.") var tlsCert: String?
        @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.") var tlsKey: String?
        @Option(help: "Seconds a new connection has to send its first request head.") var headerTimeout = 10.0
        @Option(help: "Seconds a request body has to arrive after its head.") var bodyTimeout = 30.0
        @Option(help: "Seconds an open connection may wait for its next request.") var idleTimeout = 75.0
        @Option(help: "Connections without a valid token held at once; a new one closes the oldest.") var maxUnauthenticated = 256

        func validate() throws {
            for (name, value) in [("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout), ("--idle-timeout", idleTimeout)]
            where !(value > 0 && value <= 86400) {
                throw ValidationError("\(name) must be more than 0 and at most 86400 seconds")
            }
            guard (1...65536).contains(maxUnauthenticated) else { throw ValidationError("--max-unauthenticated must be 1 to 65536") }
        }

        func run() throws {
            try BlockingTask.run { try await serve() }
        }

        func serve() async throws {
            // Bad listen options fail before anything is locked or started.
            let options = try listen.map { listen in
                var options = try ChunkServer.Options(listen: listen, certificate: tlsCert, key: tlsKey)
                options.headerTimeout = headerTimeout
                options.bodyTimeout = bodyTimeout
                options.idleTimeout = idleTimeout
                options.maxUnauthenticated = maxUnauthenticated
                return options
            }
            let store = try global.openStore()
            let server = try options.map { try ChunkServer(store: store, options: $0) }
            let lock = try StoreLock(path: store.path + "/locks/scheduler.lock", purpose: "run the scheduler")
            defer { withExtendedLifetime(lock) {} }
            let quiet = global.quiet
            let scheduler = Scheduler(store: try ScheduleStore(store: store)) { job in
                try await Task.detached {
                    let builder = try StandbyBuilder(store: store)
                    switch job.key.kind {
                    case .build:
                        var options = StandbyBuilder.Options()
                        if let record = try StandbyCatalog(store: store).standby(job.key.machine) {
                            options.connect = record.connect
                            options.format = record.format
                        }
                        let report = try builder.build(machine: job.key.machine, options: options)
                        return "point \(report.standby.point), \(report.image.mode.rawValue), \(report.image.bytesWritten) bytes written"
                    case .verify:
                        let test = try builder.verify(machine: job.key.machine)
                        return String(format: "ready in %.1f s", test.secondsToReady ?? 0)
                    }
                }.value
            }
            if !quiet { FileHandle.standardError.write(Data("understudy serve: scheduler running for \(store.path)\n".utf8)) }
            let until = duration.map { Date().addingTimeInterval($0) }
            guard let options, let server else { return try await scheduler.run(until: until) }
            // One descriptor a connection: the usual soft limit of 1,024 is far below the hard one.
            let files = FileLimit.raise()
            if !quiet && files.after > files.before {
                FileHandle.standardError.write(Data("understudy serve: open-file limit raised from \(files.before) to \(files.after)\n".utf8))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await server.run { port in
                        // stdout, flushed: scripts and tests read the address from here.
                        FileHandle.standardOutput.write(Data("listening on \(options.scheme)://\(options.host):\(port)\n".utf8))
                    }
                }
                group.addTask { try await scheduler.run(until: until) }
                // Either ending ends the server: the scheduler at --duration, the listener on a signal.
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }
}

/// Runs async work to completion from a synchronous command.
enum BlockingTask {
    static func run(_ work: @escaping @Sendable () async throws -> Void) throws {
        final class Outcome: @unchecked Sendable { var error: (any Error)? }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await work() } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }
}

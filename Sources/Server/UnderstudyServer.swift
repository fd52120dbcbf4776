public import BlockStore
public import ChunkService
import Core
import Foundation
import Logging
import Schedule
import ServiceLifecycle

/// The process `understudy serve` runs: the scheduler (standby builds and verifies at their cron
/// times) and, when asked, the chunk service for rescue clients, as services of one
/// `ServiceGroup`. SIGTERM or SIGINT shuts them down gracefully: the listener stops accepting and
/// finishes what it answers, the scheduler stops between jobs (a job cut short is recorded as
/// interrupted). When one service ends — the scheduler at `duration`, or a listener that fails —
/// the others are stopped too.
public struct UnderstudyServer: Sendable {
    public struct Options: Sendable {
        /// The chunk service's address and TLS; nil runs the scheduler alone.
        public var listen: ChunkServer.Options?
        /// Seconds to run, for tests and one-shot runs; nil runs until a signal.
        public var duration: Double?
        /// Where notes for the operator go (the CLI: standard error unless `--quiet`).
        public var note: @Sendable (String) -> Void = { _ in }
        /// Told the chunk service's URL once it listens (the CLI prints it on standard output).
        public var listening: @Sendable (String) -> Void = { _ in }

        public init(listen: ChunkServer.Options? = nil, duration: Double? = nil) {
            self.listen = listen
            self.duration = duration
        }
    }

    let store: Store
    let options: Options
    let chunkServer: ChunkServer?
    let schedules: ScheduleStore

    /// Checks the options and opens what the services need; nothing runs yet.
    public init(store: Store, options: Options) throws {
        self.store = store
        self.options = options
        chunkServer = try options.listen.map { try ChunkServer(store: store, options: $0) }
        schedules = try ScheduleStore(store: store)
    }

    public func run() async throws {
        // One scheduler per store: a second `serve` would run every job twice.
        let lock = try StoreLock(path: store.layout.schedulerLock, purpose: "run the scheduler")
        defer { withExtendedLifetime(lock) {} }
        let jobs = JobRunner(store: store)
        defer { jobs.shutdown() }
        let catalog = ThreadLane()
        defer { catalog.shutdown() }
        var services = [ServiceGroupConfiguration.ServiceConfiguration(
            service: SchedulerService(scheduler: Scheduler(store: schedules, lane: catalog, runner: jobs.run), duration: options.duration,
                                      started: { [options, path = store.path] in options.note("scheduler running for \(path)") }),
            successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "scheduler")]
        if let chunkServer, let listen = options.listen {
            // One descriptor a connection: the usual soft limit of 1,024 is far below the hard one.
            let files = FileLimit.raise()
            if files.after > files.before { options.note("open-file limit raised from \(files.before) to \(files.after)") }
            services.append(.init(service: ChunkServiceRunner(server: chunkServer, listen: listen, listening: options.listening),
                                  successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "chunk service"))
        }
        var logger = Logger(label: "understudy.serve")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

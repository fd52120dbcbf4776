import BlockStore
import Schedule
import Standby

/// Does the work of scheduled jobs (standby builds and verifies) on a thread of its own: they
/// block for minutes (libvirt, qemu-img, file I/O, polling a booting guest) and must not hold one
/// of Swift's few cooperative threads or an event loop. One thread: jobs run one after another.
final class JobRunner: Sendable {
    private let store: Store
    private let thread = ThreadLane()

    init(store: Store) {
        self.store = store
    }

    func run(_ job: DueJob) async throws -> String? {
        let store = self.store
        return try await thread.run {
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
        }
    }

    func shutdown() {
        thread.shutdown()
    }
}

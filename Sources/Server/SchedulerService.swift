import Foundation
import Schedule
import ServiceLifecycle

/// The scheduler as a service: runs due jobs until `duration` has passed (if given) or the group
/// shuts down, which cancels the pass in progress between or inside jobs.
struct SchedulerService: Service {
    let scheduler: Scheduler
    let duration: Double?
    /// Said once the service runs (so the group already handles signals).
    let started: @Sendable () -> Void

    func run() async throws {
        started()
        let until = duration.map { Date().addingTimeInterval($0) }
        try await cancelWhenGracefulShutdown { try await scheduler.run(until: until) }
    }
}

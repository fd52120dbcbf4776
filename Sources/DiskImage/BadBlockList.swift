import Synchronization

/// Bad blocks found by worker threads during a restore with `ignoreErrors`.
final class BadBlockList: Sendable {
    private let list = Mutex<[RestoreReport.BadBlock]>([])
    func append(_ bad: RestoreReport.BadBlock) { list.withLock { $0.append(bad) } }
    var sorted: [RestoreReport.BadBlock] { list.withLock { $0 }.sorted { $0.block < $1.block } }
}

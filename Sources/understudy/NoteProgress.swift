import BlockStore
import Foundation
import Core

/// Progress for a standard error that is not a terminal (a cron job, a log file, a pipe): no
/// progress bar, but the notes — a standby image rebuilt because it was damaged, a guest moved to
/// TCG, an interrupted update rolled back — each on a line of their own, where a log keeps them.
struct NoteProgress: ProgressReporter {
    func start(phase: String, total: Int64) {}
    func update(done: Int64) {}
    func finish() {}

    func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

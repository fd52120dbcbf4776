import BlockStore
import Core

/// The two errors every format gives for a damaged image, worded once: an in-place update
/// refuses an image whose structures fail its format's check, and a writer refuses to publish
/// output that fails it.
enum ImageDamage {
    /// An update writes only where the image's own tables point, so it must trust them first.
    static func refuseUpdate(_ file: any ImageFile, problems: [String]) -> UnderstudyError {
        UnderstudyError(.damagedImage, "\(file.path) is damaged, so it is not updated in place: \(problems.joined(separator: "; ")); pass --force-full to rebuild it",
                   at: .init(path: file.path))
    }

    /// A writer's last step (restic `Packer.Finalize` → `verifyHeader`): what it wrote must pass
    /// the format's check before anyone publishes or records it.
    static func verifyOwnOutput(_ format: String, _ file: any ImageFile, problems: [String]) throws {
        guard problems.isEmpty else {
            throw UnderstudyError(.io, "the \(format) image just written fails its own check: \(problems.joined(separator: "; "))", at: .init(path: file.path))
        }
    }
}

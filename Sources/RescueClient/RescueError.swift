/// A failure of a rescue restore: one readable sentence, and whether running the same command
/// again continues (network trouble) or not (a wrong target, a corrupt chunk).
public struct RescueError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var resumable: Bool

    public init(_ message: String, resumable: Bool = false) {
        self.message = message
        self.resumable = resumable
    }

    public var description: String { message }
}

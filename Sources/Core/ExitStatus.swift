/// The exit status of a command that failed (docs/decisions.md): 2 for misuse only (a wrong
/// flag or argument, an invalid value), 1 for every other failure, whatever threw it.
public enum ExitStatus {
    public static let failure: Int32 = 1
    public static let misuse: Int32 = 2

    /// `isMisuse` says whether the command-line parser classes an error as misuse (its own
    /// errors: unknown flag, missing argument, failed validation).
    public static func code(for error: any Error, isMisuse: (any Error) -> Bool) -> Int32 {
        if let error = error as? UnderstudyError { return error.code == .invalidArgument ? misuse : failure }
        return isMisuse(error) ? misuse : failure
    }
}

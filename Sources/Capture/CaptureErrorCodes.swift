public import Core

/// Capture's own error categories.
extension UnderstudyError.Code {
    /// The source is smaller than the machine's previous point.
    public static let sourceShrank = Self("sourceShrank")
}

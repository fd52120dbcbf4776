public import Core

/// The error categories of restore targets and images.
extension UnderstudyError.Code {
    public static let targetTooSmall = Self("targetTooSmall")
    /// The target already holds data and `--force` was not given.
    public static let targetHasData = Self("targetHasData")
    /// An existing image that fails its format's check, or no longer holds the point it was
    /// built at: it is not updated in place (a rebuild replaces it).
    public static let damagedImage = Self("damagedImage")
}

public import Core

/// The store's own error categories.
extension UnderstudyError.Code {
    /// The SQLite catalog cannot be read.
    public static let corruptCatalog = Self("corruptCatalog")
    /// The store was written by a newer Understudy.
    public static let newerFormat = Self("newerFormat")
}

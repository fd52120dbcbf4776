public import Core

/// The error categories of chunks, wherever they are read.
extension UnderstudyError.Code {
    /// A chunk whose content does not hash to its name, or that does not decompress.
    public static let corruptChunk = Self("corruptChunk")
    /// A chunk a point refers to is not where it should be.
    public static let missingChunk = Self("missingChunk")
}

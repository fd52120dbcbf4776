/// A malformed message on the wire: names what was wrong and where.
public struct WireError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

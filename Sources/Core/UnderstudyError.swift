public import Foundation

/// Every failure in Understudy, whichever module it comes from: a stable `code`, a readable
/// `message`, the place it happened (machine, point, block, offset, chunk, path) and the underlying
/// error if any.
public struct UnderstudyError: Error, CustomStringConvertible, Sendable {
    /// A stable error category. The categories every module meets are declared here; a module
    /// declares its own in an extension of `Code` (e.g. `BlockStore` has `corruptChunk`,
    /// `DiskImage` has `damagedImage`), so this module never collects other modules' cases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        /// A new category named `name` (camel case, unique across modules).
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A name, size or option the caller got wrong.
        public static let invalidArgument = Code("invalidArgument")
        /// A machine, point, file or store that does not exist.
        public static let notFound = Code("notFound")
        public static let alreadyExists = Code("alreadyExists")
        /// A system call failed (see `underlying`).
        public static let io = Code("io")
        /// The file system is full (ENOSPC, EDQUOT).
        public static let noSpace = Code("noSpace")
        /// Another process holds the lock this operation needs.
        public static let locked = Code("locked")
        /// A device that is mounted or held open exclusively (EBUSY).
        public static let targetInUse = Code("targetInUse")
        public static let unsupported = Code("unsupported")
        public static let interrupted = Code("interrupted")
        /// The target is not what the operation expects (another machine, format, or changed since built).
        public static let conflict = Code("conflict")
    }

    /// Where a failure happened, as precisely as known.
    public struct Location: Sendable, CustomStringConvertible {
        public var machine: String?
        public var point: Int64?
        public var block: Int?
        public var offset: Int64?
        /// A chunk's name in hex.
        public var chunk: String?
        public var path: String?

        public init(machine: String? = nil, point: Int64? = nil, block: Int? = nil, offset: Int64? = nil,
                    chunk: String? = nil, path: String? = nil) {
            self.machine = machine; self.point = point; self.block = block
            self.offset = offset; self.chunk = chunk; self.path = path
        }

        public var description: String {
            var parts: [String] = []
            if let machine { parts.append("machine \(machine)") }
            if let point { parts.append("point \(point)") }
            if let block { parts.append("block \(block)") }
            if let offset { parts.append("offset \(offset)") }
            if let chunk { parts.append("chunk \(chunk)") }
            if let path { parts.append(path) }
            return parts.joined(separator: ", ")
        }

        public var isEmpty: Bool { description.isEmpty }
    }

    public var code: Code
    public var message: String
    public var location: Location
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, at location: Location = Location(), underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.underlying = underlying
    }

    /// A failed system call; `ENOSPC`/`EDQUOT` become `.noSpace`. The errno is kept as the
    /// underlying `POSIXError` (`errnoCode`).
    public static func errno(_ operation: String, path: String, errno code: Int32 = Foundation.errno) -> UnderstudyError {
        let text = String(cString: strerror(code))
        let posix = POSIXErrorCode(rawValue: code).map { POSIXError($0) }
        if code == ENOSPC || code == EDQUOT {
            return UnderstudyError(.noSpace, "\(operation) \(path): file system full (\(text))", at: Location(path: path), underlying: posix)
        }
        return UnderstudyError(.io, "\(operation) \(path): \(text)", at: Location(path: path), underlying: posix)
    }

    /// The errno of a failed system call, if that is what this error is.
    public var errnoCode: Int32? { (underlying as? POSIXError)?.code.rawValue }

    /// The same error with more of its location filled in (fields already set are kept).
    public func adding(_ more: Location) -> UnderstudyError {
        var copy = self
        copy.location.machine = location.machine ?? more.machine
        copy.location.point = location.point ?? more.point
        copy.location.block = location.block ?? more.block
        copy.location.offset = location.offset ?? more.offset
        copy.location.chunk = location.chunk ?? more.chunk
        copy.location.path = location.path ?? more.path
        return copy
    }

    public var description: String {
        var shown = location
        if let path = shown.path, message.contains(path) { shown.path = nil }
        let context = shown.isEmpty ? "" : " [\(shown)]"
        return message + context
    }
}

extension Error {
    /// This error with its location completed; a foreign error becomes an `.io` UnderstudyError there.
    public func located(_ location: UnderstudyError.Location) -> UnderstudyError {
        if let error = self as? UnderstudyError { return error.adding(location) }
        return UnderstudyError(.io, "\(self)", at: location)
    }
}

public import Foundation

/// Every failure of the store, capture and restore: a stable `code`, a readable `message`, the place
/// it happened (machine, point, block, offset, chunk, path) and the underlying error if any.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// A stable error category; new categories can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case invalidArgument, notFound, alreadyExists, io, noSpace, corruptChunk, missingChunk
            case corruptCatalog, newerFormat, locked, sourceShrank, targetTooSmall, targetInUse
            case targetHasData, unsupported, interrupted, conflict, damagedImage
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        public var description: String { value.rawValue }

        /// A name, size or option the caller got wrong.
        public static let invalidArgument = Code(.invalidArgument)
        /// A machine, point, file or store that does not exist.
        public static let notFound = Code(.notFound)
        public static let alreadyExists = Code(.alreadyExists)
        /// A system call failed (see `underlying`).
        public static let io = Code(.io)
        /// The file system is full (ENOSPC, EDQUOT).
        public static let noSpace = Code(.noSpace)
        /// A chunk whose content does not hash to its name, or that does not decompress.
        public static let corruptChunk = Code(.corruptChunk)
        /// A chunk a point refers to is not in the store.
        public static let missingChunk = Code(.missingChunk)
        /// The SQLite catalog cannot be read.
        public static let corruptCatalog = Code(.corruptCatalog)
        /// The store was written by a newer Understudy.
        public static let newerFormat = Code(.newerFormat)
        /// Another process holds the lock this operation needs.
        public static let locked = Code(.locked)
        /// The source is smaller than the machine's previous point.
        public static let sourceShrank = Code(.sourceShrank)
        public static let targetTooSmall = Code(.targetTooSmall)
        /// An existing image that fails its format's check, or no longer holds the point it was
        /// built at: it is not updated in place (a rebuild replaces it).
        public static let damagedImage = Code(.damagedImage)
        /// The target device is mounted or held open exclusively.
        public static let targetInUse = Code(.targetInUse)
        /// The target already holds data and `--force` was not given.
        public static let targetHasData = Code(.targetHasData)
        public static let unsupported = Code(.unsupported)
        public static let interrupted = Code(.interrupted)
        /// The target is not what the operation expects (another machine, format, or changed since built).
        public static let conflict = Code(.conflict)
    }

    /// Where a failure happened, as precisely as known.
    public struct Location: Sendable, CustomStringConvertible {
        public var machine: String?
        public var point: Int64?
        public var block: Int?
        public var offset: Int64?
        public var chunk: ChunkID?
        public var path: String?

        public init(machine: String? = nil, point: Int64? = nil, block: Int? = nil, offset: Int64? = nil,
                    chunk: ChunkID? = nil, path: String? = nil) {
            self.machine = machine; self.point = point; self.block = block
            self.offset = offset; self.chunk = chunk; self.path = path
        }

        public var description: String {
            var parts: [String] = []
            if let machine { parts.append("machine \(machine)") }
            if let point { parts.append("point \(point)") }
            if let block { parts.append("block \(block)") }
            if let offset { parts.append("offset \(offset)") }
            if let chunk { parts.append("chunk \(chunk.hex)") }
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

    /// A failed system call; `ENOSPC`/`EDQUOT` become `.noSpace`.
    public static func errno(_ operation: String, path: String, errno code: Int32 = Foundation.errno) -> StoreError {
        let text = String(cString: strerror(code))
        if code == ENOSPC || code == EDQUOT {
            return StoreError(.noSpace, "\(operation) \(path): file system full (\(text))", at: Location(path: path))
        }
        return StoreError(.io, "\(operation) \(path): \(text)", at: Location(path: path))
    }

    /// The same error with more of its location filled in (fields already set are kept).
    public func adding(_ more: Location) -> StoreError {
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
    /// This error with its location completed; a foreign error becomes an `.io` StoreError there.
    public func located(_ location: StoreError.Location) -> StoreError {
        if let error = self as? StoreError { return error.adding(location) }
        return StoreError(.io, "\(self)", at: location)
    }
}

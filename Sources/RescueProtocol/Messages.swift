public import Foundation

/// The rescue protocol's JSON messages (docs/rescue-protocol.md). Version 1 lives under `/api/v1`.
public enum RescueAPI {
    public static let prefix = "/api/v1"
    public static let version = 1
    /// Most chunk ids one `POST /chunks` may ask for.
    public static let maxChunksPerRequest = 1024
    public static let indexContentType = "application/vnd.understudy.index"
    public static let chunksContentType = "application/vnd.understudy.chunks"

    public static func machines() -> String { prefix + "/machines" }
    public static func points(_ machine: String) -> String { prefix + "/machines/\(escape(machine))/points" }
    public static func index(_ machine: String, point: String) -> String {
        prefix + "/machines/\(escape(machine))/points/\(escape(point))/index"
    }
    public static func chunks() -> String { prefix + "/chunks" }

    static func escape(_ part: String) -> String {
        part.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~@:"))) ?? part
    }
}

/// One machine as `GET /machines` lists it.
public struct MachineInfo: Codable, Sendable, Equatable {
    public var name: String
    public var blockSize: Int
    public var points: Int
    public var latestPoint: Int64?
    public var latestTime: Date?

    public init(name: String, blockSize: Int, points: Int, latestPoint: Int64?, latestTime: Date?) {
        self.name = name
        self.blockSize = blockSize
        self.points = points
        self.latestPoint = latestPoint
        self.latestTime = latestTime
    }
}

/// One recovery point as `GET /machines/M/points` lists it.
public struct PointInfo: Codable, Sendable, Equatable {
    public var id: Int64
    public var machine: String
    public var time: Date
    public var diskSize: Int64
    public var blockSize: Int
    public var sectorSize: Int
    public var dataBlocks: Int
    public var zeroBlocks: Int

    public init(id: Int64, machine: String, time: Date, diskSize: Int64, blockSize: Int, sectorSize: Int,
                dataBlocks: Int, zeroBlocks: Int) {
        self.id = id
        self.machine = machine
        self.time = time
        self.diskSize = diskSize
        self.blockSize = blockSize
        self.sectorSize = sectorSize
        self.dataBlocks = dataBlocks
        self.zeroBlocks = zeroBlocks
    }
}

/// The body of every error response (with a 4xx/5xx status).
public struct ErrorMessage: Codable, Sendable, Equatable {
    public var error: String
    public init(error: String) { self.error = error }
}

extension JSONEncoder {
    /// The protocol's encoder: ISO 8601 dates, sorted keys.
    public static var rescue: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

extension JSONDecoder {
    public static var rescue: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

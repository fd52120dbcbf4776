import BlockStore
public import Foundation
import Core

/// What Understudy knows of an image it wrote, kept beside it as `IMAGE.understudy.json`:
/// which point it holds, and a fingerprint that changes if anything else writes the image.
public struct ImageRecord: Codable, Sendable, Equatable {
    public struct Fingerprint: Codable, Sendable, Equatable {
        public var size: Int64
        public var modifiedNanoseconds: Int64
        public var inode: UInt64
    }

    public var format: String
    public var variant: String
    public var compressed: Bool
    /// VMDK streamOptimized packaged as an OVA.
    public var ova: Bool?
    public var machine: String
    public var point: Int64
    public var pointTime: Date
    public var diskSize: Int64
    public var blockSize: Int
    public var built: Date
    public var fingerprint: Fingerprint
    /// When every block was last known to hold `point`: the build itself, or an update's
    /// `HeldPointCheck`. Nil in records older than the check.
    public var verified: Date?

    /// True if the image was verified within `days` days of `now`.
    public func verifiedWithin(days: Double, of now: Date = Date()) -> Bool {
        guard let verified else { return false }
        return now.timeIntervalSince(verified) < days * 86_400 && verified <= now
    }

    public static func path(of image: String) -> String { image + ".understudy.json" }

    public static func load(for image: String) -> ImageRecord? {
        guard let bytes = try? FileSystem.readFile(path(of: image)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(ImageRecord.self, from: Data(bytes))
    }

    /// Written atomically (temp, fsync, rename).
    public func save(for image: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try FileSystem.writeAtomically(try encoder.encode(self), to: Self.path(of: image))
    }

    public static func fingerprint(of path: String) throws -> Fingerprint {
        var st = stat()
        guard stat(path, &st) == 0 else { throw UnderstudyError.errno("stat", path: path) }
        return Fingerprint(size: Int64(st.st_size), modifiedNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                           inode: UInt64(st.st_ino))
    }
}

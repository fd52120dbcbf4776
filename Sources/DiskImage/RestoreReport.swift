import Foundation
public import ChunkFormat

/// What a restore, image build or image update did.
public struct RestoreReport: Codable, Sendable {
    public struct BadBlock: Codable, Sendable {
        public var block: Int
        public var offset: Int64
        public var chunk: ChunkID
        public var error: String
    }
    public enum Mode: String, Codable, Sendable {
        /// Written from scratch.
        case full
        /// Brought from `fromPoint` to `point` in place, rewriting only changed blocks.
        case update
        /// Already held the point.
        case unchanged
    }
    public var machine: String
    public var point: Int64
    public var target: String
    public var format: String
    public var variant: String
    public var mode: Mode = .full
    public var fromPoint: Int64?
    public var diskSize: Int64
    public var dataBlocks = 0
    public var zeroBlocks = 0
    /// Blocks rewritten by an update.
    public var changedBlocks = 0
    /// Bytes written to the target (the cost of an update).
    public var bytesWritten: Int64 = 0
    /// Blocks filled with zeros because their chunk was bad (only with `ignoreErrors`).
    public var badBlocks: [BadBlock] = []
    public var seconds: Double = 0
    /// Why an update was done as a full rebuild, if it was.
    public var note: String?
}

import BlockStore
import Foundation

/// A recovery point as `--json` shows it: flat, stats inline.
struct PointView: Encodable {
    var id: Int64
    var machine: String
    var time: Date
    var diskSize: Int64
    var blockSize: Int
    var blockCount: Int
    var sectorSize: Int
    var parent: Int64?
    var source: String
    var indexRoot: String
    var indexDepth: Int
    var dataBlocks: Int
    var zeroBlocks: Int
    var changedBlocks: Int
    var dedupBlocks: Int
    var newChunks: Int
    var newBytes: Int64
    var storedBytes: Int64
    var indexPages: Int
    var seconds: Double

    init(_ p: RecoveryPoint) {
        id = p.id ?? 0; machine = p.machine; time = p.time; diskSize = p.diskSize; blockSize = p.blockSize
        blockCount = p.blockCount; sectorSize = p.sectorSize; parent = p.parent; source = p.source; indexRoot = p.index.root.hex
        indexDepth = p.index.depth; dataBlocks = p.stats.dataBlocks; zeroBlocks = p.stats.zeroBlocks
        changedBlocks = p.stats.changedBlocks; dedupBlocks = p.stats.dedupBlocks; newChunks = p.stats.newChunks
        newBytes = p.stats.newBytes; storedBytes = p.stats.storedBytes; indexPages = p.stats.indexPages
        seconds = p.stats.seconds
    }
}

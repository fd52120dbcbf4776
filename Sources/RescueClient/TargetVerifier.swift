import Crypto
public import RescueProtocol

/// `--verify`: reads the whole target back and checks every block against the block map: zero
/// blocks must read as zeros, the others must hash to their chunk's SHA-256.
public enum TargetVerifier {
    public struct Mismatch: Sendable, CustomStringConvertible {
        public var block: Int
        public var offset: Int64
        public var description: String { "block \(block) (offset \(offset))" }
    }

    public static func verify(_ index: RescueIndex, target path: String) throws -> [Mismatch] {
        let target = try TargetDisk(path: path, createIfMissing: false)
        var buffer = [UInt8](repeating: 0, count: index.blockSize)
        var bad: [Mismatch] = []
        for block in 0..<index.blockCount {
            let length = index.length(ofBlock: block)
            let offset = Int64(block) * Int64(index.blockSize)
            if buffer.count != length { buffer = [UInt8](repeating: 0, count: length) }
            guard try target.read(into: &buffer, at: offset) == length else {
                bad.append(Mismatch(block: block, offset: offset))
                continue
            }
            let entry = index.blocks[block]
            let good = entry == 0 ? !buffer.contains { $0 != 0 }
                                  : SHA256.hash(data: buffer).elementsEqual(index.chunkID(Int(entry) - 1))
            if !good { bad.append(Mismatch(block: block, offset: offset)) }
        }
        return bad
    }
}

import BlockStore
import Zstd
import Core

/// Reading guest data back from an image being updated, as QEMU reads it: what `ImageUpdater`
/// checks before it trusts the clusters it will not rewrite.
extension QCOW2Image {
    /// `buffer.count` guest bytes at `offset`: unallocated and zero-flagged clusters read as zeros,
    /// compressed ones are expanded (zstd; this writer never makes deflate clusters).
    func read(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let position = offset + Int64(done)
            let guest = position / clusterSize
            let inCluster = Int(position - guest * clusterSize)
            let n = min(buffer.count - done, Int(clusterSize) - inCluster)
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + n)])
            let entry = guest < Int64(header.size + UInt64(clusterSize) - 1) / clusterSize ? try readEntry(guest) : 0
            if entry & QCOW2Header.compressedFlag != 0 {
                let cluster = try expand(entry, guest: guest)
                cluster.withUnsafeBytes { piece.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[inCluster..<(inCluster + n)])) }
            } else if entry & QCOW2Header.zeroFlag != 0 || entry & QCOW2Header.offsetMask == 0 {
                piece.initializeMemory(as: UInt8.self, repeating: 0)
            } else {
                try readFully(file, at: Int64(entry & QCOW2Header.offsetMask) + Int64(inCluster), into: piece)
            }
            done += n
        }
    }

    /// The L2 entry of a guest cluster, from the file (it runs before the update writes anything,
    /// so the file is current), keeping only the last table read.
    private func readEntry(_ guest: Int64) throws -> UInt64 {
        let index = Int(guest / header.l2Entries), slot = Int(guest % header.l2Entries)
        guard index < l1.count else { return 0 }
        if let last = lastReadL2, last.index == index { return last.table[slot] }
        let offset = Int64(l1[index] & QCOW2Header.offsetMask)
        guard offset != 0 else { return 0 }
        let table = try loadL2(at: offset)
        lastReadL2 = (index, table)
        return table[slot]
    }

    /// A compressed cluster, expanded to a whole cluster.
    private func expand(_ entry: UInt64, guest: Int64) throws -> [UInt8] {
        func damaged(_ why: String) -> UnderstudyError {
            UnderstudyError(.unsupported, "\(file.path): compressed cluster \(guest) \(why)", at: .init(offset: guest * clusterSize, path: file.path))
        }
        guard header.compressionType == 1 else { throw damaged("uses deflate, which this reader does not expand") }
        let span = header.compressedSpan(entry)
        guard span.last < file.size, span.start <= span.last else { throw damaged("lies past the end of the file") }
        let stored = try file.read(Int(span.last - span.start + 1), at: span.start)
        var out = [UInt8](repeating: 0, count: Int(clusterSize))
        try stored.withUnsafeBytes { raw in
            guard let length = frameCompressedSize(raw) else { throw damaged("is not a zstd frame") }
            try out.withUnsafeMutableBytes { output in
                let frame = UnsafeRawBufferPointer(rebasing: raw[0..<length])
                // A frame may expand to less than a cluster (the disk's last one): the rest is zeros.
                guard let size = frameContentSize(frame), size <= output.count else { throw damaged("does not expand to at most a cluster") }
                do {
                    try Decompressor().decompress(frame, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<size]))
                } catch {
                    throw damaged("cannot be expanded: \(error)")
                }
            }
        }
        return out
    }
}

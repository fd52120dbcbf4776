import Foundation

extension VMDK {
    /// Cuts what a sink receives (blocks of any size, at increasing offsets) into grains.
    ///
    /// The store's block is 64 KiB by default but may be up to 4 MiB (or smaller than a grain), so
    /// a block may hold many grains or a grain many blocks. A grain a block covers whole is passed
    /// on without copying; a grain filled piecewise is gathered in one grain-sized buffer and passed
    /// on once a write reaches its end (offsets only increase, so nothing more can land in it) or
    /// at `finish`. Bytes never written are zeros, like the holes of the disk they stand for.
    struct GrainCutter {
        typealias Emit = (_ grain: Int64, _ bytes: UnsafeRawBufferPointer) throws -> Void

        let diskSize: Int64
        let grainBytes: Int
        private var pending: Int64 = -1
        private var buffer: [UInt8]

        init(diskSize: Int64, grainBytes: Int = VMDK.grainBytes) {
            self.diskSize = diskSize
            self.grainBytes = grainBytes
            buffer = [UInt8](repeating: 0, count: grainBytes)
        }

        /// The grain's length: a whole grain, or what is left of the disk for the last one.
        func length(of grain: Int64) -> Int {
            Int(min(Int64(grainBytes), diskSize - grain * Int64(grainBytes)))
        }

        mutating func add(offset: Int64, data: UnsafeRawBufferPointer, emit: Emit) throws {
            var position = offset
            var done = 0
            while done < data.count {
                let grain = position / Int64(grainBytes)
                let inGrain = Int(position - grain * Int64(grainBytes))
                let length = length(of: grain)
                let n = min(data.count - done, length - inGrain)
                guard n > 0 else { break }  // past the disk's end: nothing to store
                let slice = UnsafeRawBufferPointer(rebasing: data[done..<(done + n)])
                if grain != pending { try flush(emit) }
                if inGrain == 0 && n == length {
                    try emit(grain, slice)
                } else {
                    if pending != grain {
                        pending = grain
                        buffer.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) }
                    }
                    buffer.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: inGrain).copyMemory(from: slice.baseAddress!, byteCount: n) }
                    if inGrain + n == length { try flush(emit) }
                }
                done += n
                position += Int64(n)
            }
        }

        /// Passes on the grain being gathered, if any.
        mutating func flush(_ emit: Emit) throws {
            guard pending >= 0 else { return }
            let grain = pending
            pending = -1
            try buffer.withUnsafeBytes { try emit(grain, UnsafeRawBufferPointer(rebasing: $0[0..<length(of: grain)])) }
        }
    }
}

import ChunkFormat
import Crypto
import Foundation
import NIOPosix
import RescueProtocol
import Zstd

/// Restores one recovery point from a chunk server onto a disk: the block map first, then each
/// distinct non-zero chunk exactly once, several batches in flight, each chunk checked against its
/// SHA-256 after expanding it here and written to every block that holds it. Zero blocks are never
/// sent: holes in a fresh file, BLKZEROOUT (or zeros) on a device. Resumable through `RescueJournal`.
///
/// Network waits run on Swift concurrency; everything that blocks (expanding and hashing chunks,
/// `pwrite`, zeroing, `fsync`) runs on a thread pool of its own (`disk`), never on a cooperative
/// thread, so a slow disk cannot stall the connection's reads.
public final class RescueRestore: Sendable {
    public struct Options: Sendable {
        public var machine: String
        public var point: String
        public var target: String
        public var journal: String?
        /// Overwrite a target that already holds a partition table or file system without asking.
        public var yes = false
        public var inFlight = 4
        public var batchBytes = 8 << 20
        /// Flush the target and rewrite the journal after this many bytes (or 5 s): what a rerun redoes at most.
        public var checkpointBytes: Int64 = 64 << 20

        public init(machine: String, point: String = "latest", target: String) {
            self.machine = machine
            self.point = point
            self.target = target
        }
    }

    public struct Report: Sendable, Codable {
        public var machine: String
        public var point: Int64
        public var diskBytes: Int64
        public var chunks: Int
        public var chunksThisRun: Int
        public var zeroBlocks: Int
        public var receivedBytes: Int64
        public var storedBytes: Int64
        public var resumed: Bool
        public var seconds: Double
    }

    let connection: RescueConnection
    let options: Options
    let progress: RescueProgress
    /// Asked before overwriting a disk that holds data; false refuses.
    let confirm: @Sendable (String) -> Bool

    public init(connection: RescueConnection, options: Options, progress: RescueProgress,
                confirm: @escaping @Sendable (String) -> Bool) {
        self.connection = connection
        self.options = options
        self.progress = progress
        self.confirm = confirm
    }

    public func run() async throws -> Report {
        let disk = NIOThreadPool(numberOfThreads: max(2, options.inFlight))
        disk.start()
        do {
            let report = try await run(disk: disk)
            try? await disk.shutdownGracefully()
            return report
        } catch {
            try? await disk.shutdownGracefully()
            throw error
        }
    }

    private func run(disk: NIOThreadPool) async throws -> Report {
        let started = Date()
        let index = try await connection.index(of: options.machine, point: options.point)
        let digest = SHA256.hash(data: index.encoded()).map { String(format: "%02x", $0) }.joined()
        let target = try TargetDisk(path: options.target, createIfMissing: true)
        let journalPath = options.journal ?? RescueJournal.defaultPath(forTarget: options.target, isBlockDevice: target.isBlockDevice)
        var journal = RescueJournal(machine: options.machine, point: index.point, indexDigest: digest,
                                    diskSize: index.diskSize, chunkCount: index.chunkCount)
        let resumed: Bool
        if let old = RescueJournal.load(journalPath), old.machine == journal.machine, old.point == journal.point,
           old.indexDigest == digest, old.diskSize == index.diskSize, old.done.count == journal.done.count {
            journal = old
            resumed = true
        } else {
            resumed = false
        }
        if target.isBlockDevice {
            let size = try target.size()
            guard size >= index.diskSize else {
                throw RescueError("target \(options.target) holds \(size) bytes, smaller than the \(index.diskSize)-byte disk of \(options.machine) point \(index.point)")
            }
        }
        if resumed {
            try target.prepareFile(size: index.diskSize, fresh: false)
            progress.note("continuing an interrupted restore of \(options.machine) point \(index.point): \(journal.doneCount) of \(index.chunkCount) chunks already on \(options.target)")
        } else {
            if try target.size() > 0, let found = try target.existingContent(), !options.yes {
                guard confirm("\(options.target) holds \(found). Overwrite it with \(options.machine) point \(index.point)?") else {
                    throw RescueError("\(options.target) holds \(found); not overwritten (pass --yes to overwrite)")
                }
            }
            try target.prepareFile(size: index.diskSize, fresh: true)
            journal.zeroed = !target.isBlockDevice
            try journal.save(journalPath)
        }
        let zeroBlocks = index.blocks.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        if !journal.zeroed {
            try await disk.runIfActive { [self] in
                try zeroFill(index, target)
                try target.sync()
            }
            journal.zeroed = true
            try journal.save(journalPath)
        }
        let users = ChunkUsers(index)
        let pending = (0..<index.chunkCount).filter { !journal.isDone($0) }
        // Already in place: the zero blocks and every block of a finished chunk.
        let inPlace = index.blocks.indices.reduce(Int64(0)) { sum, block in
            let entry = index.blocks[block]
            return entry == 0 || journal.isDone(Int(entry) - 1) ? sum + Int64(index.length(ofBlock: block)) : sum
        }
        progress.begin(diskBytes: index.diskSize, transferTotal: pending.reduce(0) { $0 + Int64(index.storedLengths[$1]) },
                       alreadyWritten: inPlace)
        let batches = Self.batches(pending, index: index, maxBytes: options.batchBytes)
        let receivedBefore = connection.received.value
        do {
            try await fetchAndWrite(batches, index: index, users: users, target: target, disk: disk,
                                    journal: &journal, journalPath: journalPath)
        } catch let error as RescueError {
            let checkpoint = journal
            try? await disk.runIfActive {
                try target.sync()
                try checkpoint.save(journalPath)
            }
            throw error.resumable ? RescueError(error.message + "; run the same command again to continue where it stopped", resumable: true) : error
        }
        try await disk.runIfActive { try target.sync() }
        RescueJournal.remove(journalPath)
        let received = connection.received.value - receivedBefore
        progress.finish(String(format: "restored %@ point %lld to %@: %d chunks (%@ received, %d zero blocks never sent) in %.1f s",
                               options.machine, index.point, options.target, pending.count,
                               RescueProgress.bytes(received), zeroBlocks, Date().timeIntervalSince(started)))
        return Report(machine: options.machine, point: index.point, diskBytes: index.diskSize, chunks: index.chunkCount,
                      chunksThisRun: pending.count, zeroBlocks: zeroBlocks, receivedBytes: received,
                      storedBytes: index.storedBytes, resumed: resumed, seconds: Date().timeIntervalSince(started))
    }

    /// Zeroes the zero blocks of a device, one call per run of adjacent zero blocks.
    func zeroFill(_ index: RescueIndex, _ target: TargetDisk) throws {
        var block = 0
        while block < index.blockCount {
            guard index.blocks[block] == 0 else { block += 1; continue }
            var end = block
            while end < index.blockCount && index.blocks[end] == 0 { end += 1 }
            let offset = Int64(block) * Int64(index.blockSize)
            let length = min(Int64(end) * Int64(index.blockSize), index.diskSize) - offset
            try target.zero(offset: offset, length: length)
            block = end
        }
    }

    /// Chunks grouped into requests of at most `maxBytes` stored bytes and the protocol's count limit.
    static func batches(_ chunks: [Int], index: RescueIndex, maxBytes: Int) -> [[Int]] {
        var result: [[Int]] = [], current: [Int] = [], bytes = 0
        for chunk in chunks {
            let size = Int(index.storedLengths[chunk])
            if !current.isEmpty && (bytes + size > maxBytes || current.count == RescueAPI.maxChunksPerRequest) {
                result.append(current)
                current = []
                bytes = 0
            }
            current.append(chunk)
            bytes += size
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    private func fetchAndWrite(_ batches: [[Int]], index: RescueIndex, users: ChunkUsers, target: TargetDisk, disk: NIOThreadPool,
                               journal: inout RescueJournal, journalPath: String) async throws {
        var lastCheckpoint = Date()
        var sinceCheckpoint: Int64 = 0
        var next = 0
        try await withThrowingTaskGroup(of: (chunks: [Int], bytes: Int64).self) { group in
            func launch() {
                guard next < batches.count else { return }
                let batch = batches[next]
                next += 1
                group.addTask { try await self.restore(batch, index: index, users: users, target: target, disk: disk) }
            }
            for _ in 0..<max(1, options.inFlight) { launch() }
            while let done = try await group.next() {
                for chunk in done.chunks { journal.markDone(chunk) }
                progress.update(writtenDelta: done.bytes, transferred: connection.received.value)
                sinceCheckpoint += done.bytes
                if Date().timeIntervalSince(lastCheckpoint) >= 5 || sinceCheckpoint >= options.checkpointBytes {
                    let checkpoint = journal
                    try await disk.runIfActive {
                        try target.sync()
                        try checkpoint.save(journalPath)
                    }
                    lastCheckpoint = Date()
                    sinceCheckpoint = 0
                }
                launch()
            }
        }
    }

    /// Fetches one batch (retrying a lost link a few times), verifies and writes each chunk. A chunk
    /// that fails its hash is asked for again (the damage may have been in transit); if the
    /// server's copy itself is bad, the restore stops and names it.
    private func restore(_ batch: [Int], index: RescueIndex, users: ChunkUsers, target: TargetDisk,
                         disk: NIOThreadPool) async throws -> (chunks: [Int], bytes: Int64) {
        var pending = Array(zip(batch, try await fetch(batch, index: index)))
        var written: Int64 = 0
        for attempt in 0... {
            let received = pending
            let (bytes, failed) = try await disk.runIfActive { [self] in
                try write(received, index: index, users: users, target: target)
            }
            written += bytes
            guard !failed.isEmpty else { break }
            for chunk in failed {
                guard attempt < 2 else {
                    throw RescueError("\(place(chunk, index: index, users: users)) failed verification \(attempt + 1) times: the server's copy does not expand to content with its SHA-256; nothing of it was written")
                }
                progress.note("\(place(chunk, index: index, users: users)) failed verification; asking the server again")
            }
            pending = Array(zip(failed, try await fetch(failed, index: index)))
        }
        return (batch, written)
    }

    /// Expands and verifies each received chunk and writes it to every block that holds it (on a
    /// `disk` thread); returns the bytes written and the chunks that failed verification.
    private func write(_ received: [(chunk: Int, record: ChunkRecord)], index: RescueIndex, users: ChunkUsers,
                       target: TargetDisk) throws -> (bytes: Int64, failed: [Int]) {
        let decompressor = Decompressor()
        var plain = [UInt8](repeating: 0, count: index.blockSize)
        var written: Int64 = 0
        var failed: [Int] = []
        for (chunk, record) in received {
            guard record.id.elementsEqual(index.chunkID(chunk)) else {
                throw RescueError("the server sent chunk records out of order at \(place(chunk, index: index, users: users))", resumable: true)
            }
            guard record.status == .ok else {
                throw RescueError("the server cannot send \(place(chunk, index: index, users: users)): \(String(decoding: record.payload, as: UTF8.self))")
            }
            let blocks = users.blocks(of: chunk)
            let length = index.length(ofBlock: Int(blocks.first!))
            guard expand(record.payload, into: &plain, length: length, id: index.chunkID(chunk), decompressor) else {
                failed.append(chunk)
                continue
            }
            for block in blocks {
                try plain.withUnsafeBytes { try target.write(UnsafeRawBufferPointer(rebasing: $0[0..<length]), at: Int64(block) * Int64(index.blockSize)) }
                written += Int64(length)
            }
        }
        return (written, failed)
    }

    /// One request for `chunks`, retried with backoff while the link is down.
    private func fetch(_ chunks: [Int], index: RescueIndex) async throws -> [ChunkRecord] {
        let ids = chunks.map { index.chunkID($0) }
        let expected = chunks.reduce(0) { $0 + Int(index.storedLengths[$1]) + ChunkRecord.headerBytes }
        var attempt = 0
        while true {
            do {
                let records = try await connection.chunks(ids, expectedBytes: expected)
                guard records.count == chunks.count else {
                    throw RescueError("the server answered \(records.count) chunks for a request of \(chunks.count)", resumable: true)
                }
                return records
            } catch let error as RescueError where error.resumable && attempt < 4 {
                progress.note("\(error.message); retrying in \(1 << attempt) s")
                try await Task.sleep(nanoseconds: UInt64(1 << attempt) * 1_000_000_000)
                attempt += 1
            }
        }
    }

    /// Expands a frame into `plain` and checks it hashes to `id`.
    private func expand(_ frame: ArraySlice<UInt8>, into plain: inout [UInt8], length: Int, id: ArraySlice<UInt8>, _ decompressor: Decompressor) -> Bool {
        frame.withUnsafeBytes { frame in
            plain.withUnsafeMutableBytes { out in
                let output = UnsafeMutableRawBufferPointer(rebasing: out[0..<length])
                guard frameContentSize(frame) == length, let id = ChunkID(bytes: id) else { return false }
                return ChunkFrame.matches(frame, id: id, into: output, using: decompressor)
            }
        }
    }

    /// "chunk ID of M point P (block B, offset O)": where a problem is, for messages.
    private func place(_ chunk: Int, index: RescueIndex, users: ChunkUsers) -> String {
        let first = Int(users.blocks(of: chunk).first!)
        let hex = index.chunkID(chunk).map { String(format: "%02x", $0) }.joined()
        return "chunk \(hex) of \(options.machine) point \(index.point) (block \(first), offset \(Int64(first) * Int64(index.blockSize)))"
    }
}

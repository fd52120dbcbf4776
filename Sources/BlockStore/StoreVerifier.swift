import Foundation
import Zstd
public import Core
public import ChunkFormat

/// One problem `verify --chunks` found.
public struct VerifyProblem: Codable, Sendable, CustomStringConvertible {
    public var kind: String
    public var machine: String?
    public var point: Int64?
    public var block: Int?
    public var chunk: ChunkID?
    public var message: String

    public var description: String {
        var place: [String] = []
        if let machine { place.append("machine \(machine)") }
        if let point { place.append("point \(point)") }
        if let block { place.append("block \(block)") }
        if let chunk { place.append("chunk \(chunk.hex)") }
        return "\(kind): \(message)" + (place.isEmpty ? "" : " [\(place.joined(separator: ", "))]")
    }
}

/// What `verify --chunks` checked.
public struct VerifyReport: Codable, Sendable {
    public var chunks = 0
    public var chunkBytes: Int64 = 0
    public var points = 0
    public var problems: [VerifyProblem] = []
    public var seconds: Double = 0
}

extension Store {
    /// Re-hashes every chunk and checks its record header, then walks every point's index: each page and block chunk must be
    /// present and sound. Problems are named by machine, point, block and chunk.
    public func verifyChunks(progress: any ProgressReporter = SilentProgress()) throws -> VerifyReport {
        let started = Date()
        // Held shared, like a writer: gc's sweep cannot punch a chunk out between our reading its
        // row and its bytes (which would look like corruption).
        let noSweep = try lockAgainstSweep()
        defer { withExtendedLifetime(noSweep) {} }
        var report = VerifyReport()
        var present: [(ChunkID, ChunkLocation)] = []
        try chunks.forEachChunk { id, location in present.append((id, location)) }
        report.chunks = present.count
        let bad = BadChunks()
        let decompressors = (0..<Parallel.workers).map { _ in DecompressorBox() }
        progress.start(phase: "verify chunks", total: Int64(present.count))
        let checked = AtomicCounter()
        try Parallel.forEach(present.count) { (w, i) in
            let (id, location) = present[i]
            defer { progress.update(done: checked.add(1)) }
            let frame: [UInt8]
            do {
                let record = try chunks.storedRecord(at: location, id: id)
                if let damage = PackFormat.headerProblem(record[0..<PackRecord.headerSize], id: id, location: location) {
                    bad.insertHeader(id, damage)
                }
                frame = Array(record[PackRecord.headerSize...])
            } catch {
                bad.insert(id, "unreadable in pack \(location.pack) at offset \(location.offset): \(error.located(.init()).message)")
                return
            }
            bad.addBytes(frame.count)
            var plain = [UInt8](repeating: 0, count: location.plainLength)
            let ok: Bool = plain.withUnsafeMutableBytes { out in
                do { try ChunkFrame.expand(frame, id: id, into: out, using: decompressors[w].decompressor) } catch { return false }
                return true
            }
            if !ok { bad.insert(id, "content in pack \(location.pack) at offset \(location.offset) does not match its SHA-256 name") }
        }
        progress.finish()
        report.chunkBytes = bad.bytes
        let corrupt = bad.all
        let presentSet = Set(present.map(\.0))
        for id in corrupt.keys.sorted() {
            report.problems.append(VerifyProblem(kind: "corrupt-chunk", chunk: id, message: corrupt[id]!))
        }
        for (id, damage) in bad.headers.sorted(by: { $0.key < $1.key }) {
            report.problems.append(VerifyProblem(kind: "damaged-record-header", chunk: id, message: damage))
        }
        let points = try catalog.allPoints()
        report.points = points.count
        for point in points {
            var reported = 0
            func problem(_ kind: String, block: Int?, chunk: ChunkID, _ message: String) {
                reported += 1
                if reported <= 1000 {
                    report.problems.append(VerifyProblem(kind: kind, machine: point.machine, point: point.id, block: block, chunk: chunk, message: message))
                }
            }
            do {
                try BlockIndexReader.walk(point.index, chunks: chunks, page: { id, level, first in
                    if let why = corrupt[id] {
                        problem("corrupt-index-page", block: first, chunk: id, "index page (level \(level)) \(why)")
                        return false
                    }
                    if !presentSet.contains(id) {
                        problem("missing-index-page", block: first, chunk: id, "index page (level \(level)) is missing")
                        return false
                    }
                    return true
                }, entry: { id, block in
                    guard !id.isZero else { return }
                    if let why = corrupt[id] {
                        problem("corrupt-chunk", block: block, chunk: id, "block \(block) at offset \(Int64(block) * Int64(point.blockSize)): \(why)")
                    } else if !presentSet.contains(id) {
                        problem("missing-chunk", block: block, chunk: id, "block \(block) at offset \(Int64(block) * Int64(point.blockSize)): chunk is missing")
                    }
                })
            } catch {
                let base = (error as? UnderstudyError) ?? UnderstudyError(.io, "\(error)")
                report.problems.append(VerifyProblem(kind: "index-unreadable", machine: point.machine, point: point.id,
                                                     block: base.location.block, chunk: base.location.chunk.flatMap(ChunkID.init(hex:)), message: base.message))
            }
            if reported > 1000 {
                report.problems.append(VerifyProblem(kind: "more", machine: point.machine, point: point.id,
                                                     message: "\(reported - 1000) more problems in this point not listed"))
            }
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }
}

final class DecompressorBox: @unchecked Sendable {
    let decompressor = Decompressor()
}

/// Chunks found bad by worker threads, and the bytes read.
final class BadChunks: @unchecked Sendable {
    private let lock = NSLock()
    private var found: [ChunkID: String] = [:]
    private var damagedHeaders: [ChunkID: String] = [:]
    private var total: Int64 = 0
    func insert(_ id: ChunkID, _ why: String) { lock.withLock { found[id] = why } }
    /// A chunk whose content is sound but whose record header is not.
    func insertHeader(_ id: ChunkID, _ why: String) { lock.withLock { damagedHeaders[id] = why } }
    var headers: [ChunkID: String] { lock.withLock { damagedHeaders } }
    func addBytes(_ n: Int) { lock.withLock { total += Int64(n) } }
    var all: [ChunkID: String] { lock.withLock { found } }
    var bytes: Int64 { lock.withLock { total } }
}

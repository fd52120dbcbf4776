import BlockStore
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import RescueProtocol
import ChunkFormat

/// The routes of the chunk service (docs/rescue-protocol.md): machines, points, a point's block
/// map, and chunks in batches, sent exactly as stored (compressed, never expanded on the server).
/// Routes stay thin: decode, call the store through `BlockingWork`, encode.
struct ChunkRoutes: Sendable {
    let store: Store
    let work: BlockingWork

    func add(to router: Router<ServiceContext>) {
        router.get("\(RescueAPI.prefix)/machines") { _, _ in
            await ServiceResponse.guarded { try await work.run(.catalog) { try machines() } }
        }
        router.get("\(RescueAPI.prefix)/machines/:machine/points") { _, context in
            await ServiceResponse.guarded {
                let machine = try PathPart.decode(try context.parameters.require("machine"), what: "machine name")
                return try await work.run(.catalog) { try points(of: machine) }
            }
        }
        router.get("\(RescueAPI.prefix)/machines/:machine/points/:point/index") { _, context in
            await ServiceResponse.guarded {
                let machine = try PathPart.decode(try context.parameters.require("machine"), what: "machine name")
                let point = try PathPart.decode(try context.parameters.require("point"), what: "point")
                return try await work.run(.bulk) { try index(machine: machine, point: point) }
            }
        }
        router.post("\(RescueAPI.prefix)/chunks") { request, _ in
            await ServiceResponse.guarded { try await chunks(try await Self.body(of: request)) }
        }
    }

    /// The request body of `POST /chunks`: too large is 413, malformed (bad chunked encoding) 400.
    static func body(of request: Request) async throws -> [UInt8] {
        var request = request
        let limit = RescueAPI.maxChunksPerRequest * 32
        do {
            return Array(buffer: try await request.collectBody(upTo: limit))
        } catch is NIOTooManyBytesError {
            throw HTTPError(.contentTooLarge, message: "chunk request is larger than \(limit) bytes (\(RescueAPI.maxChunksPerRequest) ids)")
        } catch let error as HTTPParserError {
            throw HTTPError(.badRequest, message: "malformed request body (\(error)): not valid HTTP/1.1 chunked transfer encoding or length")
        }
    }

    func machines() throws -> Response {
        let list = try store.catalog.machines().map { machine in
            let points = try store.catalog.points(of: machine.name)
            let latest = points.max { ($0.time, $0.id ?? 0) < ($1.time, $1.id ?? 0) }
            return MachineInfo(name: machine.name, blockSize: machine.blockSize, points: points.count,
                               latestPoint: latest?.id, latestTime: latest?.time)
        }
        return try ServiceResponse.json(list)
    }

    func points(of machine: String) throws -> Response {
        _ = try store.machine(machine)
        let list = try store.catalog.points(of: machine).map { point in
            PointInfo(id: point.id ?? 0, machine: point.machine, time: point.time, diskSize: point.diskSize,
                      blockSize: point.blockSize, sectorSize: point.sectorSize,
                      dataBlocks: point.stats.dataBlocks, zeroBlocks: point.stats.zeroBlocks)
        }
        return try ServiceResponse.json(list)
    }

    func index(machine: String, point text: String) throws -> Response {
        _ = try store.machine(machine)
        let point = try PointSelector(parsing: text).select(from: try store.catalog.points(of: machine), machine: machine)
        let bytes = try RescueIndex(point: point, store: store).encoded()
        return Response(status: .ok, headers: [.contentType: RescueAPI.indexContentType],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Streams the asked chunks in order: locations from one catalog query, then the frames read
    /// a slice at a time on the bulk lane and sent as they are.
    func chunks(_ body: [UInt8]) async throws -> Response {
        let chunkIDs = try ChunkRecord.parseRequest(body).map { bytes in
            guard let id = ChunkID(bytes: bytes) else { throw WireError("bad chunk id") }
            return id
        }
        let store = self.store
        let batch = ChunkRecordBatch(ids: chunkIDs, locations: try await work.run(.bulk) { try store.chunks.locations(of: chunkIDs) },
                                     chunks: store.chunks)
        let work = self.work
        return Response(status: .ok, headers: [.contentType: RescueAPI.chunksContentType], body: ResponseBody { writer in
            var next = 0
            while next < batch.ids.count {
                let start = next
                let slice = try await work.run(.bulk) { batch.slice(from: start) }
                try await writer.write(slice.buffer)
                next = slice.next
            }
            try await writer.finish(nil)
        })
    }
}

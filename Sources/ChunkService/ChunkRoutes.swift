import BlockStore
import Foundation
import Hummingbird
import RescueProtocol

/// The routes of the chunk service (docs/rescue-protocol.md): machines, points, a point's block
/// map, and chunks in batches, sent exactly as stored (compressed, never expanded on the server).
struct ChunkRoutes: Sendable {
    let store: Store

    func add(to router: Router<BasicRequestContext>) {
        router.get("\(RescueAPI.prefix)/machines") { _, _ in await ServiceResponse.guarded { try machines() } }
        router.get("\(RescueAPI.prefix)/machines/:machine/points") { _, context in
            await ServiceResponse.guarded { try points(of: try context.parameters.require("machine")) }
        }
        router.get("\(RescueAPI.prefix)/machines/:machine/points/:point/index") { _, context in
            await ServiceResponse.guarded {
                try index(machine: try context.parameters.require("machine"), point: try context.parameters.require("point"))
            }
        }
        router.post("\(RescueAPI.prefix)/chunks") { request, _ in
            await ServiceResponse.guarded {
                var request = request
                let limit = RescueAPI.maxChunksPerRequest * 32
                guard let body = try? await request.collectBody(upTo: limit) else {
                    throw HTTPError(.contentTooLarge, message: "chunk request is larger than \(limit) bytes (\(RescueAPI.maxChunksPerRequest) ids)")
                }
                return try chunks(ChunkRecord.parseRequest(Array(buffer: body)))
            }
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

    func points(of name: String) throws -> Response {
        let machine = try decoded(name)
        _ = try store.machine(machine)
        let list = try store.catalog.points(of: machine).map { point in
            PointInfo(id: point.id ?? 0, machine: point.machine, time: point.time, diskSize: point.diskSize,
                      blockSize: point.blockSize, sectorSize: point.sectorSize,
                      dataBlocks: point.stats.dataBlocks, zeroBlocks: point.stats.zeroBlocks)
        }
        return try ServiceResponse.json(list)
    }

    func index(machine name: String, point text: String) throws -> Response {
        let machine = try decoded(name)
        _ = try store.machine(machine)
        let point = try PointSelector(parsing: try decoded(text)).select(from: try store.catalog.points(of: machine), machine: machine)
        let bytes = try RescueIndex(point: point, store: store).encoded()
        return Response(status: .ok, headers: [.contentType: RescueAPI.indexContentType],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Streams the asked chunks in order. Locations come from one catalog query; each frame is read
    /// from its pack and sent as is. A chunk the store lacks or cannot read becomes a failure record,
    /// so one bad chunk does not cost the client the rest of the batch.
    func chunks(_ ids: [[UInt8]]) throws -> Response {
        let chunkIDs = try ids.map { bytes in
            guard let id = ChunkID(bytes: bytes) else { throw WireError("bad chunk id") }
            return id
        }
        let locations = try store.chunks.locations(of: chunkIDs)
        let chunkStore = store.chunks
        return Response(status: .ok, headers: [.contentType: RescueAPI.chunksContentType], body: ResponseBody { writer in
            for id in chunkIDs {
                var buffer = ByteBuffer()
                if let location = locations[id] {
                    do {
                        buffer.reserveCapacity(ChunkRecord.headerBytes + location.length)
                        buffer.writeBytes(ChunkRecord.header(id: id.bytes, status: .ok, length: location.length))
                        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: location.length) { out in
                            try chunkStore.readStored(at: location, id: id, into: out.baseAddress!)
                            return location.length
                        }
                    } catch {
                        buffer.clear()
                        let message = Array("\(error)".utf8)
                        buffer.writeBytes(ChunkRecord.header(id: id.bytes, status: .unreadable, length: message.count))
                        buffer.writeBytes(message)
                    }
                } else {
                    let message = Array("chunk \(id.hex) is missing from the server's store".utf8)
                    buffer.writeBytes(ChunkRecord.header(id: id.bytes, status: .missing, length: message.count))
                    buffer.writeBytes(message)
                }
                try await writer.write(buffer)
            }
            try await writer.finish(nil)
        })
    }

    private func decoded(_ part: String) throws -> String {
        part.removingPercentEncoding ?? part
    }
}

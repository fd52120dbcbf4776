import BlockStore
import Foundation
import Hummingbird
import RescueProtocol
import Core
import ChunkFormat

/// JSON and error responses of the chunk service.
enum ServiceResponse {
    static func json(_ value: some Encodable) throws -> Response {
        let data = try JSONEncoder.rescue.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        let data = (try? JSONEncoder.rescue.encode(ErrorMessage(error: message))) ?? Data()
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Runs a handler, turning the store's errors into statuses with their message.
    static func guarded(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as UnderstudyError {
            switch error.code {
            case .notFound: return Self.error(.notFound, error.message)
            case .invalidArgument: return Self.error(.badRequest, error.message)
            case .missingChunk, .corruptChunk: return Self.error(.conflict, error.message)
            default: return Self.error(.internalServerError, error.message)
            }
        } catch let error as WireError {
            return Self.error(.badRequest, error.message)
        } catch let error as HTTPError {
            return Self.error(error.status, error.body ?? "\(error.status)")
        } catch {
            return Self.error(.internalServerError, "\(error)")
        }
    }
}

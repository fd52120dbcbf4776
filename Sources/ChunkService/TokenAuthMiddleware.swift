import Hummingbird
import RescueProtocol

/// Every request needs `Authorization: Bearer TOKEN` with a token of `understudy token create`.
/// The check is a catalog query on a `BlockingWork` lane: the bulk lane for `POST /chunks` (a
/// restore asks many at once, and they must not queue in front of a listing), the catalog lane
/// for everything else. A connection whose request passes is no longer counted by the
/// `ConnectionGate`.
struct TokenAuthMiddleware: RouterMiddleware {
    let tokens: TokenStore
    let work: BlockingWork
    let gate: ConnectionGate

    func handle(_ request: Request, context: ServiceContext,
                next: (Request, ServiceContext) async throws -> Response) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer ") else {
            return ServiceResponse.error(.unauthorized, "this server needs a token: send `Authorization: Bearer TOKEN` (create one with `understudy token create --name NAME`)",
                                         headers: [.wwwAuthenticate: "Bearer"])
        }
        let secret = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        let tokens = self.tokens
        let lane: BlockingWork.Lane = request.uri.path == RescueAPI.chunks() ? .bulk : .catalog
        guard let token = try? await work.run(lane, { try tokens.authenticate(secret) }) else {
            return ServiceResponse.error(.unauthorized, "the token is not valid on this server (revoked, mistyped, or from another store)",
                                         headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        gate.authenticated(context.connection)
        if token.recordUse {
            // A write may wait for the catalog's lock: never in the request's way.
            let work = self.work
            Task.detached { _ = try? await work.run(.bulk) { tokens.recordUse(token.name) } }
        }
        return try await next(request, context)
    }
}

import Hummingbird

/// Every request needs `Authorization: Bearer TOKEN` with a token of `understudy token create`.
/// The check is a catalog query, so it runs on the catalog lane of `BlockingWork`; a connection
/// whose request passes is no longer counted by the `ConnectionGate`.
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
        guard let token = try? await work.run(.catalog, { try tokens.authenticate(secret) }) else {
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

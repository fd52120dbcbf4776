import Hummingbird

/// Every request needs `Authorization: Bearer TOKEN` with a token of `understudy token create`.
struct TokenAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: TokenStore

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer ") else {
            return ServiceResponse.error(.unauthorized, "this server needs a token: send `Authorization: Bearer TOKEN` (create one with `understudy token create --name NAME`)",
                                         headers: [.wwwAuthenticate: "Bearer"])
        }
        let secret = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard (try? tokens.authenticate(secret)) ?? nil != nil else {
            return ServiceResponse.error(.unauthorized, "the token is not valid on this server (revoked, mistyped, or from another store)",
                                         headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        return try await next(request, context)
    }
}

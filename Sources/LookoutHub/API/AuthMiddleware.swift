import Hummingbird

/// Guards a router group with the main token: attached to the groups of `/api/monitoring`
/// (reads) and `/metrics` in `Hub.router()`, so it runs for every spelling of a path the
/// router resolves to one of those routes, and for nothing else.
///
/// With a main token configured: no token, or one that is no configured token → 401; a
/// per-VM token → 403 (it may only push). Without a main token (loopback, or
/// `--insecure-listen` with per-VM tokens only) the group is open.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let live: LiveTokens

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let tokens = live.current
        guard tokens.main != nil else { return try await next(request, context) }
        switch try Self.identify(request, tokens: tokens) {
        case .main:
            return try await next(request, context)
        case .vm:
            throw HTTPError(.forbidden, message: "A VM token may only push its own VM's documents")
        }
    }

    /// The holder of the request's bearer token; 401 with `WWW-Authenticate` when there is
    /// none or it is no configured token (RFC 6750 §3.1).
    static func identify(_ request: Request, tokens: APITokens) throws -> APITokens.Holder {
        guard let token = APITokens.bearerToken(in: request.headers) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "Missing bearer token")
        }
        guard let holder = tokens.holder(of: token) else {
            throw HTTPError(
                .unauthorized, headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#], message: "Invalid token")
        }
        return holder
    }
}

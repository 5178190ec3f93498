import Hummingbird

/// Guards the ingest route: attached to its own router group in `Hub.router()`. With any
/// token configured (main or per-VM), a request whose token identifies no one is 401,
/// whatever the path looked like; the caller it found goes into the context for the
/// handler, which holds a per-VM token to its own VM's documents (403 otherwise).
struct IngestAuthMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let live: LiveTokens

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let tokens = live.current
        if tokens.isEmpty {
            context.ingestCaller = .open
        } else {
            switch try AuthMiddleware<Context>.identify(request, tokens: tokens) {
            case .main: context.ingestCaller = .main
            case .vm(let vm): context.ingestCaller = .vm(vm)
            }
        }
        return try await next(request, context)
    }
}

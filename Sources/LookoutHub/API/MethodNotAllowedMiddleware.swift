@_spi(Internal) import Hummingbird

/// Answers 405 with an `Allow` header when a path names a route but not with the request's
/// method (Hummingbird's router answers 404 then). Built from the router's own route list
/// (`Router.routes`) after every route is registered, and matched with the router's trie
/// type, so the paths it recognises are exactly those the router resolves. Added to the
/// router after the routes, it only ever sees requests no route answered.
///
/// HEAD is allowed wherever GET is (the router generates those endpoints).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let trie: RouterTrie<String>

    init(routes: [Router<Context>.RouteDescription]) {
        var methods: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in routes {
            methods[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        let builder = RouterPathTrieBuilder<String>()
        for (path, allowed) in methods.values {
            var names = Set(allowed.map(\.rawValue))
            if allowed.contains(.get) { names.insert(HTTPRequest.Method.head.rawValue) }
            builder.addEntry(path, value: names.sorted().joined(separator: ", "))
        }
        self.trie = builder.build()
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let (allow, _) = trie.resolve(request.uri.path) else {
            return try await next(request, context)
        }
        throw HTTPError(.methodNotAllowed, headers: [.allow: allow], message: "Method not allowed; allowed: \(allow)")
    }
}

import HTTPTypes
import Hummingbird

/// Guards the main-token group's changes (adding or removing silences, and every other
/// POST, PUT, PATCH or DELETE there) against requests a browser sends on another site's
/// behalf. Attached to the group, so it runs for every route in it and no other.
///
/// - A body must be `application/json`: a cross-site form or `fetch` may send `text/plain`
///   without asking (a CORS "simple request"), but `application/json` needs a preflight the
///   hub never answers.
/// - Without a main token the group is open, so a change is taken only from a loopback
///   `Host` (`127.0.0.1`, `[::1]`, `localhost`): a page that re-points its own host name at
///   127.0.0.1 (DNS rebinding) sends its own name there.
struct ChangeRequestGuard<Context: RequestContext>: RouterMiddleware {
    let live: LiveTokens

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let method = request.method
        guard method != .get, method != .head, method != .options else { return try await next(request, context) }
        if method == .post || method == .put || method == .patch {
            let type = request.headers[.contentType] ?? ""
            let mediaType = type.split(separator: ";", omittingEmptySubsequences: false).first ?? ""
            guard mediaType.filter({ $0 != " " && $0 != "\t" }).lowercased() == "application/json" else {
                throw HTTPError(.unsupportedMediaType, message: "Send the body as Content-Type: application/json")
            }
        }
        if live.current.main == nil, !Self.isLoopback(host: request.head.authority) {
            throw HTTPError(
                .forbidden,
                message:
                    "A hub without a main token takes changes only from 127.0.0.1 or localhost; "
                    + "set LOOKOUT_TOKEN or token_file to change it from elsewhere")
        }
        return try await next(request, context)
    }

    /// Whether the `Host` header names the loopback interface (any port).
    static func isLoopback(host authority: String?) -> Bool {
        guard var host = authority?.lowercased(), !host.isEmpty else { return false }
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            return host[host.index(after: host.startIndex)..<end] == "::1"
        }
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        return host == "localhost" || host == "127.0.0.1"
    }
}

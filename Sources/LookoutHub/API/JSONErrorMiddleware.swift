import Hummingbird
import Logging
import LookoutCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Turns every error into `{"error": "..."}` with a fitting status (DESIGN §4), and
/// never lets an internal error's text (paths, SQL) reach the client.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.body ?? defaultMessage(error.status)
            return .jsonError(error.status, message, headers: error.headers)
        } catch let error as any HTTPResponseError {
            return .jsonError(error.status, defaultMessage(error.status))
        } catch {
            logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return .jsonError(.internalServerError, "Internal error")
        }
    }

    func defaultMessage(_ status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "Not found"
        case .contentTooLarge: "Request body is too large"
        case .methodNotAllowed: "Method not allowed"
        default: status.reasonPhrase
        }
    }
}

extension Response {
    /// A JSON response from bytes already encoded.
    static func json(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.cacheControl] = fields[.cacheControl] ?? "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: body))
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        json(ByteBuffer(string: text), status: status)
    }

    /// `{"error": message}`, escaped by the one JSON writer every answer uses.
    static func jsonError(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        // Encoding a dictionary of one string cannot fail.
        let body = (try? JSONEncoder.lookout().encode(["error": message])) ?? Data(#"{"error":"Internal error"}"#.utf8)
        return json(ByteBuffer(bytes: body), status: status, headers: headers)
    }
}

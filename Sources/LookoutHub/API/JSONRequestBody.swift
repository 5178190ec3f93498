import Hummingbird
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Request {
    /// The body, at most `limit` bytes (413 beyond), decoded as `T`; a body that is not one
    /// is a 400 whose message starts with `what` and names the field (``DocumentError``),
    /// then `hint` (what to send instead), if any. The one body reader of the API's changes.
    mutating func decodeJSONBody<T: Decodable>(
        _ type: T.Type, limit: Int, what: String, hint: String = ""
    ) async throws -> T {
        let body = try await collectBody(upTo: limit)
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, message: "\(what): \(DocumentError(error))\(hint)")
        }
    }
}

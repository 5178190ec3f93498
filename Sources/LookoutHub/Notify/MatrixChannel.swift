import AsyncHTTPClient
import LookoutCore
import NIOHTTP1

/// Matrix's client-server API: `PUT <api_url>/_matrix/client/v3/rooms/<room>/send/
/// m.room.message/<txn id>` with `Authorization: Bearer <access token>` and an `m.text`
/// event carrying a plain `body` and an HTML `formatted_body` (escaped).
///
/// The transaction id is the outbox's delivery id, the same on every attempt at one
/// notice, so a retry after a lost answer is taken by the homeserver as the same event
/// (it deduplicates per access token and transaction id), not a second message.
extension ChatChannel {
    func matrixRequest(_ notice: Notice, transactionID: String) -> HTTPClientRequest {
        let room = FormEncoding.percentEncoded(settings.recipient ?? "")
        let path = "/_matrix/client/v3/rooms/\(room)/send/m.room.message/\(FormEncoding.percentEncoded(transactionID))"
        let body = notice.body(publicURL: publicURL)
        var request = Self.jsonRequest(
            HTTPDelivery.join(apiURL, path), method: .PUT,
            body: MatrixMessage(
                body: "\(notice.subject)\n\(body)",
                formattedBody: "<strong>\(MarkupEscaping.html(notice.subject))</strong><br>"
                    + MarkupEscaping.html(body).replacing("\n", with: "<br>")))
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        return request
    }

    struct MatrixMessage: Encodable {
        var msgtype = "m.text"
        let body: String
        var format = "org.matrix.custom.html"
        let formattedBody: String

        init(body: String, formattedBody: String) {
            self.body = body
            self.formattedBody = formattedBody
        }

        enum CodingKeys: String, CodingKey { case msgtype, body, format, formattedBody = "formatted_body" }
    }
}

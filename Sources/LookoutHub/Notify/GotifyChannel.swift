import AsyncHTTPClient
import LookoutCore
import NIOHTTP1

/// Gotify: `POST <api_url>/message` with the application token in `X-Gotify-Key` (not
/// the `?token=` query, which lands in access logs) and `{"title", "message",
/// "priority"}`. Gotify shows the message as plain text, so nothing is escaped.
extension ChatChannel {
    func gotifyRequest(_ notice: Notice) -> HTTPClientRequest {
        var request = Self.jsonRequest(
            HTTPDelivery.join(apiURL, "/message"),
            body: GotifyMessage(
                title: notice.subject.cut(characters: 250), message: notice.body(publicURL: publicURL),
                priority: Self.gotifyPriority(notice)))
        request.headers.add(name: "X-Gotify-Key", value: secret)
        return request
    }

    /// 8 (critical: the Android app rings and shows it on the lock screen), 5 (warning),
    /// 2 (resolved: silent).
    static func gotifyPriority(_ notice: Notice) -> Int {
        notice.kind == .resolved ? 2 : notice.alert.severity == .critical ? 8 : 5
    }

    struct GotifyMessage: Encodable {
        let title: String
        let message: String
        let priority: Int
    }
}

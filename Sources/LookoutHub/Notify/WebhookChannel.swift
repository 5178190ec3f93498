import AsyncHTTPClient
import LookoutCore
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Posts notices to a webhook in the shape its service accepts:
/// - `generic`: `{"event": "opened", "subject": …, "text": …, "alert": {…}}`
/// - `ntfy`: the text as the body, with `Title`, `Priority` (5 critical, 3 warning, 2 resolved) and `Tags` headers
/// - `slack`: `{"text": …}` (incoming webhooks), `&`, `<` and `>` escaped as Slack's mrkdwn asks,
///   so a container named `<!channel>` cannot page a whole workspace
/// - `discord`: `{"content": …, "allowed_mentions": {"parse": []}}` (at most 2000 characters;
///   no `@everyone` or role mention in a notice pings anyone)
///
/// Every request carries `X-Lookout-Delivery` (the same on every attempt at one notice).
public struct WebhookChannel: NotificationChannel {
    public let webhook: Webhook
    let publicURL: String?
    let httpClient: HTTPClient
    let timeout: Duration

    /// - Parameter timeout: the whole request, connection included (the client's own
    ///   connect timeout is 5 s).
    public init(
        webhook: Webhook, publicURL: String?, httpClient: HTTPClient = WebhookChannel.sharedClient,
        timeout: Duration = .seconds(15)
    ) {
        self.webhook = webhook
        self.publicURL = publicURL
        self.httpClient = httpClient
        self.timeout = timeout
    }

    /// One client for every webhook: 5 s to connect, and no retrying of a failed connection
    /// inside the pool (AsyncHTTPClient's default retries a refused connection with backoff
    /// until the request's deadline, which made a closed port cost the whole timeout; the
    /// outbox does the retrying, with its own backoff).
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(15))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }()

    public var id: String { ChannelID.webhook(webhook) }

    public var route: NotificationRoute? { webhook.route }

    var target: String { HTTPDelivery.target(of: webhook.url) }

    public func send(_ notice: Notice, deliveryID: String) async throws(DeliveryError) {
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "X-Lookout-Delivery", value: deliveryID)
        let payload = Self.payload(webhook.kind, notice: notice, publicURL: publicURL)
        for (name, value) in payload.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: payload.body))
        try await HTTPDelivery.send(
            request, channelID: id, client: httpClient, timeout: timeout, urlKey: "the webhook's url",
            secrets: HTTPDelivery.urlSecrets(webhook.url))
    }

    /// The headers and body for `kind`.
    static func payload(_ kind: Webhook.Kind, notice: Notice, publicURL: String?) -> (
        headers: [(String, String)], body: [UInt8]
    ) {
        let text = notice.body(publicURL: publicURL)
        let json = [("Content-Type", "application/json")]
        switch kind {
        case .generic:
            return (
                json,
                HTTPDelivery.json(
                    GenericPayload(
                        event: notice.kind.rawValue, subject: notice.subject, text: text, alert: notice.alert))
            )
        case .ntfy:
            let priority = notice.kind == .resolved ? "2" : notice.alert.severity == .critical ? "5" : "3"
            let headers = [
                ("Title", Self.headerSafe(notice.subject)), ("Priority", priority),
                ("Tags", notice.kind == .resolved ? "white_check_mark" : "warning"),
            ]
            return (headers, Array(text.utf8))
        case .slack:
            // Slack's mrkdwn control characters are HTML's three (its "escaping text" rules).
            let subject = MarkupEscaping.html(notice.subject)
            return (json, HTTPDelivery.json(["text": "*\(subject)*\n\(MarkupEscaping.html(text))"]))
        case .discord:
            let content = "**\(notice.subject)**\n\(text)"
            return (json, HTTPDelivery.json(DiscordPayload(content: String(content.prefix(2000)))))
        }
    }

    struct GenericPayload: Encodable {
        let event: String
        let subject: String
        let text: String
        let alert: Alert
    }

    struct DiscordPayload: Encodable {
        struct AllowedMentions: Encodable { var parse: [String] = [] }
        let content: String
        var allowedMentions = AllowedMentions()
        enum CodingKeys: String, CodingKey { case content, allowedMentions = "allowed_mentions" }
    }

    /// Header values may not carry line breaks (nor any control character, judged per
    /// scalar: `"\r\n"` is one `Character`); ntfy reads UTF-8 titles.
    static func headerSafe(_ text: String) -> String {
        String(text.replacingControlCharacters().prefix(250))
    }
}

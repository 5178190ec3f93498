#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import AsyncHTTPClient
import LookoutCore
import NIOCore
import NIOHTTP1

/// Posts notices to a webhook in the shape its service accepts:
/// - `generic`: `{"event": "opened", "subject": …, "text": …, "alert": {…}}`
/// - `ntfy`: the text as the body, with `Title`, `Priority` (5 critical, 3 warning, 2 resolved) and `Tags` headers
/// - `slack`: `{"text": …}` (incoming webhooks)
/// - `discord`: `{"content": …}` (at most 2000 characters)
public struct WebhookChannel: NotificationChannel {
    public let webhook: Webhook
    let publicURL: String?
    let httpClient: HTTPClient
    let timeout: Duration

    public init(webhook: Webhook, publicURL: String?, httpClient: HTTPClient = .shared, timeout: Duration = .seconds(15)) {
        self.webhook = webhook
        self.publicURL = publicURL
        self.httpClient = httpClient
        self.timeout = timeout
    }

    public var name: String {
        let host = URL(string: webhook.url)?.host ?? "?"
        return "webhook:\(webhook.kind.rawValue):\(host)"
    }

    public func send(_ notice: Notice) async throws(DeliveryError) {
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "User-Agent", value: "lookout/\(LookoutVersion.current)")
        let text = notice.body(publicURL: publicURL)
        switch webhook.kind {
        case .generic:
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: Self.json(GenericPayload(
                event: notice.kind.rawValue, subject: notice.subject, text: text, alert: notice.alert))))
        case .ntfy:
            request.headers.add(name: "Title", value: Self.headerSafe(notice.subject))
            let priority = notice.kind == .resolved ? "2" : notice.alert.severity == .critical ? "5" : "3"
            request.headers.add(name: "Priority", value: priority)
            request.headers.add(name: "Tags", value: notice.kind == .resolved ? "white_check_mark" : "warning")
            request.body = .bytes(ByteBuffer(string: text))
        case .slack:
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: Self.json(["text": "*\(notice.subject)*\n\(text)"])))
        case .discord:
            request.headers.add(name: "Content-Type", value: "application/json")
            let content = "**\(notice.subject)**\n\(text)"
            request.body = .bytes(ByteBuffer(bytes: Self.json(["content": String(content.prefix(2000))])))
        }
        let response: HTTPClientResponse
        do {
            let (seconds, attoseconds) = timeout.components
            response = try await httpClient.execute(request, timeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
        } catch {
            throw DeliveryError("\(name): \(error)")
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let body = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
            throw DeliveryError("\(name): HTTP \(response.status.code) \(body.prefix(200))")
        }
    }

    struct GenericPayload: Encodable {
        let event: String
        let subject: String
        let text: String
        let alert: Alert
    }

    static func json(_ value: some Encodable) -> [UInt8] {
        (try? Array(JSONEncoder.lookout().encode(value))) ?? Array("{}".utf8)
    }

    /// Header values may not carry line breaks; ntfy reads UTF-8 titles.
    static func headerSafe(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 }.prefix(250))
    }
}

import AsyncHTTPClient
import LookoutCore
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A channel of `notifications.channels`: Telegram, Gotify, Pushover, Matrix or Teams
/// (each kind's request is built in its own file: `TelegramChannel.swift`, ...).
///
/// Delivery goes through ``HTTPDelivery`` as a webhook's does (a 4xx other than 408 and
/// 429 is a refusal the outbox sets aside after a few tries; anything else is retried).
/// The secret is read once when the channel is built, from the file or the environment
/// variable the config names, and appears in no error text, log line or channel id.
public struct ChatChannel: NotificationChannel {
    public let settings: ChatChannelSettings
    let secret: String
    let publicURL: String?
    let httpClient: HTTPClient
    let timeout: Duration

    public init(
        settings: ChatChannelSettings, secret: String, publicURL: String?,
        httpClient: HTTPClient = WebhookChannel.sharedClient, timeout: Duration = .seconds(15)
    ) {
        self.settings = settings
        self.secret = secret
        self.publicURL = publicURL
        self.httpClient = httpClient
        self.timeout = timeout
    }

    public var id: String { ChannelID.chat(settings) }
    public var route: NotificationRoute? { settings.route }

    public func send(_ notice: Notice, deliveryID: String) async throws(DeliveryError) {
        var request: HTTPClientRequest
        switch settings.kind {
        case .telegram: request = telegramRequest(notice)
        case .gotify: request = gotifyRequest(notice)
        case .pushover: request = pushoverRequest(notice)
        case .matrix: request = matrixRequest(notice, transactionID: deliveryID)
        case .teams: request = teamsRequest(notice)
        }
        request.headers.add(name: "X-Lookout-Delivery", value: deliveryID)
        try await HTTPDelivery.send(
            request, channelID: id, client: httpClient, timeout: timeout,
            urlKey: settings.kind == .teams ? "the workflow URL" : "the channel's api_url",
            secrets: settings.kind == .teams ? HTTPDelivery.urlSecrets(secret) : [secret])
    }

    /// The configured API base URL (every kind but Teams has one; the config requires it).
    var apiURL: String { settings.apiURL ?? "" }

    /// A JSON request to `url`.
    static func jsonRequest(_ url: String, method: HTTPMethod = .POST, body: some Encodable) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: HTTPDelivery.json(body)))
        return request
    }
}

/// The secret of a ``ChatChannelSettings``: the file's content (one line; surrounding
/// whitespace and the final newline dropped) or the environment variable's value, checked
/// the same way whichever the source.
enum ChannelSecret {
    static func load(_ settings: ChatChannelSettings, index: Int, environment: [String: String]) throws(HubError)
        -> String
    {
        let key = "notifications.channels[\(index)]"
        let value: String
        let source: String
        if let name = settings.tokenEnv {
            source = "\(key).token_env: the environment variable \(name)"
            value = environment[name].map(Self.trimmed) ?? ""
            guard !value.isEmpty else { throw HubError("\(source) is not set or empty") }
        } else {
            let path = settings.tokenFile ?? ""
            source = "\(key).token_file: \(path)"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw HubError("\(source) does not exist or cannot be read")
            }
            value = Self.trimmed(String(decoding: data, as: UTF8.self))
        }
        try validate(value, kind: settings.kind, source: source)
        return value
    }

    /// The checks of a secret from either source. It goes into a URL path, a header value or
    /// a form, so a control character (an embedded CR/LF would split a header) is refused;
    /// a Teams secret is the workflow URL, which must be https unless it is on this machine.
    /// No message quotes the value: it is the secret.
    static func validate(_ value: String, kind: ChatChannelSettings.Kind, source: String) throws(HubError) {
        guard !value.isEmpty, !value.containsControlCharacter, !value.contains(where: \.isNewline) else {
            throw HubError("\(source) must hold the secret on one line, without control characters")
        }
        if kind == .teams, HTTPURL.problem(with: value) != nil || HTTPURL.sendsInClearText(value) {
            throw HubError(
                "\(source) must hold the workflow's https:// URL (http:// is allowed only to a loopback address, "
                    + "as the URL carries the workflow's signature)")
        }
    }

    /// Without leading and trailing whitespace (a file written by `echo` ends in a newline).
    static func trimmed(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension ChannelID {
    /// `telegram:api.telegram.org:3f9a1c2b`: the kind, the server's host and a hash of the
    /// entry's identity (server and recipient, or where the secret comes from); a Teams
    /// workflow's host is in its secret URL, so its id reads `teams:workflow:<hash>`.
    public static func chat(_ settings: ChatChannelSettings) -> String {
        let host = settings.apiURL.flatMap { URL(string: $0)?.host } ?? "workflow"
        return "\(settings.kind.rawValue):\(host):\(hash(settings.identity, digits: 8))"
    }
}

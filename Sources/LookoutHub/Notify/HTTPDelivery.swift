import AsyncHTTPClient
import LookoutCore
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The one way every HTTP channel (webhooks, Telegram, Gotify, Pushover, Matrix, Teams)
/// sends a request and turns the answer into success or a ``DeliveryError``: the shared
/// client (5 s to connect, no redirects followed, no retrying inside the pool), a bounded
/// timeout, a 2xx accepted, a redirect or a 4xx other than 408 and 429 refused for good,
/// anything else retried by the outbox. Error texts name the channel id and `host:port`,
/// never the URL (a Telegram URL holds the bot token, a Teams one its signature).
enum HTTPDelivery {
    /// - Parameter secrets: what must not appear in an error text even when the receiver
    ///   quotes it back (a proxy's 404 page echoing `/bot<token>/sendMessage`, a server
    ///   repeating a header); see ``urlSecrets(_:)`` for a URL that is one.
    static func send(
        _ request: HTTPClientRequest, channelID: String, client: HTTPClient, timeout: Duration, urlKey: String,
        secrets: [String] = []
    ) async throws(DeliveryError) {
        var request = request
        request.headers.replaceOrAdd(name: "User-Agent", value: "lookout/\(LookoutVersion.current)")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: TimeAmount(timeout))
        } catch {
            throw DeliveryError("\(channelID): \(NetworkErrorText.reason(error, target: target(of: request.url)))")
        }
        let code = Int(response.status.code)
        guard (200..<300).contains(code) else {
            if (300..<400).contains(code) {
                // Not followed: a POST turned into a GET elsewhere delivers nothing, and a
                // redirect may point anywhere (an address inside the network).
                let location =
                    response.headers.first(name: "Location").map {
                        " to \(WebhookChannel.headerSafe(redacted($0, secrets: secrets)))"
                    } ?? ""
                throw DeliveryError(
                    "\(channelID): HTTP \(code) redirect\(location), not followed: set \(urlKey) to its target",
                    permanent: true)
            }
            let body = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
            // Redacted before the cut, so that no part of a secret survives at the edge.
            let reply = String(redacted(body, secrets: secrets).prefix(200)).replacingControlCharacters()
            throw DeliveryError("\(channelID): HTTP \(code) \(reply)", permanent: isPermanent(status: code))
        }
    }

    /// A URL that is a secret (a Teams workflow's, with its signature; a Slack or Discord
    /// webhook's, whose path is the key) as an error page may quote it: whole, its path, and
    /// its path with the query (a request line).
    static func urlSecrets(_ url: String) -> [String] {
        guard let parsed = URL(string: url) else { return [url] }
        return [url, parsed.path] + (parsed.query.map { [parsed.path + "?" + $0] } ?? [])
    }

    /// `text` with each of `secrets` replaced by `<secret>`, also in the spellings an error
    /// page quotes it in: percent-encoded (a request line) and HTML-escaped. Values under
    /// 4 characters (a path of `/`) are left alone: replacing them would only garble the text.
    static func redacted(_ text: String, secrets: [String]) -> String {
        var text = text
        let spellings = secrets.filter { $0.count >= 4 }.flatMap {
            [$0, FormEncoding.percentEncoded($0), MarkupEscaping.html($0)]
        }
        // The longest first: a URL is replaced whole before its path is looked for.
        for spelling in Set(spellings).sorted(by: { $0.count > $1.count }) {
            text = text.replacing(spelling, with: "<secret>")
        }
        return text
    }

    /// A 4xx says the request itself is wrong (a deleted webhook answers 404, a revoked
    /// token 401 or 403) and will be refused again; 408 and 429 ask to come back later.
    /// (A redirect is refused for good too, above.)
    static func isPermanent(status: Int) -> Bool {
        (400..<500).contains(status) && status != 408 && status != 429
    }

    /// `host:port` of `url` (`[::1]:8080` for IPv6), for error texts.
    static func target(of url: String) -> String {
        guard let parsed = URL(string: url), let host = parsed.host else { return "?" }
        let port = parsed.port ?? (parsed.scheme?.lowercased() == "https" ? 443 : 80)
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `base` without a trailing slash, then `path` (which starts with one).
    static func join(_ base: String, _ path: String) -> String {
        (base.hasSuffix("/") ? String(base.dropLast()) : base) + path
    }

    /// `value` as JSON bytes (every payload here is plain strings and numbers).
    static func json(_ value: some Encodable) -> [UInt8] {
        (try? Array(JSONEncoder.lookout().encode(value))) ?? Array("{}".utf8)
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One entry of `notifications.channels`: a chat or push service that needs a secret
/// (`{"kind": "telegram", "chat_id": "-1001234", "token_file": "/etc/lookout/telegram"}`).
///
/// The secret (bot token, app token, access token, or the whole Teams workflow URL, which
/// carries its signature) is never in the JSON: it is read from `token_file` or from the
/// environment variable named by `token_env`, exactly one of the two. A key that looks
/// like a secret (`token`, `password`, `access_token`, ...) is refused with that advice,
/// so a pasted token does not sit in a config that is usually world-readable.
public struct ChatChannelSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case telegram, gotify, pushover, matrix, teams

        /// The service's public API, when it has one (Gotify and Matrix are self-hosted).
        public var defaultAPIURL: String? {
            switch self {
            case .telegram: "https://api.telegram.org"
            case .pushover: "https://api.pushover.net"
            case .gotify, .matrix, .teams: nil
            }
        }

        /// The config key naming who receives the notices, for the kinds that have one.
        var recipientKey: ChatChannelSettings.CodingKeys? {
            switch self {
            case .telegram: .chatID
            case .pushover: .user
            case .matrix: .roomID
            case .gotify, .teams: nil
            }
        }
    }

    public var kind: Kind
    /// The API's base URL (a self-hosted server, or a test server); `nil` for Teams, whose
    /// secret is the URL itself.
    public var apiURL: String?
    /// Telegram's `chat_id`, Pushover's `user` key, Matrix's `room_id`.
    public var recipient: String?
    public var tokenFile: String?
    public var tokenEnv: String?
    public var route: NotificationRoute?

    public init(
        kind: Kind, apiURL: String? = nil, recipient: String? = nil, tokenFile: String? = nil, tokenEnv: String? = nil,
        route: NotificationRoute? = nil
    ) {
        self.kind = kind
        self.apiURL = apiURL ?? kind.defaultAPIURL
        self.recipient = recipient
        self.tokenFile = tokenFile
        self.tokenEnv = tokenEnv
        self.route = route
    }

    /// What tells two entries apart: the service, the server and the recipient; for the
    /// kinds without a recipient (Gotify: the app token picks the app; Teams: the URL is
    /// the secret), where the secret comes from. Never the secret itself.
    public var identity: String {
        let server = apiURL.map { Webhook.normalised($0.hasSuffix("/") ? String($0.dropLast()) : $0) } ?? ""
        let who = recipient ?? "token_file=\(tokenFile ?? ""),token_env=\(tokenEnv ?? "")"
        return [kind.rawValue, server, who].joined(separator: "\u{0}")
    }

    /// Keys people paste secrets under, refused by name.
    static let secretKeys: Set<String> = [
        "token", "bot_token", "access_token", "app_token", "api_token", "api_key", "key", "password", "secret",
        "url", "webhook_url",
    ]
}

extension ChatChannelSettings: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, apiURL = "api_url", chatID = "chat_id", user, roomID = "room_id", tokenFile = "token_file"
        case tokenEnv = "token_env", route
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.container(keyedBy: AnyCodingKey.self)
        for key in raw.allKeys where Self.secretKeys.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath + [key],
                    debugDescription: "secrets are not kept in the config (it is often world-readable and copied "
                        + "around): put it in a file named by \"token_file\" (mode 0600), or in an environment "
                        + "variable named by \"token_env\""))
        }
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kindText = try c.decode(String.self, forKey: .kind)
        guard let kind = Kind(rawValue: kindText) else {
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c,
                debugDescription: "\"\(kindText.prefix(40))\" is not one of "
                    + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.kind = kind
        for key in [CodingKeys.chatID, .user, .roomID] where c.contains(key) && key != kind.recipientKey {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "is not a key of a \(kind.rawValue) channel")
        }
        if let key = kind.recipientKey {
            // Telegram's chat ids are numbers (`-1001234567890`), and are often written as such.
            let number = (try? c.decodeIfPresent(Int64.self, forKey: key)).flatMap { $0 }.map(String.init)
            let text = try number ?? c.decodeIfPresent(String.self, forKey: key) ?? ""
            guard !text.isEmpty, text.utf8.count <= 255, !text.contains(where: { $0.isWhitespace || $0.isNewline })
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c,
                    debugDescription: "a \(kind.rawValue) channel needs it: 1 to 255 characters, no spaces")
            }
            recipient = text
        }
        if kind == .teams, c.contains(.apiURL) {
            throw DecodingError.dataCorruptedError(
                forKey: .apiURL, in: c,
                debugDescription: "a Teams workflow URL carries its signature, so it is the secret: put the whole "
                    + "URL in the file named by \"token_file\" (or the variable named by \"token_env\")")
        }
        apiURL = try c.decodeIfPresent(String.self, forKey: .apiURL) ?? kind.defaultAPIURL
        if let apiURL, let problem = HTTPURL.problem(with: apiURL) {
            throw DecodingError.dataCorruptedError(forKey: .apiURL, in: c, debugDescription: problem)
        }
        // The secret rides in every request (Telegram's path, Matrix's and Gotify's headers,
        // Pushover's form), so plain http is for a server on this machine only, as for SMTP.
        if let apiURL, HTTPURL.sendsInClearText(apiURL) {
            throw DecodingError.dataCorruptedError(
                forKey: .apiURL, in: c,
                debugDescription: "\"\(apiURL.prefix(200))\" would send the \(kind.rawValue) secret in clear text; "
                    + "use https:// (http:// is allowed only to a loopback address such as 127.0.0.1)")
        }
        if apiURL == nil, kind != .teams {
            throw DecodingError.dataCorruptedError(
                forKey: .apiURL, in: c,
                debugDescription: "a \(kind.rawValue) channel needs the URL of its server, e.g. "
                    + (kind == .gotify ? "\"https://gotify.example.com\"" : "\"https://matrix.example.com\""))
        }
        tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile)
        tokenEnv = try c.decodeIfPresent(String.self, forKey: .tokenEnv)
        switch (tokenFile, tokenEnv) {
        case (nil, nil), (_?, _?):
            throw DecodingError.dataCorruptedError(
                forKey: .tokenFile, in: c,
                debugDescription: "a \(kind.rawValue) channel needs exactly one of \"token_file\" (a file holding "
                    + "the secret) and \"token_env\" (the name of an environment variable holding it)")
        case (let file?, nil) where file.isEmpty:
            throw DecodingError.dataCorruptedError(forKey: .tokenFile, in: c, debugDescription: "is empty")
        case (nil, let name?) where !Self.isVariableName(name):
            throw DecodingError.dataCorruptedError(
                forKey: .tokenEnv, in: c,
                debugDescription: "\"\(name.prefix(60))\" is not an environment variable name (A-Z, 0-9, _)")
        default: break
        }
        route = try c.decodeIfPresent(NotificationRoute.self, forKey: .route)
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first), name.utf8.count <= 100 else {
            return false
        }
        return name.unicodeScalars.allSatisfy {
            ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        }
    }
}

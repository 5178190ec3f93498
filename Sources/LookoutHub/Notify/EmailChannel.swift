import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Sends notices as plain-text email through ``SMTPClient``.
public struct EmailChannel: NotificationChannel {
    let settings: EmailSettings
    let client: SMTPClient
    let from: String
    let publicURL: String?

    /// - Parameter from: the sender; the caller resolves the default (see
    ///   ``MonitoringConfig/notificationChannels(environment:hostName:logger:domainName:)``).
    public init(
        settings: EmailSettings, credentials: SMTPCredentials?, publicURL: String?, from: String,
        timeout: Duration = .seconds(30), logger: Logger
    ) {
        self.settings = settings
        self.client = SMTPClient(settings: settings, credentials: credentials, timeout: timeout, logger: logger)
        self.from = from
        self.publicURL = publicURL
    }

    public var id: String { ChannelID.email }
    public var route: NotificationRoute? { settings.route }

    public func send(_ notice: Notice, deliveryID: String) async throws(DeliveryError) {
        let message = EmailMessage(
            from: from, to: settings.recipients, subject: notice.subject, body: notice.body(publicURL: publicURL))
        do {
            try await client.send(message, messageID: Self.messageID(deliveryID: deliveryID, from: from))
        } catch {
            throw DeliveryError(
                "email via \(settings.smtpHost):\(settings.port): \(error)", permanent: Self.isPermanent(error))
        }
    }

    /// `<delivery id@domain of From>`: the same for every attempt at one notice.
    static func messageID(deliveryID: String, from: String) -> String {
        let domain = from.split(separator: "@").last.map(String.init) ?? "lookout.invalid"
        return "<\(deliveryID)@\(EmailMessage.headerSafe(domain))>"
    }

    /// A 5xx to MAIL FROM or RCPT TO (sender or recipient refused) will be refused again;
    /// so will a password we refuse to send in clear text. Everything else (a relay down, a
    /// 4xx, a timeout) may pass later.
    static func isPermanent(_ error: SMTPError) -> Bool {
        if let code = error.code, code >= 500, error.stage.hasPrefix("MAIL FROM") || error.stage.hasPrefix("RCPT TO") {
            return true
        }
        return error.stage == "AUTH" && error.code == nil
    }
}

extension MonitoringConfig {
    /// Every channel the config enables: email (when `enabled`), each webhook and each of
    /// `notifications.channels` (whose secrets are read here).
    /// - Parameters:
    ///   - hostName: kept for callers; the sender's domain comes from `domainName`.
    ///   - domainName: this machine's fully qualified name, for the default `From`
    ///     (`lookout@<fqdn>`); resolved when not given.
    /// - Throws: ``HubError`` when a channel's secret or the SMTP credentials cannot be read, would be sent in
    ///   clear text to another machine, or `from` is unset and this host has no domain.
    public func notificationChannels(
        environment: [String: String], hostName: String, logger: Logger, domainName: String?? = nil
    ) throws(HubError) -> [any NotificationChannel] {
        var channels: [any NotificationChannel] = []
        let email = notifications.email
        if email.enabled {
            let credentials = try SMTPCredentials.load(settings: email, environment: environment)
            if credentials != nil, email.security == .none, !HTTPURL.isLoopback(email.smtpHost) {
                throw HubError(
                    "notifications.email.security: \"none\" sends the SMTP password in clear text, which is allowed "
                        + "only to a relay on a loopback address, not \(email.smtpHost); use \"starttls\" or \"tls\"")
            }
            // The resolver is asked only when `from` is unset: a broken one must not slow every cron run.
            guard let from = email.from ?? (domainName ?? HostDomain.fullyQualifiedName()).map({ "lookout@\($0)" })
            else {
                throw HubError(
                    "notifications.email.from: not set, and this host (\(hostName)) has no fully qualified domain "
                        + "name for the default lookout@<host>; set \"from\" to an address your relay accepts, "
                        + "e.g. \"lookout@example.com\"")
            }
            channels.append(
                EmailChannel(
                    settings: email, credentials: credentials, publicURL: publicURL, from: from, logger: logger))
        }
        for webhook in notifications.webhooks {
            channels.append(WebhookChannel(webhook: webhook, publicURL: publicURL))
        }
        for (index, settings) in notifications.channels.enumerated() {
            let secret = try ChannelSecret.load(settings, index: index, environment: environment)
            channels.append(ChatChannel(settings: settings, secret: secret, publicURL: publicURL))
        }
        return channels
    }
}

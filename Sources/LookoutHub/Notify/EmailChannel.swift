#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LookoutCore
import Logging

/// Sends notices as plain-text email through ``SMTPClient``.
public struct EmailChannel: NotificationChannel {
    let settings: EmailSettings
    let client: SMTPClient
    let from: String
    let publicURL: String?

    public init(settings: EmailSettings, credentials: SMTPCredentials?, publicURL: String?, hostName: String, logger: Logger) {
        self.settings = settings
        self.client = SMTPClient(settings: settings, credentials: credentials, logger: logger)
        self.from = settings.from ?? "lookout@\(hostName)"
        self.publicURL = publicURL
    }

    public var name: String { "email" }

    public func send(_ notice: Notice) async throws(DeliveryError) {
        let message = EmailMessage(from: from, to: settings.recipients, subject: notice.subject, body: notice.body(publicURL: publicURL))
        do {
            try await client.send(message)
        } catch {
            throw DeliveryError("email via \(settings.smtpHost):\(settings.port): \(error)")
        }
    }
}

extension MonitoringConfig {
    /// Every channel the config enables: email (when `enabled`) and each webhook.
    /// - Throws: ``HubError`` when the SMTP credentials cannot be read.
    public func notificationChannels(
        environment: [String: String], hostName: String, logger: Logger
    ) throws(HubError) -> [any NotificationChannel] {
        var channels: [any NotificationChannel] = []
        let email = notifications.email
        if email.enabled {
            let credentials = try SMTPCredentials.load(settings: email, environment: environment)
            channels.append(EmailChannel(settings: email, credentials: credentials, publicURL: publicURL, hostName: hostName, logger: logger))
        }
        for webhook in notifications.webhooks {
            channels.append(WebhookChannel(webhook: webhook, publicURL: publicURL))
        }
        return channels
    }
}

import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Channel ids (see ``NotificationChannel``) and the short stable hashes they and the
/// outbox's file names are made of.
///
/// A webhook's id is `webhook:<kind>:<host>:<8 hex digits>`, the hash taken over the whole
/// URL: two ntfy topics on one host are two channels, the id survives a restart and a
/// reordering of the config (an index would not: queued notices would follow the position
/// to another target), and it says nothing of the path, which for Slack and Discord is the
/// secret. Email has one block per config, so its id is `email`.
public enum ChannelID {
    public static let email = "email"

    public static func webhook(_ webhook: Webhook) -> String {
        let host = URL(string: webhook.url)?.host ?? "?"
        return "webhook:\(webhook.kind.rawValue):\(host):\(hash(webhook.url, digits: 8))"
    }

    /// ``FNV1a`` as `digits` hex digits: stable across processes and platforms, and no
    /// secret is recoverable from 32 bits.
    public static func hash(_ text: String, digits: Int = 16) -> String {
        let hex = String(FNV1a.hash(text.utf8), radix: 16)
        return String((String(repeating: "0", count: 16 - hex.count) + hex).prefix(digits))
    }
}

extension MonitoringConfig {
    /// The ids of the channels this config enables, in config order (what
    /// `/api/monitoring/status` reports on, without building the channels).
    public var channelIDs: [String] {
        (notifications.email.enabled ? [ChannelID.email] : []) + notifications.webhooks.map(ChannelID.webhook)
            + notifications.channels.map(ChannelID.chat)
    }
}

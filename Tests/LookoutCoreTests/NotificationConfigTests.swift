import Foundation
import LookoutCore
import Testing

/// The `notifications` part of the config: every channel has a target of its own.
@Suite struct NotificationConfigTests {
    static func parse(_ text: String) throws(ConfigError) -> MonitoringConfig {
        try MonitoringConfig.parse(Array(text.utf8))
    }

    @Test(arguments: [
        "https://ntfy.sh/alerts",
        "HTTPS://NTFY.sh/alerts",
    ])
    func twoWebhooksWithOneTargetAreRefusedNamingBoth(_ second: String) throws {
        let text =
            #"{"notifications": {"webhooks": [{"kind": "ntfy", "url": "https://ntfy.sh/alerts"}, "#
            + #"{"kind": "generic", "url": "https://ntfy.sh/other"}, {"kind": "ntfy", "url": "\#(second)"}]}}"#
        let error = try #require(throws: ConfigError.self) { try Self.parse(text) }
        #expect(
            error.message.contains("notifications.webhooks[2].url: the same target as notifications.webhooks[0]"),
            "\(error.message)")
    }

    @Test func twoTopicsOnOneHostAreTwoChannels() throws {
        let config = try Self.parse(
            #"""
            {"notifications": {"webhooks": [{"kind": "ntfy", "url": "https://ntfy.sh/a"},
                                            {"kind": "ntfy", "url": "https://ntfy.sh/b"},
                                            {"kind": "ntfy", "url": "https://ntfy.sh/A"}]}}
            """#)
        #expect(
            config.notifications.webhooks.map(\.url) == ["https://ntfy.sh/a", "https://ntfy.sh/b", "https://ntfy.sh/A"])
    }
}

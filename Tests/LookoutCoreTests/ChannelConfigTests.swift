import Foundation
import LookoutCore
import Testing

/// `notifications.channels` and `route`: every mistake is refused naming the key, and no
/// secret is ever taken from the JSON.
@Suite struct ChannelConfigTests {
    static func parse(_ notifications: String) throws(ConfigError) -> MonitoringConfig {
        try MonitoringConfig.parse(Array(#"{"notifications": \#(notifications)}"#.utf8))
    }

    static func refusal(_ notifications: String) throws -> String {
        try #require(throws: ConfigError.self) { try Self.parse(notifications) }.message
    }

    @Test func everyKindParsesWithItsDefaults() throws {
        let config = try Self.parse(
            #"""
            {"channels": [
              {"kind": "telegram", "chat_id": "-100123", "token_file": "/etc/lookout/telegram"},
              {"kind": "gotify", "api_url": "https://gotify.example.com", "token_env": "GOTIFY_TOKEN"},
              {"kind": "pushover", "user": "uQiRzpo4DXghDmr9QzzfQu27cmVRsG", "token_env": "PUSHOVER_TOKEN"},
              {"kind": "matrix", "api_url": "https://matrix.example.com", "room_id": "!abc:example.com",
               "token_file": "/etc/lookout/matrix", "route": {"min_severity": "critical"}},
              {"kind": "teams", "token_file": "/etc/lookout/teams-url"}]}
            """#)
        let channels = config.notifications.channels
        #expect(channels.map(\.kind) == [.telegram, .gotify, .pushover, .matrix, .teams])
        #expect(channels[0].apiURL == "https://api.telegram.org")
        #expect(channels[2].apiURL == "https://api.pushover.net")
        #expect(channels[4].apiURL == nil)
        #expect(channels[3].route == NotificationRoute(minSeverity: .critical))
    }

    @Test func aNumericChatIDIsTakenAsWritten() throws {
        let config = try Self.parse(
            #"{"channels": [{"kind": "telegram", "chat_id": -1001234567890, "token_env": "TG"}]}"#)
        #expect(config.notifications.channels.first?.recipient == "-1001234567890")
        let message = try Self.refusal(#"{"channels": [{"kind": "telegram", "chat_id": true, "token_env": "TG"}]}"#)
        #expect(message.contains("notifications.channels[0].chat_id"), "\(message)")
    }

    @Test(arguments: ["token", "bot_token", "access_token", "password", "api_key", "url"])
    func aSecretInTheJSONIsRefusedWithTheWayToGiveIt(_ key: String) throws {
        let message = try Self.refusal(
            #"{"channels": [{"kind": "telegram", "chat_id": "1", "\#(key)": "123456:ABC-secret"}]}"#)
        #expect(message.contains("notifications.channels[0].\(key): secrets are not kept in the config"), "\(message)")
        #expect(message.contains("token_file") && message.contains("token_env"), "\(message)")
        #expect(!message.contains("ABC-secret"), "\(message)")
    }

    @Test(arguments: [
        (
            #"{"kind": "telegram", "chat_id": "1"}"#,
            "notifications.channels[0].token_file: a telegram channel needs exactly one of"
        ),
        (
            #"{"kind": "telegram", "chat_id": "1", "token_file": "/a", "token_env": "B"}"#,
            "needs exactly one of"
        ),
        (
            #"{"kind": "telegram", "token_file": "/a"}"#,
            "notifications.channels[0].chat_id: a telegram channel needs it"
        ),
        (
            #"{"kind": "gotify", "token_file": "/a"}"#,
            "notifications.channels[0].api_url: a gotify channel needs the URL of its server"
        ),
        (
            #"{"kind": "gotify", "api_url": "https://g.example", "chat_id": "1", "token_file": "/a"}"#,
            "notifications.channels[0].chat_id: is not a key of a gotify channel"
        ),
        (
            #"{"kind": "teams", "api_url": "https://x.example", "token_file": "/a"}"#,
            "notifications.channels[0].api_url: a Teams workflow URL carries its signature"
        ),
        (
            #"{"kind": "telegram", "chat_id": "1", "token_env": "MY-TOKEN"}"#,
            "token_env: \"MY-TOKEN\" is not an environment variable name"
        ),
        (#"{"kind": "slack", "token_file": "/a"}"#, "kind: \"slack\" is not one of telegram, gotify"),
        (
            #"{"kind": "telegram", "chat_id": "1", "token_file": "/a", "api_url": "ftp://x"}"#,
            "api_url: \"ftp://x\" must start with http"
        ),
        (
            #"{"kind": "telegram", "chat_id": "1", "token_file": "/a", "colour": "red"}"#,
            "notifications.channels[0].colour: unknown key"
        ),
        // The secret rides in every request: clear text only to this machine.
        (
            #"{"kind": "gotify", "api_url": "http://gotify.example.com", "token_file": "/a"}"#,
            "notifications.channels[0].api_url: \"http://gotify.example.com\" would send the gotify secret in "
                + "clear text; use https://"
        ),
        (
            #"{"kind": "telegram", "chat_id": "1", "token_file": "/a", "api_url": "HTTP://10.0.0.5:8080"}"#,
            "would send the telegram secret in clear text"
        ),
        (
            #"{"kind": "matrix", "room_id": "!r", "token_file": "/a", "api_url": "http://127.0.0.1.evil.example"}"#,
            "would send the matrix secret in clear text"
        ),
    ])
    func aBadChannelIsRefusedNamingTheKey(_ channel: String, _ expected: String) throws {
        let message = try Self.refusal(#"{"channels": [\#(channel)]}"#)
        #expect(message.contains(expected), "\(message)")
    }

    @Test(arguments: [
        "http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:9000", "http://gotify.localhost",
        "https://gotify.example.com",
    ])
    func plainHTTPToALoopbackHostIsAccepted(_ url: String) throws {
        let config = try Self.parse(
            #"{"channels": [{"kind": "gotify", "api_url": "\#(url)", "token_file": "/a"}]}"#)
        #expect(config.notifications.channels.first?.apiURL == url)
    }

    @Test func oneTargetTwiceIsRefusedAndTwoChatsAreTwoChannels() throws {
        let message = try Self.refusal(
            #"""
            {"channels": [{"kind": "telegram", "chat_id": "1", "token_file": "/a"},
                          {"kind": "telegram", "chat_id": "2", "token_file": "/a"},
                          {"kind": "telegram", "chat_id": "1", "token_env": "OTHER_BOT",
                           "api_url": "https://api.telegram.org/"}]}
            """#)
        #expect(
            message.contains("notifications.channels[2]: the same telegram target as notifications.channels[0]"),
            "\(message)")
    }

    @Test(arguments: [
        (#"{"vms": []}"#, "route.vms: is empty, so the channel would receive nothing"),
        (#"{"alerts": [""]}"#, "route.alerts[0]: a pattern must be 1 to 200 characters"),
        (#"{"alerts": ["servce/*"]}"#, "route.alerts[0]: \"servce/*\" is not all, an alert kind"),
        (#"{"alerts": ["disk*"]}"#, "route.alerts[0]: \"disk*\" is not all, an alert kind"),
        (#"{"min_severity": "ok"}"#, "route.min_severity: \"ok\" is not one of warning, critical"),
        (#"{"min_severity": "high"}"#, "route.min_severity: \"high\" is not one of warning, critical"),
        (#"{"vm": ["web-*"]}"#, "route.vm: unknown key"),
    ])
    func aBadRouteIsRefusedNamingTheKey(_ route: String, _ expected: String) throws {
        for notifications in [
            #"{"webhooks": [{"url": "https://ntfy.sh/a", "route": \#(route)}]}"#,
            #"{"email": {"enabled": true, "smtp_host": "mail", "recipients": ["a@b.c"], "route": \#(route)}}"#,
            #"{"channels": [{"kind": "telegram", "chat_id": "1", "token_file": "/a", "route": \#(route)}]}"#,
        ] {
            let message = try Self.refusal(notifications)
            #expect(message.contains(expected), "\(message)")
        }
    }

    @Test func aRouteCoversByVMAndByAlertKindOrKindAndMetric() throws {
        func alert(_ vm: String, _ kind: String, _ metric: String) throws -> Alert {
            Alert(
                id: "\(vm)/\(kind)", vmID: try VMID(validating: vm), kind: kind, metric: metric, severity: .warning,
                value: nil, threshold: nil, since: Date(timeIntervalSince1970: 0), message: "m")
        }
        let route = NotificationRoute(
            vms: [WildcardPattern("web-*")], alerts: ["stale", "service/*"])
        #expect(route.covers(try alert("web-1", "stale", "stale")))
        #expect(route.covers(try alert("web-2", "service", "api")))
        #expect(!route.covers(try alert("web-2", "disk", "disk")))
        #expect(!route.covers(try alert("db-1", "stale", "stale")))
        // `all` means every alert, as in silences and quiet hours; a kind does not match its prefix's kin.
        #expect(NotificationRoute(alerts: ["all"]).covers(try alert("web-2", "disk_util", "disk_util")))
        #expect(!NotificationRoute(alerts: ["disk"]).covers(try alert("web-2", "disk_util", "disk_util")))
        #expect(route.summary == "VMs web-*; warning and critical; alerts stale, service/*")
    }
}

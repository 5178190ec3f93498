import Foundation
import LookoutCore
import Testing

@Suite struct MonitoringConfigTests {
    func parse(_ text: String) throws(ConfigError) -> MonitoringConfig {
        try MonitoringConfig.parse(Array(text.utf8))
    }

    @Test func acceptsTheDesignSeedWrappedInAnAppConfig() throws {
        let config = try parse(
            """
            {"app_name": "cloud_dash", "monitoring": {
              "thresholds": {"cpu": {"warning": 70, "critical": 90}, "memory": {"warning": 80, "critical": 95},
                             "disk": {"warning": 80, "critical": 90}},
              "notifications": {"email": {"enabled": true, "smtp_host": "smtp.gmail.com", "recipients": ["ops@example.com"]},
                                "cooldown_minutes": 30}}}
            """)
        #expect(config.thresholds.disk == Threshold(warning: 80, critical: 90))
        #expect(config.notifications.email.enabled && config.notifications.email.port == 587)
        #expect(config.thresholds.load == Thresholds.defaults.load)
    }

    @Test func acceptsTheBareObjectAndAppliesOverrides() throws {
        let config = try parse(
            #"{"overrides": {"backup": {"disk": {"warning": 92, "critical": 97}}}, "retention": {"raw_days": 7}}"#)
        let backup = try VMID(validating: "backup")
        #expect(config.thresholds(for: backup).disk == Threshold(warning: 92, critical: 97))
        #expect(config.thresholds(for: backup).cpu == Thresholds.defaults.cpu)
        #expect(config.retention.rawDays == 7 && config.retention.hourlyDays == 365)
        #expect(try parse("{}") == MonitoringConfig())
    }

    @Test(arguments: [
        (#"{"tresholds": {}}"#, "tresholds: unknown key"),
        (
            #"{"thresholds": {"disk": {"warning": 80, "critical": 70}}}"#,
            "thresholds.disk.critical: 70.0 must be at least the warning threshold 80.0"
        ),
        (#"{"thresholds": {"cpu": {"warning": "high", "critical": 90}}}"#, "thresholds.cpu.warning: expected a number"),
        (
            #"{"thresholds": {"cpu": {"warning": 1, "critical": 2, "sustained_samples": 0}}}"#,
            "thresholds.cpu.sustained_samples: 0 is not between 1 and 1000"
        ),
        (#"{"overrides": {"../x": {}}}"#, "overrides.../x: invalid vm_id"),
        (
            #"{"notifications": {"email": {"security": "ssl"}}}"#,
            "notifications.email.security: \"ssl\" is not one of starttls, tls, none"
        ),
        (
            #"{"notifications": {"email": {"enabled": true, "recipients": ["a@b"]}}}"#,
            "notifications.email.smtp_host: is empty but email is enabled"
        ),
        (
            #"{"notifications": {"email": {"recipients": ["ops@example.com\r\nRCPT TO:<x@y>"]}}}"#,
            "notifications.email.recipients[0]: "
        ),
        (#"{"notifications": {"email": {"smtp_port": 70000}}}"#, "notifications.email.smtp_port: 70000 is not a port"),
        (
            #"{"notifications": {"webhooks": [{"kind": "teams", "url": "https://x"}]}}"#,
            "notifications.webhooks[0].kind: \"teams\" is not one of"
        ),
        (
            #"{"notifications": {"webhooks": [{"url": "file:///etc/passwd"}]}}"#,
            "notifications.webhooks[0].url: \"file:///etc/passwd\" must start with http"
        ),
        (#"{"notifications": {"cooldown_minutes": -1}}"#, "notifications.cooldown_minutes: -1 is not between"),
        (
            #"{"retention": {"raw_days": 30, "hourly_days": 10}}"#,
            "retention.hourly_days: 10 must be at least raw_days (30)"
        ),
        (#"{"public_url": "lookout.example.com"}"#, "public_url: \"lookout.example.com\" must start with http"),
        (#"{"stale_after_minutes": 0}"#, "stale_after_minutes: 0 is not between"),
        (#"{"monitoring": [1, 2]}"#, "monitoring: expected an object"),
        (#"{"thresholds": "#, "not valid JSON"),
    ])
    func badConfigNamesTheKeyAndValue(_ text: String, expected: String) throws {
        let error = try #require(throws: ConfigError.self) { try parse(text) }
        #expect(error.message.contains(expected), "\(error.message)")
    }

    @Test func loadNamesTheFile() throws {
        let path = NSTemporaryDirectory() + "lookout-config-\(UUID().uuidString).json"
        try Data(#"{"tresholds": {}}"#.utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: ConfigError.self) { try MonitoringConfig.load(path: path) }
        #expect(
            error.message
                == "config \(path): tresholds: unknown key (known: thresholds, overrides, stale_after_minutes, notifications, public_url, retention, token_file, vm_tokens_file, traffic)"
        )
        let missing = try #require(throws: ConfigError.self) { try MonitoringConfig.load(path: path + ".nope") }
        #expect(missing.message.contains("No such file"))
    }
}

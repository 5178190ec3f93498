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

    @Test func theThresholdsOfIssue11HaveDefaultsAndOverrides() throws {
        let defaults = try parse("{}")
        #expect(defaults.thresholds.swap == Threshold(warning: 50, critical: 80))
        #expect(defaults.thresholds.diskUtil == Threshold(warning: 90, critical: 98, sustainedSamples: 3))
        #expect(defaults.thresholds.temperature == nil)
        let config = try parse(
            #"""
            {"thresholds": {"swap": {"warning": 30, "critical": 60}, "disk_util": {"warning": 80, "critical": 95},
                            "temperature": {"warning": 75, "critical": 85}},
             "overrides": {"backup-1": {"fs:/srv/backup": {"warning": 95, "critical": 98}, "reboot": false,
                                        "disk_util": {"warning": 99, "critical": 100, "sustained_samples": 1}}}}
            """#)
        let backup = try VMID(validating: "backup-1")
        let web = try VMID(validating: "web-1")
        // disk_util keeps its 3 samples when only the levels are given.
        #expect(config.thresholds.diskUtil == Threshold(warning: 80, critical: 95, sustainedSamples: 3))
        #expect(config.thresholds(for: backup).diskUtil == Threshold(warning: 99, critical: 100, sustainedSamples: 1))
        #expect(config.thresholds(for: web).temperature == Threshold(warning: 75, critical: 85))
        #expect(config.filesystemThreshold(for: backup, path: "/srv/backup") == Threshold(warning: 95, critical: 98))
        #expect(config.filesystemThreshold(for: backup, path: "/var/lib/docker") == Thresholds.defaults.disk)
        #expect(config.filesystemThreshold(for: web, path: "/srv/backup") == Thresholds.defaults.disk)
        #expect(!config.rebootAlerts(for: backup) && config.rebootAlerts(for: web))
    }

    @Test(arguments: [
        (
            #"{"thresholds": {"swap": {"warning": 90, "critical": 50}}}"#,
            "thresholds.swap.critical: 50.0 must be at least the warning threshold 90.0"
        ),
        (
            #"{"thresholds": {"disk_util": {"warning": 90, "critical": 98, "sustained_samples": 0}}}"#,
            "thresholds.disk_util.sustained_samples: 0 is not between 1 and 1000"
        ),
        (
            #"{"thresholds": {"temperature": {"warning": "hot", "critical": 90}}}"#,
            "thresholds.temperature.warning: expected a number"
        ),
        (
            #"{"thresholds": {"swp": {}}}"#,
            "thresholds.swp: unknown key (known: cpu, memory, disk, load, swap, disk_util"
        ),
        (
            #"{"overrides": {"backup-1": {"fs:srv/backup": {"warning": 95, "critical": 98}}}}"#,
            #"overrides.backup-1.fs:srv/backup: "srv/backup" is not an absolute path"#
        ),
        (
            #"{"overrides": {"backup-1": {"fs:/": {"warning": 95, "critical": 98}}}}"#,
            #"overrides.backup-1.fs:/: the root filesystem is the "disk" threshold"#
        ),
        (
            #"{"overrides": {"backup-1": {"fs:/srv//backup": {"warning": 95, "critical": 98}}}}"#,
            #"overrides.backup-1.fs:/srv//backup: "/srv//backup" is not a normalised path"#
        ),
        (
            #"{"overrides": {"backup-1": {"fs:/srv/backup/": {"warning": 95, "critical": 98}}}}"#,
            "is not a normalised path"
        ),
        (
            #"{"overrides": {"backup-1": {"fs:/srv/\u0007x": {"warning": 95, "critical": 98}}}}"#,
            "contains control characters"
        ),
        (#"{"overrides": {"backup-1": {"fs:/srv/backup": {"warning": 95}}}}"#, "fs:/srv/backup.critical: missing"),
        (
            #"{"overrides": {"backup-1": {"fs:/srv/backup": {"warning": 99, "critical": 98}}}}"#,
            "overrides.backup-1.fs:/srv/backup.critical: 98.0 must be at least the warning threshold 99.0"
        ),
        (#"{"overrides": {"backup-1": {"reboot": "no"}}}"#, "overrides.backup-1.reboot: expected true or false"),
        (
            #"{"overrides": {"backup-1": {"rebot": false}}}"#,
            "overrides.backup-1.rebot: unknown key (known: cpu, memory, disk, load, swap, disk_util, temperature, "
                + "reboot, certificates, fs:<absolute path>)"
        ),
    ])
    func badIssue11ThresholdsNameTheKeyAndValue(_ text: String, expected: String) throws {
        let error = try #require(throws: ConfigError.self) { try parse(text) }
        #expect(error.message.contains(expected), "\(error.message)")
    }

    @Test func loadNamesTheFile() throws {
        let path = NSTemporaryDirectory() + "lookout-config-\(UUID().uuidString).json"
        try Data(#"{"tresholds": {}}"#.utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: ConfigError.self) { try MonitoringConfig.load(path: path) }
        #expect(
            error.message
                == "config \(path): tresholds: unknown key (known: thresholds, overrides, stale_after_minutes, notifications, public_url, retention, token_file, vm_tokens_file, traffic, forecast, quiet_hours, status_page)"
        )
        let missing = try #require(throws: ConfigError.self) { try MonitoringConfig.load(path: path + ".nope") }
        #expect(missing.message.contains("No such file"))
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ArgumentParser
import LookoutCollector
import LookoutCore
import LookoutHub
import Logging

/// Options `check` and `notify-test` share with `serve`.
struct HubOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Data folder (as for serve).", valueName: "dir"))
    var data = "./lookout-data"

    @Option(help: ArgumentHelp("Config file (JSON, DESIGN §5).", valueName: "file"))
    var config: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    /// The config and the notification channels, or exit 78 naming what is wrong.
    func load(logger: Logger, environment: [String: String]) throws -> (MonitoringConfig, [any NotificationChannel]) {
        do {
            let monitoring = try config.map { path throws(ConfigError) in try MonitoringConfig.load(path: path) } ?? MonitoringConfig()
            let channels = try monitoring.notificationChannels(
                environment: environment, hostName: AgentSettings.hostName(), logger: logger)
            return (monitoring, channels)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one alert pass and exit (for cron every 5 minutes).",
        discussion: """
            Reads new documents from DATA/<vm_id>/metrics.json into the history, evaluates every VM against the \
            thresholds, saves DATA/alerts.json, and sends due notices (retrying any left in DATA/outbox/). Safe to \
            run beside `lookout serve` and twice in a row: a lock and the saved state make every notice go out once.
            """)

    @OptionGroup var options: HubOptions

    func run() async throws {
        let logger = HubCommandSupport.bootstrapLogging(level: options.logLevel, label: "lookout")
        let (monitoring, channels) = try options.load(logger: logger, environment: HubCommandSupport.environment())
        do {
            let hub = try await Hub.open(
                Hub.Settings(dataFolder: options.data, config: monitoring, channels: channels), logger: logger)
            _ = await hub.folderWatcher().scan()
            let report = try await hub.alertPass().run(documents: hub.ingestor.fleet.entries().map(\.document), now: Date())
            print("""
                \(hub.ingestor.fleet.count) VM(s), \(report.active) active alert(s), \(report.notices) new notice(s); \
                sent \(report.delivery.delivered), failed \(report.delivery.failed), waiting \(report.delivery.waiting)
                """)
            if report.delivery.failed > 0 { throw ExitCode(75) }
        } catch let error as HubError {
            logger.critical("\(error)")
            throw error.exitCode
        }
    }
}

struct NotifyTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify-test",
        abstract: "Send a test message through every configured channel and report each result.")

    @OptionGroup var options: HubOptions

    func run() async throws {
        let logger = HubCommandSupport.bootstrapLogging(level: options.logLevel, label: "lookout")
        let (monitoring, channels) = try options.load(logger: logger, environment: HubCommandSupport.environment())
        guard !channels.isEmpty else {
            print("no notification channel is configured: enable notifications.email or add notifications.webhooks")
            throw ExitCode(78)
        }
        let host = AgentSettings.hostName()
        let now = Date()
        let alert = Alert(
            id: "\(host)/test", vmID: (try? VMID(validating: host)) ?? (try! VMID(validating: "lookout")), kind: "test",
            metric: "test", severity: .warning, value: nil, threshold: nil, since: now,
            message: "test notice from lookout notify-test")
        let notice = Notice(kind: .opened, alert: alert, at: now)
        var failed = 0
        for channel in channels {
            do {
                try await channel.send(notice)
                print("\(channel.name): sent")
            } catch {
                failed += 1
                print("\(channel.name): FAILED: \(error)")
            }
        }
        _ = monitoring
        if failed > 0 { throw ExitCode(1) }
    }
}

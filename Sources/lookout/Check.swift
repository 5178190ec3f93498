import ArgumentParser
import Logging
import LookoutCollector
import LookoutCore
import LookoutHub

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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
            let monitoring =
                try config.map { path throws(ConfigError) in try MonitoringConfig.load(path: path) }
                ?? MonitoringConfig()
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
            thresholds, saves DATA/alerts.json and queues notices in DATA/outbox/; then, with the alert lock \
            released, delivers what is due (each channel on its own, each attempt bounded by its timeout). Safe \
            to run beside `lookout serve` and twice in a row: locks and the saved state make every notice go out \
            once. Exit status: 0, 75 when a notice could not be delivered yet (it stays queued), 78 when the config \
            or the history database needs an operator (the message names the fix), 1 on another error.
            """)

    @OptionGroup var options: HubOptions

    @Flag(
        help: ArgumentHelp(
            "Print each notification channel and what it receives (its route, and which of the alerts active now "
                + "in DATA/alerts.json it was or would be told of), then exit without a pass or a delivery."))
    var explain = false

    func run() async throws {
        let logger = HubCommandSupport.bootstrapLogging(level: options.logLevel, label: "lookout")
        let (monitoring, channels) = try options.load(logger: logger, environment: HubCommandSupport.environment())
        if explain {
            var active: [Alert]?
            do {
                active = try AlertPass.activeAlerts(dataFolder: options.data)
            } catch {
                print("(the active alerts are not shown: \(error))")
            }
            print(monitoring.routingExplanation(active: active).joined(separator: "\n"))
            return
        }
        do {
            let hub = try await Hub.open(
                Hub.Settings(dataFolder: options.data, config: monitoring, channels: channels), logger: logger)
            _ = await hub.folderWatcher().scan()
            let pass = hub.alertPass()
            let clock = ContinuousClock()
            let started = clock.now
            let report = try await pass.run(documents: hub.ingestor.fleet.entries().map(\.document), now: Date())
            let evaluated = clock.now
            let delivery = await pass.deliver(now: Date())
            print(
                """
                \(hub.ingestor.fleet.count) VM(s), \(report.active) active alert(s), \(report.notices) new notice(s); \
                sent \(delivery.delivered), failed \(delivery.failed), waiting \(delivery.waiting)
                """)
            logger.info(
                "alert pass took \(Self.milliseconds(evaluated - started)) ms, delivery \(Self.milliseconds(clock.now - evaluated)) ms"
            )
            for (channel, error) in delivery.errors.sorted(by: { $0.key < $1.key }) {
                print("\(channel): FAILED: \(error)")
            }
            let lost = pass.outbox.inMemoryCount
            if lost > 0 {
                logger.critical(
                    "\(lost) notice(s) could not be written to \(pass.outbox.folder) nor delivered; they are lost")
                throw ExitCode(1)
            }
            if !report.problems.isEmpty { throw ExitCode(1) }
            if delivery.failed + delivery.gaveUp > 0 { throw ExitCode(75) }
        } catch let error as HubError {
            logger.critical("\(error)")
            throw error.exitCode
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

struct NotifyTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify-test",
        abstract: "Send a test message through every configured channel and report each result.",
        discussion: """
            The test notice takes the path real notices take: it is queued in DATA/outbox/ for every channel and \
            delivered by one outbox round per channel (which also sends whatever else is due there). A test \
            notice that fails is not retried. Exit status 1 when any channel failed.
            """)

    @OptionGroup var options: HubOptions

    func run() async throws {
        let logger = HubCommandSupport.bootstrapLogging(level: options.logLevel, label: "lookout")
        let (monitoring, channels) = try options.load(logger: logger, environment: HubCommandSupport.environment())
        guard !channels.isEmpty else {
            print(
                "no notification channel is configured: enable notifications.email or add notifications.webhooks "
                    + "or notifications.channels")
            throw ExitCode(78)
        }
        let host = AgentSettings.hostName()
        let now = Date()
        let vmID = (try? VMID(validating: host)) ?? (try! VMID(validating: "lookout"))
        let alert = Alert(
            id: "\(vmID)/test", vmID: vmID, kind: "test", metric: "test", severity: .warning, value: nil,
            threshold: nil,
            since: now, message: "test notice from lookout notify-test")
        let notice = Notice(kind: .opened, alert: alert, at: now)
        let outbox = Outbox(dataFolder: options.data, logger: logger)
        outbox.enqueue([notice], channels: channels, now: now, routed: false)
        let report = await outbox.deliver(channels: channels, now: now)
        var failed = 0
        for channel in channels {
            let name = Outbox.fileName(of: notice, channelID: channel.id)
            if outbox.isQueued(name) {
                failed += 1
                outbox.discard(name)
                print(
                    "\(channel.id): FAILED: \(report.errors[channel.id] ?? "another process is delivering via this channel")"
                )
            } else {
                print("\(channel.id): sent")
            }
        }
        _ = monitoring
        if failed > 0 { throw ExitCode(1) }
    }
}

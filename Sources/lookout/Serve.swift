import ArgumentParser
import LookoutCollector
import LookoutCore
import LookoutHub
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the hub: ingest, history, API, dashboard, and (by default) monitor this machine.")

    @Option(help: ArgumentHelp("Data folder: <vm_id>/metrics.json, alerts.json, history/, lookout.sqlite.", valueName: "dir"))
    var data = "./lookout-data"

    @Option(help: ArgumentHelp("Config file (JSON, DESIGN §5): a \"monitoring\" object or a file holding one.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Flag(name: .customLong("no-local-agent"), help: "Do not collect this machine's own metrics.")
    var noLocalAgent = false

    @Flag(name: .customLong("insecure-listen"), help: "Allow a non-loopback --listen without an API token.")
    var insecureListen = false

    @Flag(name: .customLong("check-config"), help: "Validate the config and tokens, print a summary, and exit.")
    var checkConfig = false

    @Option(name: .customLong("local-interval"), help: ArgumentHelp("Seconds between samples of this machine.", valueName: "seconds"))
    var localInterval = 60

    @Option(name: .customLong("poll-interval"), help: ArgumentHelp("Seconds between scans of the data folder for new documents.", valueName: "seconds"))
    var pollInterval = 5

    @Option(name: .customLong("alert-interval"), help: ArgumentHelp("Seconds between alert passes.", valueName: "seconds"))
    var alertInterval = 60

    @Option(name: .customLong("aggregate-at"), 
        help: ArgumentHelp("UTC time of the daily aggregate.", valueName: "HH:MM"))
    var aggregateAt = "23:55"

    @Option(help: ArgumentHelp("Folder of the dashboard files (default: Public/ beside the binary or in the working folder).", valueName: "dir"))
    var dashboard: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let logger = HubCommandSupport.bootstrapLogging(level: logLevel, label: "lookout")
        let environment = HubCommandSupport.environment()
        let (host, port) = try HubCommandSupport.parseListen(listen)
        guard (1...86_400).contains(localInterval), (1...3600).contains(pollInterval), (1...3600).contains(alertInterval) else {
            throw ValidationError("--local-interval must be 1-86400, --poll-interval and --alert-interval 1-3600 seconds")
        }
        let monitoring: MonitoringConfig
        let tokens: APITokens
        do {
            monitoring = try config.map { path throws(ConfigError) in try MonitoringConfig.load(path: path) } ?? MonitoringConfig()
            tokens = try APITokens.load(config: monitoring, environment: environment)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)
        }
        if checkConfig {
            print(HubCommandSupport.describe(monitoring, tokens: tokens, path: config))
            return
        }
        if tokens.main == nil, !HubCommandSupport.isLoopback(host), !insecureListen {
            logger.critical(
                "refusing to listen on \(listen) without an API token: set LOOKOUT_TOKEN or token_file, or pass --insecure-listen")
            throw ExitCode(78)
        }
        let channels: [any NotificationChannel]
        do {
            channels = try monitoring.notificationChannels(
                environment: environment, hostName: AgentSettings.hostName(), logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)
        }
        let settings = Hub.Settings(
            dataFolder: data, config: monitoring, host: host, port: port, tokens: tokens,
            publicFolder: dashboard ?? HubCommandSupport.findDashboard(), pollInterval: .seconds(pollInterval),
            channels: channels, alertInterval: .seconds(alertInterval))
        let hub: Hub
        do {
            hub = try await Hub.open(settings, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        var services: [any Service] = []
        guard let aggregateMinute = DailyAggregateService.minuteOfDay(aggregateAt) else {
            throw ValidationError("--aggregate-at: \"\(aggregateAt.prefix(40))\" is not HH:MM (00:00-23:59)")
        }
        services.append(DailyAggregateService(
            aggregator: DailyAggregator(dataFolder: data, store: hub.ingestor.store), minuteOfDay: aggregateMinute,
            logger: logger))
        if !noLocalAgent {
            services.append(try LocalAgent(ingestor: hub.ingestor, interval: .seconds(localInterval), environment: environment, logger: logger))
        }
        logger.info(
            "lookout \(LookoutVersion.current) serving \(hub.ingestor.fleet.count) VM(s) from \(data) on http://\(listen)")
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: hub.application(extraServices: services))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

import ArgumentParser
import Logging
import LookoutCollector
import LookoutCore
import LookoutHub
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the hub: ingest, history, API, dashboard, and (by default) monitor this machine.")

    @Option(
        help: ArgumentHelp(
            "Data folder: <vm_id>/metrics.json, alerts.json, history/, lookout.sqlite.", valueName: "dir"))
    var data = "./lookout-data"

    @Option(
        help: ArgumentHelp(
            "Config file (JSON, DESIGN §5): a \"monitoring\" object or a file holding one.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Flag(name: .customLong("no-local-agent"), help: "Do not collect this machine's own metrics.")
    var noLocalAgent = false

    @Flag(
        name: .customLong("insecure-listen"),
        help: "Allow a non-loopback --listen without an API token, or per-VM tokens without a main token (reads open).")
    var insecureListen = false

    @Option(
        name: .customLong("idle-timeout"),
        help: ArgumentHelp(
            """
            Seconds an HTTP connection may wait for a complete request head (idle, or a head sent slowly), \
            and a body may take after its head, before the hub closes it.
            """,
            valueName: "seconds"))
    var idleTimeout = 30

    @Option(
        name: .customLong("max-connections"),
        help: ArgumentHelp(
            """
            Most HTTP connections at once (default: the descriptor limit less \(DescriptorLimit.reserve) for files, \
            at most \(DescriptorLimit.defaultCeiling)). At the cap the connection waiting longest for a request \
            is closed; if all are busy the new one is.
            """,
            valueName: "n"))
    var maxConnections: Int?

    /// For the route-by-route system test: prints every route of the router and exits.
    @Flag(name: .customLong("print-routes"), help: .hidden)
    var printRoutes = false

    @Flag(
        name: .customLong("check-config"),
        help: "Validate the config, read every file it names (tokens, SMTP credentials), print a summary, exit.")
    var checkConfig = false

    @Option(
        name: .customLong("local-interval"),
        help: ArgumentHelp("Seconds between samples of this machine.", valueName: "seconds"))
    var localInterval = 60

    @Option(
        name: .customLong("poll-interval"),
        help: ArgumentHelp("Seconds between scans of the data folder for new documents.", valueName: "seconds"))
    var pollInterval = 5

    @Option(
        name: .customLong("alert-interval"), help: ArgumentHelp("Seconds between alert passes.", valueName: "seconds"))
    var alertInterval = 60

    @Option(
        name: .customLong("aggregate-at"),
        help: ArgumentHelp("UTC time of the daily aggregate.", valueName: "HH:MM"))
    var aggregateAt = "23:55"

    @Option(
        help: ArgumentHelp(
            "Folder of the dashboard files (default: Public/ beside the binary or in the working folder, "
                + "else /usr/share/lookout/public, the Debian package's).",
            valueName: "dir"))
    var dashboard: String?

    @Option(
        name: .customLong("agent-binaries"),
        help: ArgumentHelp(
            """
            Folder of the agent binaries /install hands to new VMs, as <arch>/lookout-agent (x86_64, aarch64). \
            Default: /usr/lib/lookout/agents when it exists, else dist/ beside the binary or in the working folder.
            """,
            valueName: "dir"))
    var agentBinaries: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let logger = HubCommandSupport.bootstrapLogging(level: logLevel, label: "lookout")
        let environment = HubCommandSupport.environment()
        let (host, port) = try HubCommandSupport.parseListen(listen)
        guard (1...86_400).contains(localInterval), (1...3600).contains(pollInterval),
            (1...3600).contains(alertInterval)
        else {
            throw ValidationError(
                "--local-interval must be 1-86400, --poll-interval and --alert-interval 1-3600 seconds")
        }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 1-3600 seconds") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        // Every file the config names is read here, so --check-config finds what serve would.
        let monitoring: MonitoringConfig
        let tokens: APITokens
        let channels: [any NotificationChannel]
        do {
            monitoring =
                try config.map { path throws(ConfigError) in try MonitoringConfig.load(path: path) }
                ?? MonitoringConfig()
            tokens = try APITokens.load(config: monitoring, environment: environment, dataFolder: data)
            channels = try monitoring.notificationChannels(
                environment: environment, hostName: AgentSettings.hostName(), logger: logger)
            if !monitoring.notifications.email.enabled {
                _ = try SMTPCredentials.load(settings: monitoring.notifications.email, environment: environment)
            }
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)
        }
        if let problem = HubCommandSupport.tokenPolicyProblem(
            tokens, host: host, listen: listen, insecureListen: insecureListen)
        {
            logger.critical("\(problem)")
            throw ExitCode(78)
        }
        if checkConfig {
            print(HubCommandSupport.describe(monitoring, tokens: tokens, path: config))
            return
        }
        let descriptors = DescriptorLimit.raiseSoftToHard()
        let connectionCap = maxConnections ?? DescriptorLimit.defaultMaxConnections(softLimit: descriptors.after)
        if descriptors.after > 0, connectionCap > descriptors.after - 64 {
            logger.warning(
                "--max-connections \(connectionCap) leaves fewer than 64 of the \(descriptors.after) descriptors for files"
            )
        }
        let raised = descriptors.after > descriptors.before ? " (raised from \(descriptors.before))" : ""
        logger.info(
            "descriptor limit \(descriptors.after)\(raised); at most \(connectionCap) HTTP connections, idle timeout \(idleTimeout) s"
        )
        let settings = Hub.Settings(
            dataFolder: data, config: monitoring, host: host, port: port, tokens: tokens,
            publicFolder: dashboard ?? HubCommandSupport.findDashboard(), pollInterval: .seconds(pollInterval),
            channels: channels, alertInterval: .seconds(alertInterval), idleTimeout: .seconds(idleTimeout),
            maxConnections: connectionCap,
            agentBinaries: agentBinaries ?? AgentBinaries.defaultFolder(executable: HubCommandSupport.executablePath()))
        let hub: Hub
        do {
            hub = try await Hub.open(settings, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw error.exitCode
        }
        if printRoutes {
            print(hub.routeList().joined(separator: "\n"))
            return
        }
        Task.detached(priority: .utility) { hub.prepareAgentBinaries() }
        var services: [any Service] = []
        guard let aggregateMinute = DailyAggregateService.minuteOfDay(aggregateAt) else {
            throw ValidationError("--aggregate-at: \"\(aggregateAt.prefix(40))\" is not HH:MM (00:00-23:59)")
        }
        services.append(
            DailyAggregateService(
                aggregator: DailyAggregator(dataFolder: data, store: hub.ingestor.store), minuteOfDay: aggregateMinute,
                rawDays: monitoring.retention.rawDays, logger: logger))
        if !noLocalAgent {
            services.append(
                try LocalAgent(
                    ingestor: hub.ingestor, interval: .seconds(localInterval), environment: environment, logger: logger)
            )
        }
        logger.info(
            "lookout \(LookoutVersion.current) serving \(hub.ingestor.fleet.count) VM(s) from \(data) on http://\(listen)"
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: hub.application(extraServices: services))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

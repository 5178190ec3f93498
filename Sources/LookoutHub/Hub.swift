import Hummingbird
import HummingbirdCore
import Logging
import LookoutCore
import NIOCore
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Everything `lookout serve` runs, wired together: the history store, the fleet in
/// memory, the folder watcher, retention and the HTTP server.
public struct Hub: Sendable {
    public struct Settings: Sendable {
        public var dataFolder: String
        public var config: MonitoringConfig
        public var host: String
        public var port: Int
        public var tokens: APITokens
        /// Folder of the dashboard's static files; `nil` serves none.
        public var publicFolder: String?
        public var pollInterval: Duration
        /// Where notices go (email, webhooks).
        public var channels: [any NotificationChannel]
        /// How often `serve` runs an alert pass; `nil` runs none (tests that drive passes themselves).
        public var alertInterval: Duration?
        /// How long an HTTP connection may wait for a complete request head (idle
        /// keep-alive, nothing sent, or a head trickled byte by byte), and how long a
        /// request body may take after its head, before the hub closes the connection.
        public var idleTimeout: Duration
        /// Most HTTP connections open at once (``ConnectionLimiter``); nil: no cap.
        public var maxConnections: Int?
        /// Folder of the agent binaries `/install` hands out (`<arch>/lookout-agent`); nil: none.
        public var agentBinaries: String?

        public init(
            dataFolder: String, config: MonitoringConfig = MonitoringConfig(), host: String = "127.0.0.1",
            port: Int = 8080, tokens: APITokens = APITokens(), publicFolder: String? = nil,
            pollInterval: Duration = .seconds(5), channels: [any NotificationChannel] = [],
            alertInterval: Duration? = .seconds(60), idleTimeout: Duration = .seconds(30), maxConnections: Int? = nil,
            agentBinaries: String? = nil
        ) {
            self.dataFolder = dataFolder
            self.config = config
            self.host = host
            self.port = port
            self.tokens = tokens
            self.publicFolder = publicFolder
            self.pollInterval = pollInterval
            self.channels = channels
            self.alertInterval = alertInterval
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
            self.agentBinaries = agentBinaries
        }
    }

    public let settings: Settings
    public let ingestor: Ingestor
    public let logger: Logger
    let now: @Sendable () -> Date
    /// The hub's one alert pass; its outbox is shared with the delivery service.
    let pass: AlertPass
    /// The tokens the auth middlewares read; enrollment adds per-VM tokens while it runs.
    public let tokens: LiveTokens
    /// The agent binaries of `/install`, their checksums cached across requests.
    let binaries: AgentBinaries?
    /// Refused enrollment codes of this hub, across requests (``WrongCodeBudget``).
    let wrongCodes = WrongCodeBudget()

    /// Opens the data folder and the store, and loads every VM's latest document.
    public static func open(
        _ settings: Settings, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) async throws(HubError) -> Hub {
        do {
            try AtomicFile.makeDirectories(settings.dataFolder)
        } catch {
            throw HubError("data folder: \(error)")
        }
        let store = try HistoryStore(path: "\(settings.dataFolder)/lookout.sqlite", logger: logger)
        let ingestor = Ingestor(store: store, fleet: Fleet(), logger: logger, now: now)
        try await ingestor.restore()
        let pass = AlertPass(
            dataFolder: settings.dataFolder, store: store, config: settings.config, channels: settings.channels,
            logger: logger)
        return Hub(
            settings: settings, ingestor: ingestor, logger: logger, now: now, pass: pass,
            tokens: LiveTokens(settings.tokens), binaries: settings.agentBinaries.map(AgentBinaries.init(folder:)))
    }

    /// The router with every route and middleware; tests drive it without a socket.
    ///
    /// Protection is a property of the router group a route is registered in, never of
    /// the path's spelling: whatever spelling the router resolves to a route runs that
    /// route's middleware. Open by design (DESIGN §4): `/healthz`, the dashboard's static
    /// files, the public status page (`/status`, `/api/status`; 404 unless configured) and
    /// the installer under `/install` (its code is the credential). Main
    /// token: every read under `/api/monitoring`, enrollments and `/metrics`. Main or
    /// per-VM token: ingest (README "Tokens").
    public func router() -> Router<HubRequestContext> {
        let router = Router(context: HubRequestContext.self, options: .autoGenerateHeadEndpoints)
        // First, so it wraps every route group added below (README "Compression and caching").
        router.add(middleware: CompressionMiddleware())
        router.add(middleware: JSONErrorMiddleware(logger: logger))
        let tokens = self.tokens
        let dataFolder = settings.dataFolder
        let controller = MonitoringController(
            ingestor: ingestor, config: settings.config,
            alertsBody: { try Hub.alertsBody(dataFolder: dataFolder) }, now: now, forecastCache: pass.forecastCache)
        let fleet = ingestor.fleet
        let config = settings.config
        let now = now

        let store = ingestor.store
        router.get("healthz") { _, _ in
            Response.json(store.health.healthzBody(vms: fleet.count))
        }

        let mainToken = router.group().add(middleware: AuthMiddleware(live: tokens))
            .add(middleware: ChangeRequestGuard(live: tokens))
        controller.addReadRoutes(to: mainToken.group("api/monitoring"))
        SilenceRoutes(file: SilenceFile(dataFolder: dataFolder), now: now).add(to: mainToken.group("api/monitoring"))
        let logger = logger
        mainToken.get("metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            let time = now()
            // One small read of `traffic_days` (a row per VM and day); a store that cannot
            // answer costs the traffic family its samples, not the whole scrape.
            var traffic: [VMID: TrafficUsage] = [:]
            do {
                traffic = try await store.trafficUsage(config: config, now: time)
            } catch {
                logger.warning("/metrics: monthly traffic left out: \(error)")
            }
            let text = PrometheusExposition.render(fleet.entries(), config: config, now: time, traffic: traffic)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }

        // The public status page: open, in a group of its own, only what `status_page` lists.
        let statusPage = settings.config.statusPage.map { page in
            StatusPage(
                config: page, monitoring: config, fleet: fleet, store: store, dataFolder: dataFolder, logger: logger,
                now: now)
        }
        StatusPageRoutes(page: statusPage, publicFolder: settings.publicFolder).add(to: router.group())
        statusPage?.logStart()

        let ingest = router.group("api/monitoring").add(middleware: IngestAuthMiddleware(live: tokens))
        controller.addIngestRoute(to: ingest)

        let publicURL = settings.config.publicURL.map { url in url.hasSuffix("/") ? String(url.dropLast()) : url }
        let enroller = self.enroller()
        EnrollmentRoutes(enroller: enroller, live: tokens, publicURL: publicURL, now: now)
            .add(to: mainToken.group("api/monitoring"))
        InstallRoutes(
            binaries: binaries, publicFolder: settings.publicFolder, enroller: enroller, publicURL: publicURL,
            logger: logger
        ).add(to: router.group("install"))

        // Added after the routes, so these only see requests that no route answered.
        router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
        if let folder = settings.publicFolder {
            router.add(middleware: DashboardFiles(folder: folder))
        }
        return router
    }

    /// The trade of enrollment codes for per-VM tokens, writing where ``APITokens/vmTokensPath(config:dataFolder:)`` says.
    public func enroller() -> Enroller {
        Enroller(
            dataFolder: settings.dataFolder,
            tokensPath: APITokens.vmTokensPath(config: settings.config, dataFolder: settings.dataFolder), live: tokens,
            budget: wrongCodes, logger: logger, now: now)
    }

    /// Checksums the agent binaries `/install` hands out (once per file version, then
    /// cached) and logs what there is, so the first VM to install does not wait for it.
    public func prepareAgentBinaries() {
        guard let binaries else {
            logger.info("install: no agent binaries folder (--agent-binaries, /usr/lib/lookout/agents or dist/)")
            return
        }
        let clock = ContinuousClock()
        let started = clock.now
        let (agents, problems) = binaries.agents()
        for problem in problems { logger.warning("install: agent binary left out: \(problem)") }
        let list = agents.map { "\($0.arch) \($0.version ?? "(no version stamp)")" }.joined(separator: ", ")
        logger.info(
            "install: agent binaries from \(binaries.folder): \(list.isEmpty ? "none (expected <arch>/lookout-agent)" : list), checksummed in \(clock.now - started)"
        )
    }

    /// Every route of ``router()`` as `METHOD /path` (HEAD, generated for each GET, not
    /// listed): what `lookout serve --print-routes` prints for the route-by-route test.
    public func routeList() -> [String] {
        router().routes.map { "\($0.method) \($0.path)" }
    }

    /// The alert pass over this hub's data folder and store.
    public func alertPass() -> AlertPass { pass }

    /// A folder watcher that hands documents to this hub's ingestor.
    public func folderWatcher() -> FolderWatcher {
        FolderWatcher(
            dataFolder: settings.dataFolder, pollInterval: settings.pollInterval, logger: logger,
            beforeScan: { [ingestor] watching in await ingestor.applyForgetRequests(acknowledge: watching) },
            storedSeconds: { [ingestor] vmID, range in
                (try? await ingestor.store.storedSeconds(vmID: vmID, in: range)) ?? []
            },
            ingest: { [ingestor] document in await ingestor.ingest(document) })
    }

    /// alerts.json as written by the alert engine, or no alerts before it first runs. A file
    /// that is there but cannot be read or decoded is a 500 naming it, never an empty list
    /// (which would tell the dashboard that all is well).
    static func alertsBody(dataFolder: String) throws -> ByteBuffer {
        let path = "\(dataFolder)/alerts.json"
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 16 << 20)
        } catch {
            if error.isNotFound { return ByteBuffer(string: #"{"alerts":[]}"#) }
            throw HTTPError(
                .internalServerError, message: "the active alerts (alerts.json) cannot be read: \(error.reason)")
        }
        guard (try? JSONDecoder().decode(AlertState.self, from: Data(bytes))) != nil else {
            throw HTTPError(
                .internalServerError,
                message: "the active alerts (alerts.json) are damaged: not valid alert state JSON")
        }
        return ByteBuffer(bytes: bytes)
    }

    /// The HTTP server plus the background services, ready for `runService()`.
    public func application(extraServices: [any Service] = []) -> some ApplicationProtocol {
        let watcher = folderWatcher()
        let retention = RetentionService(
            store: ingestor.store, retention: settings.config.retention, logger: logger, now: now,
            fleet: ingestor.fleet)
        var services: [any Service] = [watcher, retention]
        if let interval = settings.alertInterval {
            services.append(
                AlertService(pass: pass, fleet: ingestor.fleet, interval: interval, logger: logger, now: now))
            if !pass.channels.isEmpty {
                services.append(
                    DeliveryService(
                        outbox: pass.outbox, channels: pass.channels, interval: .seconds(15), logger: logger, now: now))
            }
        }
        let logger = logger
        let limiter = settings.maxConnections.map { ConnectionLimiter(limit: $0, logger: logger) }
        let timeout = TimeAmount(settings.idleTimeout)
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionGuardHandler(limiter: limiter, bodyTimeout: timeout, logger: logger)],
            idleTimeout: timeout)
        return Application(
            router: router(),
            server: .http1(configuration: http1),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "lookout"),
            services: services + extraServices,
            logger: logger)
    }
}

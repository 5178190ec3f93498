#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import LookoutCore
import Logging
import NIOCore
import ServiceLifecycle

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
        /// How often `serve` runs an alert pass; `nil` runs none (tests, `--no-alerts`).
        public var alertInterval: Duration?

        public init(
            dataFolder: String, config: MonitoringConfig = MonitoringConfig(), host: String = "127.0.0.1",
            port: Int = 8080, tokens: APITokens = APITokens(), publicFolder: String? = nil,
            pollInterval: Duration = .seconds(5), channels: [any NotificationChannel] = [],
            alertInterval: Duration? = .seconds(60)
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
        }
    }

    public let settings: Settings
    public let ingestor: Ingestor
    public let logger: Logger
    let now: @Sendable () -> Date
    /// The hub's one alert pass; its outbox is shared with the delivery service.
    let pass: AlertPass

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
        return Hub(settings: settings, ingestor: ingestor, logger: logger, now: now, pass: pass)
    }

    /// The router with every route and middleware; tests drive it without a socket.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: JSONErrorMiddleware(logger: logger))
        router.add(middleware: AuthMiddleware(tokens: settings.tokens))
        let dataFolder = settings.dataFolder
        let controller = MonitoringController<BasicRequestContext>(
            ingestor: ingestor, tokens: settings.tokens, config: settings.config,
            alertsBody: { Hub.alertsBody(dataFolder: dataFolder) }, now: now)
        controller.addRoutes(to: router.group("api/monitoring"))
        let fleet = ingestor.fleet
        let config = settings.config
        let now = now
        router.get("metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            let text = PrometheusExposition.render(fleet.entries(), config: config, now: now())
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("healthz") { _, _ in
            Response.json(#"{"status":"ok","version":"\#(LookoutVersion.current)","vms":\#(fleet.count)}"#)
        }
        if let folder = settings.publicFolder {
            router.add(middleware: DashboardFiles(folder: folder))
        }
        return router
    }

    /// The alert pass over this hub's data folder and store.
    public func alertPass() -> AlertPass { pass }

    /// A folder watcher that hands documents to this hub's ingestor.
    public func folderWatcher() -> FolderWatcher {
        FolderWatcher(
            dataFolder: settings.dataFolder, pollInterval: settings.pollInterval, logger: logger,
            ingest: { [ingestor] document in await ingestor.ingest(document) })
    }

    /// alerts.json as written by the alert engine, or no alerts before it first runs.
    static func alertsBody(dataFolder: String) -> ByteBuffer {
        if let bytes = try? AtomicFile.read("\(dataFolder)/alerts.json", limit: 16 << 20) {
            return ByteBuffer(bytes: bytes)
        }
        return ByteBuffer(string: #"{"alerts":[]}"#)
    }

    /// The HTTP server plus the background services, ready for `runService()`.
    public func application(extraServices: [any Service] = []) -> some ApplicationProtocol {
        let watcher = folderWatcher()
        let retention = RetentionService(store: ingestor.store, retention: settings.config.retention, logger: logger, now: now)
        var services: [any Service] = [watcher, retention]
        if let interval = settings.alertInterval {
            services.append(AlertService(pass: pass, fleet: ingestor.fleet, interval: interval, logger: logger, now: now))
            if !pass.channels.isEmpty {
                services.append(DeliveryService(
                    outbox: pass.outbox, channels: pass.channels, interval: .seconds(15), logger: logger, now: now))
            }
        }
        return Application(
            router: router(),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "lookout"),
            services: services + extraServices,
            logger: logger)
    }
}

import Hummingbird
import Logging
import LookoutCore
import NIOCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The public status page: `GET /api/status` (its JSON) and `GET /status` / `/status.html`
/// (the page), open without a token by design (DESIGN §4). They live in their own router
/// group, so no main-token route is reachable through them. Without `status_page` in the
/// config every one answers 404, the page included (the file is not served as a plain
/// dashboard file then).
struct StatusPageRoutes: Sendable {
    let page: StatusPage?
    /// `Public/status.html`, read (and gzipped) once; nil without a dashboard folder.
    let html: EncodedBody?

    init(page: StatusPage?, publicFolder: String?) {
        self.page = page
        html = publicFolder.flatMap { folder in
            (try? AtomicFile.read("\(folder)/status.html", limit: 1 << 20)).map {
                EncodedBody(ByteBuffer(bytes: $0), contentType: "text/html; charset=utf-8", cacheControl: "no-cache")
            }
        }
    }

    static let notConfigured = "Not found: no status page is configured (status_page)"

    func add(to group: RouterGroup<HubRequestContext>) {
        let page = page
        group.get("api/status") { request, _ in
            guard let page else { throw HTTPError(.notFound, message: Self.notConfigured) }
            return Response.negotiated(try await page.body(), for: request)
        }
        let html = html
        for path in ["status", "status.html"] {
            group.get(RouterPath(path)) { request, _ in
                guard page != nil else { throw HTTPError(.notFound, message: Self.notConfigured) }
                guard let html else { throw HTTPError(.notFound, message: "Not found: no dashboard files") }
                // `/status/` (the router folds it onto `/status`) would resolve the page's relative
                // URLs under `/status/`: send the browser to the spelling they work from.
                if request.uri.path.hasSuffix("/") {
                    return Response(status: .movedPermanently, headers: [.location: "../\(path)"])
                }
                return Response.negotiated(html, for: request)
            }
        }
    }
}

/// Builds the status page's body, at most one store read per change: the body is kept
/// until the listed VMs' documents, their open alerts, their staleness or the UTC day
/// change, so an unchanged refresh is the same bytes with the same `updated_at`.
final class StatusPage: Sendable {
    /// The days of the uptime bars, ending today.
    static let days = 90

    let config: StatusPageConfig
    let monitoring: MonitoringConfig
    let fleet: Fleet
    let store: HistoryStore
    let dataFolder: String
    let logger: Logger
    let now: @Sendable () -> Date

    /// What the body depends on beyond the stored history.
    struct Key: Equatable {
        var documents: [VMID: Date]
        var judgement: StatusPageJudgement
        var day: Int64
        /// Five-minute ticks while an entry is down: nothing else changes then (no documents
        /// come), but today's uptime falls, so the body is rebuilt at that pace (0 otherwise).
        var outageTick: Int64
    }

    private let cache = Mutex<(key: Key, body: EncodedBody)?>(nil)
    private let alertsCache = Mutex<(stamp: FileStamp, alerts: [Alert])?>(nil)

    init(
        config: StatusPageConfig, monitoring: MonitoringConfig, fleet: Fleet, store: HistoryStore, dataFolder: String,
        logger: Logger, now: @escaping @Sendable () -> Date
    ) {
        self.config = config
        self.monitoring = monitoring
        self.fleet = fleet
        self.store = store
        self.dataFolder = dataFolder
        self.logger = logger
        self.now = now
    }

    /// Says what the page lists, and which listed VMs never reported (a typo in the config
    /// shows as "unknown" on the page, and this names it).
    func logStart() {
        logger.info("status page: /status lists \(config.vms.count) VMs and \(config.services.count) service checks")
        let unknown = vmIDs.filter { fleet.entry($0) == nil }.map(\.rawValue).sorted()
        if !unknown.isEmpty {
            logger.warning(
                "status page: status_page names VMs that have not reported (shown as unknown): \(unknown.joined(separator: ", "))"
            )
        }
    }

    /// The VMs the page reads: the listed ones and those whose services it lists.
    var vmIDs: Set<VMID> { Set(config.vms.keys).union(config.services.keys.map(\.vmID)) }

    /// The body in both encodings with its ETag, so an unchanged refresh is a 304.
    func body() async throws -> EncodedBody {
        let time = now()
        let fleet = fleet
        var entries: [VMID: Fleet.Entry] = [:]
        for vm in vmIDs { entries[vm] = fleet.entry(vm) }
        let judgement = StatusPageJudgement.judge(
            config, fleet: { entries[$0] }, alerts: try activeAlerts(), config: monitoring, now: time)
        let seconds = Int64(time.timeIntervalSince1970.rounded(.down))
        let down =
            judgement.vms.values.contains { $0.state == .outage }
            || judgement.services.values.contains { $0.state == .outage }
        let key = Key(
            documents: entries.mapValues(\.document.timestamp), judgement: judgement,
            day: (seconds - ((seconds % 86_400) + 86_400) % 86_400) / 86_400, outageTick: down ? seconds / 300 : 0)
        if let cached = cache.withLock({ $0 }), cached.key == key { return cached.body }

        var staleAfter: [VMID: Int] = [:]
        for vm in config.vms.keys {
            staleAfter[vm] =
                entries[vm].map { VMHealth.staleAfter($0.document, config: monitoring) }
                ?? monitoring.staleAfterMinutes * 60
        }
        let uptime: (vms: [VMID: DailyUptime], services: [StatusPageConfig.ServiceKey: DailyUptime])
        do {
            uptime = try await store.dailyUptime(
                vms: staleAfter, services: Set(config.services.keys), days: Self.days, now: time,
                retention: monitoring.retention)
        } catch {
            logger.error("status page: \(error)")
            throw HTTPError(.internalServerError, message: "The status is not available right now")
        }
        let window = UptimeWindow(days: Self.days, now: seconds)
        let days = (0..<Self.days).map {
            String(Timestamp.format(Date(timeIntervalSince1970: Double(window.dayStart($0)))).prefix(10))
        }
        let body = judgement.body(config, uptime: uptime, days: days, updatedAt: time)
        // Open to anyone: no shared cache may keep it past a change, so `no-cache`.
        let encoded = EncodedBody(ByteBuffer(bytes: try JSONEncoder.lookout().encode(body)), cacheControl: "no-cache")
        cache.withLock { $0 = (key, encoded) }
        return encoded
    }

    /// The open alerts (`alerts.json`); none before the first alert pass. A file that cannot
    /// be read is logged with its reason and answered with a 500 that says nothing of it.
    func activeAlerts() throws -> [Alert] {
        let path = "\(dataFolder)/alerts.json"
        // Read and decoded once per version of the file (the alert pass replaces it by a
        // rename): an open route must not cost a 16 MB decode per request.
        let stamp = FileProbe.info(Array(path.utf8), followSymlinks: true)?.stamp
        if let stamp, let cached = alertsCache.withLock({ $0 }), cached.stamp == stamp { return cached.alerts }
        do {
            let bytes = try AtomicFile.read(path, limit: 16 << 20)
            let alerts = try JSONDecoder().decode(AlertState.self, from: Data(bytes)).alerts
            if let stamp { alertsCache.withLock { $0 = (stamp, alerts) } }
            return alerts
        } catch let error as FileError where error.isNotFound {
            return []
        } catch {
            logger.error("status page: the active alerts (\(path)) cannot be read: \(error)")
            throw HTTPError(.internalServerError, message: "The status is not available right now")
        }
    }
}

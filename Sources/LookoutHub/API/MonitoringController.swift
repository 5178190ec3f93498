import Hummingbird
import Logging
import LookoutCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The monitoring API of DESIGN §4, under `/api/monitoring`.
struct MonitoringController: Sendable {
    typealias Context = HubRequestContext
    let ingestor: Ingestor
    let config: MonitoringConfig
    /// The body of `/api/monitoring/alerts`: the content of alerts.json.
    let alertsBody: @Sendable () throws -> ByteBuffer
    let now: @Sendable () -> Date
    /// The alert pass's forecasts, shared (``ForecastCache``).
    let forecastCache: ForecastCache

    var fleet: Fleet { ingestor.fleet }

    /// Largest ingest body accepted; a real document is 1–20 KB.
    static var maxIngestBytes: Int { MetricsDocument.maxEncodedSize }
    /// Most points a history series returns.
    static var maxSeriesPoints: Int { 2000 }

    /// The read routes; `group` carries the main-token middleware (`Hub.router()`).
    func addReadRoutes(to group: RouterGroup<Context>) {
        group.get("summary") { request, _ in Response.negotiated(fleet.summary(), for: request) }
        group.get("vm/:vm_id") { _, context in try vm(context) }
        group.get("alerts") { _, _ in Response.json(try alertsBody()) }
        group.get("alerts/history") { request, _ in try await alertHistory(request) }
        group.get("status") { _, _ in try status() }
        group.get("config") { _, _ in try publicConfig() }
        group.get("services") { _, _ in try services() }
        addHistoryRoutes(to: group)
        addForecastRoutes(to: group)
        group.get("daily") { _, _ in try dailyDays() }
        group.get("daily/:date") { _, context in try daily(context) }
    }

    /// `POST ingest`; `group` carries ``IngestAuthMiddleware``, which says who the caller is.
    func addIngestRoute(to group: RouterGroup<Context>) {
        group.post("ingest") { request, context in try await ingest(request, context) }
    }

    /// The vm_id of the URL, refused with 400 before anything touches the file system or
    /// the database when it breaks the rule (`..`, `%2e%2e`, encoded slashes, …).
    static func vmID(_ context: Context) throws -> VMID {
        let raw = context.parameters.get("vm_id") ?? ""
        do {
            return try VMID(validating: raw)
        } catch {
            throw HTTPError(.badRequest, message: error.description)
        }
    }

    func vm(_ context: Context) throws -> Response {
        guard let entry = fleet.entry(try Self.vmID(context)) else {
            return .jsonError(.notFound, "Not found")
        }
        return .json(entry.body)
    }

    func status() throws -> Response {
        let now = now()
        let healths = fleet.entries().map { VMHealth.evaluate($0.document, config: config, now: now) }
        let worst = healths.map(\.status).max() ?? .ok
        let channels = ChannelHealth.report(storePath: ingestor.store.path, channelIDs: config.channelIDs)
        let body = StatusBody(status: worst, generatedAt: Timestamp.format(now), vms: healths, channels: channels)
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(body)))
    }

    /// What the dashboard needs of the config to colour gauges: thresholds, overrides and
    /// staleness. Never notification settings or anything secret.
    /// Alerts that cleared, newest first: `?limit=50` (at most 1000).
    func alertHistory(_ request: Request) async throws -> Response {
        var limit = 50
        if let text = request.uri.queryParameters["limit"] {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw HTTPError(.badRequest, message: "limit: \"\(text.prefix(40))\" is not a number from 1 to 1000")
            }
            limit = value
        }
        let alerts = try await ingestor.store.alertHistory(limit: limit)
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(["alerts": alerts])))
    }

    func publicConfig() throws -> Response {
        let body = PublicConfigBody(
            thresholds: config.thresholds,
            overrides: Dictionary(
                uniqueKeysWithValues: config.overrides.map { vm, override in
                    (
                        vm.rawValue,
                        VMThresholds(thresholds: config.thresholds(for: vm), filesystems: override.filesystems)
                    )
                }),
            staleAfterMinutes: config.staleAfterMinutes, publicURL: config.publicURL, version: LookoutVersion.current)
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(body)))
    }

    func services() throws -> Response {
        var rows: [ServiceRow] = []
        for entry in fleet.entries() {
            for service in entry.document.services {
                rows.append(
                    ServiceRow(
                        vmID: entry.document.vmID, id: service.id, healthy: service.healthy,
                        responseMS: service.responseMS, error: service.error,
                        since: Timestamp.format(entry.serviceSince[service.id] ?? entry.document.timestamp),
                        checkedAt: Timestamp.format(entry.document.timestamp), certExpiresAt: service.certExpiresAt,
                        certDaysLeft: service.certDaysLeft, certIssuer: service.certIssuer, certHost: service.certHost))
            }
        }
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(["services": rows])))
    }

    /// `DATA/history`, found beside the database (`DATA/lookout.sqlite`) so the controller
    /// needs no extra setting.
    var dailyFolder: String { DailyAggregator.folder(dataFolder: AtomicFile.folder(of: ingestor.store.path)) }

    /// `{"days": [...]}`: the days with a daily aggregate file, oldest first.
    func dailyDays() throws -> Response {
        let days = AtomicFile.fileNames(in: dailyFolder).compactMap { name -> String? in
            guard name.hasSuffix(".json"), let day = DailyAggregate.Day(String(name.dropLast(5))) else { return nil }
            return day.description
        }.sorted()
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(["days": days])))
    }

    /// The content of `DATA/history/<date>.json`; the date is parsed as YYYY-MM-DD before it
    /// touches the file system, so it can never name another file.
    func daily(_ context: Context) throws -> Response {
        let raw = context.parameters.get("date") ?? ""
        guard let day = DailyAggregate.Day(raw) else {
            throw HTTPError(.badRequest, message: "date: \"\(raw.prefix(40))\" is not a date like 2025-12-09")
        }
        do {
            let bytes = try AtomicFile.read("\(dailyFolder)/\(day).json", limit: 64 << 20)
            return .json(ByteBuffer(bytes: bytes))
        } catch {
            if error.isNotFound { return .jsonError(.notFound, "Not found") }
            throw HTTPError(.internalServerError, message: "could not read the daily aggregate for \(day)")
        }
    }

    /// `30m`, `24h`, `7d` → seconds (at most 400 days).
    static func parseRange(_ text: String) -> TimeInterval? {
        DurationText.seconds(text, max: 400 * 86_400)
    }

    func ingest(_ request: Request, _ context: Context) async throws -> Response {
        // Fail closed: a route registered without the ingest middleware stores nothing.
        guard let caller = context.ingestCaller else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "Missing bearer token")
        }
        var request = request
        let body = try await request.collectBody(upTo: Self.maxIngestBytes)
        let document: MetricsDocument
        do {
            document = try MetricsDocument.decode(body.readableBytesView)
        } catch {
            throw HTTPError(.badRequest, message: error.description)
        }
        if case .vm(let allowed) = caller, allowed != document.vmID {
            throw HTTPError(.forbidden, message: "this token may only push documents of \(allowed)")
        }
        switch await ingestor.ingest(document) {
        case .stored:
            return .json(#"{"status":"stored"}"#, status: .created)
        case .storedOlder:
            return .json(#"{"status":"stored_older"}"#, status: .created)
        case .duplicate:
            return .json(#"{"status":"duplicate"}"#)
        case .rejected(let reason):
            throw HTTPError(.badRequest, message: reason)
        case .failed:
            // 503, not 400: the agent keeps the document in its spool and sends it again.
            throw HTTPError(.serviceUnavailable, message: "the hub could not store the document right now; retry later")
        }
    }
}

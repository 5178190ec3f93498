import Hummingbird
import LookoutCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The history routes: a series per VM (fixed metrics and `fs:`/`temp:` series), the list
/// of extra series a VM has, and the monthly traffic of every VM.
extension MonitoringController {
    func addHistoryRoutes(to group: RouterGroup<Context>) {
        group.get("history/:vm_id") { request, context in try await history(request, context) }
        group.get("history/:vm_id/series") { _, context in try await seriesList(context) }
        group.get("traffic") { _, _ in try await traffic() }
        group.get("sparklines") { request, _ in try await sparklines(request) }
    }

    /// `points=…` as a number from 1 to `limit`, `default` when absent; a 400 naming it otherwise.
    static func parsePoints(_ text: Substring?, default value: Int, limit: Int) throws -> Int {
        guard let text else { return value }
        guard let points = Int(text), (1...limit).contains(points) else {
            throw HTTPError(.badRequest, message: "points: \"\(text.prefix(40))\" is not a number from 1 to \(limit)")
        }
        return points
    }

    /// `GET /api/monitoring/history/<vm_id>?metric=cpu&range=24h&points=300`, or
    /// `from=…&to=…` (RFC 3339) instead of `range`; `metric` may be `fs:<path>` or
    /// `temp:<sensor>` (URL-encoded). With `metrics=cpu,memory,…` instead of `metric`, every
    /// listed series in one answer (``HistoryManyBody``); a name holding a comma is asked
    /// through the single form.
    func history(_ request: Request, _ context: Context) async throws -> Response {
        let vmID = try Self.vmID(context)
        // Decoded as a form (a `+` is a space, as URLSearchParams writes it): sensor names and
        // paths hold spaces, which `queryParameters` would leave as `+`.
        let names: MetricQuery
        do {
            names = try URLEncodedFormDecoder().decode(MetricQuery.self, from: request.uri.query ?? "")
        } catch {
            throw HTTPError(.badRequest, message: "query: not valid URL encoding (like metric=cpu&range=24h)")
        }
        let window = try HistoryQuery(request, now: now())
        if let list = names.metrics {
            guard names.metric == nil else {
                throw HTTPError(.badRequest, message: "metric and metrics: give one of them, not both")
            }
            let series = try Self.parseSeriesList(list)
            var values: [String: [SeriesPoint]] = [:]
            for one in series {
                values[one.rawValue] = try await window.points(of: one, vmID: vmID, store: ingestor.store, config)
            }
            let body = HistoryManyBody(
                vmID: vmID, from: Timestamp.format(window.from), to: Timestamp.format(window.to), series: values)
            return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(body)))
        }
        let series: HistorySeries
        do {
            series = try HistorySeries(parsing: names.metric ?? "cpu")
        } catch {
            throw HTTPError(.badRequest, message: "metric: \(error)")
        }
        let values = try await window.points(of: series, vmID: vmID, store: ingestor.store, config)
        let body = HistoryBody(
            vmID: vmID, metric: series.rawValue, from: Timestamp.format(window.from), to: Timestamp.format(window.to),
            points: values)
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(body)))
    }

    /// Most series one `metrics=` request may list.
    static var maxListedSeries: Int { 32 }

    /// `cpu,memory,fs:/srv` → the series, each parsed by ``HistorySeries``; a name listed twice
    /// is answered once. Throws a 400 naming the first bad name, an empty one, or too many.
    static func parseSeriesList(_ text: String) throws -> [HistorySeries] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard names.count <= maxListedSeries else {
            throw HTTPError(
                .badRequest, message: "metrics: \(names.count) names, more than \(maxListedSeries) in one request")
        }
        var series: [HistorySeries] = []
        for name in names {
            guard !name.isEmpty else {
                throw HTTPError(.badRequest, message: "metrics: an empty name (like metrics=cpu,memory)")
            }
            do {
                let one = try HistorySeries(parsing: name)
                if !series.contains(one) { series.append(one) }
            } catch {
                throw HTTPError(.badRequest, message: "metrics: \(error)")
            }
        }
        return series
    }

    /// `GET /api/monitoring/history/<vm_id>/series`: `{"vm_id": …, "series": ["net_rx", …,
    /// "fs:/srv/backup", "temp:…"]}`, the extra series with data in the raw window.
    func seriesList(_ context: Context) async throws -> Response {
        let vmID = try Self.vmID(context)
        let series = try await ingestor.store.extraSeries(vmID: vmID, now: now(), retention: config.retention)
        let body = SeriesListBody(vmID: vmID, series: series.map(\.rawValue))
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(body)))
    }

    /// `GET /api/monitoring/traffic`: `{"vms": [TrafficUsage, …]}` sorted by vm_id: the VMs of
    /// the fleet and those with an allowance (a forgotten VM's rows stay in the store until
    /// retention or `--purge`, but it is no longer listed).
    func traffic() async throws -> Response {
        let usage = try await ingestor.store.trafficUsage(config: config, now: now())
        let rows = usage.values.filter { fleet.entry($0.vmID) != nil || config.traffic[$0.vmID] != nil }
            .sorted { $0.vmID < $1.vmID }
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(["vms": rows])))
    }
}

/// The `metric` or `metrics` of a history query (the other parameters are read from
/// `queryParameters`).
private struct MetricQuery: Decodable {
    let metric: String?
    let metrics: String?
}

/// The window of a history query: `to` (default now), then `from` or `range` (default 24 h),
/// and `points` (default 300); a 400 naming the parameter when one is not understood.
struct HistoryQuery {
    let from: Date
    let to: Date
    let points: Int
    let now: Date

    init(_ request: Request, now: Date) throws {
        let query = request.uri.queryParameters
        self.now = now
        var to = now
        var from = now.addingTimeInterval(-86_400)
        if let text = query["to"] {
            guard let date = Timestamp.parse(String(text)) else {
                throw HTTPError(
                    .badRequest, message: "to: \"\(text.prefix(40))\" is not a timestamp like 2025-12-09T10:30:00Z")
            }
            to = date
        }
        if let text = query["from"] {
            guard let date = Timestamp.parse(String(text)) else {
                throw HTTPError(
                    .badRequest, message: "from: \"\(text.prefix(40))\" is not a timestamp like 2025-12-09T10:30:00Z")
            }
            from = date
        } else if let text = query["range"] {
            guard let seconds = MonitoringController.parseRange(String(text)) else {
                throw HTTPError(
                    .badRequest, message: "range: \"\(text.prefix(40))\" is not a duration like 30m, 24h, 7d")
            }
            from = to.addingTimeInterval(-seconds)
        }
        guard from < to else { throw HTTPError(.badRequest, message: "from must be before to") }
        self.from = from
        self.to = to
        let limit = MonitoringController.maxSeriesPoints
        points = try MonitoringController.parsePoints(query["points"], default: 300, limit: limit)
    }

    func points(
        of series: HistorySeries, vmID: VMID, store: HistoryStore, _ config: MonitoringConfig
    ) async throws -> [SeriesPoint] {
        try await store.series(
            vmID: vmID, series, from: from, to: to, maxPoints: points, now: now, retention: config.retention)
    }
}

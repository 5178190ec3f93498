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
    }

    /// `GET /api/monitoring/history/<vm_id>?metric=cpu&range=24h&points=300`, or
    /// `from=…&to=…` (RFC 3339) instead of `range`; `metric` may be `fs:<path>` or
    /// `temp:<sensor>` (URL-encoded).
    func history(_ request: Request, _ context: Context) async throws -> Response {
        let vmID = try Self.vmID(context)
        let query = request.uri.queryParameters
        // Decoded as a form (a `+` is a space, as URLSearchParams writes it): sensor names and
        // paths hold spaces, which `queryParameters` would leave as `+`.
        let metricName: String
        do {
            metricName =
                try URLEncodedFormDecoder().decode(MetricQuery.self, from: request.uri.query ?? "").metric ?? "cpu"
        } catch {
            throw HTTPError(.badRequest, message: "query: not valid URL encoding (like metric=cpu&range=24h)")
        }
        let series: HistorySeries
        do {
            series = try HistorySeries(parsing: metricName)
        } catch {
            throw HTTPError(.badRequest, message: "metric: \(error)")
        }
        let now = now()
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
            guard let seconds = Self.parseRange(String(text)) else {
                throw HTTPError(
                    .badRequest, message: "range: \"\(text.prefix(40))\" is not a duration like 30m, 24h, 7d")
            }
            from = to.addingTimeInterval(-seconds)
        }
        guard from < to else { throw HTTPError(.badRequest, message: "from must be before to") }
        var points = 300
        if let text = query["points"] {
            guard let value = Int(text), (1...Self.maxSeriesPoints).contains(value) else {
                throw HTTPError(
                    .badRequest,
                    message: "points: \"\(text.prefix(40))\" is not a number from 1 to \(Self.maxSeriesPoints)")
            }
            points = value
        }
        let values = try await ingestor.store.series(
            vmID: vmID, series, from: from, to: to, maxPoints: points, now: now, retention: config.retention)
        let body = HistoryBody(
            vmID: vmID, metric: series.rawValue, from: Timestamp.format(from), to: Timestamp.format(to),
            points: values)
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(body)))
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

/// The `metric` of a history query (the other parameters are read from `queryParameters`).
private struct MetricQuery: Decodable {
    let metric: String?
}

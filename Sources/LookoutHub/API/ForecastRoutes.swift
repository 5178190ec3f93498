import Hummingbird
import LookoutCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `GET /api/monitoring/forecast`: the disk-full projection of every filesystem of every VM
/// on the dashboard, with or without a projection (then `reason` says why). Served from the
/// alert pass's ``ForecastCache``: fitted at most 10 minutes ago, once for every reader.
extension MonitoringController {
    func addForecastRoutes(to group: RouterGroup<Context>) {
        group.get("forecast") { _, _ in try await forecast() }
    }

    func forecast() async throws -> Response {
        let now = now()
        let vms = fleet.entries().map(\.document.vmID).sorted()
        let forecasts = try await forecastCache.forecasts(
            for: vms, now: now, store: ingestor.store, settings: config.forecast)
        let body = ForecastBody(
            generatedAt: Timestamp.format(now), windowDays: config.forecast.windowDays,
            warningDays: config.forecast.warningDays, filesystems: forecasts)
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(body)))
    }
}

private struct ForecastBody: Encodable {
    let generatedAt: String
    let windowDays: Int
    let warningDays: Int
    let filesystems: [DiskForecast]

    enum CodingKeys: String, CodingKey {
        case generatedAt = "generated_at", windowDays = "window_days", warningDays = "warning_days", filesystems
    }
}

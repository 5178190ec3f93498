import Hummingbird
import LookoutCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The overview's trends: every VM's CPU and memory over the last hours, in one answer.
extension MonitoringController {
    /// The metrics a sparkline shows, in the order of the answer.
    static var sparklineMetrics: [Metric] { [.cpu, .memory] }
    /// Most buckets per sparkline (a card is a few hundred pixels wide).
    static var maxSparklinePoints: Int { 200 }
    /// Shortest and longest `range` (the hourly rollups answer beyond the raw window).
    static var sparklineRanges: ClosedRange<TimeInterval> { 3600...(30 * 86_400) }

    /// `GET /api/monitoring/sparklines?range=24h&points=48`: ``SparklinesBody``, the VMs of
    /// the fleet only (a forgotten VM's rows stay in the store until retention, unlisted).
    func sparklines(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var range: TimeInterval = 86_400
        if let text = query["range"] {
            guard let seconds = DurationText.seconds(String(text), max: Self.sparklineRanges.upperBound),
                Self.sparklineRanges.contains(seconds)
            else {
                throw HTTPError(
                    .badRequest, message: "range: \"\(text.prefix(40))\" is not a duration from 1h to 30d, like 24h")
            }
            range = seconds
        }
        let points = try Self.parsePoints(query["points"], default: 48, limit: Self.maxSparklinePoints)
        let now = now()
        let from = now.addingTimeInterval(-range)
        let vms = fleet.entries().map(\.document.vmID)
        let (step, values) = try await ingestor.store.sparklines(
            vms: vms, metrics: Self.sparklineMetrics, from: from, to: now, maxPoints: points, now: now,
            retention: config.retention)
        let body = SparklinesBody(
            from: Timestamp.format(from), to: Timestamp.format(now), stepSeconds: step, points: points,
            vms: Dictionary(
                uniqueKeysWithValues: values.map { vm, series in
                    (vm.rawValue, Dictionary(uniqueKeysWithValues: series.map { ($0.key.rawValue, $0.value) }))
                }))
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(body)))
    }
}

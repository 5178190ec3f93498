import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The sparklines of the overview: a few metrics of every VM in one query.
extension HistoryStore {
    /// Every bucket average of `metrics` for each of `vms` over [from, to], in exactly
    /// `maxPoints` buckets cut as ``SeriesWindow`` cuts them (the same rules as one VM's
    /// series), oldest first; nil where a bucket has no sample. One SQL query for the whole
    /// fleet (``sparklineSQL(_:_:)``).
    /// - Returns: the window used and, per VM of `vms` (each present, all nil when it has no
    ///   sample), per metric, the averages; empty when `to` is before `from`.
    public func sparklines(
        vms: [VMID], metrics: [Metric], from: Date, to: Date, maxPoints: Int, now: Date, retention: Retention
    ) async throws(HubError) -> (step: Int64, values: [VMID: [Metric: [Double?]]]) {
        guard let window = SeriesWindow(from: from, to: to, maxPoints: maxPoints, now: now, retention: retention),
            !metrics.isEmpty
        else { return (0, [:]) }
        // One flat grid (VM, metric, bucket) filled from a cursor: no row objects kept, no
        // vm_id parsed per row (each is looked up among the fleet's).
        let index = Dictionary(vms.enumerated().map { ($1.rawValue, $0) }, uniquingKeysWith: { first, _ in first })
        let count = metrics.count
        let points = Int(window.points)
        var grid = [Double?](repeating: nil, count: vms.count * count * points)
        if !vms.isEmpty {
            // Encoding an array of strings cannot fail.
            let list = (try? JSONEncoder().encode(vms.map(\.rawValue))) ?? Data("[]".utf8)
            let arguments = window.arguments + ["vms": String(decoding: list, as: UTF8.self)]
            let sql = Self.sparklineSQL(window, metrics)
            grid = try await read("reading the sparklines of \(vms.count) VMs") { [grid] db in
                var grid = grid
                let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
                while let row = try rows.next() {
                    guard let vm = index[row[0] as String] else { continue }
                    let bucket = Int(row[1] as Int64)
                    guard (0..<points).contains(bucket) else { continue }
                    for metric in 0..<count {
                        if let mean = row[2 + metric] as Double? {
                            grid[(vm * count + metric) * points + bucket] = (mean * 10).rounded() / 10
                        }
                    }
                }
                return grid
            }
        }
        var values: [VMID: [Metric: [Double?]]] = [:]
        for (v, vm) in vms.enumerated() {
            values[vm] = Dictionary(
                uniqueKeysWithValues: metrics.enumerated().map { m, metric in
                    let start = (v * count + m) * points
                    return (metric, Array(grid[start..<start + points]))
                })
        }
        return (window.width, values)
    }

    /// Rows `(vm_id, bucket, <one mean per metric>)`. Within the raw window ONE pass over the
    /// samples of the fleet's VMs (an index seek per VM) averages every metric at once; past
    /// it, the rules of ``SeriesWindow/sql(source:hourlyRows:)`` (hourly rollups plus the
    /// raw tail), one row per metric folded into columns. The VM list is one bound JSON array;
    /// the metric names and columns are fixed text, never the caller's.
    private static func sparklineSQL(_ window: SeriesWindow, _ metrics: [Metric]) -> String {
        let fleet = "vm_id IN (SELECT value FROM json_each(:vms))"
        if window.useRaw {
            let means = metrics.map { "AVG(\($0.column))" }.joined(separator: ", ")
            return """
                SELECT vm_id, \(SeriesWindow.bucket("ts")) AS bucket, \(means) FROM samples
                WHERE \(fleet) AND ts >= :start AND ts <= :end
                GROUP BY vm_id, bucket
                """
        }
        let source = metrics.map { metric in
            "SELECT vm_id, '\(metric.rawValue)' AS metric, ts, \(metric.column) AS value FROM samples "
                + "WHERE \(fleet) AND ts >= :start AND ts <= :end AND \(metric.column) IS NOT NULL"
        }.joined(separator: " UNION ALL ")
        let names = metrics.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let perMetric = window.sql(source: source, hourlyRows: "\(fleet) AND metric IN (\(names))")
        let means = metrics.map { "MAX(CASE WHEN metric = '\($0.rawValue)' THEN mean END)" }.joined(separator: ", ")
        return "SELECT vm_id, bucket, \(means) FROM (\(perMetric)) GROUP BY vm_id, bucket"
    }
}

import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HistoryStore {
    /// A metric's history over [from, to] in at most `maxPoints` buckets, for a chart.
    ///
    /// Buckets are `ceil((to − from) / maxPoints)` seconds wide (at least 1 s) and start at
    /// `from`; a sample exactly at `to` joins the last bucket; empty buckets are omitted.
    /// When `from` lies within the raw window (`now − rawDays`) the raw samples are read;
    /// otherwise the hourly rollups (averages weighted by their sample counts), plus the raw
    /// samples of the hours not rolled up yet. The aggregation runs in SQL, so a year's chart
    /// never loads a year of rows into memory.
    /// - Parameters:
    ///   - maxPoints: values below 1 count as 1.
    ///   - now: the clock of the caller (tests pass a fixed one).
    /// - Returns: the non-empty buckets, oldest first; empty when `to` is before `from`.
    public func series(
        vmID: VMID, metric: Metric, from: Date, to: Date, maxPoints: Int, now: Date, retention: Retention
    ) async throws(HubError) -> [SeriesPoint] {
        let start = Self.seconds(from)
        let end = Self.seconds(to)
        guard end >= start else { return [] }
        let points = Int64(max(1, maxPoints))
        let width = max(1, (end - start + points - 1) / points)
        let arguments: StatementArguments = [
            "vm": vmID.rawValue, "metric": metric.rawValue, "start": start, "end": end,
            "width": width, "last": points - 1,
        ]
        let useRaw = start >= Self.seconds(now) - Int64(retention.rawDays) * 86_400
        let sql = useRaw ? Self.rawSeriesSQL(metric) : Self.hourlySeriesSQL(metric)
        return try await read("reading the \(metric.rawValue) series of \(vmID)") { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let bucket: Int64 = row["bucket"]
                return SeriesPoint(
                    time: Date(timeIntervalSince1970: Double(start + bucket * width)),
                    min: row["lo"], avg: row["mean"], max: row["hi"], count: row["n"])
            }
        }
    }

    private static func rawSeriesSQL(_ metric: Metric) -> String {
        let column = metric.column
        return """
            SELECT MIN((ts - :start) / :width, :last) AS bucket,
                   MIN(\(column)) AS lo, AVG(\(column)) AS mean, MAX(\(column)) AS hi, COUNT(*) AS n
            FROM samples
            WHERE vm_id = :vm AND ts >= :start AND ts <= :end
            GROUP BY bucket ORDER BY bucket
            """
    }

    /// Hourly rows overlapping the range, then raw samples after the last rolled-up hour
    /// (the current hour, and any the retention pass has not reached yet).
    private static func hourlySeriesSQL(_ metric: Metric) -> String {
        let column = metric.column
        return """
            WITH boundary (raw_start) AS (
                SELECT COALESCE(MAX(hour) + 3600, :start) FROM hourly WHERE vm_id = :vm AND metric = :metric
            ),
            rows (t, lo, mean, hi, n) AS (
                SELECT hour, min, avg, max, count FROM hourly
                WHERE vm_id = :vm AND metric = :metric AND hour > :start - 3600 AND hour <= :end
                UNION ALL
                SELECT ts, \(column), \(column), \(column), 1 FROM samples, boundary
                WHERE vm_id = :vm AND ts >= raw_start AND ts >= :start AND ts <= :end
            )
            SELECT MAX(0, MIN((t - :start) / :width, :last)) AS bucket,
                   MIN(lo) AS lo, SUM(mean * n) / SUM(n) AS mean, MAX(hi) AS hi, SUM(n) AS n
            FROM rows
            GROUP BY bucket ORDER BY bucket
            """
    }
}

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
        try await series(
            vmID: vmID, .metric(metric), from: from, to: to, maxPoints: maxPoints, now: now, retention: retention)
    }

    /// Any series' history, as ``series(vmID:metric:from:to:maxPoints:now:retention:)``
    /// does for a metric; samples without the figure (NULL, or no `series_samples` row) are
    /// not counted.
    public func series(
        vmID: VMID, _ series: HistorySeries, from: Date, to: Date, maxPoints: Int, now: Date, retention: Retention
    ) async throws(HubError) -> [SeriesPoint] {
        let start = Self.seconds(from)
        let end = Self.seconds(to)
        guard end >= start else { return [] }
        let points = Int64(max(1, maxPoints))
        let width = max(1, (end - start + points - 1) / points)
        let arguments: StatementArguments = [
            "vm": vmID.rawValue, "metric": series.rawValue, "start": start, "end": end,
            "width": width, "last": points - 1,
        ]
        let useRaw = start >= Self.seconds(now) - Int64(retention.rawDays) * 86_400
        let source = Self.rawSource(series)
        let sql = useRaw ? Self.rawSeriesSQL(source) : Self.hourlySeriesSQL(source)
        return try await read("reading the \(series) series of \(vmID)") { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let bucket: Int64 = row["bucket"]
                return SeriesPoint(
                    time: Date(timeIntervalSince1970: Double(start + bucket * width)),
                    min: row["lo"], avg: row["mean"], max: row["hi"], count: row["n"])
            }
        }
    }

    /// The raw values of a series as rows `(ts, value)` of the VM `:vm`, NULLs left out; a
    /// fixed column name or the bound name `:metric`, never text from the caller.
    private static func rawSource(_ series: HistorySeries) -> String {
        switch series {
        case .metric(let metric):
            "SELECT ts, \(metric.column) AS value FROM samples WHERE vm_id = :vm AND \(metric.column) IS NOT NULL"
        case .named:
            "SELECT ts, value FROM series_samples WHERE vm_id = :vm AND series = :metric"
        }
    }

    private static func rawSeriesSQL(_ source: String) -> String {
        """
        SELECT MIN((ts - :start) / :width, :last) AS bucket,
               MIN(value) AS lo, AVG(value) AS mean, MAX(value) AS hi, COUNT(*) AS n
        FROM (\(source)) AS raw
        WHERE ts >= :start AND ts <= :end
        GROUP BY bucket ORDER BY bucket
        """
    }

    /// Hourly rows overlapping the range, then raw samples after the last rolled-up hour
    /// (the current hour, and any the retention pass has not reached yet).
    private static func hourlySeriesSQL(_ source: String) -> String {
        """
        WITH boundary (raw_start) AS (
            SELECT COALESCE(MAX(hour) + 3600, :start) FROM hourly WHERE vm_id = :vm AND metric = :metric
        ),
        rows (t, lo, mean, hi, n) AS (
            SELECT hour, min, avg, max, count FROM hourly
            WHERE vm_id = :vm AND metric = :metric AND hour > :start - 3600 AND hour <= :end
            UNION ALL
            SELECT ts, value, value, value, 1 FROM (\(source)) AS raw, boundary
            WHERE ts >= raw_start AND ts >= :start AND ts <= :end
        )
        SELECT MAX(0, MIN((t - :start) / :width, :last)) AS bucket,
               MIN(lo) AS lo, SUM(mean * n) / SUM(n) AS mean, MAX(hi) AS hi, SUM(n) AS n
        FROM rows
        GROUP BY bucket ORDER BY bucket
        """
    }

    /// The extra series the VM has, for the dashboard to know which charts to draw: the
    /// optional metrics with a value in the raw window (`now − rawDays`), then the distinct
    /// `fs:` and `temp:` names of `series_samples`, each sorted.
    public func extraSeries(vmID: VMID, now: Date, retention: Retention) async throws(HubError) -> [HistorySeries] {
        let cutoff = Self.seconds(now) - Int64(retention.rawDays) * 86_400
        let present = Metric.optional.map { "MAX(\($0.column) IS NOT NULL)" }.joined(separator: ", ")
        let (flags, names) = try await read("listing the series of \(vmID)") { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT \(present) FROM samples WHERE vm_id = ? AND ts >= ?",
                arguments: [vmID.rawValue, cutoff])
            let flags = (0..<Metric.optional.count).map { (row?[$0] as Bool?) ?? false }
            let recent = try db.cachedStatement(
                sql: "SELECT EXISTS (SELECT 1 FROM series_samples WHERE vm_id = ? AND series = ? AND ts >= ?)")
            let names = try HistoryStore.seriesKeys(db, vm: vmID.rawValue).map(\.series).filter { series in
                try Bool.fetchOne(recent, arguments: [vmID.rawValue, series, cutoff]) ?? false
            }
            return (flags, names)
        }
        let fixed = zip(Metric.optional, flags).filter { $0.1 }.map { HistorySeries.metric($0.0) }
        let named = names.compactMap { try? SeriesName(parsing: $0) }.sorted().map(HistorySeries.named)
        return fixed + named
    }

    /// The distinct (vm_id, series) keys of `series_samples` (of one VM when `vm` is set), in
    /// key order: one index seek each, never a scan of the samples themselves.
    static func seriesKeys(_ db: Database, vm: String? = nil) throws -> [(vm: String, series: String)] {
        let next = try db.cachedStatement(
            sql: """
                SELECT vm_id, series FROM series_samples WHERE (vm_id, series) > (?, ?)
                ORDER BY vm_id, series LIMIT 1
                """)
        var keys: [(vm: String, series: String)] = []
        var after = (vm ?? "", "")
        while let row = try Row.fetchOne(next, arguments: [after.0, after.1]) {
            let key = (vm: row["vm_id"] as String, series: row["series"] as String)
            if let vm, key.vm != vm { break }
            keys.append(key)
            after = (key.vm, key.series)
        }
        return keys
    }
}

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
    /// The buckets and the table read follow ``SeriesWindow``; empty buckets are omitted.
    /// The aggregation runs in SQL, so a year's chart never loads a year of rows into memory.
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
        guard let window = SeriesWindow(from: from, to: to, maxPoints: maxPoints, now: now, retention: retention) else {
            return []
        }
        let arguments = window.arguments + ["vm": vmID.rawValue, "metric": series.rawValue]
        let source = "SELECT vm_id, :metric AS metric, ts, value FROM (\(Self.rawSource(series))) AS one"
        let sql = window.sql(source: source, hourlyRows: "vm_id = :vm AND metric = :metric")
        return try await read("reading the \(series) series of \(vmID)") { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                SeriesPoint(
                    time: window.start(ofBucket: row["bucket"]), min: row["lo"], avg: row["mean"], max: row["hi"],
                    count: row["n"])
            }
        }
    }

    /// The raw values of a series as rows `(ts, value)` of the VM `:vm`, NULLs left out; a
    /// fixed column name or the bound name `:metric`, never text from the caller.
    private static func rawSource(_ series: HistorySeries) -> String {
        switch series {
        case .metric(let metric):
            "SELECT vm_id, ts, \(metric.column) AS value FROM samples WHERE vm_id = :vm AND \(metric.column) IS NOT NULL"
        case .named:
            "SELECT vm_id, ts, value FROM series_samples WHERE vm_id = :vm AND series = :metric"
        }
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

import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How a chart's [from, to] is cut into buckets and which table answers: the rules every
/// series query shares (one VM's series, the fleet's sparklines), written once.
///
/// Buckets are `ceil((to − from) / maxPoints)` seconds wide (at least 1 s) and start at
/// `from`; a sample exactly at `to` joins the last bucket. When `from` lies within the raw
/// window (`now − rawDays`) the raw samples are read; otherwise the hourly rollups (averages
/// weighted by their sample counts), plus the raw samples of the hours not rolled up yet.
struct SeriesWindow: Sendable {
    /// Unix seconds of `from` and `to`.
    let start: Int64
    let end: Int64
    /// How many buckets: `maxPoints`, at least 1.
    let points: Int64
    /// Seconds per bucket.
    let width: Int64
    /// Whether the raw samples cover the whole window.
    let useRaw: Bool

    /// Nil when `to` is before `from` (no bucket at all).
    init?(from: Date, to: Date, maxPoints: Int, now: Date, retention: Retention) {
        start = HistoryStore.seconds(from)
        end = HistoryStore.seconds(to)
        guard end >= start else { return nil }
        points = Int64(max(1, maxPoints))
        width = max(1, (end - start + points - 1) / points)
        useRaw = start >= HistoryStore.seconds(now) - Int64(retention.rawDays) * 86_400
    }

    /// The bound values the SQL of ``sql(source:hourlyRows:)`` reads.
    var arguments: StatementArguments {
        ["start": start, "end": end, "width": width, "last": points - 1]
    }

    /// The start of bucket `index`.
    func start(ofBucket index: Int64) -> Date {
        Date(timeIntervalSince1970: Double(start + index * width))
    }

    /// The bucket of the unix seconds in `column`: its offset from `:start` in whole widths,
    /// a time at `:end` in the last bucket.
    static func bucket(_ column: String) -> String {
        "MIN((\(column) - :start) / :width, :last)"
    }

    /// The query answering rows `(vm_id, metric, bucket, lo, mean, hi, n)`, ordered by those
    /// keys, for the raw rows `source` (columns `vm_id, metric, ts, value`) or, past the raw
    /// window, for the `hourly` rows matching `hourlyRows` (a fixed condition with bound
    /// names) plus the raw rows after each key's last rolled-up hour (the current hour, and
    /// any the retention pass has not reached yet).
    func sql(source: String, hourlyRows: String) -> String {
        if useRaw {
            return """
                SELECT vm_id, metric, \(Self.bucket("ts")) AS bucket,
                       MIN(value) AS lo, AVG(value) AS mean, MAX(value) AS hi, COUNT(*) AS n
                FROM (\(source)) AS raw
                WHERE ts >= :start AND ts <= :end
                GROUP BY vm_id, metric, bucket ORDER BY vm_id, metric, bucket
                """
        }
        return """
            WITH boundary (vm_id, metric, raw_start) AS (
                SELECT vm_id, metric, MAX(hour) + 3600 FROM hourly WHERE \(hourlyRows) GROUP BY vm_id, metric
            ),
            rows (vm_id, metric, t, lo, mean, hi, n) AS (
                SELECT vm_id, metric, hour, min, avg, max, count FROM hourly
                WHERE \(hourlyRows) AND hour > :start - 3600 AND hour <= :end
                UNION ALL
                SELECT raw.vm_id, raw.metric, ts, value, value, value, 1
                FROM (\(source)) AS raw LEFT JOIN boundary USING (vm_id, metric)
                WHERE ts >= COALESCE(raw_start, :start) AND ts >= :start AND ts <= :end
            )
            SELECT vm_id, metric, MAX(0, \(Self.bucket("t"))) AS bucket,
                   MIN(lo) AS lo, SUM(mean * n) / SUM(n) AS mean, MAX(hi) AS hi, SUM(n) AS n
            FROM rows
            GROUP BY vm_id, metric, bucket ORDER BY vm_id, metric, bucket
            """
    }
}

import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HistoryStore {
    /// Rolls complete hours up into the hourly tables (`hourly`, and `service_hourly` for the
    /// service checks), then prunes what is older than `retention`.
    ///
    /// Only hours that received a sample since they were last rolled up are read again
    /// (`rollup_pending`), each with INSERT OR REPLACE from all its raw rows, so a second run
    /// leaves the same rows and a late spool replay corrects its hour. An hour that has
    /// already been rolled up and whose raw rows are partly pruned is not rolled again (that
    /// would replace a full hour with a few late samples). Then raw, service and container
    /// samples older than `rawDays` and hourly rows (VM and service) older than `hourlyDays` are
    /// deleted.
    /// - Returns: the counts for a log line.
    public func applyRetention(now: Date, retention: Retention) async throws(HubError) -> RetentionReport {
        let nowSeconds = Self.seconds(now)
        let rawCutoff = nowSeconds - Int64(retention.rawDays) * 86_400
        let hourlyCutoff = nowSeconds - Int64(retention.hourlyDays) * 86_400
        // Two transactions: ingest waits for each, so neither should hold the writer long.
        let rolled = try await write("rolling up hours") { db in
            try HistoryStore.rollUp(db, now: nowSeconds, rawCutoff: rawCutoff)
        }
        let (rawDeleted, hourlyDeleted) = try await write("pruning old history") { db in
            // Per VM a range scan of the primary key, not a full table scan. The VMs come from
            // the table itself, one index seek each (a forgotten VM has no `latest` row, and its
            // history must still go once it is old).
            let deleted = try ["samples", "service_samples", "container_samples"].map { table in
                try HistoryStore.deleteByVM(db, from: table, where: "ts", before: rawCutoff)
            }
            // `series_samples` is keyed (vm_id, series, ts): one range delete per series.
            let prune = try db.cachedStatement(
                sql: "DELETE FROM series_samples WHERE vm_id = ? AND series = ? AND ts < ?")
            for (vm, series) in try HistoryStore.seriesKeys(db) {
                try prune.execute(arguments: [vm, series, rawCutoff])
            }
            try db.execute(sql: "DELETE FROM hourly WHERE hour < ?", arguments: [hourlyCutoff])
            let hourlyDeleted = db.changesCount
            // Keyed (vm_id, hour, service_id): a range per VM as well.
            try HistoryStore.deleteByVM(db, from: "service_hourly", where: "hour", before: hourlyCutoff)
            // A day's traffic sums are one small row: they live as long as the hourly history.
            try db.execute(sql: "DELETE FROM traffic_days WHERE day < ?", arguments: [hourlyCutoff])
            return (deleted[0], hourlyDeleted)
        }
        return RetentionReport(hoursRolledUp: rolled, rawDeleted: rawDeleted, hourlyDeleted: hourlyDeleted)
    }

    /// Deletes the rows of `table` (keyed by vm_id, then `column`: fixed names) older than
    /// `cutoff`, one primary-key range per VM; returns how many.
    @discardableResult
    private static func deleteByVM(_ db: Database, from table: String, where column: String, before cutoff: Int64)
        throws -> Int
    {
        try db.execute(
            sql: """
                WITH RECURSIVE vms (vm) AS (
                    SELECT MIN(vm_id) FROM \(table)
                    UNION ALL
                    SELECT (SELECT MIN(vm_id) FROM \(table) WHERE vm_id > vms.vm) FROM vms WHERE vm IS NOT NULL
                )
                DELETE FROM \(table) WHERE vm_id IN (SELECT vm FROM vms WHERE vm IS NOT NULL) AND \(column) < ?
                """,
            arguments: [cutoff])
        return db.changesCount
    }

    /// Rolls every pending complete hour, its samples and its service checks; returns how many
    /// (VM, hour) pairs were written.
    private static func rollUp(_ db: Database, now: Int64, rawCutoff: Int64) throws -> Int {
        let due = try Row.fetchAll(
            db,
            sql: """
                SELECT vm_id, hour FROM rollup_pending AS p
                WHERE hour + 3600 <= :now
                  AND NOT (hour < :cutoff
                           AND EXISTS (SELECT 1 FROM hourly AS h WHERE h.vm_id = p.vm_id AND h.hour = p.hour))
                """,
            arguments: ["now": now, "cutoff": rawCutoff])
        let statement = try db.cachedStatement(sql: rollUpSQL)
        let services = try db.cachedStatement(sql: serviceRollUpSQL)
        for row in due {
            let vm: String = row["vm_id"]
            let hour: Int64 = row["hour"]
            try statement.execute(arguments: ["vm": vm, "hour": hour])
            try services.execute(arguments: ["vm": vm, "hour": hour])
        }
        try db.execute(sql: "DELETE FROM rollup_pending WHERE hour + 3600 <= ?", arguments: [now])
        return due.count
    }

    /// One hour of one VM, every metric and every `fs:`/`temp:` series: min / avg / max /
    /// count of its raw values. NULLs (samples without the figure) are skipped, and a metric
    /// with none in the hour gets no row (the columns of `hourly` are NOT NULL).
    private static let rollUpSQL: String = {
        var selects = Metric.allCases.map { metric in
            let column = metric.column
            return """
                SELECT vm_id, '\(metric.rawValue)', :hour, MIN(\(column)), AVG(\(column)), MAX(\(column)),
                       COUNT(\(column))
                FROM hour_samples WHERE \(column) IS NOT NULL GROUP BY vm_id
                """
        }
        selects.append(
            """
            SELECT vm_id, series, :hour, MIN(value), AVG(value), MAX(value), COUNT(*)
            FROM series_samples WHERE vm_id = :vm AND ts >= :hour AND ts < :hour + 3600 GROUP BY vm_id, series
            """)
        return """
            WITH hour_samples AS (
                SELECT * FROM samples WHERE vm_id = :vm AND ts >= :hour AND ts < :hour + 3600
            )
            INSERT OR REPLACE INTO hourly (vm_id, metric, hour, min, avg, max, count)
            \(selects.joined(separator: "\nUNION ALL\n"))
            """
    }()
}

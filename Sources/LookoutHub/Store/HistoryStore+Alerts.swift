import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HistoryStore {
    /// Keeps alerts that cleared. Idempotent on (id, since): a pass that is retried after a
    /// crash does not list an alert twice (and keeps what ``recordUndelivered(_:channel:)``
    /// noted on the row).
    public func recordResolved(_ alerts: [Alert]) async throws(HubError) {
        guard !alerts.isEmpty else { return }
        try await write("recording resolved alerts") { db in
            for alert in alerts { try Self.upsert(alert, db) }
        }
    }

    /// Notes on the history row of `alert` (which cleared) that `channel` was told nothing
    /// of it: its opened notice still waited there when it resolved, so both were dropped.
    public func recordUndelivered(_ alert: Alert, channel: String) async throws(HubError) {
        var alert = alert
        alert.undeliveredVia = [channel]
        try await write("recording an undelivered alert") { [alert] db in try Self.upsert(alert, db) }
    }

    /// Inserts or replaces the row of (id, since), merging `undelivered_via` with the row's.
    private static func upsert(_ alert: Alert, _ db: Database) throws {
        var alert = alert
        let since = seconds(alert.since)
        if let blob = try Data.fetchOne(
            db, sql: "SELECT alert FROM alert_history WHERE id = ? AND since = ?", arguments: [alert.id, since]),
            let existing = try? JSONDecoder().decode(Alert.self, from: blob)
        {
            let channels = Set((existing.undeliveredVia ?? []) + (alert.undeliveredVia ?? []))
            alert.undeliveredVia = channels.isEmpty ? nil : channels.sorted()
            alert.resolvedAt = alert.resolvedAt ?? existing.resolvedAt
        }
        try db.execute(
            sql: "INSERT OR REPLACE INTO alert_history (id, vm_id, since, resolved_at, alert) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                alert.id, alert.vmID.rawValue, since, seconds(alert.resolvedAt ?? alert.since),
                try JSONEncoder.lookout().encode(alert),
            ])
    }

    /// The most recently resolved alerts, newest first; `from`/`to` bound `resolved_at`.
    public func alertHistory(limit: Int, from: Date? = nil, to: Date? = nil) async throws(HubError) -> [Alert] {
        let lower = from.map(Self.seconds) ?? Int64.min
        let upper = to.map(Self.seconds) ?? Int64.max
        let blobs = try await read("reading the alert history") { db in
            try Data.fetchAll(
                db,
                sql:
                    "SELECT alert FROM alert_history WHERE resolved_at >= ? AND resolved_at < ? ORDER BY resolved_at DESC LIMIT ?",
                arguments: [lower, upper, limit])
        }
        return blobs.compactMap { try? JSONDecoder().decode(Alert.self, from: $0) }
    }

    /// The last `limit` values of each of `metrics` for a VM, newest first (for `sustained_samples`).
    ///
    /// Samples without the figure (NULL: an older agent, a VM that has no swap) are skipped, so
    /// each metric's list holds its own last `limit` values, fewer when the VM has fewer.
    public func recentValues(vmID: VMID, metrics: [Metric], limit: Int) async throws(HubError) -> [Metric: [Double]] {
        guard !metrics.isEmpty, limit > 0 else { return [:] }
        let unique = Array(Set(metrics))
        return try await read("reading recent samples") { db in
            var result: [Metric: [Double]] = [:]
            for metric in unique {
                let column = metric.column
                result[metric] = try Double.fetchAll(
                    db,
                    sql: """
                        SELECT \(column) FROM samples WHERE vm_id = ? AND \(column) IS NOT NULL
                        ORDER BY ts DESC LIMIT ?
                        """,
                    arguments: [vmID.rawValue, limit])
            }
            return result
        }
    }
}

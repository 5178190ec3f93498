#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import LookoutCore

extension HistoryStore {
    /// Keeps alerts that cleared. Idempotent on (id, since): a pass that is retried after a
    /// crash does not list an alert twice.
    public func recordResolved(_ alerts: [Alert]) async throws(HubError) {
        guard !alerts.isEmpty else { return }
        let rows = try alerts.map { alert throws(HubError) -> (String, String, Int64, Int64, Data) in
            do {
                return (alert.id, alert.vmID.rawValue, Self.seconds(alert.since),
                        Self.seconds(alert.resolvedAt ?? alert.since), try JSONEncoder.lookout().encode(alert))
            } catch {
                throw HubError("could not encode alert \(alert.id): \(error)")
            }
        }
        try await write("recording resolved alerts") { db in
            for row in rows {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO alert_history (id, vm_id, since, resolved_at, alert) VALUES (?, ?, ?, ?, ?)",
                    arguments: [row.0, row.1, row.2, row.3, row.4])
            }
        }
    }

    /// The most recently resolved alerts, newest first; `from`/`to` bound `resolved_at`.
    public func alertHistory(limit: Int, from: Date? = nil, to: Date? = nil) async throws(HubError) -> [Alert] {
        let lower = from.map(Self.seconds) ?? Int64.min
        let upper = to.map(Self.seconds) ?? Int64.max
        let blobs = try await read("reading the alert history") { db in
            try Data.fetchAll(
                db,
                sql: "SELECT alert FROM alert_history WHERE resolved_at >= ? AND resolved_at < ? ORDER BY resolved_at DESC LIMIT ?",
                arguments: [lower, upper, limit])
        }
        return blobs.compactMap { try? JSONDecoder().decode(Alert.self, from: $0) }
    }

    /// The last `limit` values of each of `metrics` for a VM, newest first (for `sustained_samples`).
    public func recentValues(vmID: VMID, metrics: [Metric], limit: Int) async throws(HubError) -> [Metric: [Double]] {
        guard !metrics.isEmpty, limit > 0 else { return [:] }
        let columns = metrics.map(\.column).joined(separator: ", ")
        let names = metrics.map(\.column)
        let values = try await read("reading recent samples") { db in
            try Row.fetchAll(
                db, sql: "SELECT \(columns) FROM samples WHERE vm_id = ? ORDER BY ts DESC LIMIT ?",
                arguments: [vmID.rawValue, limit]
            ).map { row in names.map { row[$0] as Double } }
        }
        var result: [Metric: [Double]] = [:]
        for (index, metric) in metrics.enumerated() {
            result[metric] = values.map { $0[index] }
        }
        return result
    }
}

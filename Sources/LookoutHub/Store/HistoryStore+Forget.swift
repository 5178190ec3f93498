import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HistoryStore {
    /// Deletes the VM's latest document when it is not newer than `notAfter`, so a restart
    /// does not bring a forgotten VM back. History stays.
    /// - Returns: whether a row was deleted.
    @discardableResult
    public func forgetLatest(vmID: VMID, notAfter: Date) async throws(HubError) -> Bool {
        let arguments: StatementArguments = [vmID.rawValue, Self.seconds(notAfter)]
        return try await write("forgetting the latest document of \(vmID)") { db in
            try db.execute(sql: "DELETE FROM latest WHERE vm_id = ? AND ts <= ?", arguments: arguments)
            return db.changesCount > 0
        }
    }

    /// Deletes every stored row of the VM up to `notAfter` (`lookout forget --purge`): samples,
    /// service and container samples, `fs:`/`temp:` series, hourly rollups (of samples and of
    /// service checks), traffic days, resolved alerts and the latest document.
    /// - Returns: the raw samples deleted.
    public func purge(vmID: VMID, notAfter: Date) async throws(HubError) -> Int {
        let arguments: StatementArguments = [vmID.rawValue, Self.seconds(notAfter)]
        return try await write("purging the history of \(vmID)") { db in
            try db.execute(sql: "DELETE FROM samples WHERE vm_id = ? AND ts <= ?", arguments: arguments)
            let samples = db.changesCount
            for (table, column) in [
                ("service_samples", "ts"), ("container_samples", "ts"), ("series_samples", "ts"), ("hourly", "hour"),
                ("service_hourly", "hour"), ("traffic_days", "day"),
                ("rollup_pending", "hour"), ("alert_history", "since"), ("latest", "ts"),
            ] {
                try db.execute(sql: "DELETE FROM \(table) WHERE vm_id = ? AND \(column) <= ?", arguments: arguments)
            }
            return samples
        }
    }

    /// The VMs whose latest document is older than `before`, sorted (`forget_after_days`).
    public func silentVMs(before: Date) async throws(HubError) -> [(vmID: VMID, latest: Date)] {
        let rows = try await read("listing silent VMs") { db in
            try Row.fetchAll(
                db, sql: "SELECT vm_id, ts FROM latest WHERE ts < ? ORDER BY vm_id", arguments: [Self.seconds(before)]
            ).map { row -> (String, Int64) in (row["vm_id"], row["ts"]) }
        }
        return rows.compactMap { vm, ts in
            (try? VMID(validating: vm)).map { ($0, Date(timeIntervalSince1970: Double(ts))) }
        }
    }

    /// Whether the store holds anything of the VM: its latest document or a raw sample.
    public func knows(vmID: VMID) async throws(HubError) -> Bool {
        try await read("looking up \(vmID)") { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM latest WHERE vm_id = ?1)
                        OR EXISTS (SELECT 1 FROM samples WHERE vm_id = ?1)
                    """,
                arguments: [vmID.rawValue]) ?? false
        }
    }
}

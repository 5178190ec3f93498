import GRDB
import LookoutCore

extension HistoryStore {
    /// The sample times (unix seconds) stored for `vmID` within `range`: which of an agent's
    /// journal files the folder watcher need not read. One range scan of the primary key.
    public func storedSeconds(vmID: VMID, in range: ClosedRange<Int64>) async throws(HubError) -> Set<Int64> {
        try await read("listing stored samples") { db in
            Set(
                try Int64.fetchAll(
                    db, sql: "SELECT ts FROM samples WHERE vm_id = ? AND ts BETWEEN ? AND ?",
                    arguments: [vmID.rawValue, range.lowerBound, range.upperBound]))
        }
    }
}

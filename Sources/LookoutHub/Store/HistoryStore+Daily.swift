import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HistoryStore {
    /// Every VM with a raw sample (system, service or container) in [from, to), sorted:
    /// the VMs a daily aggregate covers.
    public func vmIDsWithSamples(from: Date, to: Date) async throws(HubError) -> [String] {
        let bounds: StatementArguments = [Self.seconds(from), Self.seconds(to)]
        return try await read("listing the VMs of a day") { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT vm_id FROM samples WHERE ts >= ?1 AND ts < ?2
                    UNION SELECT vm_id FROM service_samples WHERE ts >= ?1 AND ts < ?2
                    UNION SELECT vm_id FROM container_samples WHERE ts >= ?1 AND ts < ?2
                    ORDER BY vm_id
                    """,
                arguments: bounds)
        }
    }

    /// Everything the daily aggregate needs of one VM in [from, to), oldest first (so the
    /// sums, and the file, come out the same on every run).
    public func dailyInput(vmID: String, from: Date, to: Date) async throws(HubError) -> DailyAggregate.VMInput {
        let names = DailyAggregate.metricNames
        let args: StatementArguments = [vmID, Self.seconds(from), Self.seconds(to)]
        let system = try await read("reading a day of samples") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT ts, \(names.joined(separator: ", ")) FROM samples
                    WHERE vm_id = ? AND ts >= ? AND ts < ? ORDER BY ts
                    """,
                arguments: args
            ).map { row in
                DailyAggregate.SystemSample(
                    time: Date(timeIntervalSince1970: Double(row["ts"] as Int64)),
                    values: Dictionary(uniqueKeysWithValues: names.map { ($0, row[$0] as Double) }))
            }
        }
        // Service and container rows come through the same readers as the rest of the hub.
        guard let vm = try? VMID(validating: vmID) else {
            return DailyAggregate.VMInput(vmID: vmID, system: system)
        }
        return DailyAggregate.VMInput(
            vmID: vmID, system: system,
            services: try await serviceSamples(vmID: vm, from: from, to: to),
            containers: try await containerSamples(vmID: vm, from: from, to: to))
    }
}

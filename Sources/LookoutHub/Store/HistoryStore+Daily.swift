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
                    values: names.reduce(into: [String: Double]()) { values, name in values[name] = row[name] as Double?
                    })
            }
        }
        let (named, traffic) = try await read("reading a day of series and traffic") { db in
            let named = try Row.fetchAll(
                db,
                sql: """
                    SELECT ts, series, value FROM series_samples
                    WHERE vm_id = ? AND ts >= ? AND ts < ? ORDER BY ts, series
                    """,
                arguments: args
            ).map { row in
                DailyAggregate.NamedSample(
                    time: Date(timeIntervalSince1970: Double(row["ts"] as Int64)), series: row["series"],
                    value: row["value"])
            }
            // The day's row: its start is `from` (the aggregate covers one whole UTC day).
            let traffic = try Row.fetchOne(
                db,
                sql: """
                    SELECT SUM(rx_bytes) AS rx, SUM(tx_bytes) AS tx FROM traffic_days
                    WHERE vm_id = ? AND day >= ? AND day < ?
                    """,
                arguments: args
            ).flatMap { row -> (rx: Double, tx: Double)? in
                guard let rx = row["rx"] as Double?, let tx = row["tx"] as Double? else { return nil }
                return (rx, tx)
            }
            return (named, traffic)
        }
        // Service and container rows come through the same readers as the rest of the hub.
        guard let vm = try? VMID(validating: vmID) else {
            return DailyAggregate.VMInput(vmID: vmID, system: system, named: named, traffic: traffic)
        }
        return DailyAggregate.VMInput(
            vmID: vmID, system: system,
            services: try await serviceSamples(vmID: vm, from: from, to: to),
            containers: try await containerSamples(vmID: vm, from: from, to: to), named: named, traffic: traffic)
    }
}

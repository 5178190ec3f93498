#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import LookoutCore

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

    /// The oldest raw sample's time, if any: aggregating a day before it finds nothing,
    /// because raw samples are kept only `raw_days`.
    public func oldestSampleTime() async throws(HubError) -> Date? {
        try await read("reading the oldest sample") { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(ts) FROM samples").map { Date(timeIntervalSince1970: Double($0)) }
        }
    }

    /// Everything the daily aggregate needs of one VM in [from, to), oldest first (so the
    /// sums, and the file, come out the same on every run).
    public func dailyInput(vmID: String, from: Date, to: Date) async throws(HubError) -> DailyAggregate.VMInput {
        let names = DailyAggregate.metricNames
        let args: StatementArguments = [vmID, Self.seconds(from), Self.seconds(to)]
        return try await read("reading a day of samples") { db in
            let system = try Row.fetchAll(
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
            let services = try Row.fetchAll(
                db,
                sql: """
                    SELECT ts, service_id, healthy, response_ms FROM service_samples
                    WHERE vm_id = ? AND ts >= ? AND ts < ? ORDER BY ts, service_id
                    """,
                arguments: args
            ).map { row in
                DailyAggregate.ServiceCheck(
                    time: Date(timeIntervalSince1970: Double(row["ts"] as Int64)), id: row["service_id"],
                    healthy: row["healthy"], responseMS: row["response_ms"])
            }
            let containers = try Row.fetchAll(
                db,
                sql: """
                    SELECT ts, name, status FROM container_samples
                    WHERE vm_id = ? AND ts >= ? AND ts < ? ORDER BY ts, name
                    """,
                arguments: args
            ).map { row in
                DailyAggregate.ContainerObservation(
                    time: Date(timeIntervalSince1970: Double(row["ts"] as Int64)), name: row["name"],
                    status: row["status"])
            }
            return DailyAggregate.VMInput(vmID: vmID, system: system, services: services, containers: containers)
        }
    }
}

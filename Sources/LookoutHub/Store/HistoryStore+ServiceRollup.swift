import GRDB
import LookoutCore

/// Service checks rolled up per VM, hour and check (`service_hourly`, migration
/// `v5-service-hourly`): the checks run and the checks passed, which is all a service's uptime
/// needs. Rolled with the VM's hours in the same pass, kept `hourly_days`, purged with the VM.
extension HistoryStore {
    /// One hour of one VM's checks, every service it had in the hour. INSERT OR REPLACE from
    /// all the hour's raw rows: a second run writes the same rows, a late replay corrects them.
    static let serviceRollUpSQL = """
        INSERT OR REPLACE INTO service_hourly (vm_id, hour, service_id, checks, up)
        SELECT vm_id, :hour, service_id, COUNT(*), SUM(healthy) FROM service_samples
        WHERE vm_id = :vm AND ts >= :hour AND ts < :hour + 3600
        GROUP BY vm_id, service_id
        """

    /// Per service of `vm` and window day, (checks passed, checks run) from the raw checks, and
    /// from the rollups for the days that start before `rawCutoff` and have rolled-up hours (as
    /// the VM's days, whose raw rows are pruned or partly pruned there). A day with neither,
    /// or before the service's first check, is `nil`: no data.
    static func serviceUptime(
        _ db: Database, vm: VMID, services: Set<String>, window: UptimeWindow, rawCutoff: Int64
    ) throws -> [String: DailyUptime] {
        let arguments: StatementArguments = [
            "vm": vm.rawValue, "start": window.start, "now": window.now,
            "cutoff": window.dayStart(window.index(of: rawCutoff)) + 86_400,
        ]
        let raw = try dailyChecks(
            db,
            sql: """
                SELECT service_id, (ts - :start) / 86400 AS day, SUM(healthy) AS up, COUNT(*) AS checks
                FROM service_samples WHERE vm_id = :vm AND ts >= :start AND ts <= :now
                GROUP BY service_id, day
                """,
            arguments: arguments)
        let hourly = try dailyChecks(
            db,
            sql: """
                SELECT service_id, (hour - :start) / 86400 AS day, SUM(up) AS up, SUM(checks) AS checks
                FROM service_hourly WHERE vm_id = :vm AND hour >= :start AND hour < :cutoff
                GROUP BY service_id, day
                """,
            arguments: arguments)
        var uptime: [String: DailyUptime] = [:]
        for service in services {
            uptime[service] = DailyUptime(
                (0..<window.days).map { day in
                    let rolled = window.dayStart(day) < rawCutoff ? hourly[service]?[day] : nil
                    // A day without any check (its VM silent) is no data, as before the first.
                    guard let amount = rolled ?? raw[service]?[day], amount.checks > 0 else { return nil }
                    return (amount.up, amount.checks)
                })
        }
        return uptime
    }

    /// The rows of `sql` (service_id, day, up, checks: read by position) by service and day.
    private static func dailyChecks(
        _ db: Database, sql: String, arguments: StatementArguments
    ) throws -> [String: [Int: (up: Double, checks: Double)]] {
        var checks: [String: [Int: (up: Double, checks: Double)]] = [:]
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        while let row = try rows.next() {
            checks[row[0], default: [:]][row[1]] = (row[2], row[3])
        }
        return checks
    }
}

import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HistoryStore {
    /// Every VM's traffic in its current allowance month at `now` (VMs with rows in
    /// `traffic_days`, plus every VM of `config.traffic`), for the traffic alerts,
    /// `GET /api/monitoring/traffic` and `/metrics`.
    ///
    /// One small read: a VM has one `traffic_days` row per day. A VM without an allowance
    /// gets calendar months (reset day 1) and its sent bytes as `used_bytes`. The projection
    /// is `used / elapsed × period length` with `elapsed` at least one hour, so the first
    /// minutes of a month (a few MB in 60 s) do not project terabytes.
    public func trafficUsage(config: MonitoringConfig, now: Date) async throws(HubError) -> [VMID: TrafficUsage] {
        // Every period holding `now` starts within the last 31 days.
        let earliest = Self.seconds(now) - 32 * 86_400
        let rows = try await read("reading monthly traffic") { db in
            // Per VM an index seek into its last days (the VMs found by a skip scan of the
            // primary key), so a scrape of a large fleet reads no more than those rows; a VM
            // with older rows only comes back once with a NULL day.
            try Row.fetchAll(
                db,
                sql: """
                    WITH RECURSIVE vms (vm) AS (
                        SELECT MIN(vm_id) FROM traffic_days
                        UNION ALL
                        SELECT (SELECT MIN(vm_id) FROM traffic_days WHERE vm_id > vms.vm) FROM vms WHERE vm IS NOT NULL
                    )
                    SELECT vms.vm AS vm_id, t.day AS day, COALESCE(t.rx_bytes, 0) AS rx_bytes,
                           COALESCE(t.tx_bytes, 0) AS tx_bytes
                    FROM vms LEFT JOIN traffic_days AS t ON t.vm_id = vms.vm AND t.day >= ?
                    WHERE vms.vm IS NOT NULL
                    """,
                arguments: [earliest]
            ).map { row -> (String, Int64?, Double, Double) in
                (row["vm_id"], row["day"], row["rx_bytes"], row["tx_bytes"])
            }
        }
        var days: [VMID: [(day: Int64, rx: Double, tx: Double)]] = [:]
        for vm in config.traffic.keys { days[vm] = [] }
        for (text, day, rx, tx) in rows {
            guard let vm = try? VMID(validating: text) else { continue }
            if let day { days[vm, default: []].append((day, rx, tx)) } else if days[vm] == nil { days[vm] = [] }
        }
        var result: [VMID: TrafficUsage] = [:]
        for (vm, rows) in days {
            let allowance = config.traffic[vm]
            let period = TrafficPeriod.containing(now, resetDay: allowance?.resetDay ?? 1)
            let start = Self.seconds(period.start), end = Self.seconds(period.end)
            let inPeriod = rows.filter { $0.day >= start && $0.day < end }
            result[vm] = Self.usage(
                vm: vm, period: period, rx: inPeriod.map(\.rx).reduce(0, +), tx: inPeriod.map(\.tx).reduce(0, +),
                allowance: allowance, now: now)
        }
        return result
    }

    /// The usage row from a period's sums: the pure part of ``trafficUsage(config:now:)``.
    static func usage(
        vm: VMID, period: TrafficPeriod, rx: Double, tx: Double, allowance: TrafficAllowance?, now: Date
    ) -> TrafficUsage {
        let direction = allowance?.direction ?? .tx
        let used =
            switch direction {
            case .tx: tx
            case .rx: rx
            case .both: rx + tx
            }
        let elapsed = max(3600, now.timeIntervalSince(period.start))
        // Products before quotients: whole bytes and seconds stay exact in a Double.
        let projected = (used * period.length / elapsed).rounded()
        var exhaustion: Date?
        if let limit = allowance?.monthlyBytes, used < limit, used > 0 {
            let at = now.addingTimeInterval(((limit - used) * elapsed / used).rounded())
            if at < period.end { exhaustion = at }
        }
        return TrafficUsage(
            vmID: vm, periodStart: period.start, periodEnd: period.end, rxBytes: rx, txBytes: tx, usedBytes: used,
            allowanceBytes: allowance?.monthlyBytes, direction: direction, projectedBytes: projected,
            projectedExhaustion: exhaustion)
    }

    /// Adds the byte deltas a new sample brings to `traffic_days`, in the inserting
    /// transaction: delta(previous, new) on the new sample's UTC day; and when the sample
    /// lands between two stored ones (a spool replay into a gap), the next sample's delta is
    /// split: − delta(previous, next) + delta(new, next) on the next one's day. So the sums
    /// come out the same whatever the order the samples arrive in: each sample counts
    /// delta(its predecessor, itself), the VM's first sample nothing (its counter holds bytes
    /// of unknown age). A replay older than every raw sample left after retention is
    /// therefore taken for the VM's first one, and may count its successor's bytes again.
    static func recordTraffic(vm: String, ts: Int64, reading: TrafficCounter.Reading, _ db: Database) throws {
        func fetch(_ sql: String) throws -> (ts: Int64, reading: TrafficCounter.Reading)? {
            try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [vm, ts]).map { row in
                (row["ts"], TrafficCounter.Reading(rx: row["net_rx_total"], tx: row["net_tx_total"], boot: row["boot"]))
            }
        }
        let previous = try fetch(previousCountersSQL)
        let add = try db.cachedStatement(
            sql: """
                INSERT INTO traffic_days (vm_id, day, rx_bytes, tx_bytes) VALUES (?, ?, ?, ?)
                ON CONFLICT (vm_id, day) DO UPDATE
                SET rx_bytes = rx_bytes + excluded.rx_bytes, tx_bytes = tx_bytes + excluded.tx_bytes
                """)
        func day(_ ts: Int64) -> Int64 { ts - ((ts % 86_400) + 86_400) % 86_400 }
        if let previous {
            let own = TrafficCounter.delta(from: previous.reading, to: reading)
            try add.execute(arguments: [vm, day(ts), own.rx, own.tx])
        }
        if let next = try fetch(nextCountersSQL) {
            let old = previous.map { TrafficCounter.delta(from: $0.reading, to: next.reading) } ?? (rx: 0, tx: 0)
            let new = TrafficCounter.delta(from: reading, to: next.reading)
            try add.execute(arguments: [vm, day(next.ts), new.rx - old.rx, new.tx - old.tx])
        }
    }

    private static let previousCountersSQL = """
        SELECT ts, net_rx_total, net_tx_total, boot FROM samples
        WHERE vm_id = ? AND ts < ? AND net_rx_total IS NOT NULL AND net_tx_total IS NOT NULL
        ORDER BY ts DESC LIMIT 1
        """
    private static let nextCountersSQL = """
        SELECT ts, net_rx_total, net_tx_total, boot FROM samples
        WHERE vm_id = ? AND ts > ? AND net_rx_total IS NOT NULL AND net_tx_total IS NOT NULL
        ORDER BY ts LIMIT 1
        """
}

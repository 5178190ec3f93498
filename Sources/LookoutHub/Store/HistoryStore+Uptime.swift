import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Daily uptime of one status page entry: per UTC day, oldest first, the share of the day it
/// was up, and the same over the whole window.
public struct DailyUptime: Sendable, Equatable {
    /// Percent, rounded down to one decimal (a day with one missed minute never shows 100);
    /// `nil` for a day before the entry's first sample ("no data").
    public var days: [Double?]
    /// Over every day with data, weighted by how much of each was measured; `nil` when none.
    public var total: Double?

    /// From per day (up, measured) amounts, `nil` for a day without data.
    init(_ amounts: [(up: Double, measured: Double)?]) {
        days = amounts.map { amount in amount.map { Self.percent($0.up, of: $0.measured) } }
        let known = amounts.compactMap { $0 }
        let measured = known.reduce(0) { $0 + $1.measured }
        total = known.isEmpty ? nil : Self.percent(known.reduce(0) { $0 + $1.up }, of: measured)
    }

    /// `part / whole` in percent rounded down to 0.1; 100 when nothing could be measured yet
    /// (the first sample arrived this very second).
    static func percent(_ part: Double, of whole: Double) -> Double {
        guard whole > 0 else { return 100 }
        return (min(1, max(0, part / whole)) * 1000).rounded(.down) / 10
    }
}

/// The UTC days of a status page window and the time measured in each, shared by the VM and
/// service arithmetic.
struct UptimeWindow: Sendable {
    /// Unix seconds of the first day's midnight.
    let start: Int64
    let days: Int
    let now: Int64

    /// `days` UTC days ending with the one `now` falls in.
    init(days: Int, now: Int64) {
        self.days = days
        self.now = now
        start = (now - now.mod(86_400)) - Int64(days - 1) * 86_400
    }

    func dayStart(_ index: Int) -> Int64 { start + Int64(index) * 86_400 }

    /// The day index `ts` falls in, clamped into the window.
    func index(of ts: Int64) -> Int { Int(max(0, min(Int64(days - 1), (ts - start) / 86_400))) }

    /// VM uptime from the runs of time it was reporting (`[from, to)`, unix seconds), measured
    /// from `first` (its first sample) up to now: days ending before `first` have no data. The
    /// days in `hourlyDays` (before the raw window) take their time from `hourlyRuns` instead.
    func vmUptime(
        runs: [(from: Int64, to: Int64)], first: Int64?, hourlyRuns: [(from: Int64, to: Int64)] = [],
        hourlyDays: Set<Int> = []
    ) -> DailyUptime {
        guard let first else { return DailyUptime(Array(repeating: nil, count: days)) }
        let raw = upSeconds(runs)
        let hourly = upSeconds(hourlyRuns)
        return DailyUptime(
            (0..<days).map { day in
                let from = max(dayStart(day), first)
                let to = min(dayStart(day) + 86_400, now)
                guard dayStart(day) + 86_400 > first, to >= from else { return nil }
                let measured = Double(to - from)
                return (min(hourlyDays.contains(day) ? hourly[day] : raw[day], measured), measured)
            })
    }

    /// Per day, the seconds of `runs` that fall in it (up to now).
    func upSeconds(_ runs: [(from: Int64, to: Int64)]) -> [Double] {
        var up = Array(repeating: 0.0, count: days)
        for run in runs {
            let from = max(run.from, start)
            let to = min(run.to, now)
            guard to > from else { continue }
            for day in index(of: from)...index(of: to - 1) {
                let overlap = min(to, dayStart(day) + 86_400) - max(from, dayStart(day))
                if overlap > 0 { up[day] += Double(overlap) }
            }
        }
        return up
    }

    /// The runs of reporting in sorted spans of samples (`[first, last]` second of each, one
    /// second for a sample, an hour for a rolled-up hour): a run goes on while the next span
    /// starts within `staleAfter` of the last, and lasts `staleAfter` past its last second.
    static func runs(_ spans: [(first: Int64, last: Int64)], staleAfter: Int64) -> [(from: Int64, to: Int64)] {
        var runs: [(from: Int64, to: Int64)] = []
        for span in spans {
            if let last = runs.last, span.first <= last.to {
                runs[runs.count - 1].to = max(last.to, span.last + staleAfter)
            } else {
                runs.append((span.first, span.last + staleAfter))
            }
        }
        return runs
    }
}

extension Int64 {
    /// The remainder that is never negative (times before 1970 stay on day boundaries).
    fileprivate func mod(_ divisor: Int64) -> Int64 { ((self % divisor) + divisor) % divisor }
}

extension HistoryStore {
    /// Per listed VM and service, the daily uptime of the `days` UTC days ending today, in one
    /// read transaction.
    ///
    /// A VM is up while it is not stale: from each sample until the next one, as long as the
    /// gap stays within `staleAfter` seconds (3 × its interval, as the dashboard judges), and
    /// for `staleAfter` after its last one. Only the edges of those runs leave SQLite (a window
    /// function finds the gaps), never the samples. Days before the raw window
    /// (`now − rawDays`) have only the hourly rollups: the same rule at an hour's resolution
    /// (an hour with a sample counts whole). A service is up for the share of its
    /// checks that were healthy: the raw checks, and before the raw window their hourly
    /// rollups (`service_hourly`, exact counts); a day without any check shows no data.
    /// - Parameters:
    ///   - vms: each VM with its `staleAfter` in seconds.
    ///   - now: the caller's clock (tests pass a fixed one).
    public func dailyUptime(
        vms: [VMID: Int], services: Set<StatusPageConfig.ServiceKey>, days: Int, now: Date, retention: Retention
    ) async throws(HubError) -> (vms: [VMID: DailyUptime], services: [StatusPageConfig.ServiceKey: DailyUptime]) {
        let window = UptimeWindow(days: days, now: Self.seconds(now))
        let rawCutoff = window.now - Int64(retention.rawDays) * 86_400
        return try await read("reading the status page uptime") { db in
            var vmUptime: [VMID: DailyUptime] = [:]
            for (vm, staleAfter) in vms {
                vmUptime[vm] = try HistoryStore.vmUptime(
                    db, vm: vm, staleAfter: Int64(max(1, staleAfter)), window: window, rawCutoff: rawCutoff)
            }
            var serviceUptime: [StatusPageConfig.ServiceKey: DailyUptime] = [:]
            for (vm, keys) in Dictionary(grouping: services, by: \.vmID) {
                let days = try HistoryStore.serviceUptime(
                    db, vm: vm, services: Set(keys.map(\.serviceID)), window: window, rawCutoff: rawCutoff)
                for key in keys { serviceUptime[key] = days[key.serviceID] }
            }
            return (vmUptime, serviceUptime)
        }
    }

    /// One VM's runs of reporting from `samples`, and its hourly counts for the days the raw
    /// samples no longer cover fully.
    private static func vmUptime(
        _ db: Database, vm: VMID, staleAfter: Int64, window: UptimeWindow, rawCutoff: Int64
    ) throws -> DailyUptime {
        let arguments: StatementArguments = [
            "vm": vm.rawValue, "start": window.start - staleAfter, "now": window.now, "stale": staleAfter,
        ]
        // The samples that open or close a run: the gap before or after them exceeds staleAfter.
        let edges = try Row.fetchAll(
            db,
            sql: """
                SELECT ts, prev IS NULL OR ts - prev > :stale AS opens, next IS NULL OR next - ts > :stale AS closes
                FROM (SELECT ts, LAG(ts) OVER w AS prev, LEAD(ts) OVER w AS next
                      FROM samples WHERE vm_id = :vm AND ts >= :start AND ts <= :now WINDOW w AS (ORDER BY ts))
                WHERE prev IS NULL OR ts - prev > :stale OR next IS NULL OR next - ts > :stale
                ORDER BY ts
                """,
            arguments: arguments)
        var runs: [(from: Int64, to: Int64)] = []
        var open: Int64?
        for row in edges {
            let ts: Int64 = row["ts"]
            if row["opens"] as Bool { open = ts }
            if row["closes"] as Bool, let from = open {
                runs.append((from, ts + staleAfter))
                open = nil
            }
        }
        // Days before the raw window: the rolled-up hours (`cpu` is in every sample), each a span
        // from its first to its last second: the same rule at an hour's resolution.
        let hours = try Int64.fetchAll(
            db,
            sql: """
                SELECT hour FROM hourly
                WHERE vm_id = :vm AND metric = 'cpu' AND hour >= :start AND hour < :cutoff ORDER BY hour
                """,
            arguments: [
                "vm": vm.rawValue, "start": window.start,
                "cutoff": window.dayStart(window.index(of: rawCutoff)) + 86_400,
            ])
        let hourlyDays = Set(hours.map(window.index(of:)).filter { window.dayStart($0) < rawCutoff })
        let hourlyRuns = UptimeWindow.runs(hours.map { ($0, $0 + 3599) }, staleAfter: staleAfter)
        let firstRaw = runs.first.map { max($0.from, window.start) }
        let first = [firstRaw, hours.first].compactMap { $0 }.min()
        return window.vmUptime(runs: runs, first: first, hourlyRuns: hourlyRuns, hourlyDays: hourlyDays)
    }
}

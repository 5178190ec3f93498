#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The maths of `DATA/history/YYYY-MM-DD.json` (DESIGN §3), kept free of I/O so it can be
/// tested on fixed input: the hub reads the samples, this turns them into the day's file.
///
/// Days are UTC (no DST: every day is exactly 86 400 s). The file holds no "generated at"
/// time, so aggregating the same data twice gives the same bytes.
public enum DailyAggregate {
    /// One UTC calendar day, `[start, start + 86 400 s)`.
    public struct Day: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// Days since 1970-01-01.
        public let index: Int

        public init(index: Int) { self.index = index }

        /// The day holding `date`.
        public init(containing date: Date) {
            index = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
        }

        /// Parses exactly `YYYY-MM-DD` (a real calendar date); nil otherwise.
        public init?(_ text: String) {
            guard let midnight = Timestamp.parseDay(text) else { return nil }
            self.init(containing: midnight)
        }

        public var start: Date { Date(timeIntervalSince1970: Double(index) * 86_400) }
        public var end: Date { Date(timeIntervalSince1970: Double(index + 1) * 86_400) }
        public var previous: Day { Day(index: index - 1) }

        /// `YYYY-MM-DD`.
        public var description: String { Timestamp.day(start) }

        public func contains(_ date: Date) -> Bool { date >= start && date < end }
    }

    /// Minutes after midnight UTC from which "the day to aggregate" is today, not yesterday.
    public static let todayFromMinute = 23 * 60 + 50

    /// The day `lookout aggregate` writes without `--date`: yesterday (UTC) before 23:50,
    /// today from 23:50 on. So the 23:55 cron line writes the day that is ending, and a run
    /// just after midnight (a late cron, a catch-up) writes the day that just ended.
    public static func defaultDay(now: Date) -> Day {
        let today = Day(containing: now)
        let minute = Int(now.timeIntervalSince(today.start) / 60)
        return minute >= todayFromMinute ? today : today.previous
    }

    /// min / avg / max / p95 of one metric over the day.
    public struct Stats: Codable, Sendable, Equatable {
        public var min: Double
        public var avg: Double
        public var max: Double
        /// Nearest-rank 95th percentile: the value at rank ⌈0.95 × n⌉ of the sorted list, always
        /// a value that was measured (no interpolation), so it is reproducible by hand.
        public var p95: Double
        public var samples: Int

        public init(min: Double, avg: Double, max: Double, p95: Double, samples: Int) {
            self.min = min
            self.avg = avg
            self.max = max
            self.p95 = p95
            self.samples = samples
        }
    }

    /// The statistics of `values`; nil when empty. The sum runs in the given order (the
    /// store's `ORDER BY ts`), so the same data always gives the same `avg` bits.
    public static func stats(_ values: [Double]) -> Stats? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return Stats(
            min: sorted[0], avg: values.reduce(0, +) / Double(values.count), max: sorted[sorted.count - 1],
            p95: percentileNearestRank(sorted: sorted, 0.95), samples: values.count)
    }

    /// Nearest rank: rank = ⌈p × n⌉ (1-based, at least 1) in the ascending `sorted` list.
    public static func percentileNearestRank(sorted: [Double], _ p: Double) -> Double {
        let rank = Swift.max(1, Int((p * Double(sorted.count)).rounded(.up)))
        return sorted[Swift.min(rank, sorted.count) - 1]
    }

    /// Distinct UTC minutes of `day` holding at least one of `times`; times outside the day
    /// are ignored (a sample at 00:00:00 belongs to the next day).
    public static func coverageMinutes(_ times: [Date], day: Day) -> Int {
        var minutes = Set<Int>()
        for time in times where day.contains(time) {
            minutes.insert(Int(time.timeIntervalSince(day.start) / 60))
        }
        return minutes.count
    }

    // MARK: - Input

    /// One row of `samples`: the metric values by name (cpu, memory, disk, load1, …).
    public struct SystemSample: Sendable {
        public var time: Date
        public var values: [String: Double]
        public init(time: Date, values: [String: Double]) {
            self.time = time
            self.values = values
        }
    }

    /// One value of a per-path or per-sensor series (`fs:/srv/backup`, `temp:…`).
    public struct NamedSample: Sendable, Equatable {
        public var time: Date
        public var series: String
        public var value: Double
        public init(time: Date, series: String, value: Double) {
            self.time = time
            self.series = series
            self.value = value
        }
    }

    /// Everything read for one VM and day.
    public struct VMInput: Sendable {
        public var vmID: String
        public var system: [SystemSample]
        public var services: [ServiceSample]
        public var containers: [ContainerSample]
        /// The `fs:`/`temp:` values, oldest first.
        public var named: [NamedSample]
        /// The day's received and sent bytes (the traffic sums); nil when the VM reports none.
        public var traffic: (rx: Double, tx: Double)?
        public init(
            vmID: String, system: [SystemSample], services: [ServiceSample] = [],
            containers: [ContainerSample] = [], named: [NamedSample] = [], traffic: (rx: Double, tx: Double)? = nil
        ) {
            self.vmID = vmID
            self.system = system
            self.services = services
            self.containers = containers
            self.named = named
            self.traffic = traffic
        }
    }

    // MARK: - Output

    public struct ServiceDay: Codable, Sendable, Equatable {
        /// Healthy checks / all checks, 0…1.
        public var healthyShare: Double
        public var avgResponseMS: Double
        public var checks: Int

        public init(healthyShare: Double, avgResponseMS: Double, checks: Int) {
            self.healthyShare = healthyShare
            self.avgResponseMS = avgResponseMS
            self.checks = checks
        }

        enum CodingKeys: String, CodingKey {
            case healthyShare = "healthy_share", avgResponseMS = "avg_response_ms", checks
        }
    }

    public struct ContainerDay: Codable, Sendable, Equatable {
        /// Distinct minutes with at least one sample whose status was "running".
        public var minutesRunning: Int
        enum CodingKeys: String, CodingKey { case minutesRunning = "minutes_running" }
    }

    public struct VMDay: Codable, Sendable, Equatable {
        /// By series name: the fixed metrics, the optional ones the VM reported that day
        /// (`net_rx`, `swap`, …) and each `fs:<path>` and `temp:<sensor>`.
        public var metrics: [String: Stats]
        public var samples: Int
        /// Distinct UTC minutes of the day holding at least one system sample.
        public var minutesWithData: Int
        public var services: [String: ServiceDay]
        public var containers: [String: ContainerDay]
        /// Alerts whose `since` falls on the day, by severity (warning, critical).
        public var alertsOpened: [String: Int]
        /// Bytes received and sent that day (absent for a VM that reports no network).
        public var rxBytes: Double?
        public var txBytes: Double?
        enum CodingKeys: String, CodingKey {
            case metrics, samples, minutesWithData = "minutes_with_data", services, containers
            case alertsOpened = "alerts_opened", rxBytes = "rx_bytes", txBytes = "tx_bytes"
        }
    }

    /// The whole file.
    public struct Report: Codable, Sendable, Equatable {
        public var date: String
        public var vms: [String: VMDay]
        /// All VMs' alerts opened on the day, by severity.
        public var alertsOpened: [String: Int]
        enum CodingKeys: String, CodingKey { case date, vms, alertsOpened = "alerts_opened" }
    }

    /// The metric names the file reports, in `samples` column order; the last six are
    /// absent from a sample (and so from the day) when the VM did not report them.
    public static let metricNames = [
        "cpu", "memory", "disk", "load1", "load5", "load15",
        "net_rx", "net_tx", "disk_read", "disk_write", "disk_util", "swap",
    ]

    /// Builds the day's report. Samples outside `day` are dropped; `alerts` (resolved history
    /// plus the active ones) count once per (id, since) when `since` falls on the day.
    public static func report(day: Day, vms: [VMInput], alerts: [Alert]) -> Report {
        var result: [String: VMDay] = [:]
        for input in vms {
            let system = input.system.filter { day.contains($0.time) }
            var metrics: [String: Stats] = [:]
            for name in metricNames {
                if let s = stats(system.compactMap { $0.values[name] }) { metrics[name] = s }
            }
            for (name, rows) in Dictionary(grouping: input.named.filter { day.contains($0.time) }, by: \.series) {
                if let s = stats(rows.map(\.value)) { metrics[name] = s }
            }
            var services: [String: ServiceDay] = [:]
            for (id, checks) in Dictionary(grouping: input.services.filter { day.contains($0.time) }, by: \.serviceID) {
                let healthy = checks.filter(\.healthy).count
                services[id] = ServiceDay(
                    healthyShare: Double(healthy) / Double(checks.count),
                    avgResponseMS: checks.map(\.responseMS).reduce(0, +) / Double(checks.count), checks: checks.count)
            }
            var containers: [String: ContainerDay] = [:]
            for (name, rows) in Dictionary(grouping: input.containers, by: \.name) {
                let running = rows.filter { $0.status == "running" }.map(\.time)
                containers[name] = ContainerDay(minutesRunning: coverageMinutes(running, day: day))
            }
            result[input.vmID] = VMDay(
                metrics: metrics, samples: system.count, minutesWithData: coverageMinutes(system.map(\.time), day: day),
                services: services, containers: containers, alertsOpened: [:], rxBytes: input.traffic?.rx,
                txBytes: input.traffic?.tx)
        }
        var seen = Set<String>()
        var total: [String: Int] = [:]
        for alert in alerts where day.contains(alert.since) {
            guard seen.insert("\(alert.id)@\(alert.since.timeIntervalSince1970)").inserted else { continue }
            let severity = alert.severity.rawValue
            total[severity, default: 0] += 1
            let vm = alert.vmID.rawValue
            if result[vm] == nil {
                result[vm] = VMDay(
                    metrics: [:], samples: 0, minutesWithData: 0, services: [:], containers: [:],
                    alertsOpened: [:])
            }
            result[vm]?.alertsOpened[severity, default: 0] += 1
        }
        return Report(date: day.description, vms: result, alertsOpened: total)
    }
}

/// One service check result as stored: the daily aggregate reads these.
public struct ServiceSample: Sendable, Equatable {
    public var time: Date
    public var serviceID: String
    public var healthy: Bool
    public var responseMS: Double

    public init(time: Date, serviceID: String, healthy: Bool, responseMS: Double) {
        self.time = time
        self.serviceID = serviceID
        self.healthy = healthy
        self.responseMS = responseMS
    }
}

/// One container's figures in one sample, as stored.
public struct ContainerSample: Sendable, Equatable {
    public var time: Date
    public var name: String
    public var status: String
    public var cpuPercent: Double
    public var memoryMB: Double

    public init(time: Date, name: String, status: String, cpuPercent: Double, memoryMB: Double) {
        self.time = time
        self.name = name
        self.status = status
        self.cpuPercent = cpuPercent
        self.memoryMB = memoryMB
    }
}

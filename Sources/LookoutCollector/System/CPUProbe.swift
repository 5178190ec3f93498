import LookoutCore

/// The CPU busy share, from the counters of `/proc/stat`.
///
/// The counters only mean something as a difference between two samples, so the probe
/// returns raw ``CPUCounters`` and ``percent(previous:current:)`` turns two of them into
/// the busy share; the caller decides where the previous sample comes from (a state file
/// or a short sleep).
public enum CPUProbe {
    /// One reading of `stat`: the aggregate counters and the number of cores.
    public struct Sample: Sendable, Equatable {
        public var counters: CPUCounters
        /// The number of `cpuN` lines: the cores the kernel has online.
        public var cores: Int

        public init(counters: CPUCounters, cores: Int) {
            self.counters = counters
            self.cores = cores
        }
    }

    static let file = "stat"

    /// Reads `stat` under the procfs root.
    public static func read(from procfs: ProcFS) throws(CollectorError) -> Sample {
        try parse(procfs.read(file), path: procfs.path(file))
    }

    /// Parses the text of `stat`.
    ///
    /// Old kernels write fewer fields on the `cpu` line (steal arrived in 2.6.11, guest in
    /// 2.6.24); a missing field counts as 0, so the line needs only user, nice, system and
    /// idle. guest and guest_nice are not added: the kernel already counts them inside
    /// user and nice.
    /// - Parameter path: the file the text came from, named in errors.
    public static func parse(_ text: String, path: String) throws(CollectorError) -> Sample {
        var counters: CPUCounters?
        var cores = 0
        var bootTime: UInt64?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("btime ") {
                // drop(while:), not trimmingPrefix: the latter pulls the regex engine's
                // code into every run's resident set (see scripts/make-agent-order).
                bootTime = UInt64(line.dropFirst(6).drop(while: { $0 == " " }))
                continue
            }
            guard line.hasPrefix("cpu") else { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let label = fields.first else { continue }
            if label == "cpu" {
                counters = try aggregate(fields.dropFirst(), line: line, path: path)
            } else if label.dropFirst(3).allSatisfy(\.isASCIIDigit) {
                cores += 1
            }
        }
        guard var counters else { throw .malformed(path, "aggregate cpu line (missing)") }
        counters.bootTime = bootTime
        guard cores > 0 else { throw .malformed(path, "cpu count (no cpuN lines)") }
        return Sample(counters: counters, cores: cores)
    }

    /// The busy share of all cores between two samples, 0–100, rounded to 1 decimal.
    ///
    /// - Returns: `nil` when the delta means nothing: the machine rebooted between the
    ///   samples (the boot time changed, or the total went backwards), so the delta must
    ///   restart; or no time passed. The idle counter alone may step back (the kernel's
    ///   iowait is not monotonic, see proc(5)); that is clamped, not treated as a reboot,
    ///   so a cron run never falls back to a short sample for it.
    public static func percent(previous: CPUCounters, current: CPUCounters) -> Double? {
        if let before = previous.bootTime, let now = current.bootTime, before != now { return nil }
        guard current.total > previous.total else { return nil }
        let total = current.total - previous.total
        let idle = current.idle >= previous.idle ? min(current.idle - previous.idle, total) : 0
        return SystemProbe.oneDecimal(Double(total - idle) / Double(total) * 100)
    }

    private static func aggregate(
        _ fields: ArraySlice<Substring>, line: Substring, path: String
    ) throws(CollectorError) -> CPUCounters {
        // user nice system idle iowait irq softirq steal [guest guest_nice]
        guard fields.count >= 4 else { throw .malformed(path, "cpu line \"\(line.prefix(80))\"") }
        var values: [UInt64] = []
        for field in fields.prefix(8) {
            guard let value = UInt64(field) else { throw .malformed(path, "cpu counter \"\(field.prefix(40))\"") }
            values.append(value)
        }
        // Guest fields are not summed, but garbage there still means a garbled file.
        for field in fields.dropFirst(8) where UInt64(field) == nil {
            throw .malformed(path, "cpu counter \"\(field.prefix(40))\"")
        }
        values += Array(repeating: 0, count: 8 - values.count)
        var total: UInt64 = 0
        for value in values {
            let (sum, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { throw .malformed(path, "cpu line \"\(line.prefix(80))\" (counters overflow)") }
            total = sum
        }
        return CPUCounters(total: total, idle: values[3] + values[4])
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

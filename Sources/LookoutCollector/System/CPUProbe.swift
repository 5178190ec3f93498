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

    /// How far two readings of `btime` may differ and still be the same boot: the kernel
    /// derives it from the wall clock, which some kernels round differently between reads.
    public static let bootTimeTolerance: UInt64 = 5

    /// Whether two readings come from the same boot: by `boot_id` where both have one
    /// (exact), else by `btime` within ``bootTimeTolerance`` seconds; with neither, the
    /// counters alone decide (see ``percent(previous:current:)``).
    public static func sameBoot(_ previous: CPUCounters, _ current: CPUCounters) -> Bool {
        if let before = previous.bootID, let now = current.bootID { return before == now }
        if let before = previous.bootTime, let now = current.bootTime {
            return (before > now ? before - now : now - before) <= bootTimeTolerance
        }
        return true
    }

    /// The busy share of all cores between two samples, 0–100, rounded to 1 decimal.
    ///
    /// - Returns: `nil` when the delta means nothing and must restart from a new baseline:
    ///   the machine rebooted between the samples (``sameBoot(_:_:)`` says no, or the total
    ///   went backwards); no time passed; or the idle counters (idle + iowait) went
    ///   backwards. The kernel's iowait is not monotonic (proc(5)); a clamped idle delta
    ///   would read as 100 % busy, so such a pair is not measured at all.
    public static func percent(previous: CPUCounters, current: CPUCounters) -> Double? {
        guard sameBoot(previous, current), current.total > previous.total, current.idle >= previous.idle else {
            return nil
        }
        let total = current.total - previous.total
        let idle = min(current.idle - previous.idle, total)
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

import LookoutCore

/// The `system` section of a metrics document: CPU, memory, disk, uptime and load.
///
/// One value per agent run, holding only where to look, so the same code reads the
/// machine (`/proc`, `/`) and the fixture trees of the tests.
public struct SystemProbe: Sendable {
    public let procfs: ProcFS
    public let diskPath: String

    /// - Parameters:
    ///   - procfs: where `stat`, `meminfo`, `loadavg` and `uptime` are read.
    ///   - diskPath: a path on the file system whose use is reported (the root, usually).
    public init(procfs: ProcFS, diskPath: String) {
        self.procfs = procfs
        self.diskPath = diskPath
    }

    /// Reads the system metrics once.
    ///
    /// CPU is the busy share since `previousCPU`, so a cron run every five minutes reports
    /// the average over those five minutes without sleeping. With no usable previous
    /// sample (the first run ever, or counters that went backwards after a reboot) it takes
    /// a short sample of `firstSampleDelay` instead.
    /// - Parameters:
    ///   - previousCPU: the counters this method returned last time, if any.
    ///   - firstSampleDelay: the length of the short sample; tests pass `.zero`.
    /// - Returns: the metrics, and the latest counters for the caller to keep for next time.
    public func collect(
        previousCPU: CPUCounters?, firstSampleDelay: Duration = .milliseconds(250)
    ) async throws(CollectorError) -> (metrics: SystemMetrics, cpu: CPUCounters) {
        var sample = try CPUProbe.read(from: procfs)
        var percent: Double?
        if let previous = previousCPU, previous.total == sample.counters.total,
            previous.bootTime == sample.counters.bootTime
        {
            // Less than one clock tick since the previous sample: nothing to measure, and
            // no reason to sleep. Repeat its figure and keep its counters as the baseline,
            // so the next sample averages over the whole time since then.
            percent = previous.percent ?? 0
            sample.counters = previous
        } else if let previous = previousCPU {
            percent = CPUProbe.percent(previous: previous, current: sample.counters)
        }
        if percent == nil {
            let first = sample.counters
            do {
                try await Task.sleep(for: firstSampleDelay)
            } catch {
                throw CollectorError("cancelled while sampling \(procfs.path(CPUProbe.file))")
            }
            sample = try CPUProbe.read(from: procfs)
            percent = CPUProbe.percent(previous: first, current: sample.counters)
        }
        sample.counters.percent = percent ?? 0
        let metrics = SystemMetrics(
            cpu: CPUMetrics(percent: percent ?? 0, cores: sample.cores),
            memory: try MemoryProbe.read(from: procfs),
            disk: try DiskProbe.read(path: diskPath),
            uptime: try UptimeProbe.read(from: procfs),
            load: try LoadProbe.read(from: procfs))
        return (metrics, sample.counters)
    }

    /// Rounds to one decimal, the precision every figure of the document is given in.
    static func oneDecimal(_ value: Double) -> Double {
        (value * 10).rounded() / 10
    }
}

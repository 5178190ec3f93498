import LookoutCore

/// The `system` section of a metrics document: CPU, memory, disk, uptime and load.
///
/// One value per agent run, holding only where to look, so the same code reads the
/// machine (`/proc`, `/`) and the fixture trees of the tests.
public struct SystemProbe: Sendable {
    public let procfs: ProcFS
    public let diskPath: String
    /// The sysfs root (`/sys`, `--sysfs`): temperatures, interfaces' state, block devices.
    public let sysfs: ProcFS
    /// The wait of CPU's short sample (tests hold it to order it against other probes).
    public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }

    /// - Parameters:
    ///   - procfs: where `stat`, `meminfo`, `loadavg` and `uptime` are read.
    ///   - diskPath: a path on the file system whose use is reported (the root, usually).
    ///   - sysfs: where `class/hwmon`, `class/thermal`, `class/net` and `class/block` are read (`--sysfs`).
    public init(procfs: ProcFS, diskPath: String, sysfs: ProcFS = ProcFS(root: "/sys")) {
        self.procfs = procfs
        self.diskPath = diskPath
        self.sysfs = sysfs
    }

    /// Reads the system metrics once: ``readCPU(previous:firstSampleDelay:)``, then
    /// ``readRest(cpu:)``.
    /// - Parameters:
    ///   - previousCPU: the counters this method returned last time, if any.
    ///   - firstSampleDelay: the length of the short sample; tests pass `.zero`.
    /// - Returns: the metrics, and the latest counters for the caller to keep for next time.
    public func collect(
        previousCPU: CPUCounters?, firstSampleDelay: Duration = .milliseconds(250)
    ) async throws(CollectorError) -> (metrics: SystemMetrics, cpu: CPUCounters) {
        let cpu = try await readCPU(previous: previousCPU, firstSampleDelay: firstSampleDelay)
        return (try readRest(cpu: cpu), cpu.counters)
    }

    /// The CPU part of a sample: the busy share, the cores, and the counters to keep.
    public struct CPUReading: Sendable, Equatable {
        public var percent: Double
        public var cores: Int
        /// The latest counters (with this boot's id and the figure), for the next sample.
        public var counters: CPUCounters
    }

    /// Reads the CPU busy share since `previous`, so a cron run every five minutes reports
    /// the average over those five minutes without sleeping. With no usable previous
    /// sample (the first run ever, a reboot, idle counters that went backwards) it takes a
    /// short sample of `firstSampleDelay` instead; the collector does this before it
    /// starts Docker and service checks, so their work does not count as the machine's.
    public func readCPU(
        previous: CPUCounters?, firstSampleDelay: Duration = .milliseconds(250)
    ) async throws(CollectorError) -> CPUReading {
        let bootID = BootIDProbe.read(from: procfs)
        var sample = try CPUProbe.read(from: procfs)
        sample.counters.bootID = bootID
        var percent: Double?
        if let previous, previous.total == sample.counters.total, CPUProbe.sameBoot(previous, sample.counters) {
            // Less than one clock tick since the previous sample: nothing to measure, and
            // no reason to sleep. Repeat its figure and keep its counters as the baseline,
            // so the next sample averages over the whole time since then.
            percent = previous.percent ?? 0
            sample.counters = previous
            sample.counters.bootID = bootID
        } else if let previous {
            percent = CPUProbe.percent(previous: previous, current: sample.counters)
        }
        if percent == nil {
            let first = sample.counters
            do {
                try await sleep(firstSampleDelay)
            } catch {
                throw CollectorError("cancelled while sampling \(procfs.path(CPUProbe.file))")
            }
            sample = try CPUProbe.read(from: procfs)
            sample.counters.bootID = bootID
            percent = CPUProbe.percent(previous: first, current: sample.counters)
        }
        sample.counters.percent = percent ?? 0
        return CPUReading(percent: percent ?? 0, cores: sample.cores, counters: sample.counters)
    }

    /// Reads memory, swap, disk, uptime, load and temperatures, and completes the section with `cpu`.
    public func readRest(cpu: CPUReading) throws(CollectorError) -> SystemMetrics {
        let meminfo = try procfs.read(MemoryProbe.file)
        return SystemMetrics(
            cpu: CPUMetrics(percent: cpu.percent, cores: cpu.cores),
            memory: try MemoryProbe.parse(meminfo, path: procfs.path(MemoryProbe.file)),
            disk: try DiskProbe.read(path: diskPath),
            uptime: try UptimeProbe.read(from: procfs),
            load: try LoadProbe.read(from: procfs),
            bootID: cpu.counters.bootID,
            swap: try SwapProbe.parse(meminfo, path: procfs.path(MemoryProbe.file)),
            temperatures: TemperatureProbe.read(from: sysfs))
    }

    /// Rounds to one decimal, the precision every figure of the document is given in.
    static func oneDecimal(_ value: Double) -> Double {
        (value * 10).rounded() / 10
    }
}

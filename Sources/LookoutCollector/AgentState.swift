/// What a one-shot `collect` remembers between runs, in the `--state` file, so that
/// CPU figures are averages over the time since the previous run with no sleep.
public struct AgentState: Codable, Sendable, Equatable {
    /// `/proc/stat` counters of the previous sample.
    public var cpu: CPUCounters?
    /// Per container id, the Engine API's CPU counters of the previous sample.
    public var containers: [String: ContainerCPUCounters]
    /// `/proc/net/dev` counters of the previous sample; absent in state files of older agents.
    public var network: NetworkCounters?
    /// `/proc/diskstats` counters of the root disk at the previous sample.
    public var diskIO: DiskIOCounters?

    public init(
        cpu: CPUCounters? = nil, containers: [String: ContainerCPUCounters] = [:], network: NetworkCounters? = nil,
        diskIO: DiskIOCounters? = nil
    ) {
        self.cpu = cpu
        self.containers = containers
        self.network = network
        self.diskIO = diskIO
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpu = try c.decodeIfPresent(CPUCounters.self, forKey: .cpu)
        containers = try c.decodeIfPresent([String: ContainerCPUCounters].self, forKey: .containers) ?? [:]
        // A state file that predates disk I/O, or whose counters are damaged: a short sample.
        diskIO = try? c.decodeIfPresent(DiskIOCounters.self, forKey: .diskIO)
        network = try? c.decodeIfPresent(NetworkCounters.self, forKey: .network)
    }
}

/// The byte counters of the reported interfaces at one reading, with when it was taken:
/// a rate is a counter delta over the wall time between two readings, and the two may be
/// a cron interval apart.
public struct NetworkCounters: Codable, Sendable, Equatable {
    /// Seconds since 1970 (the agent's clock) at the reading.
    public var time: Double
    /// The boot the counters belong to: the kernel restarts them at every boot.
    public var bootID: String?
    /// Per interface name.
    public var interfaces: [String: InterfaceCounters]

    public init(time: Double, bootID: String? = nil, interfaces: [String: InterfaceCounters]) {
        self.time = time
        self.bootID = bootID
        self.interfaces = interfaces
    }
}

/// One interface's received and transmitted bytes since it was created (`/proc/net/dev`).
public struct InterfaceCounters: Codable, Sendable, Equatable {
    public var rx: UInt64
    public var tx: UInt64

    public init(rx: UInt64, tx: UInt64) {
        self.rx = rx
        self.tx = tx
    }
}

/// The aggregate `cpu` line of `/proc/stat`, reduced to what the busy share needs.
public struct CPUCounters: Codable, Sendable, Equatable {
    /// user + nice + system + idle + iowait + irq + softirq + steal, in USER_HZ ticks.
    /// guest and guest_nice are already counted inside user and nice.
    public var total: UInt64
    /// idle + iowait: time the CPU did no work.
    public var idle: UInt64
    /// `btime` of `/proc/stat`: the fallback reboot sign where there is no ``bootID``.
    /// It is derived from the wall clock, so it may jitter by a second between reads.
    public var bootTime: UInt64?
    /// `/proc/sys/kernel/random/boot_id`: new at every boot, so a different value means
    /// the machine rebooted in between (exact, unlike ``bootTime``).
    public var bootID: String?
    /// The busy share reported at this reading, repeated when the next sample comes less
    /// than a clock tick later and so has nothing new to measure.
    public var percent: Double?

    public init(
        total: UInt64, idle: UInt64, bootTime: UInt64? = nil, bootID: String? = nil, percent: Double? = nil
    ) {
        self.total = total
        self.idle = idle
        self.bootTime = bootTime
        self.bootID = bootID
        self.percent = percent
    }
}

/// A container's CPU counters from the Engine API stats, in nanoseconds.
public struct ContainerCPUCounters: Codable, Sendable, Equatable {
    /// `cpu_stats.cpu_usage.total_usage`.
    public var usage: UInt64
    /// `cpu_stats.system_cpu_usage`: the host's total CPU time.
    public var system: UInt64

    public init(usage: UInt64, system: UInt64) {
        self.usage = usage
        self.system = system
    }
}

import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// The few fields Lookout reads from the Docker Engine API. Every field is optional or
// defaulted: the daemon omits blocks for stopped containers, older API versions lack
// some keys, and a missing figure must cost one container its numbers, not the sample.

/// One entry of `GET /containers/json?all=1`.
struct DockerContainerSummary: Decodable, Sendable, Equatable {
    var id: String
    var names: [String]
    /// running, exited, restarting, paused, created, removing or dead.
    var state: String

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", state = "State"
    }

    init(id: String, names: [String], state: String) {
        self.id = id
        self.names = names
        self.state = state
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        names = try c.decodeIfPresent([String].self, forKey: .names) ?? []
        state = try c.decodeIfPresent(String.self, forKey: .state) ?? ""
    }

    /// The name as `docker ps` shows it: the first name without its leading `/`, or the
    /// short id for a container without a name.
    var displayName: String {
        if let first = names.first {
            let trimmed = first.hasPrefix("/") ? String(first.dropFirst()) : first
            if !trimmed.isEmpty { return trimmed }
        }
        return String(id.prefix(12))
    }

    /// The states in which a container has a cgroup whose figures mean something.
    var hasLiveStats: Bool {
        state == "running" || state == "restarting" || state == "paused"
    }
}

/// The body of `GET /containers/{id}/stats?stream=false&one-shot=true`.
struct DockerStats: Decodable, Sendable, Equatable {
    var cpuStats: CPUStats
    var precpuStats: CPUStats
    var memoryStats: MemoryStats

    enum CodingKeys: String, CodingKey {
        case cpuStats = "cpu_stats", precpuStats = "precpu_stats", memoryStats = "memory_stats"
    }

    init(cpuStats: CPUStats, precpuStats: CPUStats = CPUStats(), memoryStats: MemoryStats = MemoryStats()) {
        self.cpuStats = cpuStats
        self.precpuStats = precpuStats
        self.memoryStats = memoryStats
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpuStats = try c.decodeIfPresent(CPUStats.self, forKey: .cpuStats) ?? CPUStats()
        precpuStats = try c.decodeIfPresent(CPUStats.self, forKey: .precpuStats) ?? CPUStats()
        memoryStats = try c.decodeIfPresent(MemoryStats.self, forKey: .memoryStats) ?? MemoryStats()
    }

    struct CPUStats: Decodable, Sendable, Equatable {
        /// `cpu_usage.total_usage`: the container's CPU time in nanoseconds.
        var totalUsage: UInt64
        /// `system_cpu_usage`: the host's CPU time (all cores) in nanoseconds; 0 when the
        /// daemon took no sample (precpu of a one-shot read, a container between restarts).
        var systemUsage: UInt64

        enum CodingKeys: String, CodingKey {
            case cpuUsage = "cpu_usage", systemUsage = "system_cpu_usage"
        }

        enum UsageKeys: String, CodingKey {
            case totalUsage = "total_usage"
        }

        init(totalUsage: UInt64 = 0, systemUsage: UInt64 = 0) {
            self.totalUsage = totalUsage
            self.systemUsage = systemUsage
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            systemUsage = try c.decodeIfPresent(UInt64.self, forKey: .systemUsage) ?? 0
            if c.contains(.cpuUsage), try !c.decodeNil(forKey: .cpuUsage) {
                let usage = try c.nestedContainer(keyedBy: UsageKeys.self, forKey: .cpuUsage)
                totalUsage = try usage.decodeIfPresent(UInt64.self, forKey: .totalUsage) ?? 0
            } else {
                totalUsage = 0
            }
        }

        /// The counters to remember, or `nil` when this sample has no host time to compare with.
        var counters: ContainerCPUCounters? {
            systemUsage > 0 ? ContainerCPUCounters(usage: totalUsage, system: systemUsage) : nil
        }
    }

    struct MemoryStats: Decodable, Sendable, Equatable {
        /// Bytes charged to the cgroup, page cache included.
        var usage: UInt64
        /// `stats.cache` (cgroup v1).
        var cache: UInt64?
        /// `stats.total_inactive_file` (cgroup v1, hierarchical).
        var totalInactiveFile: UInt64?
        /// `stats.inactive_file` (cgroup v2; v1 has it too, but not hierarchical).
        var inactiveFile: UInt64?

        enum CodingKeys: String, CodingKey {
            case usage, stats
        }

        enum StatsKeys: String, CodingKey {
            case cache, totalInactiveFile = "total_inactive_file", inactiveFile = "inactive_file"
        }

        init(usage: UInt64 = 0, cache: UInt64? = nil, totalInactiveFile: UInt64? = nil, inactiveFile: UInt64? = nil) {
            self.usage = usage
            self.cache = cache
            self.totalInactiveFile = totalInactiveFile
            self.inactiveFile = inactiveFile
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            usage = try c.decodeIfPresent(UInt64.self, forKey: .usage) ?? 0
            if c.contains(.stats), try !c.decodeNil(forKey: .stats) {
                let stats = try c.nestedContainer(keyedBy: StatsKeys.self, forKey: .stats)
                cache = try stats.decodeIfPresent(UInt64.self, forKey: .cache)
                totalInactiveFile = try stats.decodeIfPresent(UInt64.self, forKey: .totalInactiveFile)
                inactiveFile = try stats.decodeIfPresent(UInt64.self, forKey: .inactiveFile)
            }
        }

        /// The page cache to subtract, as the Engine API documents it: `cache` on cgroup v1
        /// (`total_inactive_file` when a v1 daemon leaves `cache` out), `inactive_file` on v2.
        /// Only v1 reports `cache` and the `total_*` keys, so their presence tells the versions apart.
        var pageCache: UInt64 {
            cache ?? totalInactiveFile ?? inactiveFile ?? 0
        }
    }
}

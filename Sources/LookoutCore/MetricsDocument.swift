#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One VM's metrics document: the wire format of DESIGN §2.
///
/// Field names and nesting are a contract that existing dashboards read; extra fields
/// may be added, none renamed or removed. Sizes and percentages are `Double` so that
/// documents from other agents (which may write `1024` or `1024.0`) decode alike;
/// whole numbers encode without a fraction.
public struct MetricsDocument: Codable, Sendable, Equatable {
    public var vmID: VMID
    public var timestamp: Date
    public var system: SystemMetrics
    public var containers: [ContainerMetrics]
    public var services: [ServiceStatus]
    /// How often the agent sends a document (an extra field): the hub calls a VM stale
    /// after `3 × interval_seconds` without a new one.
    public var intervalSeconds: Int?
    /// The agent that wrote the document, e.g. `lookout-agent 0.1.0` (an extra field).
    public var agent: String?

    public init(
        vmID: VMID, timestamp: Date, system: SystemMetrics, containers: [ContainerMetrics] = [],
        services: [ServiceStatus] = [], intervalSeconds: Int? = nil, agent: String? = nil
    ) {
        self.vmID = vmID
        self.timestamp = timestamp
        self.system = system
        self.containers = containers
        self.services = services
        self.intervalSeconds = intervalSeconds
        self.agent = agent
    }

    enum CodingKeys: String, CodingKey {
        case vmID = "vm_id", timestamp, system, containers, services
        case intervalSeconds = "interval_seconds", agent
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vmID = try c.decode(VMID.self, forKey: .vmID)
        let text = try c.decode(String.self, forKey: .timestamp)
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: .timestamp, in: c,
                debugDescription: "\"\(text.prefix(40))\" is not a timestamp like 2025-12-09T10:30:00Z")
        }
        timestamp = date
        system = try c.decode(SystemMetrics.self, forKey: .system)
        // Missing lists mean "nothing to report", as older agents omit them.
        containers = try c.decodeIfPresent([ContainerMetrics].self, forKey: .containers) ?? []
        services = try c.decodeIfPresent([ServiceStatus].self, forKey: .services) ?? []
        intervalSeconds = try c.decodeIfPresent(Int.self, forKey: .intervalSeconds)
        agent = try c.decodeIfPresent(String.self, forKey: .agent)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vmID, forKey: .vmID)
        try c.encode(Timestamp.format(timestamp), forKey: .timestamp)
        try c.encode(system, forKey: .system)
        try c.encode(containers, forKey: .containers)
        try c.encode(services, forKey: .services)
        try c.encodeIfPresent(intervalSeconds, forKey: .intervalSeconds)
        try c.encodeIfPresent(agent, forKey: .agent)
    }
}

public struct SystemMetrics: Codable, Sendable, Equatable {
    public var cpu: CPUMetrics
    public var memory: MemoryMetrics
    public var disk: DiskMetrics
    public var uptime: UptimeMetrics
    public var load: LoadMetrics
    /// The kernel's id of this boot (an extra field): a new value means the VM rebooted.
    public var bootID: String?
    // Extra fields of issue 11 (SystemExtras.swift), each absent when the machine has none.
    public var swap: SwapMetrics?
    public var network: NetworkMetrics?
    public var diskIO: DiskIOMetrics?
    /// The root filesystem first, then the configured (or, with "auto", every real) mount point.
    public var filesystems: [FilesystemMetrics]?
    public var temperatures: [TemperatureReading]?

    public init(
        cpu: CPUMetrics, memory: MemoryMetrics, disk: DiskMetrics, uptime: UptimeMetrics, load: LoadMetrics,
        bootID: String? = nil, swap: SwapMetrics? = nil, network: NetworkMetrics? = nil, diskIO: DiskIOMetrics? = nil,
        filesystems: [FilesystemMetrics]? = nil, temperatures: [TemperatureReading]? = nil
    ) {
        self.cpu = cpu
        self.memory = memory
        self.disk = disk
        self.uptime = uptime
        self.load = load
        self.bootID = bootID
        self.swap = swap
        self.network = network
        self.diskIO = diskIO
        self.filesystems = filesystems
        self.temperatures = temperatures
    }

    enum CodingKeys: String, CodingKey {
        case cpu, memory, disk, uptime, load, bootID = "boot_id"
        case swap, network, diskIO = "disk_io", filesystems, temperatures
    }
}

public struct CPUMetrics: Codable, Sendable, Equatable {
    /// Busy share of all cores since the previous sample, 0–100.
    public var percent: Double
    public var cores: Int

    public init(percent: Double, cores: Int) {
        self.percent = percent
        self.cores = cores
    }
}

public struct MemoryMetrics: Codable, Sendable, Equatable {
    public var totalMB: Double
    /// total − MemAvailable, as `free` and gopsutil report it.
    public var usedMB: Double
    public var availableMB: Double
    public var percent: Double

    public init(totalMB: Double, usedMB: Double, availableMB: Double, percent: Double) {
        self.totalMB = totalMB
        self.usedMB = usedMB
        self.availableMB = availableMB
        self.percent = percent
    }

    enum CodingKeys: String, CodingKey {
        case totalMB = "total_mb", usedMB = "used_mb", availableMB = "available_mb", percent
    }
}

public struct DiskMetrics: Codable, Sendable, Equatable {
    public var totalGB: Double
    public var usedGB: Double
    /// used / (used + available to unprivileged users), as `df` reports it.
    public var percent: Double
    /// The mount point measured (an extra field).
    public var path: String?

    public init(totalGB: Double, usedGB: Double, percent: Double, path: String? = nil) {
        self.totalGB = totalGB
        self.usedGB = usedGB
        self.percent = percent
        self.path = path
    }

    enum CodingKeys: String, CodingKey {
        case totalGB = "total_gb", usedGB = "used_gb", percent, path
    }
}

public struct UptimeMetrics: Codable, Sendable, Equatable {
    public var seconds: Double
    public var human: String

    public init(seconds: Double, human: String) {
        self.seconds = seconds
        self.human = human
    }

    public init(seconds: Double) {
        self.init(seconds: seconds, human: UptimeMetrics.humanize(seconds: seconds))
    }

    /// `5 days`, `1 day`, `3 hours`, `12 minutes`: the largest whole unit, as the
    /// dashboard shows it.
    public static func humanize(seconds: Double) -> String {
        // Validated documents hold at most 1e10 s; a clamp keeps Int() from trapping on others.
        let whole = seconds.isFinite ? Int(min(max(0, seconds), 1e12)) : 0
        func plural(_ n: Int, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s")" }
        if whole >= 86_400 { return plural(whole / 86_400, "day") }
        if whole >= 3600 { return plural(whole / 3600, "hour") }
        return plural(whole / 60, "minute")
    }
}

public struct LoadMetrics: Codable, Sendable, Equatable {
    public var one: Double
    public var five: Double
    public var fifteen: Double

    public init(one: Double, five: Double, fifteen: Double) {
        self.one = one
        self.five = five
        self.fifteen = fifteen
    }

    enum CodingKeys: String, CodingKey {
        case one = "1m", five = "5m", fifteen = "15m"
    }
}

public struct ContainerMetrics: Codable, Sendable, Equatable {
    public var name: String
    /// The Engine API's `State`: running, exited, restarting, paused, created, dead.
    public var status: String
    /// Share of the whole host's CPU, 0–100.
    public var cpuPercent: Double
    /// Memory usage minus page cache.
    public var memoryMB: Double

    public init(name: String, status: String, cpuPercent: Double, memoryMB: Double) {
        self.name = name
        self.status = status
        self.cpuPercent = cpuPercent
        self.memoryMB = memoryMB
    }

    enum CodingKeys: String, CodingKey {
        case name, status, cpuPercent = "cpu_percent", memoryMB = "memory_mb"
    }
}

public struct ServiceStatus: Codable, Sendable, Equatable {
    public var id: String
    public var healthy: Bool
    public var responseMS: Double
    /// Why the check failed, short (an extra field, absent when healthy).
    public var error: String?
    /// The leaf certificate of an https or tls check (extra fields, absent for plain checks):
    /// its `notAfter` (RFC 3339), whole days left at the check, issuer, subject and the host
    /// checked, so the hub can warn before it expires and name what to renew.
    public var certExpiresAt: String?
    public var certDaysLeft: Int?
    public var certIssuer: String?
    public var certSubject: String?
    public var certHost: String?
    /// The share of echoes a ping check got no answer to, 0–100 (an extra field, ping checks only).
    public var lossPercent: Double?

    public init(id: String, healthy: Bool, responseMS: Double, error: String? = nil, lossPercent: Double? = nil) {
        self.id = id
        self.healthy = healthy
        self.responseMS = responseMS
        self.error = error
        self.lossPercent = lossPercent
    }

    /// The longest `error` the hub accepts, in UTF-8 bytes (DocumentCoding refuses a longer
    /// one, and with it the whole document).
    public static let errorMaxBytes = 4096
    /// The longest `error` an agent writes, in characters: a reason, not a dump.
    public static let errorMaxCharacters = 1024

    /// `problem` as a check's `error`: control characters replaced (a reason can quote a
    /// server's or OpenSSL's text; the hub refuses control characters) and cut to
    /// ``errorMaxCharacters`` and ``errorMaxBytes``, so that no failing check, however long
    /// its reason (64 long TXT expectations, a server's invalid UTF-8), makes the hub refuse
    /// the document and the VM look down.
    public static func errorText(_ problem: String) -> String {
        problem.replacingControlCharacters().cut(characters: errorMaxCharacters, bytes: errorMaxBytes)
    }

    enum CodingKeys: String, CodingKey {
        case id, healthy, responseMS = "response_ms", error
        case certExpiresAt = "cert_expires_at", certDaysLeft = "cert_days_left", certIssuer = "cert_issuer"
        case certSubject = "cert_subject", certHost = "cert_host"
        case lossPercent = "loss_percent"
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How one VM is doing right now, judged from its latest document: the figure an operator
/// reads first (ok / warning / critical / stale) and the reasons behind it.
public struct VMHealth: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, Comparable, CaseIterable {
        case ok, warning, critical, stale

        public static func < (lhs: Status, rhs: Status) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// One threshold crossed, or one check failing.
    public struct Problem: Codable, Sendable, Equatable {
        /// `cpu`, `memory`, `disk`, `load`, `swap`, `disk_util`, `fs`, `temperature`,
        /// `service`, `cert`, `container` or `stale`.
        public var kind: String
        /// The metric (the kind again), the mount point of an `fs`, the sensor of a
        /// `temperature`, the service id or the container name.
        public var subject: String
        public var severity: Severity
        public var value: Double?
        public var threshold: Double?
        public var message: String
    }

    public var vmID: VMID
    public var status: Status
    public var lastSeen: Date
    public var ageSeconds: Int
    public var staleAfterSeconds: Int
    public var problems: [Problem]

    enum CodingKeys: String, CodingKey {
        case vmID = "vm_id", status, lastSeen = "last_seen", ageSeconds = "age_seconds"
        case staleAfterSeconds = "stale_after_seconds", problems
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vmID, forKey: .vmID)
        try c.encode(status, forKey: .status)
        try c.encode(Timestamp.format(lastSeen), forKey: .lastSeen)
        try c.encode(ageSeconds, forKey: .ageSeconds)
        try c.encode(staleAfterSeconds, forKey: .staleAfterSeconds)
        try c.encode(problems, forKey: .problems)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vmID = try c.decode(VMID.self, forKey: .vmID)
        status = try c.decode(Status.self, forKey: .status)
        lastSeen = Timestamp.parse(try c.decode(String.self, forKey: .lastSeen)) ?? Date(timeIntervalSince1970: 0)
        ageSeconds = try c.decode(Int.self, forKey: .ageSeconds)
        staleAfterSeconds = try c.decode(Int.self, forKey: .staleAfterSeconds)
        problems = try c.decode([Problem].self, forKey: .problems)
    }

    /// How long a VM may stay silent: 3 × the interval its document declares, else the
    /// configured `stale_after_minutes`.
    public static func staleAfter(_ document: MetricsDocument, config: MonitoringConfig) -> Int {
        document.intervalSeconds.map { 3 * $0 } ?? config.staleAfterMinutes * 60
    }

    /// Judges `document` against the VM's thresholds at `now`.
    public static func evaluate(_ document: MetricsDocument, config: MonitoringConfig, now: Date) -> VMHealth {
        let thresholds = config.thresholds(for: document.vmID)
        let system = document.system
        var problems: [Problem] = []
        func check(
            _ kind: String, _ value: Double, _ threshold: Threshold, unit: String, label: String,
            subject: String? = nil
        ) {
            let severity = threshold.severity(of: value)
            guard severity != .ok else { return }
            let limit = severity == .critical ? threshold.critical : threshold.warning
            problems.append(
                Problem(
                    kind: kind, subject: subject ?? kind, severity: severity, value: value, threshold: limit,
                    message:
                        "\(label) \(Notice.format(value))\(unit), \(severity.rawValue) at \(Notice.format(limit))\(unit)"
                ))
        }
        check("cpu", system.cpu.percent, thresholds.cpu, unit: "%", label: "CPU")
        check("memory", system.memory.percent, thresholds.memory, unit: "%", label: "memory")
        check("disk", system.disk.percent, thresholds.disk, unit: "%", label: "disk")
        if let load = loadProblem(system, thresholds.load) { problems.append(load) }
        if let swap = system.swap {
            check("swap", swap.percent, thresholds.swap, unit: "%", label: "swap")
        }
        if let io = system.diskIO {
            check("disk_util", io.utilPercent, thresholds.diskUtil, unit: "%", label: "disk \(io.device) busy")
        }
        for filesystem in extraFilesystems(system) {
            let threshold = config.filesystemThreshold(for: document.vmID, path: filesystem.path)
            check(
                "fs", filesystem.percent, threshold, unit: "%", label: "filesystem \(filesystem.path)",
                subject: filesystem.path)
        }
        if let threshold = thresholds.temperature {
            var seen: Set<String> = []
            for reading in system.temperatures ?? [] where seen.insert(reading.sensor).inserted {
                check(
                    "temperature", reading.celsius, threshold, unit: "°C", label: "temperature \(reading.sensor)",
                    subject: reading.sensor)
            }
        }
        for service in document.services where !service.healthy {
            problems.append(
                Problem(
                    kind: "service", subject: service.id, severity: .critical, value: nil, threshold: nil,
                    message: "service \(service.id) is unhealthy" + (service.error.map { ": \($0)" } ?? "")))
        }
        problems += CertificateRule.problems(document.services, threshold: thresholds.certificates, now: now)
        for container in document.containers where container.status != "running" {
            let severity: Severity =
                container.status == "restarting" || container.status == "dead" ? .critical : .warning
            problems.append(
                Problem(
                    kind: "container", subject: container.name, severity: severity, value: nil, threshold: nil,
                    message: "container \(container.name) is \(container.status)"))
        }
        let age = max(0, Int(now.timeIntervalSince(document.timestamp)))
        let staleAfter = staleAfter(document, config: config)
        var status: Status =
            switch problems.map(\.severity).max() ?? .ok {
            case .ok: .ok
            case .warning: .warning
            case .critical: .critical
            }
        if age > staleAfter {
            status = .stale
            problems.insert(
                Problem(
                    kind: "stale", subject: "stale", severity: .critical, value: Double(age),
                    threshold: Double(staleAfter),
                    message: "no report for \(UptimeMetrics.humanize(seconds: Double(age)))"), at: 0)
        }
        return VMHealth(
            vmID: document.vmID, status: status, lastSeen: document.timestamp, ageSeconds: age,
            staleAfterSeconds: staleAfter, problems: problems)
    }

    /// The filesystems beyond the one `system.disk` measures (the `disk` problem), once per
    /// path, so that filesystem does not alert twice. That is the root unless the agent runs
    /// with another `--disk-path`: then `/` in `filesystems` alerts as any other.
    static func extraFilesystems(_ system: SystemMetrics) -> [FilesystemMetrics] {
        var seen: Set<String> = [system.disk.path ?? "/"]
        return (system.filesystems ?? []).filter { seen.insert($0.path).inserted }
    }

    public init(
        vmID: VMID, status: Status, lastSeen: Date, ageSeconds: Int, staleAfterSeconds: Int, problems: [Problem]
    ) {
        self.vmID = vmID
        self.status = status
        self.lastSeen = lastSeen
        self.ageSeconds = ageSeconds
        self.staleAfterSeconds = staleAfterSeconds
        self.problems = problems
    }
}

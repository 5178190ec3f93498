import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The agent's JSON config file (`--config`): service checks and anything an operator
/// would rather keep in a file than on a cron line. Every key is optional; command-line
/// options win over the file.
///
/// ```json
/// {
///   "vm_id": "web-1",
///   "disk_path": "/",
///   "docker_socket": "/var/run/docker.sock",
///   "interval_seconds": 300,
///   "services": [ { "id": "site", "url": "https://example.com/health", "keyword": "ok" } ],
///   "push": { "url": "https://hub.example.com/api/monitoring/ingest", "token_file": "/etc/lookout/token",
///             "spool_limit": 2016, "replay_limit": 288 },
///   "ca_file": "/etc/lookout/private-ca.pem",
///   "network": { "interfaces": ["eth0", "ens*"] }
///   "filesystems": ["/srv/backup"],
///   "disk_io": { "device": "vdb" },
///   "journal_samples": 288
/// }
/// ```
public struct AgentConfiguration: Codable, Sendable, Equatable {
    public var vmID: VMID?
    public var diskPath: String?
    public var dockerSocket: String?
    public var intervalSeconds: Int?
    public var services: [ServiceCheckConfig]
    public var push: PushConfiguration?
    /// A PEM file of extra CAs to trust for https checks and push, beside the system's.
    public var caFile: String?
    /// Which interfaces `system.network` covers.
    public var network: NetworkConfiguration?
    /// Mount points reported in `system.filesystems` beside the root, or `"auto"`.
    public var filesystems: FilesystemSelection?
    /// The device whose I/O `system.disk_io` reports, instead of the root filesystem's disk.
    public var diskIO: DiskIOConfiguration?
    /// `auto_upgrade`: once a day, upgrade from the hub the agent pushes to (off by default).
    public var autoUpgrade: Bool?
    /// How many recent documents the journal keeps beside `metrics.json` (0: none).
    public var journalSamples: Int?
    /// As `--data`: the folder the document is written under (`<data>/<vm_id>/metrics.json`).
    public var data: String?

    public init(
        vmID: VMID? = nil, diskPath: String? = nil, dockerSocket: String? = nil, intervalSeconds: Int? = nil,
        services: [ServiceCheckConfig] = [], push: PushConfiguration? = nil, caFile: String? = nil,
        network: NetworkConfiguration? = nil, filesystems: FilesystemSelection? = nil,
        diskIO: DiskIOConfiguration? = nil
    ) {
        self.vmID = vmID
        self.diskPath = diskPath
        self.dockerSocket = dockerSocket
        self.intervalSeconds = intervalSeconds
        self.services = services
        self.push = push
        self.caFile = caFile
        self.network = network
        self.filesystems = filesystems
        self.diskIO = diskIO
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vmID = "vm_id", diskPath = "disk_path", dockerSocket = "docker_socket"
        case intervalSeconds = "interval_seconds", services, push, caFile = "ca_file"
        case network
        case filesystems, diskIO = "disk_io"
        case autoUpgrade = "auto_upgrade"
        case journalSamples = "journal_samples"
        case data
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vmID = try c.decodeIfPresent(VMID.self, forKey: .vmID)
        diskPath = try c.decodeIfPresent(String.self, forKey: .diskPath)
        dockerSocket = try c.decodeIfPresent(String.self, forKey: .dockerSocket)
        intervalSeconds = try c.decodeIfPresent(Int.self, forKey: .intervalSeconds)
        if let interval = intervalSeconds, !(1...86_400).contains(interval) {
            throw DecodingError.dataCorruptedError(
                forKey: .intervalSeconds, in: c, debugDescription: "\(interval) is not between 1 and 86400 seconds")
        }
        services = try c.decodeIfPresent([ServiceCheckConfig].self, forKey: .services) ?? []
        var seen = Set<String>()
        for (index, check) in services.enumerated() where !seen.insert(check.id).inserted {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [CodingKeys.services, AnyCodingKey(intValue: index)],
                    debugDescription: "service id \"\(check.id)\" is used twice"))
        }
        push = try c.decodeIfPresent(PushConfiguration.self, forKey: .push)
        caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
        if caFile?.isEmpty == true {
            throw DecodingError.dataCorruptedError(
                forKey: .caFile, in: c,
                debugDescription: "\"\" is empty; leave the key out to trust only the system's CAs")
        }
        network = try c.decodeIfPresent(NetworkConfiguration.self, forKey: .network)
        filesystems = try c.decodeIfPresent(FilesystemSelection.self, forKey: .filesystems)
        diskIO = try c.decodeIfPresent(DiskIOConfiguration.self, forKey: .diskIO)
        autoUpgrade = try c.decodeIfPresent(Bool.self, forKey: .autoUpgrade)

        journalSamples = try c.decodeIfPresent(Int.self, forKey: .journalSamples)
        if let samples = journalSamples, !(0...100_000).contains(samples) {
            throw DecodingError.dataCorruptedError(
                forKey: .journalSamples, in: c,
                debugDescription: "\(samples) is not between 0 (no journal) and 100000 documents")
        }
        data = try c.decodeIfPresent(String.self, forKey: .data)
        if let data, !data.hasPrefix("/") || data.containsControlCharacter {
            throw DecodingError.dataCorruptedError(
                forKey: .data, in: c,
                debugDescription:
                    "\"\(data.replacingControlCharacters().prefix(80))\" is not an absolute path (like /var/lib/lookout-agent/data)"
            )
        }
    }

    /// Reads and validates a config file; the error names the file, the key and the value.
    /// Whole lines starting with `//` are comments (the packaged default explains itself).
    public static func load(path: String) throws(CollectorError) -> AgentConfiguration {
        let bytes: [UInt8]
        do {
            bytes = try JSONLineComments.strip(try AtomicFile.read(path, limit: 1 << 20))
        } catch let problem as JSONLineComments.Problem {
            throw CollectorError("config \(path): \(problem)")
        } catch {
            throw CollectorError("config \(error)")
        }
        do {
            return try JSONDecoder().decode(AgentConfiguration.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw CollectorError("config \(path): \(DocumentError(error))")
        } catch {
            throw CollectorError("config \(path): \(error)")
        }
    }
}

/// Where `--push` sends documents, when it is set in the config file instead.
public struct PushConfiguration: Codable, Sendable, Equatable {
    public var url: String
    /// A file holding the bearer token (secrets never live in the JSON itself).
    public var tokenFile: String?
    /// How many undelivered documents to keep while the hub is unreachable.
    public var spoolLimit: Int?
    /// How many spooled documents one run sends at most (the rest wait for the next run).
    public var replayLimit: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, tokenFile = "token_file", spoolLimit = "spool_limit", replayLimit = "replay_limit"
    }

    public init(url: String, tokenFile: String? = nil, spoolLimit: Int? = nil, replayLimit: Int? = nil) {
        self.url = url
        self.tokenFile = tokenFile
        self.spoolLimit = spoolLimit
        self.replayLimit = replayLimit
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        url = try c.decode(String.self, forKey: .url)
        if let problem = HTTPURL.problem(with: url) {
            throw DecodingError.dataCorruptedError(forKey: .url, in: c, debugDescription: problem)
        }
        tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile)
        func count(_ key: CodingKeys) throws -> Int? {
            let value = try c.decodeIfPresent(Int.self, forKey: key)
            if let value, !(1...100_000).contains(value) {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "\(value) is not between 1 and 100000")
            }
            return value
        }
        spoolLimit = try count(.spoolLimit)
        replayLimit = try count(.replayLimit)
    }
}

/// The config's `network` section: `{"interfaces": ["eth0"]}` (allow list) or
/// `{"interfaces": ["-wg0"]}` (deny list), validated into an ``InterfaceSelection``.
public struct NetworkConfiguration: Codable, Sendable, Equatable {
    public var interfaces: [String]?
    /// What `interfaces` means; ``InterfaceSelection/automatic`` without the key.
    public var selection: InterfaceSelection

    enum CodingKeys: String, CodingKey, CaseIterable {
        case interfaces
    }

    public init(interfaces: [String]? = nil) throws(CollectorError) {
        self.interfaces = interfaces
        selection =
            try interfaces.map { list throws(CollectorError) in try InterfaceSelection(entries: list) }
            ?? .automatic
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        interfaces = try c.decodeIfPresent([String].self, forKey: .interfaces)
        do throws(CollectorError) {
            selection =
                try interfaces.map { list throws(CollectorError) in try InterfaceSelection(entries: list) }
                ?? .automatic
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .interfaces, in: c, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(interfaces, forKey: .interfaces)
    }
}

/// `disk_io` of the agent config: which device's I/O to report.
public struct DiskIOConfiguration: Codable, Sendable, Equatable {
    /// A name of `/proc/diskstats` (`vdb`, `nvme1n1`, `dm-2`); `/dev/vdb` is taken as `vdb`.
    public var device: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case device
    }

    public init(device: String? = nil) {
        self.device = device
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard var name = try c.decodeIfPresent(String.self, forKey: .device) else { return }
        if name.hasPrefix("/dev/") { name.removeFirst(5) }
        let problem: String? =
            if name.isEmpty {
                "is empty; leave the key out to report the root filesystem's disk"
            } else if name.contains("/") || name.containsControlCharacter || name.utf8.count > 128 {
                "\"\(name.replacingControlCharacters().prefix(80))\" is not a device name of /proc/diskstats (like vdb)"
            } else {
                nil
            }
        if let problem {
            throw DecodingError.dataCorruptedError(forKey: .device, in: c, debugDescription: problem)
        }
        device = name
    }
}

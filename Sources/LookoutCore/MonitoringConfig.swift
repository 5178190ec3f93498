#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The hub's configuration file (DESIGN §5).
///
/// The file may be the monitoring object itself or any JSON object with a top-level
/// `"monitoring"` key (so an existing app config such as `cloud_dash.json` can be pointed
/// at directly; its other keys are ignored). Every key is optional. Unknown keys inside
/// the monitoring object are errors that name the key; bad values name the key, the
/// value and what was expected. Secrets never live here: only the names of files that
/// hold them.
public struct MonitoringConfig: Sendable, Equatable {
    public var thresholds = Thresholds.defaults
    /// Per-VM replacements for some thresholds, e.g. a backup VM whose disk runs full.
    public var overrides: [VMID: ThresholdOverrides] = [:]
    /// A VM whose document says nothing of its interval is stale after this long.
    public var staleAfterMinutes = 15
    public var notifications = Notifications()
    /// Where the dashboard is reachable, for links in notices.
    public var publicURL: String?
    public var retention = Retention()
    /// A file holding the API token (else `$LOOKOUT_TOKEN`); with a token, every API call needs it.
    public var tokenFile: String?
    /// A JSON file `{"<vm_id>": "<token>"}`: tokens that may only push their own VM's documents.
    public var vmTokensFile: String?
    /// Monthly traffic allowances per VM (`traffic.<vm_id>`); a VM without one still gets its totals.
    public var traffic: [VMID: TrafficAllowance] = [:]
    /// `forecast`: the disk-full projection (``DiskForecast``).
    public var forecast = ForecastSettings()
    /// Recurring windows in which the alerts they name send no notice (``QuietHours``).
    public var quietHours: [QuietHours] = []
    /// The public status page (`status_page`); `nil`: off, its routes answer 404.
    public var statusPage: StatusPageConfig?

    public init() {}

    /// The thresholds for one VM: the global ones with its overrides applied.
    public func thresholds(for vmID: VMID) -> Thresholds {
        guard let override = overrides[vmID] else { return thresholds }
        var result = thresholds
        result.cpu = override.cpu ?? result.cpu
        result.memory = override.memory ?? result.memory
        result.disk = override.disk ?? result.disk
        result.load = override.load ?? result.load
        result.swap = override.swap ?? result.swap
        result.diskUtil = override.diskUtil ?? result.diskUtil
        result.temperature = override.temperature ?? result.temperature
        result.certificates = override.certificates ?? result.certificates
        return result
    }

    /// The threshold of the filesystem mounted at `path` on one VM: its `fs:<path>`
    /// override, else the VM's `disk` threshold (which every filesystem shares).
    public func filesystemThreshold(for vmID: VMID, path: String) -> Threshold {
        overrides[vmID]?.filesystems[path] ?? thresholds(for: vmID).disk
    }

    /// Whether a new boot id of this VM sends a "rebooted" notice (`overrides.<vm>.reboot`, default on).
    public func rebootAlerts(for vmID: VMID) -> Bool {
        overrides[vmID]?.reboot ?? true
    }

    /// Reads a config file.
    /// - Throws: ``ConfigError`` naming the file and the key.
    public static func load(path: String) throws(ConfigError) -> MonitoringConfig {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 4 << 20)
        } catch {
            throw ConfigError("config \(error)")
        }
        do {
            return try parse(bytes)
        } catch {
            throw ConfigError("config \(path): \(error.message)")
        }
    }

    /// Parses the text of a config file (see ``load(path:)``).
    public static func parse(_ bytes: [UInt8]) throws(ConfigError) -> MonitoringConfig {
        do {
            return try JSONDecoder().decode(ConfigFile.self, from: Data(bytes)).monitoring
        } catch let error as DecodingError {
            throw ConfigError(DocumentError(error).description)
        } catch {
            throw ConfigError("\(error)")
        }
    }
}

/// A configuration that cannot be used, saying where and why.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct Threshold: Codable, Sendable, Equatable {
    public var warning: Double
    public var critical: Double
    /// How many samples in a row must cross before an alert opens, so a one-off spike
    /// pages no one (key `sustained_samples`, default 1).
    public var sustainedSamples: Int
    /// Load only (`per_core`): compare the load divided by the VM's cores; `nil` elsewhere.
    public var perCore: Bool?

    public init(warning: Double, critical: Double, sustainedSamples: Int = 1, perCore: Bool? = nil) {
        self.warning = warning
        self.critical = critical
        self.sustainedSamples = sustainedSamples
        self.perCore = perCore
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case warning, critical, sustainedSamples = "sustained_samples", perCore = "per_core"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        warning = try c.decode(Double.self, forKey: .warning)
        critical = try c.decode(Double.self, forKey: .critical)
        sustainedSamples = try c.decodeIfPresent(Int.self, forKey: .sustainedSamples) ?? 1
        perCore = try c.decodeIfPresent(Bool.self, forKey: .perCore)
        guard (1...1000).contains(sustainedSamples) else {
            throw DecodingError.dataCorruptedError(
                forKey: .sustainedSamples, in: c, debugDescription: "\(sustainedSamples) is not between 1 and 1000")
        }
        guard warning.isFinite, warning >= 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .warning, in: c, debugDescription: "\(warning) must be 0 or more")
        }
        guard critical.isFinite, critical >= warning else {
            throw DecodingError.dataCorruptedError(
                forKey: .critical, in: c,
                debugDescription: "\(critical) must be at least the warning threshold \(warning)")
        }
    }

    /// The highest severity `value` crosses (a threshold is crossed at or above it).
    public func severity(of value: Double) -> Severity {
        value >= critical ? .critical : value >= warning ? .warning : .ok
    }
}

/// How bad something is; ordered, so `max` gives the worst.
public enum Severity: String, Codable, Sendable, Comparable, CaseIterable {
    case ok, warning, critical

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

public struct Thresholds: Codable, Sendable, Equatable {
    public var cpu: Threshold
    public var memory: Threshold
    /// The root filesystem (`system.disk`), and every other filesystem without an `fs:<path>` override.
    public var disk: Threshold
    public var load: Threshold
    /// Swap used, percent: on a 1 GB VM swapping is the early sign of trouble.
    public var swap: Threshold
    /// The busy share of the root filesystem's disk (`system.disk_io.util_percent`); sustained
    /// over 3 samples by default, since a backup or an update keeps a disk busy for a minute.
    public var diskUtil: Threshold
    /// Per sensor, °C; off (`nil`) unless configured: sensors' safe ranges differ too much
    /// for one default, and most cloud VMs have none.
    public var temperature: Threshold?
    /// Days left on the certificates https and tls checks report (``CertificateRule``).
    public var certificates = CertificateThreshold.defaults

    public static let defaults = Thresholds(
        cpu: .init(warning: 70, critical: 90), memory: .init(warning: 80, critical: 95),
        disk: .init(warning: 80, critical: 90), load: Thresholds.defaultLoad)

    /// The default `disk_util` rule: warning 90 %, critical 98 %, over 3 samples in a row.
    public static let defaultDiskUtil = Threshold(warning: 90, critical: 98, sustainedSamples: 3)

    public init(
        cpu: Threshold, memory: Threshold, disk: Threshold, load: Threshold,
        swap: Threshold = .init(warning: 50, critical: 80), diskUtil: Threshold = Thresholds.defaultDiskUtil,
        temperature: Threshold? = nil
    ) {
        self.cpu = cpu
        self.memory = memory
        self.disk = disk
        self.load = load
        self.swap = swap
        self.diskUtil = diskUtil
        self.temperature = temperature
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case cpu, memory, disk, load, swap, diskUtil = "disk_util", temperature, certificates
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Thresholds.defaults
        cpu = try c.decodeIfPresent(Threshold.self, forKey: .cpu) ?? d.cpu
        memory = try c.decodeIfPresent(Threshold.self, forKey: .memory) ?? d.memory
        disk = try c.decodeIfPresent(Threshold.self, forKey: .disk) ?? d.disk
        load = try Threshold.decodeLoad(c, .load) ?? d.load
        swap = try c.decodeIfPresent(Threshold.self, forKey: .swap) ?? d.swap
        diskUtil = try Threshold.decodeDiskUtil(c, .diskUtil) ?? d.diskUtil
        temperature = try c.decodeIfPresent(Threshold.self, forKey: .temperature)
        certificates = try c.decodeIfPresent(CertificateThreshold.self, forKey: .certificates) ?? .defaults
        try Threshold.rejectPerCore(c, except: CodingKeys.load.stringValue)
    }
}

extension Threshold {
    /// `disk_util` keeps its default of 3 sustained samples when the key sets only the
    /// levels: a disk busy for one sample is normal, and the default is part of the rule.
    static func decodeDiskUtil<Key: CodingKey>(_ c: KeyedDecodingContainer<Key>, _ key: Key) throws -> Threshold? {
        guard var threshold = try c.decodeIfPresent(Threshold.self, forKey: key) else { return nil }
        let fields = try c.nestedContainer(keyedBy: CodingKeys.self, forKey: key)
        if !fields.contains(.sustainedSamples) {
            threshold.sustainedSamples = Thresholds.defaultDiskUtil.sustainedSamples
        }
        return threshold
    }
}

/// One VM's replacements (`overrides.<vm_id>`): any metric threshold, `fs:<absolute path>`
/// for one filesystem, and `reboot: false` to turn off its "rebooted" notices.
public struct ThresholdOverrides: Codable, Sendable, Equatable {
    public var cpu: Threshold?
    public var memory: Threshold?
    public var disk: Threshold?
    public var load: Threshold?
    public var swap: Threshold?
    public var diskUtil: Threshold?
    public var temperature: Threshold?
    public var certificates: CertificateThreshold?
    /// Per mount point (`"fs:/srv/backup"` → `"/srv/backup"`).
    public var filesystems: [String: Threshold] = [:]
    /// `false`: a new boot id of this VM sends nothing.
    public var reboot: Bool?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case cpu, memory, disk, load, swap, diskUtil = "disk_util", temperature, reboot, certificates
    }

    /// The prefix of a per-filesystem key.
    static let filesystemPrefix = "fs:"

    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyCodingKey.self)
        let known = CodingKeys.allCases.map(\.stringValue)
        for key in all.allKeys where !known.contains(key.stringValue) {
            guard key.stringValue.hasPrefix(Self.filesystemPrefix) else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: all.codingPath + [key],
                        debugDescription:
                            "unknown key (known: \(known.joined(separator: ", ")), fs:<absolute path>)"))
            }
            let path = String(key.stringValue.dropFirst(Self.filesystemPrefix.count))
            if let problem = Self.problem(withPath: path) {
                throw DecodingError.dataCorrupted(.init(codingPath: all.codingPath + [key], debugDescription: problem))
            }
            filesystems[path] = try all.decode(Threshold.self, forKey: key)
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpu = try c.decodeIfPresent(Threshold.self, forKey: .cpu)
        memory = try c.decodeIfPresent(Threshold.self, forKey: .memory)
        disk = try c.decodeIfPresent(Threshold.self, forKey: .disk)
        load = try Threshold.decodeLoad(c, .load)
        try Threshold.rejectPerCore(all, except: CodingKeys.load.stringValue)
        swap = try c.decodeIfPresent(Threshold.self, forKey: .swap)
        diskUtil = try Threshold.decodeDiskUtil(c, .diskUtil)
        temperature = try c.decodeIfPresent(Threshold.self, forKey: .temperature)
        reboot = try c.decodeIfPresent(Bool.self, forKey: .reboot)
        certificates = try c.decodeIfPresent(CertificateThreshold.self, forKey: .certificates)
    }

    /// `nil` when `path` names a mount point as the agent reports it (absolute, normalised,
    /// printable), else why not. The root is the `disk` threshold, so `fs:/` is refused
    /// rather than silently ignored.
    static func problem(withPath path: String) -> String? {
        let shown = "\"\(String(path.unicodeScalars.prefix(200)).debugDescription.dropFirst().dropLast())\""
        guard path.hasPrefix("/") else { return "\(shown) is not an absolute path (fs:/srv/backup)" }
        if path == "/" { return "the root filesystem is the \"disk\" threshold: set \"disk\" instead of \"fs:/\"" }
        guard path.utf8.count <= 4096 else { return "the path is longer than 4096 bytes" }
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            return "\(shown) contains control characters"
        }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            return "\(shown) is not a normalised path (no empty, '.' or '..' parts, no trailing '/')"
        }
        return nil
    }
}

public struct Notifications: Sendable, Equatable {
    public var email = EmailSettings()
    public var webhooks: [Webhook] = []
    /// Telegram, Gotify, Pushover, Matrix and Teams (`notifications.channels`).
    public var channels: [ChatChannelSettings] = []
    public var cooldownMinutes = 30
    /// `repeat_minutes`: per severity, how long after its last notice an alert still active
    /// is told again (``Reminder``); absent: never.
    public var repeatMinutes: [Severity: Int] = [:]
    public init() {}
}

public struct EmailSettings: Sendable, Equatable {
    public enum Security: String, Codable, Sendable, CaseIterable { case starttls, tls, none }
    public var enabled = false
    public var smtpHost = ""
    public var smtpPort: Int?
    public var security = Security.starttls
    public var from: String?
    public var recipients: [String] = []
    public var caFile: String?
    /// A file with `user` and `password` lines (else `$LOOKOUT_SMTP_USER` / `$LOOKOUT_SMTP_PASSWORD`).
    public var credentialsFile: String?
    /// Which notices email receives (`nil`: all).
    public var route: NotificationRoute?
    public init() {}

    /// 587 for STARTTLS, 465 for implicit TLS, 25 for plain.
    public var port: Int { smtpPort ?? (security == .tls ? 465 : security == .none ? 25 : 587) }
}

public struct Webhook: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case generic, ntfy, slack, discord }
    public var kind: Kind
    public var url: String
    /// Which notices this webhook receives (`nil`: all).
    public var route: NotificationRoute?

    public init(kind: Kind, url: String, route: NotificationRoute? = nil) {
        self.kind = kind
        self.url = url
        self.route = route
    }
}

public struct Retention: Codable, Sendable, Equatable {
    /// Every sample is kept this long ...
    public var rawDays = 14
    /// ... and hourly min / avg / max this long.
    public var hourlyDays = 365
    /// A VM silent this long is forgotten as `lookout forget` does (latest document, fleet
    /// entry, active alerts; history stays); `nil` (the default) never forgets on its own.
    public var forgetAfterDays: Int?
    public init() {}

    public init(rawDays: Int, hourlyDays: Int) {
        self.rawDays = rawDays
        self.hourlyDays = hourlyDays
    }
}

// MARK: - Decoding

/// The file: the monitoring object itself, or an object with a `"monitoring"` key.
struct ConfigFile: Decodable {
    var monitoring: MonitoringConfig

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        if let key = c.allKeys.first(where: { $0.stringValue == "monitoring" }) {
            monitoring = try c.decode(MonitoringConfig.self, forKey: key)
        } else {
            monitoring = try MonitoringConfig(from: decoder)
        }
    }
}

extension MonitoringConfig: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case thresholds, overrides, staleAfterMinutes = "stale_after_minutes", notifications
        case publicURL = "public_url", retention, tokenFile = "token_file", vmTokensFile = "vm_tokens_file"
        case traffic, forecast, quietHours = "quiet_hours", statusPage = "status_page"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        thresholds = try c.decodeIfPresent(Thresholds.self, forKey: .thresholds) ?? .defaults
        let rawOverrides = try c.decodeIfPresent([String: ThresholdOverrides].self, forKey: .overrides) ?? [:]
        for (key, value) in rawOverrides {
            do {
                overrides[try VMID(validating: key)] = value
            } catch {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [CodingKeys.overrides, AnyCodingKey(stringValue: key)],
                        debugDescription: error.description))
            }
        }
        staleAfterMinutes = try c.decodeIfPresent(Int.self, forKey: .staleAfterMinutes) ?? 15
        guard (1...10_080).contains(staleAfterMinutes) else {
            throw DecodingError.dataCorruptedError(
                forKey: .staleAfterMinutes, in: c,
                debugDescription: "\(staleAfterMinutes) is not between 1 and 10080 minutes")
        }
        notifications = try c.decodeIfPresent(Notifications.self, forKey: .notifications) ?? Notifications()
        publicURL = try c.decodeIfPresent(String.self, forKey: .publicURL)
        if let url = publicURL, let problem = HTTPURL.problem(with: url) {
            throw DecodingError.dataCorruptedError(forKey: .publicURL, in: c, debugDescription: problem)
        }
        retention = try c.decodeIfPresent(Retention.self, forKey: .retention) ?? Retention()
        tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile)
        vmTokensFile = try c.decodeIfPresent(String.self, forKey: .vmTokensFile)
        forecast = try c.decodeIfPresent(ForecastSettings.self, forKey: .forecast) ?? ForecastSettings()
        let rawTraffic = try c.decodeIfPresent([String: TrafficAllowance].self, forKey: .traffic) ?? [:]
        for (key, value) in rawTraffic {
            do {
                traffic[try VMID(validating: key)] = value
            } catch {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [CodingKeys.traffic, AnyCodingKey(stringValue: key)],
                        debugDescription: error.description))
            }
        }
        quietHours = try c.decodeIfPresent([QuietHours].self, forKey: .quietHours) ?? []
        statusPage = try c.decodeIfPresent(StatusPageConfig.self, forKey: .statusPage)
    }
}

extension Notifications: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case email, webhooks, channels, cooldownMinutes = "cooldown_minutes", repeatMinutes = "repeat_minutes"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        email = try c.decodeIfPresent(EmailSettings.self, forKey: .email) ?? EmailSettings()
        webhooks = try c.decodeIfPresent([Webhook].self, forKey: .webhooks) ?? []
        // Two entries with one target would get one channel id between them (and send every
        // notice there twice): refused by name, so the operator removes the copy.
        for (index, webhook) in webhooks.enumerated() {
            guard let first = webhooks[..<index].firstIndex(where: { $0.sameTarget(as: webhook) }) else { continue }
            let path: [any CodingKey] = [CodingKeys.webhooks, AnyCodingKey(intValue: index), Webhook.CodingKeys.url]
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: c.codingPath + path,
                    debugDescription: "the same target as notifications.webhooks[\(first)]; "
                        + "every notice would go there twice: remove one of the two entries"))
        }
        channels = try c.decodeIfPresent([ChatChannelSettings].self, forKey: .channels) ?? []
        for (index, channel) in channels.enumerated() {
            guard let first = channels[..<index].firstIndex(where: { $0.identity == channel.identity }) else {
                continue
            }
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: c.codingPath + [CodingKeys.channels, AnyCodingKey(intValue: index)],
                    debugDescription: "the same \(channel.kind.rawValue) target as notifications.channels[\(first)]; "
                        + "every notice would go there twice: remove one of the two entries"))
        }
        cooldownMinutes = try c.decodeIfPresent(Int.self, forKey: .cooldownMinutes) ?? 30
        guard (0...10_080).contains(cooldownMinutes) else {
            throw DecodingError.dataCorruptedError(
                forKey: .cooldownMinutes, in: c,
                debugDescription: "\(cooldownMinutes) is not between 0 and 10080 minutes")
        }
        do {
            repeatMinutes = try Reminder.decode(
                c.decodeIfPresent([String: Int].self, forKey: .repeatMinutes) ?? [:])
        } catch let error as ConfigError {
            throw DecodingError.dataCorruptedError(forKey: .repeatMinutes, in: c, debugDescription: error.message)
        }
    }
}

extension EmailSettings: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case enabled, smtpHost = "smtp_host", smtpPort = "smtp_port", security, from, recipients
        case caFile = "ca_file", credentialsFile = "credentials_file", route
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? false
        smtpHost = try c.decodeIfPresent(String.self, forKey: .smtpHost) ?? ""
        smtpPort = try c.decodeIfPresent(Int.self, forKey: .smtpPort)
        if let port = smtpPort, !(1...65_535).contains(port) {
            throw DecodingError.dataCorruptedError(
                forKey: .smtpPort, in: c, debugDescription: "\(port) is not a port (1-65535)")
        }
        let securityText = try c.decodeIfPresent(String.self, forKey: .security) ?? "starttls"
        guard let parsed = Security(rawValue: securityText) else {
            throw DecodingError.dataCorruptedError(
                forKey: .security, in: c, debugDescription: "\"\(securityText)\" is not one of starttls, tls, none")
        }
        security = parsed
        from = try c.decodeIfPresent(String.self, forKey: .from)
        recipients = try c.decodeIfPresent([String].self, forKey: .recipients) ?? []
        for (index, address) in recipients.enumerated() where !EmailSettings.looksLikeAddress(address) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: c.codingPath + [CodingKeys.recipients, AnyCodingKey(intValue: index)],
                    debugDescription: "\"\(address.prefix(200))\" is not an email address"))
        }
        if let from, !EmailSettings.looksLikeAddress(from) {
            throw DecodingError.dataCorruptedError(
                forKey: .from, in: c, debugDescription: "\"\(from.prefix(200))\" is not an email address")
        }
        caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
        credentialsFile = try c.decodeIfPresent(String.self, forKey: .credentialsFile)
        route = try c.decodeIfPresent(NotificationRoute.self, forKey: .route)
        if enabled {
            guard !smtpHost.isEmpty else {
                throw DecodingError.dataCorruptedError(
                    forKey: .smtpHost, in: c, debugDescription: "is empty but email is enabled")
            }
            guard !recipients.isEmpty else {
                throw DecodingError.dataCorruptedError(
                    forKey: .recipients, in: c, debugDescription: "is empty but email is enabled")
            }
        }
    }

    /// One `@`, something on each side, no spaces or line breaks (which would let a
    /// config inject SMTP commands or headers).
    static func looksLikeAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && text.utf8.count <= 254
            && !text.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0.isNewline })
    }
}

extension Webhook {
    /// The same URL, compared with the scheme and host in lower case (they are case-blind)
    /// and the path and query as written (they are not).
    public func sameTarget(as other: Webhook) -> Bool {
        Self.normalised(url) == Self.normalised(other.url)
    }

    static func normalised(_ url: String) -> String {
        let parts = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        // "https:", "", "host:port", "path?query" (the last one absent for a bare host)
        guard parts.count >= 3, parts[0].hasSuffix(":"), parts[1].isEmpty else { return url }
        let authority = parts[2]
        let hostEnd: Substring.Index = authority.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? authority.endIndex
        let head = "\(parts[0])//\(authority[..<hostEnd])".lowercased()
        let tail = String(authority[hostEnd...]) + (parts.count > 3 ? "/\(parts[3])" : "")
        return head + tail
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case kind, url, route }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kindText = try c.decodeIfPresent(String.self, forKey: .kind) ?? "generic"
        guard let parsed = Kind(rawValue: kindText) else {
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c, debugDescription: "\"\(kindText)\" is not one of generic, ntfy, slack, discord")
        }
        kind = parsed
        url = try c.decode(String.self, forKey: .url)
        if let problem = HTTPURL.problem(with: url) {
            throw DecodingError.dataCorruptedError(forKey: .url, in: c, debugDescription: problem)
        }
        route = try c.decodeIfPresent(NotificationRoute.self, forKey: .route)
    }
}

extension Retention {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case rawDays = "raw_days", hourlyDays = "hourly_days", forgetAfterDays = "forget_after_days"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rawDays = try c.decodeIfPresent(Int.self, forKey: .rawDays) ?? 14
        hourlyDays = try c.decodeIfPresent(Int.self, forKey: .hourlyDays) ?? 365
        guard (1...3650).contains(rawDays) else {
            throw DecodingError.dataCorruptedError(
                forKey: .rawDays, in: c, debugDescription: "\(rawDays) is not between 1 and 3650 days")
        }
        guard (rawDays...36_500).contains(hourlyDays) else {
            throw DecodingError.dataCorruptedError(
                forKey: .hourlyDays, in: c,
                debugDescription: "\(hourlyDays) must be at least raw_days (\(rawDays)) and at most 36500")
        }
        forgetAfterDays = try c.decodeIfPresent(Int.self, forKey: .forgetAfterDays)
        if let days = forgetAfterDays, !(1...3650).contains(days) {
            throw DecodingError.dataCorruptedError(
                forKey: .forgetAfterDays, in: c,
                debugDescription: "\(days) is not between 1 and 3650 days (or null: never)")
        }
    }
}

import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// The agent's options as given on the command line, before defaults are applied.
public struct AgentOptions: Sendable {
    public var vmID: String?
    public var procfs: String?
    /// `--sysfs`: the sysfs root (temperatures, interfaces' state).
    public var sysfs: String?
    public var diskPath: String?
    public var statePath: String?
    public var configPath: String?
    public var dockerSocket: String?
    public var dataFolder: String?
    public var stdout = false
    public var pushURL: String?
    public var token: String?
    public var intervalSeconds: Int?
    /// `--lock-wait`: how long `collect` waits for another run's lock on the state file.
    public var lockWaitSeconds: Int?

    public init() {}
}

/// Everything one agent run needs, resolved from flags, environment and config file in
/// that order of precedence.
public struct AgentSettings: Sendable {
    public var vmID: VMID
    public var procfs: ProcFS
    /// The sysfs root, `/sys` unless `--sysfs` names a fixture tree.
    public var sysfs: ProcFS
    /// Config `network.interfaces`: which interfaces the network figures cover.
    public var interfaces: InterfaceSelection
    public var diskPath: String
    public var statePath: String
    public var dockerSocket: String
    public var serviceChecks: [ServiceCheckConfig]
    public var dataFolder: String?
    public var stdout: Bool
    public var push: Push?
    public var intervalSeconds: Int
    /// Extra CAs for https checks and push (config `ca_file`).
    public var caFile: String?
    /// How long `collect` waits for an overlapping run to release the state file's lock.
    public var lockWait: Duration
    /// Config `filesystems`: which mount points `system.filesystems` adds to the root.
    public var filesystems: FilesystemSelection = .paths([])
    /// Config `disk_io.device`: the device of `system.disk_io` instead of the root's disk.
    public var diskIODevice: String?
    /// Config `auto_upgrade`: the hub base URL to upgrade from once a day (that of the push URL).
    public var autoUpgradeHub: String?

    /// Config `journal_samples`: documents kept in `DATA/<vm_id>/journal/` with `--data` (0: none).
    public var journalSamples = Journal.defaultLimit

    public struct Push: Sendable {
        public var url: String
        public var token: String?
        public var spoolFolder: String
        public var spoolLimit: Int
        public var replayLimit: Int
    }

    /// Long enough for a run that is only slow (a service check timing out), short enough
    /// that a wedged run does not stack cron jobs for minutes.
    public static let defaultLockWaitSeconds = 10

    /// Documents kept while the hub is unreachable: a week of 5-minute samples.
    public static let defaultSpoolLimit = 2016

    /// Applies defaults: vm_id from `--vm-id`, else `$VM_ID`, else the config file, else
    /// the host name; output to stdout when no destination is named.
    /// - Throws: ``CollectorError`` naming the option or key that is wrong.
    public static func resolve(
        _ options: AgentOptions, environment: [String: String], hostName: String = AgentSettings.hostName()
    ) throws(CollectorError) -> AgentSettings {
        let config =
            try options.configPath.map { path throws(CollectorError) in try AgentConfiguration.load(path: path) }
            ?? AgentConfiguration()

        let idText: String
        let idSource: String
        if let flag = options.vmID {
            (idText, idSource) = (flag, "--vm-id")
        } else if let env = environment["VM_ID"], !env.isEmpty {
            (idText, idSource) = (env, "$VM_ID")
        } else if let fromConfig = config.vmID {
            (idText, idSource) = (fromConfig.rawValue, "vm_id in the config")
        } else {
            (idText, idSource) = (hostName, "the host name")
        }
        let vmID: VMID
        do {
            vmID = try VMID(validating: idText)
        } catch {
            throw CollectorError("\(idSource): \(error)")
        }

        let interval = options.intervalSeconds ?? config.intervalSeconds ?? 300
        guard (1...86_400).contains(interval) else {
            throw CollectorError("--interval: \(interval) is not between 1 and 86400 seconds")
        }

        let statePath = options.statePath ?? defaultStatePath(environment: environment)
        var push: Push?
        if let url = options.pushURL ?? config.push?.url {
            if let problem = HTTPURL.problem(with: url) {
                throw CollectorError("--push: \(problem)")
            }
            var token = options.token ?? environment["LOOKOUT_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            if token == nil, let file = config.push?.tokenFile {
                do {
                    let bytes = try AtomicFile.read(file, limit: 4096)
                    token = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
                } catch {
                    throw CollectorError("push.token_file: \(error)")
                }
            }
            if let token, token.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw CollectorError("push token: it holds a control character (a line break?); it must be one line")
            }
            let stateFolder = AtomicFile.folder(of: statePath)
            push = Push(
                url: url, token: token, spoolFolder: "\(stateFolder)/spool",
                spoolLimit: config.push?.spoolLimit ?? defaultSpoolLimit,
                replayLimit: config.push?.replayLimit ?? Pusher.defaultReplayLimit)
        }
        let lockWait = options.lockWaitSeconds ?? defaultLockWaitSeconds
        guard (0...3600).contains(lockWait) else {
            throw CollectorError("--lock-wait: \(lockWait) is not between 0 and 3600 seconds")
        }
        if let caFile = config.caFile {
            // Read now, so a wrong path stops the agent at start instead of failing every https check.
            do {
                _ = try AtomicFile.read(caFile, limit: 4 << 20)
            } catch {
                throw CollectorError("ca_file: \(error)")
            }
        }
        let dataFolder = options.dataFolder ?? config.data
        let anyDestination = dataFolder != nil || push != nil
        var settings = AgentSettings(
            vmID: vmID,
            procfs: ProcFS(root: options.procfs ?? "/proc"),
            sysfs: ProcFS(root: options.sysfs ?? "/sys"),
            interfaces: config.network?.selection ?? .automatic,
            diskPath: options.diskPath ?? config.diskPath ?? "/",
            statePath: statePath,
            dockerSocket: options.dockerSocket ?? config.dockerSocket ?? "/var/run/docker.sock",
            serviceChecks: config.services,
            dataFolder: dataFolder,
            stdout: options.stdout || !anyDestination,
            push: push,
            intervalSeconds: interval,
            caFile: config.caFile,
            lockWait: .seconds(lockWait))
        settings.filesystems = config.filesystems ?? .paths([])
        settings.diskIODevice = config.diskIO?.device
        if config.autoUpgrade == true {
            guard let url = push?.url, let hub = HubReleases.hubBase(ofIngest: url) else {
                throw CollectorError(
                    "auto_upgrade: the agent upgrades from the hub it pushes to; set push.url (or --push), "
                        + "or run `lookout-agent upgrade --from URL` from cron instead")
            }
            guard !HTTPURL.sendsInClearText(hub) else {
                throw CollectorError(
                    "auto_upgrade: \(hub) is plain http on another machine, and an upgrade fetched in clear text "
                        + "could be anyone's binary; push to the hub's https address, or upgrade by hand with "
                        + "`lookout-agent upgrade --insecure-http`")
            }
            settings.autoUpgradeHub = hub
        }

        settings.journalSamples = config.journalSamples ?? Journal.defaultLimit
        return settings
    }

    /// `/var/lib/lookout-agent/state.json` for root, else under `$XDG_STATE_HOME`
    /// (or `~/.local/state`), so a cron job of an ordinary user works without setup.
    public static func defaultStatePath(environment: [String: String]) -> String {
        if geteuid() == 0 { return "/var/lib/lookout-agent/state.json" }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return "\(xdg)/lookout-agent/state.json" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return "\(home)/.local/state/lookout-agent/state.json"
    }

    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A fully qualified host name keeps only its first label, as `hostname -s` does.
        return String(name.split(separator: ".").first ?? "localhost")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

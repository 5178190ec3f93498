import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `lookout-agent upgrade`: asks a hub which agent it has for this architecture
/// (`/install/agents.json`), and when that one is newer downloads it, checks it against
/// both the catalog and `/install/SHA256SUMS`, and hands it to ``BinaryReplacer``.
public struct Upgrader: Sendable {
    /// The hub's base URL, without a trailing `/`.
    public var hub: String
    /// `uname -m` of this machine.
    public var arch: String
    public var currentVersion: String
    public var replacer: BinaryReplacer
    var httpClient: AgentHTTPClient
    /// Install the hub's binary even when it is older than this one.
    public var allowDowngrade = false
    /// Where dpkg lists the files of each package; a binary the `lookout-agent` package
    /// installed is upgraded with the package, never behind dpkg's back.
    public var dpkgInfo = "/var/lib/dpkg/info"
    /// A bound for the binary's download (a release agent is ~10 MB); the small files get 30 s.
    public var timeout: Duration = .seconds(300)

    /// No agent binary is this large; the cap keeps a wrong answer from filling the memory.
    public static let sizeLimit = 256 << 20

    public init(
        hub: String, binaryPath: String, caFile: String? = nil, arch: String = Upgrader.machine(),
        currentVersion: String = LookoutVersion.current
    ) {
        var hub = hub
        while hub.hasSuffix("/") { hub.removeLast() }
        self.hub = hub
        self.arch = arch
        self.currentVersion = currentVersion
        self.replacer = BinaryReplacer(path: binaryPath)
        self.httpClient = AgentHTTPClient(caFile: caFile)
    }

    /// What a run did.
    public enum Outcome: Sendable, Equatable {
        case upgraded(from: String, to: String)
        /// The hub's agent is this one's version.
        case upToDate(String)
        /// The hub's agent is older than this one (and no downgrade was asked for).
        case newerThanHub(current: String, hub: String)
        /// `--check`: the hub has a newer one.
        case available(current: String, hub: String)

        /// The one line the command prints.
        public var message: String {
            switch self {
            case .upgraded(let from, let to):
                "upgraded lookout-agent \(from) → \(to); the previous one is kept as .previous"
            case .upToDate(let version): "already up to date (\(version))"
            case .newerThanHub(let current, let hub):
                "already up to date (\(current)); the hub has an older agent (\(hub)), pass --allow-downgrade to install it"
            case .available(let current, let hub): "\(hub) is available (this is \(current)): run lookout-agent upgrade"
            }
        }
    }

    /// Checks the hub and upgrades when it has a newer agent (or only reports, with `checkOnly`).
    public func run(checkOnly: Bool = false) async throws(UpgradeError) -> Outcome {
        let releases = try HubReleases.parse(
            try await fetch("/install/agents.json", what: "the hub's agent list", limit: 1 << 20))
        guard let release = releases.agents.first(where: { $0.arch == arch }) else {
            let offered = releases.agents.map(\.arch)
            throw .failed(
                "the hub has no agent binary for \(arch) (it has: \(offered.isEmpty ? "none" : offered.joined(separator: ", "))); "
                    + "put one under its --agent-binaries folder as \(arch)/lookout-agent")
        }
        guard let version = release.version else {
            throw .failed(
                "the hub cannot tell the version of its \(arch) agent (the file has no LOOKOUT_VERSION stamp)")
        }
        guard let offered = ReleaseVersion(version), let current = ReleaseVersion(currentVersion) else {
            throw .failed("the hub's agent version \"\(version.prefix(40))\" is not a release number")
        }
        if offered == current { return .upToDate(currentVersion) }
        if offered < current, !allowDowngrade { return .newerThanHub(current: currentVersion, hub: version) }
        if checkOnly { return .available(current: currentVersion, hub: version) }
        if isPackaged() {
            throw .failed(
                "\(replacer.path) belongs to the lookout-agent package: upgrade the package (apt, dpkg -i) instead")
        }
        guard HubReleases.isDigest(release.sha256), (1...Self.sizeLimit).contains(release.size) else {
            throw .failed("the hub's entry for \(arch) has no valid sha256 or size")
        }
        let expected = release.sha256.lowercased()
        let sums = HubReleases.checksums(
            String(
                decoding: try await fetch("/install/SHA256SUMS", what: "the hub's checksums", limit: 1 << 20),
                as: UTF8.self))
        guard let listed = sums["\(arch)/lookout-agent"] else {
            throw .failed("the hub's SHA256SUMS has no line for \(arch)/lookout-agent: not upgrading")
        }
        guard listed == expected else {
            throw .failed("the hub's agents.json and SHA256SUMS disagree on \(arch)/lookout-agent: not upgrading")
        }
        let bytes = try await fetch(
            "/install/lookout-agent/\(arch)", what: "the \(arch) agent binary", limit: release.size, timeout: timeout)
        guard bytes.count == release.size else {
            throw .failed("the download is \(bytes.count) bytes, agents.json says \(release.size): not upgrading")
        }
        let actual = SHA256.hex(bytes)
        guard actual == expected else {
            throw .failed("checksum mismatch: the download is \(actual), the hub lists \(expected): not upgrading")
        }
        try replacer.install(bytes, expecting: version)
        return .upgraded(from: currentVersion, to: version)
    }

    /// Whether dpkg's list of the `lookout-agent` package names the binary.
    func isPackaged() -> Bool {
        guard let bytes = try? AtomicFile.read("\(dpkgInfo)/lookout-agent.list", limit: 1 << 20) else { return false }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").contains { $0 == replacer.path }
    }

    /// GETs `path` of the hub; unreachable (exit 75) for network failures and 5xx.
    private func fetch(
        _ path: String, what: String, limit: Int, timeout: Duration = .seconds(30)
    ) async throws(UpgradeError) -> [UInt8] {
        let url = hub + path
        let response: AgentHTTPClient.Response
        do {
            response = try await httpClient.get(url, timeout: timeout, limit: .reject(limit))
        } catch {
            switch error {
            case .tooLarge, .malformed, .invalidRequest, .tls:
                throw .failed("\(what) at \(url): \(error)")
            default:
                throw .unreachable("the hub is unreachable: \(url): \(error); try again later")
            }
        }
        switch response.status {
        case 200: return response.body
        case 500...599:
            throw .unreachable("the hub answered \(response.status) for \(url); try again later")
        case 404:
            throw .failed("\(url) answered 404: is \(hub) a Lookout hub of 0.1.0 or later?")
        default:
            throw .failed("\(url) answered \(response.status)")
        }
    }

    /// `uname -m`.
    public static func machine() -> String {
        var name = utsname()
        guard uname(&name) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &name.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// The running executable (`/proc/self/exe`), without the ` (deleted)` the kernel adds
    /// once it was replaced.
    public static func runningBinary() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        var path = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path
    }
}

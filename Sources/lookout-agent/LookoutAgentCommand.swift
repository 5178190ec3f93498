import ArgumentParser
import Logging
import LookoutCollector
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

@main
struct LookoutAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookout-agent",
        abstract:
            "Collect one VM's metrics document (CPU, memory, swap, disk, network, temperatures, uptime, load, "
            + "containers, services).",
        discussion: """
            Run `collect` from cron every 5 minutes, or `run --interval N` as a daemon. The document goes to \
            --data DIR (DIR/<vm_id>/metrics.json, for Syncthing or rsync to carry to the hub), to --push URL \
            (the hub's /api/monitoring/ingest), or to standard output (the default when neither is given). \
            `upgrade` replaces the agent with the newer one its hub serves.

            Exit codes: 0 ok; 1 the sample could not be taken or written (or pushed and not spooled: a \
            full disk); 64 bad usage; 75 try again later, nothing lost: the hub was unreachable and the \
            document is on disk in the spool, or another collect held the state file's lock; 78 bad \
            configuration.
            """,
        version: LookoutVersion.current,
        subcommands: [Collect.self, Run.self, Upgrade.self]
    )
}

struct SharedOptions: ParsableArguments {
    @Option(
        name: .customLong("vm-id"), help: "This VM's id, [A-Za-z0-9._-]{1,64}. Default: $VM_ID, else the host name.")
    var vmID: String?

    @Option(help: ArgumentHelp("Root of the proc file system to read.", valueName: "dir"))
    var procfs: String = "/proc"

    @Option(
        help: ArgumentHelp(
            "Root of the sys file system to read (temperature sensors, network interfaces' state).",
            valueName: "dir"))
    var sysfs: String = "/sys"

    @Option(
        name: .customLong("disk-path"),
        help: ArgumentHelp("Mount point whose disk use is reported (default: /).", valueName: "path"))
    var diskPath: String?

    @Option(
        help: ArgumentHelp(
            "File keeping the previous CPU and network counters, so each run reports the average since the last one. "
                + "Default: /var/lib/lookout-agent/state.json as root, else ~/.local/state/lookout-agent/state.json.",
            valueName: "file"))
    var state: String?

    @Option(
        help: ArgumentHelp("Agent config file (JSON): service checks, docker socket, push target.", valueName: "file"))
    var config: String?

    @Option(
        name: .customLong("docker-socket"),
        help: ArgumentHelp("Docker Engine API socket (default: /var/run/docker.sock).", valueName: "path"))
    var dockerSocket: String?

    @Option(
        help: ArgumentHelp(
            "Write the document atomically to DIR/<vm_id>/metrics.json, and keep the last journal_samples "
                + "(config, default 288) in DIR/<vm_id>/journal/ so a sync outage loses no sample.",
            valueName: "dir"))
    var data: String?

    @Flag(help: "Print the document to standard output (the default when no --data or --push is given).")
    var stdout = false

    @Option(
        help: ArgumentHelp(
            "POST the document to this hub ingest URL; undelivered documents are spooled and resent.", valueName: "url")
    )
    var push: String?

    @Option(
        help: ArgumentHelp(
            "Bearer token for --push. Default: $LOOKOUT_TOKEN, else push.token_file in the config.", valueName: "token")
    )
    var token: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Flag(
        name: .customLong("exit-unless-configured"),
        help: ArgumentHelp(
            "When neither --data, --stdout, --push nor the config's \"data\" or \"push\" names a destination, "
                + "log one line saying so and exit 0 instead of printing to standard output (the packaged "
                + "systemd unit uses it, so a fresh install waits for its config instead of filling the journal)."))
    var exitUnlessConfigured = false

    func agentOptions(interval: Int?, lockWait: Int? = nil) -> AgentOptions {
        var options = AgentOptions()
        options.vmID = vmID
        options.procfs = procfs
        options.sysfs = sysfs
        options.diskPath = diskPath
        options.statePath = state
        options.configPath = config
        options.dockerSocket = dockerSocket
        options.dataFolder = data
        options.stdout = stdout
        options.pushURL = push
        options.token = token
        options.intervalSeconds = interval
        options.lockWaitSeconds = lockWait
        return options
    }

    /// Bootstraps logging to standard error and builds the agent, or exits 78 with the
    /// configuration error.
    func makeAgent(interval: Int?, lockWait: Int? = nil) throws -> Agent {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lookout-agent")
        do {
            let settings = try AgentSettings.resolve(
                agentOptions(interval: interval, lockWait: lockWait), environment: environment())
            if exitUnlessConfigured, !stdout, settings.dataFolder == nil, settings.push == nil {
                logger.notice(
                    "no destination configured: set \"data\" (a folder file sync carries to the hub) or \"push\" in \(config ?? "the config (--config FILE)"), then restart the agent (systemctl restart lookout-agent)"
                )
                throw ExitCode.success
            }
            return Agent(settings: settings, logger: logger)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)
        }
    }

    private func environment() -> [String: String] {
        ProcessInfo.processInfo.environment
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct Collect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take one sample and exit (for cron).",
        discussion: """
            The first run with no state file samples CPU for 250 ms; later runs report the average since the \
            previous run. Runs that overlap take turns: each holds a lock on <state>.lock from reading the \
            state file to saving it.
            """)

    @OptionGroup var options: SharedOptions

    @Option(
        help: ArgumentHelp(
            "How often cron runs this, in seconds; the hub calls the VM stale after 3 × this.", valueName: "seconds"))
    var interval: Int?

    @Option(
        name: .customLong("lock-wait"),
        help: ArgumentHelp(
            "Seconds to wait while another collect holds the state file's lock (<state>.lock) before "
                + "giving up with exit 75 (default: 10).",
            valueName: "seconds"))
    var lockWait: Int?

    func run() async throws {
        let agent = try options.makeAgent(interval: interval, lockWait: lockWait)
        let status = await agent.collectOnce()
        if status != .ok { throw ExitCode(status.exitCode) }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample every --interval seconds until stopped (for systemd).")

    @OptionGroup var options: SharedOptions

    @Option(help: ArgumentHelp("Seconds between samples.", valueName: "seconds"))
    var interval: Int = 60

    func run() async throws {
        let agent = try options.makeAgent(interval: interval)
        await agent.run(interval: .seconds(interval))
    }
}

struct Upgrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace this agent with the newer one its hub offers (or roll back to the previous one).",
        discussion: """
            Asks <from>/install/agents.json for this architecture's agent; when it is newer than this one, \
            downloads <from>/install/lookout-agent/<arch>, checks its SHA-256 against agents.json and \
            /install/SHA256SUMS, runs `<new file> --version`, keeps the installed binary as \
            lookout-agent.previous and renames the new one over it (a running agent keeps running; its next \
            start is the new version: `systemctl restart lookout-agent`). Every refusal leaves the installed \
            binary untouched.

            Exit codes: 0 upgraded, rolled back or already up to date; 1 refused or failed (the message says \
            why); 64 bad usage; 75 the hub is unreachable, try again later; 78 bad configuration.
            """)

    @Option(
        help: ArgumentHelp(
            "The hub's base URL. Default: the hub of push.url in --config (the URL before /api/monitoring/ingest).",
            valueName: "url"))
    var from: String?

    @Option(help: ArgumentHelp("Agent config file, for push.url and ca_file.", valueName: "file"))
    var config: String?

    @Option(
        help: ArgumentHelp(
            "The installed binary to replace. Default: this running one (/proc/self/exe).", valueName: "path"))
    var binary: String?

    @Flag(help: "Put lookout-agent.previous back (the replaced one becomes .previous, so a second rollback undoes it).")
    var rollback = false

    @Flag(help: "Only say whether the hub has a newer agent; change nothing.")
    var check = false

    @Flag(name: .customLong("allow-downgrade"), help: "Install the hub's agent even when it is older than this one.")
    var allowDowngrade = false

    @Flag(
        name: .customLong("insecure-http"),
        help: "Allow a plain http:// hub on another machine (anyone on the path could replace the binary).")
    var insecureHTTP = false

    func validate() throws {
        if rollback, check || from != nil || allowDowngrade {
            throw ValidationError(
                "--rollback takes no --from, --check or --allow-downgrade: it only restores .previous")
        }
    }

    func run() async throws {
        guard let path = binary ?? Upgrader.runningBinary() else {
            fail("cannot find this binary through /proc/self/exe; pass --binary PATH", code: 1)
        }
        if rollback {
            do {
                let version = try BinaryReplacer(path: path).rollback()
                print("rolled back \(path) to \(version); the replaced one is kept as \(path).previous")
                return
            } catch {
                fail("\(error)", code: error.exitCode)
            }
        }
        let configuration: AgentConfiguration
        do {
            configuration =
                try config.map { file throws(CollectorError) in try AgentConfiguration.load(path: file) }
                ?? AgentConfiguration()
        } catch {
            fail("\(error)", code: 78)
        }
        guard let hub = from ?? configuration.push.flatMap({ HubReleases.hubBase(ofIngest: $0.url) }) else {
            fail(
                "no hub to upgrade from: pass --from https://hub.example.com, or --config with push.url", code: 64)
        }
        if let problem = HTTPURL.problem(with: hub) { fail("--from: \(problem)", code: 64) }
        if HTTPURL.sendsInClearText(hub), !insecureHTTP {
            fail(
                "\(hub) is plain http on another machine: a binary fetched in clear text could be anyone's, "
                    + "checksum included; use the hub's https address, or --insecure-http on a network you trust",
                code: 1)
        }
        var upgrader = Upgrader(hub: hub, binaryPath: path, caFile: configuration.caFile)
        upgrader.allowDowngrade = allowDowngrade
        do {
            print(try await upgrader.run(checkOnly: check).message)
        } catch {
            fail("\(error)", code: error.exitCode)
        }
    }

    /// One line on standard error, then the exit code.
    private func fail(_ message: String, code: Int32) -> Never {
        let line = Array("lookout-agent upgrade: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        Self.exit(withError: ExitCode(code))
    }
}

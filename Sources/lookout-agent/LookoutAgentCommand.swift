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
            (the hub's /api/monitoring/ingest), or to standard output (the default when neither is given).

            Exit codes: 0 ok; 1 the sample could not be taken or written (or pushed and not spooled: a \
            full disk); 64 bad usage; 75 try again later, nothing lost: the hub was unreachable and the \
            document is on disk in the spool, or another collect held the state file's lock; 78 bad \
            configuration.
            """,
        version: LookoutVersion.current,
        subcommands: [Collect.self, Run.self]
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

    @Option(help: ArgumentHelp("Write the document atomically to DIR/<vm_id>/metrics.json.", valueName: "dir"))
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

import ArgumentParser
import Logging
import LookoutCore
import LookoutHub

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say what a config would have sent: the alert engine run over the stored history.",
        discussion: """
            Rebuilds every stored sample of the last --since as the document the hub judged and runs the real alert \
            engine over them at their own times (one pass per sample, one more where a gap made the VM stale), \
            first with the current config (--current-config), then with the proposed one (--config). Prints \
            every notice the proposed config (else the current one) would have sent, then per VM and alert the \
            notices and minutes firing of both side by side. Sends nothing and writes nothing: the history \
            database is opened read-only, alerts.json and the outbox are not touched. Replays raw samples only \
            (retention.raw_days, 14 by default); traffic alerts are not replayed (README "Replay").

            Exit codes: 0 done; 1 --vm names a VM without samples; 64 bad options; 78 a config or the history \
            database cannot be used (named).
            """)

    @Option(help: ArgumentHelp("Data folder of the hub (as for serve).", valueName: "dir"))
    var data = "./lookout-data"

    @Option(help: ArgumentHelp("How far back: 30m, 24h, 7d (at most 400d).", valueName: "duration"))
    var since = "7d"

    @Option(
        name: .customLong("current-config"),
        help: ArgumentHelp("The config the hub runs with (default: the built-in defaults).", valueName: "file"))
    var currentConfig: String?

    @Option(help: ArgumentHelp("The proposed config to compare with the current one.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Replay only this VM.", valueName: "vm_id"))
    var vm: String?

    @Flag(help: "Print JSON (both configs' notices and the table) instead of text.")
    var json = false

    func validate() throws {
        guard ReplayHistory.parseSince(since) != nil else {
            throw ValidationError("--since: \"\(since.prefix(40))\" is not a duration like 30m, 24h, 7d (at most 400d)")
        }
        if let vm {
            do {
                _ = try VMID(validating: vm)
            } catch {
                throw ValidationError("--vm: \(error)")
            }
        }
    }

    func run() async throws {
        let logger = HubCommandSupport.bootstrapLogging(level: .notice, label: "lookout")
        func fail(_ message: String, code: Int32) -> ExitCode {
            logger.critical("replay: \(message)")
            return ExitCode(code)
        }
        func loadConfig(_ path: String?, option: String) throws -> MonitoringConfig {
            guard let path else { return MonitoringConfig() }
            do {
                return try MonitoringConfig.load(path: path)
            } catch {
                throw fail("\(option): \(error)", code: 78)
            }
        }
        if config != nil, currentConfig == nil {
            logger.warning(
                """
                replay: the "current" column is the built-in defaults; give --current-config with the file \
                serve runs with to compare the proposal with what the hub does today
                """)
        }
        let current = try loadConfig(currentConfig, option: "--current-config")
        let proposed = try config.map { try loadConfig($0, option: "--config") }
        let now = Date()
        let from = now.addingTimeInterval(-(ReplayHistory.parseSince(since) ?? 0))
        let report: ReplayReport
        do {
            let history = try ReplayHistory(path: "\(data)/lookout.sqlite")
            var vms = try history.vmIDs()
            if let vm {
                let id = try VMID(validating: vm)
                guard vms.contains(id) else { throw fail("no samples of \(id) in \(history.path)", code: 1) }
                vms = [id]
            }
            report = try ReplayReport.build(
                history: history, vms: vms, current: current, proposed: proposed, from: from, to: now)
        } catch let error as HubError {
            throw fail("\(error)", code: error.exitCode.rawValue)
        }
        let labels = ReplayReport.Labels(current: currentConfig ?? "defaults", proposed: config)
        if json {
            try report.writeJSON(labels: labels) { print($0, terminator: "") }
            print()
        } else {
            print(report.text(labels: labels))
        }
    }
}

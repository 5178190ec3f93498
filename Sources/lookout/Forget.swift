import ArgumentParser
import Logging
import LookoutCore
import LookoutHub

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Forget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forget a VM that left: its latest document, its place on the dashboard and its active alerts.",
        discussion: """
            Removes DATA/<vm_id>/metrics.json and journal/, the VM's latest document in the history database and \
            its active alerts in DATA/alerts.json (no "resolved" notice is sent). The dashboard, the summary and \
            /metrics stop listing it. Works with the hub running or stopped: a running hub drops the VM from \
            memory at its next scan of the data folder (the command waits for that, up to --wait). A document \
            newer than the forget brings the VM back (it is alive); older ones (a late file, a spool replay) are \
            ignored. History stays until retention takes it, unless --purge. retention.forget_after_days in the \
            config does the same for every VM silent that long.

            Exit codes: 0 forgotten; 1 the hub knows no such VM, or a failure; 64 not a valid vm_id; 78 a bad \
            config or a damaged history database (named, left unchanged).
            """)

    @OptionGroup var options: HubOptions

    @Argument(help: ArgumentHelp("The VM to forget.", valueName: "vm_id"))
    var vmID: String

    @Flag(help: "Also delete its history now (samples, hourly rollups, resolved alerts).")
    var purge = false

    @Option(help: ArgumentHelp("Seconds to wait for a running hub to drop the VM.", valueName: "seconds"))
    var wait = 60

    func validate() throws {
        guard (0...3600).contains(wait) else { throw ValidationError("--wait must be 0-3600 seconds") }
    }

    func run() async throws {
        let logger = HubCommandSupport.bootstrapLogging(level: options.logLevel, label: "lookout")
        let vm: VMID
        do {
            vm = try VMID(validating: vmID)
        } catch {
            throw ValidationError("vm_id: \(error)")
        }
        _ = try options.load(logger: logger, environment: HubCommandSupport.environment())
        let report: VMForgetter.Report
        do {
            let store = try HistoryStore(path: "\(options.data)/lookout.sqlite", logger: logger)
            let forgetter = VMForgetter(dataFolder: options.data, store: store, logger: logger)
            guard
                try await store.knows(vmID: vm) || FileManager.default.fileExists(atPath: "\(options.data)/\(vm)")
                    || ForgetRequests(dataFolder: options.data).load(vm) != nil
            else {
                print(
                    "\(vm) is not known to this hub (no document, no history, no folder in \(options.data)): "
                        + "nothing to do")
                throw ExitCode(1)
            }
            report = try await forgetter.forget(vm, purge: purge, wait: .seconds(wait))
        } catch let error as HubError {
            logger.critical("\(error)")
            throw error.exitCode
        }
        var lines = ["forgot \(vm):"]
        let files = report.removedFiles.isEmpty ? "no files" : report.removedFiles.joined(separator: ", ")
        lines.append("  removed: \(files)")
        lines.append("  latest document: \(report.latestRemoved ? "deleted" : "none stored")")
        lines.append("  active alerts removed: \(report.alertsRemoved)")
        lines.append(
            purge
                ? "  history purged: \(report.samplesPurged) sample(s)"
                : "  history kept until retention takes it (--purge deletes it)")
        switch report.appliedByRunningHub {
        case true?: lines.append("  the running hub dropped it")
        case false?:
            lines.append("  the running hub has not picked it up within --wait \(wait) s; it will at its next scan")
        case nil: lines.append("  no hub is running; the next one to start knows it was forgotten")
        }
        print(lines.joined(separator: "\n"))
    }
}

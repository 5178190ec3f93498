import ArgumentParser
import Logging
import LookoutCore
import LookoutHub

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `lookout enroll <vm_id>`: a one-time code for a new VM and the command that installs the
/// agent there with it (the dashboard's Add VM does the same through the API).
struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Add a VM: make a one-time enrollment code and print the command to run on the new VM.",
        discussion: """
            The command downloads /install/agent.sh from the hub, which installs the agent binary for the VM's \
            architecture (checked against /install/SHA256SUMS), trades the code for the VM's own push token, writes \
            /etc/lookout/agent.json and /etc/lookout/token, starts the agent and sends a first sample.

            The code is single use and valid for --valid (1h by default); only its SHA-256 is stored, in \
            DATA/enrollments.json. The hub writes the VM's token to vm_tokens_file (else DATA/vm-tokens.json) and \
            accepts it at once. Enrolling a VM that already has a token gives it a new one; the old one stops \
            working. The hub must have a main token (LOOKOUT_TOKEN or token_file), or it refuses to trade codes.

            Exit codes: 0 done; 1 the enrollments file could not be written; 64 bad usage; 78 a bad config.
            """)

    @Argument(help: ArgumentHelp("The new VM's vm_id ([A-Za-z0-9._-], at most 64).", valueName: "vm_id"))
    var vmID: String

    @Option(help: ArgumentHelp("Data folder of the hub (as for serve).", valueName: "dir"))
    var data = "./lookout-data"

    @Option(
        help: ArgumentHelp(
            "The hub's config file (as for serve): its public_url is the default --hub.", valueName: "file"))
    var config: String?

    @Option(
        help: ArgumentHelp(
            "The hub's address as the new VM reaches it (default: public_url in the config).", valueName: "url"))
    var hub: String?

    @Option(help: ArgumentHelp("How long the code works: 30m, 1h, 1d (at most 7d).", valueName: "duration"))
    var valid = "1h"

    func validate() throws {
        if let problem = VMID.problem(with: vmID) {
            throw ValidationError("vm_id \"\(vmID.prefix(80))\": \(problem)")
        }
        guard let seconds = Silence.duration(valid), seconds >= 60, seconds <= EnrollmentFile.maximumValidity else {
            throw ValidationError("--valid: \"\(valid.prefix(20))\" is not a duration from 1m to 7d such as 1h")
        }
    }

    func run() async throws {
        let monitoring: MonitoringConfig
        do {
            monitoring =
                try config.map { path throws(ConfigError) in try MonitoringConfig.load(path: path) }
                ?? MonitoringConfig()
        } catch {
            Self.complain("\(error)")
            throw ExitCode(78)
        }
        guard let given = hub ?? monitoring.publicURL else {
            Self.complain(
                "no hub address: give --hub https://hub.example.com (the address the new VM reaches the hub at), "
                    + "or set public_url in the config passed with --config")
            throw ExitCode(64)
        }
        let address: String
        switch InstallCommand.hubAddress(given) {
        case .success(let value): address = value
        case .failure(let error):
            Self.complain(error.message)
            throw ExitCode(64)
        }
        let vm = try VMID(validating: vmID)
        let validity = Silence.duration(valid)!
        let made: (code: String, enrollment: Enrollment)
        do {
            try AtomicFile.makeDirectories(data)
            made = try await EnrollmentFile(dataFolder: data).create(vm: vm, validity: validity, now: Date())
        } catch let error as EnrollmentError {
            Self.complain(error.message)
            throw ExitCode(error.kind == .usage ? 64 : 1)
        } catch {
            Self.complain("data folder: \(error)")
            throw ExitCode(1)
        }
        let tokens = try? APITokens.load(config: monitoring, environment: HubCommandSupport.environment())
        if tokens?.main == nil {
            Self.complain(
                "note: no main token here (LOOKOUT_TOKEN, or token_file in --config); a hub without one refuses "
                    + "to trade codes")
        }
        if HTTPURL.sendsInClearText(address) { Self.complain("warning: \(InstallCommand.clearTextWarning)") }
        print(
            """
            enrollment code for \(vm): \(made.code) (single use, valid until \(Timestamp.format(made.enrollment.expiresAt)))
            run this on the new VM:

              \(InstallCommand.line(hub: address, code: made.code))

            """)
    }

    static func complain(_ text: String) {
        let line = "lookout enroll: \(text)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

extension HubCommandSupport {
    /// The running binary's path (`/proc/self/exe`), or nil.
    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

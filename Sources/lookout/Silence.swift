import ArgumentParser
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `lookout silence add|list|remove`: the silences in DATA/silences.json, shared with a
/// running `serve` (its next alert pass applies them).
struct SilenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Keep a planned reboot or a nightly job from sending notices: add, list and remove silences.",
        discussion: """
            A silenced alert is still evaluated and shown (marked silenced, with the reason and the end, in \
            alerts.json, the API and the dashboard) but sends no notice. When the silence ends and the alert still \
            holds, one notice says so; an alert that cleared during the silence sends nothing. Silences live in \
            DATA/silences.json (the same as GET/POST/DELETE /api/monitoring/silences); a running hub applies a \
            change at its next alert pass. Ended silences are pruned on the next change.

            Exit codes: 0 done; 1 a failure (a damaged silences file is named, never overwritten); 64 bad usage or \
            an unknown id.
            """,
        subcommands: [Add.self, List.self, Remove.self])

    struct DataOption: ParsableArguments {
        @Option(help: ArgumentHelp("Data folder (as for serve).", valueName: "dir"))
        var data = "./lookout-data"
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Silence the alerts of one VM (or a pattern of VMs) for a while.",
            discussion: """
                Examples:
                  lookout silence add --vm web-1 --for 2h --reason "kernel upgrade"
                  lookout silence add --vm 'backup-*' --alert disk --until 2026-12-24T08:00:00Z --reason "restore test"
                """)

        @OptionGroup var options: DataOption

        @Option(
            help: ArgumentHelp("A vm_id, or a pattern with * (web-*, *); the VM need not exist yet.", valueName: "vm"))
        var vm: String

        @Option(
            help: ArgumentHelp(
                "all, an alert kind (cpu, memory, disk, load, swap, disk_util, fs, temperature, stale, service, "
                    + "container, reboot, traffic, cert, forecast) or kind/subject (service/web, fs//srv, service/*).",
                valueName: "alert"))
        var alert = "all"

        @Option(name: .customLong("for"), help: ArgumentHelp("How long: 30m, 2h, 1d, 1w.", valueName: "duration"))
        var duration: String?

        @Option(help: ArgumentHelp("The end as an RFC 3339 time (2026-12-24T08:00:00Z).", valueName: "time"))
        var until: String?

        @Option(help: ArgumentHelp("Why, shown on the silenced alerts (one line).", valueName: "text"))
        var reason: String

        func validate() throws {
            do {
                _ = try Silence.end(for: duration, until: until, now: Date(), prefix: "--")
            } catch {
                throw ValidationError(error.message)
            }
            if let problem = Silence.problem(vm: vm, alert: alert, reason: reason) {
                throw ValidationError(problem)
            }
        }

        func run() async throws {
            let now = Date()
            let silence: Silence
            do {
                let end = try Silence.end(for: duration, until: until, now: now, prefix: "--")
                silence = try await SilenceFile(dataFolder: options.data).add(
                    vm: vm, alert: alert, reason: reason, endsAt: end, now: now)
            } catch {
                throw SilenceCommand.fail(error)
            }
            print("added silence \(silence.id): \(SilenceCommand.line(silence))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the silences that have not ended.")

        @OptionGroup var options: DataOption

        @Flag(help: "Print the silences as JSON.")
        var json = false

        func run() async throws {
            let silences: [Silence]
            do {
                silences = try SilenceFile(dataFolder: options.data).load(now: Date())
            } catch {
                throw SilenceCommand.fail(error)
            }
            if json {
                let bytes = try JSONEncoder.lookout(pretty: true).encode(["silences": silences] as [String: [Silence]])
                print(String(decoding: bytes, as: UTF8.self))
            } else if silences.isEmpty {
                print("no active silence")
            } else {
                for silence in silences.sorted(by: { $0.endsAt < $1.endsAt }) {
                    print("\(silence.id)  \(SilenceCommand.line(silence))")
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a silence now; alerts it held are told at the next pass if they still hold.")

        @OptionGroup var options: DataOption

        @Argument(help: ArgumentHelp("The silence's id (from list).", valueName: "id"))
        var id: String

        func run() async throws {
            let silence: Silence
            do {
                silence = try await SilenceFile(dataFolder: options.data).remove(id: id, now: Date())
            } catch {
                throw SilenceCommand.fail(error)
            }
            print("removed silence \(silence.id): \(SilenceCommand.line(silence))")
        }
    }

    /// `vm web-1, alert all, until 2026-12-24T08:00:00Z: kernel upgrade`
    static func line(_ silence: Silence) -> String {
        "vm \(silence.vm), alert \(silence.alert), until \(Timestamp.format(silence.endsAt)): \(silence.reason)"
    }

    /// Prints `error` to stderr and returns the exit code for it (64 bad usage, 1 a file problem).
    static func fail(_ error: SilenceError) -> ExitCode {
        let text = "lookout silence: \(error.message)\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        return ExitCode(error.isUsage ? 64 : 1)
    }
}

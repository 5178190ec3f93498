import ArgumentParser
import LookoutCore

@main
struct LookoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookout",
        abstract: "The Lookout hub: history, alerts, the JSON API and the dashboard for a handful of VMs.",
        discussion: """
            `lookout serve` with no options monitors this machine, keeps history under ./lookout-data and \
            serves the dashboard on http://127.0.0.1:8080. VMs send their documents by file sync into \
            DATA/<vm_id>/metrics.json or by HTTP push to /api/monitoring/ingest.

            Exit codes: 0 ok; 1 runtime failure; 64 bad usage; 75 (check) a notice is queued for retry; 78 bad \
            configuration or a damaged history database (left as it is; the message names the restore command).
            """,
        version: LookoutVersion.current,
        subcommands: [
            Serve.self, Check.self, Aggregate.self, Forget.self, NotifyTest.self, Replay.self, SilenceCommand.self,
            EnrollCommand.self,
        ]
    )
}

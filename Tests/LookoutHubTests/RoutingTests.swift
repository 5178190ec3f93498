import Foundation
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// A ``RecordingChannel`` with a route.
struct RoutedChannel: NotificationChannel {
    let inner: RecordingChannel
    let route: NotificationRoute?
    var id: String { inner.id }

    init(_ id: String, _ route: NotificationRoute?) {
        inner = RecordingChannel(id: id)
        self.route = route
    }

    func send(_ notice: Notice, deliveryID: String) async throws(DeliveryError) {
        try await inner.send(notice, deliveryID: deliveryID)
    }

    /// What it received, as `<alert id> <transition>`.
    var heard: [String] { inner.delivered.map { "\($0.alert.id) \($0.kind.rawValue)" } }
}

/// Routing through the real outbox on a temporary folder: which channel gets which
/// notice, episode by episode, and that it survives a restart.
@Suite struct RoutingTests {
    static let t0 = Date(timeIntervalSince1970: 1_765_276_200)
    let folder = NSTemporaryDirectory() + "lookout-routing-\(UUID().uuidString)"

    func notice(
        _ vm: String, _ kind: String, _ transition: Notice.Kind, _ severity: Severity, minute: Double,
        metric: String? = nil, since: Double = 0
    ) throws -> Notice {
        var alert = Alert(
            id: "\(vm)/\(kind)\(metric.map { "/\($0)" } ?? "")", vmID: try VMID(validating: vm), kind: kind,
            metric: metric ?? kind, severity: severity, value: nil, threshold: nil,
            since: Self.t0.addingTimeInterval(since * 60), message: "\(kind) \(severity.rawValue)")
        if transition == .resolved { alert.resolvedAt = Self.t0.addingTimeInterval(minute * 60) }
        return Notice(kind: transition, alert: alert, at: Self.t0.addingTimeInterval(minute * 60))
    }

    /// Queues each step (its own pass) and delivers it, as serve does.
    func run(_ steps: [Notice], channels: [RoutedChannel], outbox: Outbox? = nil) async {
        let outbox = outbox ?? Outbox(dataFolder: folder, logger: Logger(label: "test"))
        for step in steps {
            outbox.enqueue([step], channels: channels, now: step.at)
            _ = await outbox.deliver(channels: channels, now: step.at)
        }
    }

    @Test func aCriticalOnlyChannelHearsAnEpisodeFromItsEscalationToItsEnd() async throws {
        let all = RoutedChannel("all", nil)
        let critical = RoutedChannel("critical", NotificationRoute(minSeverity: .critical))
        await run(
            [
                // Stays at warning: not the critical channel's business, not even its resolved.
                try notice("web-1", "cpu", .opened, .warning, minute: 0),
                try notice("web-1", "cpu", .resolved, .warning, minute: 5),
                // warning → critical → warning → resolved: from the escalation on.
                try notice("web-1", "disk", .opened, .warning, minute: 10, since: 10),
                try notice("web-1", "disk", .escalated, .critical, minute: 15, since: 10),
                try notice("web-1", "disk", .deescalated, .warning, minute: 50, since: 10),
                try notice("web-1", "disk", .resolved, .warning, minute: 60, since: 10),
                // Opened at critical: the whole episode.
                try notice("web-1", "memory", .opened, .critical, minute: 70, since: 70),
                try notice("web-1", "memory", .resolved, .critical, minute: 80, since: 70),
            ], channels: [all, critical])
        #expect(all.heard.count == 8)
        #expect(
            critical.heard == [
                "web-1/disk escalated", "web-1/disk deescalated", "web-1/disk resolved", "web-1/memory opened",
                "web-1/memory resolved",
            ])
        // Every episode ended: nothing is left to remember.
        let ledger = try String(contentsOfFile: "\(folder)/outbox/.routes.json", encoding: .utf8)
        #expect(ledger == "{}")
    }

    @Test func vmAndAlertPatternsPickTheChannel() async throws {
        let web = RoutedChannel(
            "web", NotificationRoute(vms: [WildcardPattern("web-*")], alerts: ["service/*"]))
        let stale = RoutedChannel("stale", NotificationRoute(alerts: ["stale"]))
        await run(
            [
                try notice("web-1", "service", .opened, .critical, minute: 0, metric: "api"),
                try notice("db-1", "service", .opened, .critical, minute: 1, metric: "pg"),
                try notice("web-2", "stale", .opened, .critical, minute: 2),
                try notice("web-1", "disk", .opened, .critical, minute: 3),
                try notice("web-1", "service", .resolved, .critical, minute: 4, metric: "api"),
            ], channels: [web, stale])
        #expect(web.heard == ["web-1/service/api opened", "web-1/service/api resolved"])
        #expect(stale.heard == ["web-2/stale opened"])
    }

    @Test func aRestartRemembersWhichEpisodesAChannelHeard() async throws {
        let critical = RoutedChannel("critical", NotificationRoute(minSeverity: .critical))
        await run(
            [
                try notice("web-1", "disk", .opened, .warning, minute: 0),
                try notice("web-1", "disk", .escalated, .critical, minute: 5),
                try notice("web-1", "cpu", .opened, .warning, minute: 6),
            ], channels: [critical])
        // A new process: a new outbox on the same folder.
        let restarted = Outbox(dataFolder: folder, logger: Logger(label: "test"))
        await run(
            [
                try notice("web-1", "disk", .deescalated, .warning, minute: 40),
                try notice("web-1", "disk", .resolved, .warning, minute: 50),
                try notice("web-1", "cpu", .resolved, .warning, minute: 51),
            ], channels: [critical], outbox: restarted)
        #expect(critical.heard == ["web-1/disk escalated", "web-1/disk deescalated", "web-1/disk resolved"])
    }

    @Test func aCronCheckAndServeSeeEachOthersRecord() async throws {
        let critical = RoutedChannel("critical", NotificationRoute(minSeverity: .critical))
        let serve = Outbox(dataFolder: folder, logger: Logger(label: "serve"))
        let check = Outbox(dataFolder: folder, logger: Logger(label: "check"))
        await run([try notice("web-1", "disk", .opened, .critical, minute: 0)], channels: [critical], outbox: serve)
        // A cron `check` (another process, its own outbox) runs the pass that opens the cpu alert ...
        await run([try notice("web-1", "cpu", .opened, .critical, minute: 1)], channels: [critical], outbox: check)
        // ... and serve's next passes resolve both: it read what check recorded.
        await run(
            [
                try notice("web-1", "cpu", .resolved, .critical, minute: 2),
                try notice("web-1", "disk", .resolved, .critical, minute: 3),
            ], channels: [critical], outbox: serve)
        #expect(
            critical.heard == ["web-1/disk opened", "web-1/cpu opened", "web-1/cpu resolved", "web-1/disk resolved"])
    }

    /// A process that decided a pass and died before writing its entries: the repeated pass
    /// (same notices, the state was not saved either) decides the same.
    @Test func aPassRepeatedAfterACrashRoutesTheSame() async throws {
        let critical = RoutedChannel("critical", NotificationRoute(minSeverity: .critical))
        await run([try notice("web-1", "disk", .opened, .critical, minute: 0)], channels: [critical])
        let resolved = try notice("web-1", "disk", .resolved, .critical, minute: 5)
        let crashed = Outbox(dataFolder: folder, logger: Logger(label: "crashed"))
        #expect(crashed.routes.select([resolved], channels: [critical], now: resolved.at).targets[0].1.count == 1)
        // No commit: the process died here.
        await run([resolved], channels: [critical], outbox: Outbox(dataFolder: folder, logger: Logger(label: "again")))
        #expect(critical.heard == ["web-1/disk opened", "web-1/disk resolved"])
    }

    @Test func aTestNoticeIgnoresRoutesAndWithoutRoutesNothingIsRecorded() async throws {
        let critical = RoutedChannel("critical", NotificationRoute(minSeverity: .critical))
        let outbox = Outbox(dataFolder: folder, logger: Logger(label: "test"))
        let test = try notice("hub", "test", .opened, .warning, minute: 0)
        outbox.enqueue([test], channels: [critical], now: test.at, routed: false)
        _ = await outbox.deliver(channels: [critical], now: test.at)
        #expect(critical.heard == ["hub/test opened"])

        let plain = RoutedChannel("plain", nil)
        await run([try notice("web-1", "disk", .opened, .warning, minute: 1)], channels: [plain])
        #expect(plain.heard == ["web-1/disk opened"])
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/outbox/.routes.json"))
    }

    @Test func aDamagedLedgerStartsAfreshInsteadOfFailingThePass() async throws {
        try FileManager.default.createDirectory(atPath: "\(folder)/outbox", withIntermediateDirectories: true)
        try Data("not json".utf8).write(to: URL(fileURLWithPath: "\(folder)/outbox/.routes.json"))
        let critical = RoutedChannel("critical", NotificationRoute(minSeverity: .critical))
        await run(
            [
                try notice("web-1", "disk", .opened, .critical, minute: 0),
                try notice("web-1", "disk", .resolved, .critical, minute: 5),
            ], channels: [critical])
        #expect(critical.heard == ["web-1/disk opened", "web-1/disk resolved"])
    }

    @Test func theExplanationSaysPerChannelWhatItReceives() throws {
        let config = try MonitoringConfig.parse(
            Array(
                #"""
                {"notifications": {
                   "webhooks": [{"kind": "ntfy", "url": "https://ntfy.sh/ops",
                                 "route": {"vms": ["web-*"], "min_severity": "critical", "alerts": ["stale"]}}],
                   "channels": [{"kind": "telegram", "chat_id": "42", "token_env": "TG"}]}}
                """#.utf8))
        let web = try notice("web-1", "stale", .opened, .critical, minute: 0).alert
        var db = try notice("db-1", "stale", .opened, .critical, minute: 0).alert
        db.silenced = AlertHold(
            silenceID: "0000abcd", reason: "kernel\u{1B}[31m upgrade", until: Date(timeIntervalSince1970: 1_766_563_200)
        )
        let lines = config.routingExplanation(active: [web, db])
        let ids = config.channelIDs
        #expect(lines.count == 6, "\(lines)")
        #expect(lines[1] == "  \(ids[0]): VMs web-*; critical only; alerts stale")
        #expect(lines[2] == "    of the 2 active alert(s): web-1/stale (critical)")
        #expect(lines[3] == "  \(ids[1]): every notice")
        #expect(
            lines[4]
                == "    of the 2 active alert(s): web-1/stale (critical), "
                + "db-1/stale (critical, held until 2025-12-24T08:00:00Z: kernel [31m upgrade)")
        #expect(
            ids[1].hasPrefix("telegram:api.telegram.org:") && ids[1].count == "telegram:api.telegram.org:".count + 8)
    }
}

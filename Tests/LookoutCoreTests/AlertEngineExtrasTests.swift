import Foundation
import LookoutCore
import Testing

/// The alert rules of issue 11 (swap, every filesystem, disk busy, temperatures, reboots,
/// monthly traffic), each pass through the real engine at an injected time.
@Suite struct AlertEngineExtrasTests {
    /// 2025-12-09T10:30:00Z
    static let t0 = Date(timeIntervalSince1970: 1_765_276_200)
    static let web = try! VMID(validating: "web-1")
    static let backup = try! VMID(validating: "backup-1")

    struct Figures {
        var disk: Double = 50
        var swap: Double?
        var util: Double?
        var filesystems: [(String, Double)] = []
        var temperatures: [(String, Double)] = []
        var boot: String?
        var uptime: Double = 3600
    }

    static func doc(_ vm: VMID = web, at minutes: Double, _ f: Figures = Figures()) -> MetricsDocument {
        MetricsDocument(
            vmID: vm, timestamp: t0.addingTimeInterval(minutes * 60),
            system: SystemMetrics(
                cpu: .init(percent: 10, cores: 1),
                memory: .init(totalMB: 1024, usedMB: 100, availableMB: 924, percent: 9.8),
                disk: .init(totalGB: 40, usedGB: f.disk * 0.4, percent: f.disk), uptime: .init(seconds: f.uptime),
                load: .init(one: 0.1, five: 0.1, fifteen: 0.1), bootID: f.boot,
                swap: f.swap.map { .init(totalMB: 1024, usedMB: $0 * 10.24, percent: $0) },
                diskIO: f.util.map {
                    .init(device: "vda", readBytesPerSecond: 0, writeBytesPerSecond: 0, utilPercent: $0)
                },
                filesystems: f.filesystems.isEmpty
                    ? nil
                    : f.filesystems.map {
                        .init(path: $0.0, device: "/dev/vdb", fstype: "xfs", totalGB: 100, usedGB: $0.1, percent: $0.1)
                    },
                temperatures: f.temperatures.isEmpty ? nil : f.temperatures.map { .init(sensor: $0.0, celsius: $0.1) }),
            containers: [], services: [], intervalSeconds: 60)
    }

    struct Pass {
        var minutes: Double
        var documents: [MetricsDocument] = []
        var recent: AlertEngine.RecentValues = [:]
        var traffic: [VMID: TrafficUsage] = [:]
    }

    /// Runs the passes in order; every pass's notices as `"<kind> <alert id> <severity>"`.
    static func run(_ passes: [Pass], config: MonitoringConfig = MonitoringConfig(), state: AlertState = AlertState())
        -> (state: AlertState, notices: [[String]], last: AlertEngine.Result?)
    {
        var state = state
        var all: [[String]] = []
        var last: AlertEngine.Result?
        for pass in passes {
            let result = AlertEngine.evaluate(
                documents: pass.documents, config: config, previous: state,
                now: t0.addingTimeInterval(pass.minutes * 60),
                recent: pass.recent, traffic: pass.traffic)
            state = result.state
            all.append(result.notices.map { "\($0.kind.rawValue) \($0.alert.id) \($0.alert.severity.rawValue)" })
            last = result
        }
        return (state, all, last)
    }

    static func config(_ json: String) throws -> MonitoringConfig {
        try MonitoringConfig.parse(Array(json.utf8))
    }

    // MARK: - swap, filesystems, disk busy, temperatures

    @Test func swapOpensAtFiftyEscalatesAtEightyAndResolves() throws {
        let (_, notices, _) = Self.run([
            Pass(minutes: 0, documents: [Self.doc(at: 0, .init(swap: 30))]),
            Pass(minutes: 1, documents: [Self.doc(at: 1, .init(swap: 63))]),
            Pass(minutes: 2, documents: [Self.doc(at: 2, .init(swap: 85))]),
            Pass(minutes: 3, documents: [Self.doc(at: 3, .init(swap: 10))]),
            Pass(minutes: 4, documents: [Self.doc(at: 4)]),  // no swap at all: nothing
        ])
        #expect(
            notices == [
                [], ["opened web-1/swap warning"], ["escalated web-1/swap critical"], ["resolved web-1/swap critical"],
                [],
            ])
        let opened = AlertEngine.evaluate(
            documents: [Self.doc(at: 0, .init(swap: 63))], config: MonitoringConfig(), previous: AlertState(),
            now: Self.t0)
        #expect(opened.state.alerts.first?.message == "swap 63%, warning at 50%")
    }

    @Test func everyFilesystemUsesTheDiskThresholdUnlessItsPathIsOverridden() throws {
        let config = try Self.config(
            #"{"overrides": {"backup-1": {"fs:/srv/backup": {"warning": 95, "critical": 98}}}}"#)
        let full = Figures(filesystems: [("/", 50), ("/srv/backup", 91), ("/var/lib/docker", 85)])
        let (state, notices, _) = Self.run(
            [
                Pass(minutes: 0, documents: [Self.doc(Self.backup, at: 0, full), Self.doc(at: 0, full)]),
                Pass(
                    minutes: 1,
                    documents: [
                        Self.doc(Self.backup, at: 1, .init(filesystems: [("/srv/backup", 96)])), Self.doc(at: 1, full),
                    ]),
            ], config: config)
        #expect(
            notices == [
                [
                    "opened backup-1/fs/var/lib/docker warning", "opened web-1/fs/srv/backup critical",
                    "opened web-1/fs/var/lib/docker warning",
                ],
                // backup-1's /srv/backup crosses its own 95; /var/lib/docker left the document.
                ["opened backup-1/fs/srv/backup warning", "resolved backup-1/fs/var/lib/docker warning"],
            ])
        let alert = try #require(state.alerts.first { $0.id == "web-1/fs/srv/backup" })
        #expect(alert.kind == "fs" && alert.metric == "/srv/backup" && alert.threshold == 90)
        #expect(alert.message == "filesystem /srv/backup 91%, critical at 90%")
    }

    @Test func theRootFilesystemAlertsOnceAsDisk() {
        let (state, notices, _) = Self.run([
            Pass(minutes: 0, documents: [Self.doc(at: 0, .init(disk: 93, filesystems: [("/", 93), ("/", 93)]))])
        ])
        #expect(notices == [["opened web-1/disk critical"]])
        #expect(state.alerts.map(\.id) == ["web-1/disk"])
    }

    @Test func diskBusyNeedsThreeSamplesInARowByDefault() throws {
        func pass(_ minutes: Double, _ recent: [Double]) -> Pass {
            Pass(
                minutes: minutes, documents: [Self.doc(at: minutes, .init(util: recent.first))],
                recent: [Self.web: ["disk_util": recent]])
        }
        let (state, notices, _) = Self.run([
            pass(0, [97, 20, 10]),
            pass(1, [97, 97, 20]),
            pass(2, [97, 97, 97]),
            pass(3, [99, 97, 97]),
            pass(4, [30, 99, 97]),
        ])
        #expect(
            notices == [
                [], [], ["opened web-1/disk_util warning"], ["escalated web-1/disk_util critical"],
                ["resolved web-1/disk_util critical"],
            ])
        #expect(state.alerts.isEmpty)
        // Without recent values (a store that does not know the series) nothing opens.
        let (_, none, _) = Self.run([Pass(minutes: 0, documents: [Self.doc(at: 0, .init(util: 99))])])
        #expect(none == [[]])
        // The dashboard's status shows the current value at once.
        let health = VMHealth.evaluate(Self.doc(at: 0, .init(util: 99)), config: MonitoringConfig(), now: Self.t0)
        #expect(health.problems.map(\.message) == ["disk vda busy 99%, critical at 98%"])
    }

    @Test func temperaturesAreOffUnlessConfigured() throws {
        let hot = Self.doc(at: 0, .init(temperatures: [("coretemp package_id_0", 95), ("acpitz", 40)]))
        let (_, off, _) = Self.run([Pass(minutes: 0, documents: [hot])])
        #expect(off == [[]])
        let config = try Self.config(#"{"thresholds": {"temperature": {"warning": 80, "critical": 90}}}"#)
        let (state, on, _) = Self.run([Pass(minutes: 0, documents: [hot])], config: config)
        #expect(on == [["opened web-1/temperature/coretemp package_id_0 critical"]])
        #expect(state.alerts.first?.message == "temperature coretemp package_id_0 95°C, critical at 90°C")
        // Per VM too: only backup-1 watches its sensors.
        let perVM = try Self.config(#"{"overrides": {"backup-1": {"temperature": {"warning": 80, "critical": 99}}}}"#)
        let warm = Self.doc(Self.backup, at: 0, .init(temperatures: [("coretemp package_id_0", 95)]))
        let (_, some, _) = Self.run([Pass(minutes: 0, documents: [hot, warm])], config: perVM)
        #expect(some == [["opened backup-1/temperature/coretemp package_id_0 warning"]])
    }

    @Test func theVMStatusCountsTheNewProblems() throws {
        let health = VMHealth.evaluate(
            Self.doc(at: 0, .init(swap: 63, filesystems: [("/srv/backup", 91)])), config: MonitoringConfig(),
            now: Self.t0)
        #expect(health.status == .critical)
        #expect(health.problems.map(\.kind) == ["swap", "fs"])
        #expect(health.problems.map(\.subject) == ["swap", "/srv/backup"])
    }

    // MARK: - reboots

    @Test func aNewBootIDSendsOneRebootedNoticeAndResolvesSilently() throws {
        func at(_ minutes: Double, _ boot: String?, uptime: Double = 3600) -> Pass {
            Pass(minutes: minutes, documents: [Self.doc(at: minutes, .init(boot: boot, uptime: uptime))])
        }
        let passes = [
            at(0, "aaaa"),  // first sight: not a reboot
            at(1, "aaaa"),
            at(2, "bbbb", uptime: 720),  // rebooted
            at(3, "bbbb", uptime: 780),  // resolved, nothing sent
            at(4, nil),  // an older agent's document: the last boot id is kept
            at(5, "cccc", uptime: 60),  // again, inside the cooldown: sent all the same
        ]
        let (state, notices, _) = Self.run(passes)
        #expect(notices == [[], [], ["opened web-1/reboot warning"], [], [], ["opened web-1/reboot warning"]])
        #expect(state.bootIDs == [Self.web: "cccc"])
        #expect(state.alerts.map(\.id) == ["web-1/reboot"])

        let third = Self.run(Array(passes.prefix(3)))
        let alert = try #require(third.state.alerts.first)
        #expect(alert.kind == "reboot" && alert.severity == .warning && alert.message == "rebooted, up 12 minutes")
        #expect(alert.since == Self.t0.addingTimeInterval(120 - 720))
        let notice = try #require(third.last?.notices.first)
        #expect(notice.subject == "[Lookout] WARNING web-1: rebooted, up 12 minutes")
        #expect(notice.body(publicURL: nil).contains("Uptime:    12 minutes"))
        // The next pass lists it as resolved (for the history) but tells no one.
        let fourth = Self.run(Array(passes.prefix(4)))
        #expect(fourth.state.alerts.isEmpty)
        #expect(fourth.last?.resolved.map(\.id) == ["web-1/reboot"])
        #expect(fourth.last?.notices.isEmpty == true)
    }

    @Test func rebootsCanBeTurnedOffPerVM() throws {
        let config = try Self.config(#"{"overrides": {"web-1": {"reboot": false}}}"#)
        let (state, notices, _) = Self.run(
            [
                Pass(
                    minutes: 0,
                    documents: [Self.doc(at: 0, .init(boot: "a")), Self.doc(Self.backup, at: 0, .init(boot: "x"))]),
                Pass(
                    minutes: 1,
                    documents: [Self.doc(at: 1, .init(boot: "b")), Self.doc(Self.backup, at: 1, .init(boot: "y"))]),
            ], config: config)
        #expect(notices == [[], ["opened backup-1/reboot warning"]])
        // Still recorded, so turning it back on does not report an old reboot.
        #expect(state.bootIDs == [Self.web: "b", Self.backup: "y"])
    }

    @Test func aStaleVMComingBackWithANewBootIDRebooted() {
        let (state, notices, _) = Self.run([
            Pass(minutes: 0, documents: [Self.doc(at: 0, .init(boot: "a"))]),
            Pass(minutes: 10, documents: [Self.doc(at: 0, .init(boot: "a"))]),  // silent for 10 min: stale
            Pass(minutes: 11, documents: [Self.doc(at: 11, .init(boot: "b", uptime: 30))]),
            Pass(minutes: 12, documents: [Self.doc(at: 12, .init(boot: "b", uptime: 90))]),
        ])
        #expect(
            notices == [
                [], ["opened web-1/stale critical"], ["opened web-1/reboot warning", "resolved web-1/stale critical"],
                [],
            ])
        #expect(state.alerts.isEmpty)
    }

    @Test func aVMGoingStaleRightAfterARebootDoesNotKeepTheRebootOpen() {
        let (state, notices, _) = Self.run([
            Pass(minutes: 0, documents: [Self.doc(at: 0, .init(boot: "a"))]),
            Pass(minutes: 1, documents: [Self.doc(at: 1, .init(boot: "b"))]),
            Pass(minutes: 10, documents: [Self.doc(at: 1, .init(boot: "b"))]),
        ])
        #expect(notices == [[], ["opened web-1/reboot warning"], ["opened web-1/stale critical"]])
        #expect(state.alerts.map(\.id) == ["web-1/stale"])
    }

    @Test func anAlertsFileFromBeforeBootIDsDecodesAndBootIDsRoundTrip() throws {
        let old = #"{"alerts": [], "notified": {}, "updated_at": "2025-12-09T10:30:00Z"}"#
        let state = try JSONDecoder().decode(AlertState.self, from: Data(old.utf8))
        #expect(state.bootIDs.isEmpty)
        let (after, notices, _) = Self.run(
            [Pass(minutes: 0, documents: [Self.doc(at: 0, .init(boot: "a"))])], state: state)
        #expect(notices == [[]])
        let saved = try JSONEncoder.lookout().encode(after)
        #expect(String(decoding: saved, as: UTF8.self).contains(#""boot_ids":{"web-1":"a"}"#))
        #expect(try JSONDecoder().decode(AlertState.self, from: saved) == after)
        // A forgotten VM (no document any more) drops out.
        let (gone, _, _) = Self.run([Pass(minutes: 1)], state: after)
        #expect(gone.bootIDs.isEmpty)
    }

    // MARK: - traffic

    /// December 2025 (reset day 1), a 1 GB allowance, at `day` 10:30 UTC.
    static func usage(used: Double, projected: Double? = nil, exhaustion: String? = nil, allowance: Double? = 1e9)
        -> TrafficUsage
    {
        TrafficUsage(
            vmID: web, periodStart: Timestamp.parse("2025-12-01T00:00:00Z")!,
            periodEnd: Timestamp.parse("2026-01-01T00:00:00Z")!, rxBytes: 0, txBytes: used, usedBytes: used,
            allowanceBytes: allowance, direction: .tx, projectedBytes: projected ?? used,
            projectedExhaustion: exhaustion.flatMap(Timestamp.parse))
    }

    static func minutes(toDay day: String) -> Double {
        Timestamp.parse(day)!.timeIntervalSince(t0) / 60
    }

    @Test func trafficWarnsAtEightyAndIsCriticalAtTheAllowance() throws {
        var config = MonitoringConfig()
        config.traffic[Self.web] = TrafficAllowance(monthlyGB: 1)
        let jan = Self.minutes(toDay: "2026-01-01T00:05:00Z")
        let (state, notices, _) = Self.run(
            [
                Pass(minutes: 0, traffic: [Self.web: Self.usage(used: 0.5e9)]),
                Pass(minutes: 60, traffic: [Self.web: Self.usage(used: 0.85e9)]),
                Pass(minutes: 120, traffic: [Self.web: Self.usage(used: 1.02e9)]),
                Pass(minutes: 180),  // the store could not say: kept as it was
                Pass(minutes: jan, traffic: [Self.web: Self.usage(used: 1e6)]),  // a new month
            ], config: config)
        #expect(
            notices == [
                [], ["opened web-1/traffic warning"], ["escalated web-1/traffic critical"], [],
                ["resolved web-1/traffic critical"],
            ])
        #expect(state.alerts.isEmpty)
        let warned = Self.run([Pass(minutes: 60, traffic: [Self.web: Self.usage(used: 0.85e9)])], config: config)
        let warning = try #require(warned.state.alerts.first)
        #expect(warning.message == "traffic 850 MB of 1 GB this month (85%), warning at 80%; resets on the 1st")
        #expect(warning.value == 0.85e9 && warning.threshold == 0.8e9)
        let body = try #require(warned.last?.notices.first).body(publicURL: nil)
        #expect(body.contains("Value:     850 MB") && body.contains("Threshold: 800 MB"), "\(body)")
        let over = Self.run([Pass(minutes: 60, traffic: [Self.web: Self.usage(used: 1.02e9)])], config: config)
        #expect(
            over.state.alerts.first?.message
                == "traffic 1 GB of 1 GB this month (102%), critical at 100%; resets on the 1st")
    }

    @Test func trafficWarnsWhenTheProjectionRunsOutBeforeTheReset() throws {
        var config = MonitoringConfig()
        config.traffic[Self.web] = TrafficAllowance(monthlyGB: 1)
        let projecting = Self.usage(used: 0.3e9, projected: 1.3e9, exhaustion: "2025-12-23T08:00:00Z")
        let (state, notices, _) = Self.run([Pass(minutes: 0, traffic: [Self.web: projecting])], config: config)
        #expect(notices == [["opened web-1/traffic warning"]])
        let alert = try #require(state.alerts.first)
        #expect(alert.message == "at this rate web-1 uses 1.3 GB of its 1 GB by the 1st, running out on the 23rd")
        #expect(alert.value == 1.3e9 && alert.threshold == 1e9)
        // In the first day of the month one burst projects far too much: no alert yet.
        let early = Self.minutes(toDay: "2025-12-01T06:00:00Z")
        let (_, none, _) = Self.run([Pass(minutes: early, traffic: [Self.web: projecting])], config: config)
        #expect(none == [[]])
        // A projection that stays within the allowance, or a VM without one: nothing.
        let (_, calm, _) = Self.run(
            [
                Pass(minutes: 0, traffic: [Self.web: Self.usage(used: 0.3e9, projected: 0.9e9)]),
                Pass(minutes: 1, traffic: [Self.web: Self.usage(used: 5e9, allowance: nil)]),
            ], config: config)
        #expect(calm == [[], []])
    }

    @Test func aTrafficAlertResolvesWhenItsAllowanceIsRemoved() {
        var config = MonitoringConfig()
        config.traffic[Self.web] = TrafficAllowance(monthlyGB: 1)
        let open = Self.run([Pass(minutes: 0, traffic: [Self.web: Self.usage(used: 0.9e9)])], config: config)
        let (_, notices, _) = Self.run([Pass(minutes: 1)], state: open.state)
        #expect(notices == [["resolved web-1/traffic warning"]])
    }
}

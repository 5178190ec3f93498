import Foundation
import LookoutCore
import Testing

/// Scenarios for the alert engine, each pass at an injected time.
@Suite struct AlertEngineTests {
    static let t0 = Date(timeIntervalSince1970: 1_765_276_200)

    static func doc(
        _ vm: String = "web-1", at minutes: Double, disk: Double = 50, cpu: Double = 10,
        services: [ServiceStatus] = [], containers: [ContainerMetrics] = [], interval: Int = 60
    ) -> MetricsDocument {
        MetricsDocument(
            vmID: try! VMID(validating: vm), timestamp: t0.addingTimeInterval(minutes * 60),
            system: SystemMetrics(
                cpu: .init(percent: cpu, cores: 1),
                memory: .init(totalMB: 1024, usedMB: 100, availableMB: 924, percent: 9.8),
                disk: .init(totalGB: 40, usedGB: disk * 0.4, percent: disk), uptime: .init(seconds: 3600),
                load: .init(one: 0.1, five: 0.1, fifteen: 0.1)),
            containers: containers, services: services, intervalSeconds: interval)
    }

    /// Runs passes in order, each `(minutes after t0, documents)`, returning every pass's notices.
    static func run(
        _ passes: [(Double, [MetricsDocument])], config: MonitoringConfig = MonitoringConfig(),
        state: AlertState = AlertState()
    ) -> (state: AlertState, notices: [[String]]) {
        var state = state
        var all: [[String]] = []
        for (minutes, documents) in passes {
            let result = AlertEngine.evaluate(
                documents: documents, config: config, previous: state, now: t0.addingTimeInterval(minutes * 60))
            state = result.state
            all.append(result.notices.map { "\($0.kind.rawValue) \($0.alert.id) \($0.alert.severity.rawValue)" })
        }
        return (state, all)
    }

    @Test(
        arguments: [
            (93.0, "93"), (93.46, "93.5"), (0.04, "0"), (-2.25, "-2.3"), (1e19, "1e+19"),
            (18_446_744_073_709_551_615, "1.8446744073709552e+19"),
            (.infinity, "inf"), (.nan, "nan"),
        ] as [(Double, String)])
    func figuresHaveOneSpellingAndNoneTraps(value: Double, text: String) {
        #expect(Notice.format(value) == text)
    }

    @Test func opensEscalatesAndResolvesWithOneNoticeEach() {
        let (state, notices) = Self.run([
            (0, [Self.doc(at: 0, disk: 50)]),
            (1, [Self.doc(at: 1, disk: 85)]),
            (2, [Self.doc(at: 2, disk: 86)]),
            (3, [Self.doc(at: 3, disk: 93)]),
            (4, [Self.doc(at: 4, disk: 94)]),
            (5, [Self.doc(at: 5, disk: 60)]),
        ])
        #expect(
            notices == [
                [], ["opened web-1/disk warning"], [], ["escalated web-1/disk critical"], [],
                ["resolved web-1/disk critical"],
            ])
        #expect(state.alerts.isEmpty)
    }

    @Test func theAlertCarriesValueThresholdAndSince() throws {
        let first = AlertEngine.evaluate(
            documents: [Self.doc(at: 0, disk: 93.4)], config: MonitoringConfig(), previous: AlertState(), now: Self.t0)
        let later = AlertEngine.evaluate(
            documents: [Self.doc(at: 5, disk: 95)], config: MonitoringConfig(), previous: first.state,
            now: Self.t0.addingTimeInterval(300))
        let alert = try #require(later.state.alerts.first)
        #expect(alert.id == "web-1/disk" && alert.kind == "disk" && alert.severity == .critical)
        #expect(alert.value == 95 && alert.threshold == 90)
        #expect(alert.since == Self.t0 && alert.lastNotified == Self.t0)
        #expect(alert.message == "disk 95%, critical at 90%")
        #expect(later.notices.isEmpty)
    }

    @Test func flappingInsideTheCooldownSendsNothingMore() {
        // Cooldown 30 min: open and resolve are told once; the re-openings within 30 min are held
        // back, and the one still open after the cooldown is told then.
        let (_, notices) = Self.run([
            (0, [Self.doc(at: 0, disk: 93)]),
            (5, [Self.doc(at: 5, disk: 50)]),
            (10, [Self.doc(at: 10, disk: 93)]),
            (15, [Self.doc(at: 15, disk: 50)]),
            (20, [Self.doc(at: 20, disk: 93)]),
            (30, [Self.doc(at: 30, disk: 93)]),
            (36, [Self.doc(at: 36, disk: 93)]),
        ])
        #expect(
            notices == [
                ["opened web-1/disk critical"], ["resolved web-1/disk critical"], [], [], [], [],
                ["opened web-1/disk critical"],
            ])
    }

    @Test func aClockSteppedBackwardsDoesNotHoldNotices() {
        // Resolved at minute 5; then the hub's clock is stepped back two hours (NTP, a VM
        // restored from a snapshot). Elapsed since the last notice is negative: counted as an
        // expired cooldown, so the re-opened alert is told at once.
        let (_, notices) = Self.run([
            (0, [Self.doc(at: 0, disk: 93)]),
            (5, [Self.doc(at: 5, disk: 50)]),
            (-120, [Self.doc(at: -120, disk: 93)]),
        ])
        #expect(
            notices == [
                ["opened web-1/disk critical"], ["resolved web-1/disk critical"],
                ["opened web-1/disk critical"],
            ])
    }

    @Test func deescalationWaitsForTheCooldownEscalationDoesNot() {
        let (_, notices) = Self.run([
            (0, [Self.doc(at: 0, disk: 93)]),
            (5, [Self.doc(at: 5, disk: 85)]),
            (6, [Self.doc(at: 6, disk: 93)]),
            (10, [Self.doc(at: 10, disk: 85)]),
            (40, [Self.doc(at: 40, disk: 85)]),
        ])
        #expect(notices == [["opened web-1/disk critical"], [], [], [], ["deescalated web-1/disk warning"]])
    }

    @Test func aSilentHostGoesStaleAndKeepsItsOtherAlerts() {
        let (state, notices) = Self.run([
            (0, [Self.doc(at: 0, disk: 93)]),
            (2, [Self.doc(at: 0, disk: 93)]),  // 2 min old: interval 60 s → stale after 3 min: not yet
            (4, [Self.doc(at: 0, disk: 93)]),  // 4 min old: stale
            (5, [Self.doc(at: 5, disk: 93)]),  // reports again
        ])
        #expect(
            notices == [
                ["opened web-1/disk critical"], [], ["opened web-1/stale critical"], ["resolved web-1/stale critical"],
            ])
        #expect(state.alerts.map(\.id) == ["web-1/disk"])
    }

    @Test func failingServicesAndContainersAreAlerts() {
        let (state, notices) = Self.run([
            (
                0,
                [
                    Self.doc(
                        at: 0,
                        services: [
                            .init(id: "site", healthy: false, responseMS: 5000, error: "timed out after 5000 ms")
                        ],
                        containers: [
                            .init(name: "worker", status: "restarting", cpuPercent: 0, memoryMB: 0),
                            .init(name: "backup", status: "exited", cpuPercent: 0, memoryMB: 0),
                            .init(name: "web", status: "running", cpuPercent: 1, memoryMB: 50),
                        ])
                ]
            )
        ])
        #expect(
            notices == [
                [
                    "opened web-1/container/backup warning", "opened web-1/container/worker critical",
                    "opened web-1/service/site critical",
                ]
            ])
        #expect(
            state.alerts.first { $0.kind == "service" }?.message == "service site is unhealthy: timed out after 5000 ms"
        )
    }

    @Test func sustainedForNSamplesIgnoresAOneOffSpike() throws {
        var config = MonitoringConfig()
        config.thresholds.cpu = Threshold(warning: 70, critical: 90, sustainedSamples: 3)
        let vm = try VMID(validating: "web-1")
        func pass(_ recent: [Double], _ previous: AlertState) -> AlertEngine.Result {
            AlertEngine.evaluate(
                documents: [Self.doc(at: 0, cpu: recent[0])], config: config, previous: previous,
                now: Self.t0, recent: [vm: ["cpu": recent]])
        }
        let spike = pass([95, 20, 15], AlertState())
        #expect(spike.notices.isEmpty)
        let twoHigh = pass([95, 92, 15], spike.state)
        #expect(twoHigh.notices.isEmpty)
        let sustained = pass([95, 92, 91], twoHigh.state)
        #expect(sustained.notices.map(\.kind) == [.opened])
        #expect(sustained.notices.first?.alert.severity == .critical)
    }

    @Test func aRestartWithSavedStateSendsNothingTwice() throws {
        let first = Self.run([(0, [Self.doc(at: 0, disk: 93)])])
        let saved = try JSONEncoder.lookout().encode(first.state)
        let restored = try JSONDecoder().decode(AlertState.self, from: saved)
        #expect(restored == first.state)
        // The same pass again (cron ran twice), then the next pass: nothing new to tell.
        let again = Self.run([(0, [Self.doc(at: 0, disk: 93)]), (5, [Self.doc(at: 5, disk: 93)])], state: restored)
        #expect(again.notices == [[], []])
        let cleared = Self.run([(6, [Self.doc(at: 6, disk: 10)])], state: restored)
        #expect(cleared.notices == [["resolved web-1/disk critical"]])
    }

    @Test func perVMOverridesApply() throws {
        var config = MonitoringConfig()
        config.overrides[try VMID(validating: "backup")] = try JSONDecoder().decode(
            ThresholdOverrides.self, from: Data(#"{"disk": {"warning": 95, "critical": 99}}"#.utf8))
        let (_, notices) = Self.run(
            [(0, [Self.doc("backup", at: 0, disk: 93), Self.doc("web-1", at: 0, disk: 93)])], config: config)
        #expect(notices == [["opened web-1/disk critical"]])
    }

    @Test func noticeTextSaysWhatWhereHowBadAndLinksTheDashboard() throws {
        let result = AlertEngine.evaluate(
            documents: [Self.doc(at: 0, disk: 93.4)], config: MonitoringConfig(), previous: AlertState(), now: Self.t0)
        let notice = try #require(result.notices.first)
        #expect(notice.subject == "[Lookout] CRITICAL web-1: disk 93.4%, critical at 90%")
        let body = notice.body(publicURL: "https://hub.example.com/")
        for line in [
            "VM:        web-1", "Severity:  critical", "Value:     93.4", "Threshold: 90",
            "Since:     2025-12-09T10:30:00Z", "Dashboard: https://hub.example.com/#vm/web-1",
        ] {
            #expect(body.contains(line), "\(line)")
        }
    }
}

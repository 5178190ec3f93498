import Foundation
import LookoutCore
import Testing

/// Silences, quiet hours and reminders as engine scenarios at injected times (issue 12, items 1-3).
@Suite struct SilenceEngineTests {
    static let t0 = AlertEngineTests.t0

    static func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * 60) }

    static func silence(
        _ vm: String = "web-1", alert: String = "all", from: Double = 0, to: Double, reason: String = "kernel upgrade"
    ) -> Silence {
        Silence(id: "s\(Int(to))", vm: vm, alert: alert, reason: reason, createdAt: at(from), endsAt: at(to))
    }

    /// Passes `(minutes, documents)` with `silences`, returning each pass's notices.
    static func run(
        _ passes: [(Double, [MetricsDocument])], silences: [Silence] = [], config: MonitoringConfig = MonitoringConfig()
    ) -> (state: AlertState, notices: [[String]]) {
        var state = AlertState()
        var all: [[String]] = []
        for (minutes, documents) in passes {
            let result = AlertEngine.evaluate(
                documents: documents, config: config, previous: state, now: at(minutes), silences: silences)
            state = result.state
            all.append(result.notices.map { "\($0.kind.rawValue) \($0.alert.id) \($0.alert.severity.rawValue)" })
        }
        return (state, all)
    }

    static func doc(_ vm: String = "web-1", at minutes: Double, disk: Double = 50, cpu: Double = 10) -> MetricsDocument
    {
        AlertEngineTests.doc(vm, at: minutes, disk: disk, cpu: cpu)
    }

    @Test func aSilencedAlertIsShownMarkedAndToldOnceAtTheEndIfItStillHolds() throws {
        let silence = Self.silence(to: 60)
        let (state, notices) = Self.run(
            [
                (0, [Self.doc(at: 0, disk: 93)]),
                (30, [Self.doc(at: 30, disk: 94)]),
                (59, [Self.doc(at: 59, disk: 95)]),
                (60, [Self.doc(at: 60, disk: 95)]),
                (61, [Self.doc(at: 61, disk: 95)]),
            ], silences: [silence])
        #expect(notices == [[], [], [], ["opened web-1/disk critical"], []])
        let alert = try #require(state.alerts.first)
        #expect(alert.silenced == nil && alert.since == Self.t0)
    }

    @Test func whileSilencedTheAlertCarriesTheReasonAndTheEnd() throws {
        let result = AlertEngine.evaluate(
            documents: [Self.doc(at: 0, disk: 93)], config: MonitoringConfig(), previous: AlertState(), now: Self.t0,
            silences: [Self.silence(to: 120)])
        let alert = try #require(result.state.alerts.first)
        #expect(alert.silenced == AlertHold(silenceID: "s120", reason: "kernel upgrade", until: Self.at(120)))
        #expect(result.notices.isEmpty && result.state.notified.isEmpty)
        // alerts.json and the API carry it.
        let json = String(decoding: try JSONEncoder.lookout().encode(result.state), as: UTF8.self)
        #expect(
            json.contains(#""silenced":{"reason":"kernel upgrade","silence_id":"s120","until":"2025-12-09T12:30:00Z"}"#)
        )
        #expect(try JSONDecoder().decode(AlertState.self, from: Data(json.utf8)) == result.state)
    }

    @Test func anAlertThatResolvedDuringTheSilenceSendsNothing() {
        let (state, notices) = Self.run(
            [
                (0, [Self.doc(at: 0, disk: 93)]),
                (20, [Self.doc(at: 20, disk: 50)]),
                (60, [Self.doc(at: 60, disk: 50)]),
                (61, [Self.doc(at: 61, disk: 50)]),
            ], silences: [Self.silence(to: 60)])
        #expect(notices == [[], [], [], []])
        #expect(state.alerts.isEmpty)
    }

    @Test func anAlertToldBeforeTheSilenceIsNotToldAgainAndItsEscalationWaits() {
        let (_, notices) = Self.run(
            [
                (0, [Self.doc(at: 0, disk: 85)]),
                (10, [Self.doc(at: 10, disk: 93)]),
                (40, [Self.doc(at: 40, disk: 93)]),
                (60, [Self.doc(at: 60, disk: 93)]),
            ], silences: [Self.silence(from: 5, to: 60)])
        // Opened at 0 (before the silence); the escalation during it is told once at its end.
        #expect(notices == [["opened web-1/disk warning"], [], [], ["escalated web-1/disk critical"]])
    }

    @Test func aResolutionDuringTheSilenceSendsNothingEvenForAnAlertToldBefore() {
        // The issue: while silenced no notice goes out, and one that resolved during the
        // silence sends nothing, also when the silence ends.
        let (_, notices) = Self.run(
            [(0, [Self.doc(at: 0, disk: 93)]), (10, [Self.doc(at: 10, disk: 50)]), (70, [Self.doc(at: 70, disk: 50)])],
            silences: [Self.silence(from: 5, to: 60)])
        #expect(notices == [["opened web-1/disk critical"], [], []])
    }

    @Test func aResolutionAfterTheSilenceIsTold() {
        let (_, notices) = Self.run(
            [(0, [Self.doc(at: 0, disk: 93)]), (10, [Self.doc(at: 10, disk: 93)]), (70, [Self.doc(at: 70, disk: 50)])],
            silences: [Self.silence(from: 5, to: 60)])
        #expect(notices == [["opened web-1/disk critical"], [], ["resolved web-1/disk critical"]])
    }

    @Test(arguments: [
        ("web-1", "all", true), ("web-*", "all", true), ("*", "disk", true), ("db-*", "all", false),
        ("web-1", "cpu", false), ("web-1", "disk", true), ("web-?", "all", false),
    ])
    func theVMPatternAndTheAlertKindChooseWhatIsHeld(vm: String, alert: String, held: Bool) {
        let (_, notices) = Self.run(
            [(0, [Self.doc(at: 0, disk: 93)])], silences: [Self.silence(vm, alert: alert, to: 60)])
        #expect(notices == (held ? [[]] : [["opened web-1/disk critical"]]))
    }

    @Test func aServiceSilenceHoldsThatServiceOnly() {
        let services = [
            ServiceStatus(id: "api", healthy: false, responseMS: 0, error: "refused"),
            ServiceStatus(id: "web", healthy: false, responseMS: 0, error: "refused"),
        ]
        let doc = AlertEngineTests.doc(at: 0, services: services)
        let (_, notices) = Self.run([(0, [doc])], silences: [Self.silence(alert: "service/api", to: 60)])
        #expect(notices == [["opened web-1/service/web critical"]])
    }

    @Test func aSilenceMayNameAVMThatDoesNotExistYet() {
        // Added before db-9 is installed; its first document arrives during the silence.
        let silence = Self.silence("db-9", alert: "all", to: 60)
        let (_, notices) = Self.run(
            [
                (0, [Self.doc(at: 0)]),
                (10, [Self.doc(at: 10), Self.doc("db-9", at: 10, disk: 93)]),
                (61, [Self.doc(at: 61), Self.doc("db-9", at: 61, disk: 50)]),
            ], silences: [silence])
        #expect(notices == [[], [], []])
    }

    @Test func aSilenceThatHasNotStartedOrHasEndedHoldsNothing() {
        let future = Silence(
            id: "f", vm: "*", alert: "all", reason: "later", createdAt: Self.at(10), endsAt: Self.at(20))
        let (_, notices) = Self.run([(0, [Self.doc(at: 0, disk: 93)])], silences: [future])
        #expect(notices == [["opened web-1/disk critical"]])
    }

    @Test func aHeldRebootIsDroppedWithItsPass() {
        var first = Self.doc(at: 0)
        first.system.bootID = "boot-a"
        var second = Self.doc(at: 5)
        second.system.bootID = "boot-b"
        var third = Self.doc(at: 70)
        third.system.bootID = "boot-b"
        let (_, notices) = Self.run([(0, [first]), (5, [second]), (70, [third])], silences: [Self.silence(to: 60)])
        #expect(notices == [[], [], []])
    }

    @Test func theLongestOfTwoSilencesIsShown() throws {
        let result = AlertEngine.evaluate(
            documents: [Self.doc(at: 0, disk: 93)], config: MonitoringConfig(), previous: AlertState(), now: Self.t0,
            silences: [Self.silence(to: 30, reason: "short"), Self.silence("web-*", to: 90, reason: "long")])
        #expect(result.state.alerts.first?.silenced?.reason == "long")
    }
}

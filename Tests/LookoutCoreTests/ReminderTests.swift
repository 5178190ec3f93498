import Foundation
import LookoutCore
import Testing

/// Reminders (`notifications.repeat_minutes`), at injected times (issue 12, item 3).
@Suite struct ReminderTests {
    static func config(_ json: String = #"{"critical": 240}"#) throws(ConfigError) -> MonitoringConfig {
        try MonitoringConfig.parse(Array(#"{"notifications": {"repeat_minutes": \#(json)}}"#.utf8))
    }

    static func run(
        _ minutes: [Double], disk: Double = 93, config: MonitoringConfig, silences: [Silence] = []
    ) -> (notices: [[String]], all: [Notice]) {
        var state = AlertState()
        var told: [[String]] = []
        var all: [Notice] = []
        for minute in minutes {
            let result = AlertEngine.evaluate(
                documents: [AlertEngineTests.doc(at: minute, disk: disk)], config: config, previous: state,
                now: SilenceEngineTests.at(minute), silences: silences)
            state = result.state
            told.append(result.notices.map { "\($0.kind.rawValue) \($0.alert.id)" })
            all += result.notices
        }
        return (told, all)
    }

    @Test func aCriticalAlertIsToldAgainEveryRepeatInterval() throws {
        let (told, all) = Self.run([0, 239, 240, 479, 480], config: try Self.config())
        #expect(told == [["opened web-1/disk"], [], ["reminder web-1/disk"], [], ["reminder web-1/disk"]])
        let reminder = try #require(all.dropFirst().first)
        #expect(reminder.subject == "[Lookout] STILL CRITICAL web-1: disk 93%, critical at 90%")
        #expect(reminder.body(publicURL: nil).hasPrefix("Alert on web-1 still critical for 4 h: disk 93%"))
        #expect(all.last?.body(publicURL: nil).hasPrefix("Alert on web-1 still critical for 8 h") == true)
    }

    /// A VM that went down keeps its disk alert as it was, but only "stale" is reminded of:
    /// the frozen disk figure was not measured again.
    @Test func aDownVMIsRemindedOfBeingDownNotOfItsFrozenFigures() throws {
        let config = try Self.config()
        let document = AlertEngineTests.doc(at: 0, disk: 93)
        var state = AlertState()
        var told: [[String]] = []
        for minute in [0.0, 30, 270, 500] {
            let result = AlertEngine.evaluate(
                documents: [document], config: config, previous: state, now: SilenceEngineTests.at(minute))
            state = result.state
            told.append(result.notices.map { "\($0.kind.rawValue) \($0.alert.id)" })
        }
        #expect(told == [["opened web-1/disk"], ["opened web-1/stale"], ["reminder web-1/stale"], []])
        #expect(state.alerts.map(\.id).sorted() == ["web-1/disk", "web-1/stale"])
    }

    @Test func aSeverityWithoutRepeatMinutesIsNeverRepeated() throws {
        let (told, _) = Self.run([0, 240, 10_000], disk: 85, config: try Self.config())
        #expect(told == [["opened web-1/disk"], [], []])
        let (off, _) = Self.run([0, 240, 10_000], config: MonitoringConfig())
        #expect(off == [["opened web-1/disk"], [], []])
    }

    @Test func aReminderDueDuringASilenceWaitsForItsEnd() throws {
        let silence = Silence(
            id: "s", vm: "web-1", alert: "all", reason: "maintenance", createdAt: SilenceEngineTests.at(200),
            endsAt: SilenceEngineTests.at(300))
        let (told, _) = Self.run([0, 240, 299, 300, 301], config: try Self.config(), silences: [silence])
        #expect(told == [["opened web-1/disk"], [], [], ["reminder web-1/disk"], []])
    }

    @Test(arguments: [
        (#"{"severe": 60}"#, "is not a severity"), (#"{"ok": 60}"#, "is not a severity"),
        (#"{"critical": 0}"#, "is not between 1 and 43200"), (#"{"critical": "4h"}"#, "repeat_minutes"),
    ])
    func badRepeatMinutesAreAClearConfigError(json: String, expected: String) {
        do {
            _ = try Self.config(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.message.contains("repeat_minutes") && error.message.contains(expected), "\(error.message)")
        }
    }

    @Test(
        arguments: [
            (0.0, "0 min"), (45 * 60, "45 min"), (4 * 3600, "4 h"), (5400, "1 h 30 min"), (183_600, "2 d 3 h"),
        ] as [(Double, String)])
    func durationsReadAsPeopleSayThem(seconds: Double, text: String) {
        #expect(Reminder.humanDuration(seconds) == text)
    }
}

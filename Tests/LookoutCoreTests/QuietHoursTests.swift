import Foundation
import LookoutCore
import Testing

/// Quiet hours: wall-clock windows, midnight crossing, daylight saving in Europe/Berlin (issue 12, item 2).
@Suite struct QuietHoursTests {
    static func utc(_ text: String) -> Date { Timestamp.parse(text)! }

    static func window(_ json: String) throws -> QuietHours {
        try JSONDecoder().decode(QuietHours.self, from: Data(json.utf8))
    }

    static let berlin = #"{"from": "02:00", "to": "04:30", "timezone": "Europe/Berlin"}"#

    /// (UTC time, the window's end in UTC or nil when closed).
    @Test(
        arguments: [
            // An ordinary night: 02:00 CET is 01:00 UTC.
            ("2026-03-28T00:59:00Z", nil), ("2026-03-28T01:00:00Z", "2026-03-28T03:30:00Z"),
            ("2026-03-28T03:29:00Z", "2026-03-28T03:30:00Z"), ("2026-03-28T03:30:00Z", nil),
            // Spring forward (2026-03-29, 02:00 CET -> 03:00 CEST at 01:00 UTC): 02:xx does not exist,
            // the window opens at 03:00 CEST and ends at 04:30 CEST = 02:30 UTC (1.5 h).
            ("2026-03-29T00:59:00Z", nil), ("2026-03-29T01:00:00Z", "2026-03-29T02:30:00Z"),
            ("2026-03-29T02:29:00Z", "2026-03-29T02:30:00Z"), ("2026-03-29T02:30:00Z", nil),
            // Summer: 02:00 CEST is 00:00 UTC.
            ("2026-07-01T00:00:00Z", "2026-07-01T02:30:00Z"), ("2026-07-01T02:30:00Z", nil),
            // Fall back (2026-10-25, 03:00 CEST -> 02:00 CET at 01:00 UTC): 02:00-03:00 happens twice,
            // the window lasts from 02:00 CEST (00:00 UTC) to 04:30 CET (03:30 UTC), 3.5 h.
            ("2026-10-24T23:59:00Z", nil), ("2026-10-25T00:00:00Z", "2026-10-25T03:30:00Z"),
            ("2026-10-25T00:59:00Z", "2026-10-25T03:30:00Z"), ("2026-10-25T01:00:00Z", "2026-10-25T03:30:00Z"),
            ("2026-10-25T03:29:00Z", "2026-10-25T03:30:00Z"), ("2026-10-25T03:30:00Z", nil),
        ] as [(String, String?)])
    func europeBerlinAcrossDaylightSaving(now: String, end: String?) throws {
        let window = try Self.window(Self.berlin)
        #expect(window.end(ifOpenAt: Self.utc(now)) == end.map(Self.utc))
    }

    /// A Friday-night window 22:00-06:00 UTC belongs to Friday and ends on Saturday morning.
    @Test(
        arguments: [
            ("2026-12-04T21:59:00Z", nil), ("2026-12-04T22:00:00Z", "2026-12-05T06:00:00Z"),
            ("2026-12-04T23:59:59Z", "2026-12-05T06:00:00Z"), ("2026-12-05T00:00:00Z", "2026-12-05T06:00:00Z"),
            ("2026-12-05T05:59:00Z", "2026-12-05T06:00:00Z"), ("2026-12-05T06:00:00Z", nil),
            // Saturday night is not named; Thursday night neither.
            ("2026-12-05T23:00:00Z", nil), ("2026-12-06T01:00:00Z", nil), ("2026-12-03T23:00:00Z", nil),
        ] as [(String, String?)])
    func aWindowCrossingMidnightBelongsToTheDayItStarts(now: String, end: String?) throws {
        let window = try Self.window(#"{"days": ["fri"], "from": "22:00", "to": "06:00", "timezone": "UTC"}"#)
        #expect(window.end(ifOpenAt: Self.utc(now)) == end.map(Self.utc))
    }

    /// A window whose `to` falls in the hour that does not exist ends when the clock jumps past
    /// it; one whose `to` falls in the hour that happens twice stays open until the second one.
    @Test(
        arguments: [
            // Spring forward 2026-03-29 at 01:00 UTC: 01:00 CET = 00:00 UTC, 02:30 does not exist.
            ("2026-03-28T23:59:00Z", nil), ("2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"),
            ("2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z"), ("2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z"),
            ("2026-03-29T01:00:00Z", nil),
            // Fall back 2026-10-25 at 01:00 UTC: 01:00 CEST = 23:00 UTC; 02:30 CET = 01:30 UTC, 2.5 h
            // without closing when 02:30 CEST (00:30 UTC) passes the first time.
            ("2026-10-24T22:59:00Z", nil), ("2026-10-24T23:00:00Z", "2026-10-25T01:30:00Z"),
            ("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"), ("2026-10-25T00:45:00Z", "2026-10-25T01:30:00Z"),
            ("2026-10-25T01:29:00Z", "2026-10-25T01:30:00Z"), ("2026-10-25T01:30:00Z", nil),
        ] as [(String, String?)])
    func aWindowEndingInTheChangedHour(now: String, end: String?) throws {
        let window = try Self.window(#"{"from": "01:00", "to": "02:30", "timezone": "Europe/Berlin"}"#)
        #expect(window.end(ifOpenAt: Self.utc(now)) == end.map(Self.utc), "\(now)")
    }

    @Test func aWindowCrossingMidnightIntoTheSpringForwardEndsAtTheNewOffset() throws {
        let window = try Self.window(#"{"from": "23:00", "to": "03:00", "timezone": "Europe/Berlin"}"#)
        // Saturday 23:00 CET = 22:00 UTC; Sunday 03:00 CEST = 01:00 UTC.
        #expect(window.end(ifOpenAt: Self.utc("2026-03-28T22:00:00Z")) == Self.utc("2026-03-29T01:00:00Z"))
        #expect(window.end(ifOpenAt: Self.utc("2026-03-29T00:59:00Z")) == Self.utc("2026-03-29T01:00:00Z"))
        #expect(window.end(ifOpenAt: Self.utc("2026-03-29T01:00:00Z")) == nil)
    }

    static func config(_ quietHours: String) throws(ConfigError) -> MonitoringConfig {
        try MonitoringConfig.parse(Array(#"{"quiet_hours": \#(quietHours)}"#.utf8))
    }

    @Test func quietHoursHoldNoticesLikeASilenceAndNeverHoldStaleUnlessNamed() throws {
        // t0 is 2025-12-09T10:30:00Z; a window around it, in UTC.
        let config = try Self.config(#"[{"vms": ["web-*"], "from": "10:00", "to": "12:00"}]"#)
        let doc = AlertEngineTests.doc(at: 0, disk: 93)
        var result = AlertEngine.evaluate(
            documents: [doc], config: config, previous: AlertState(), now: AlertEngineTests.t0)
        #expect(result.notices.isEmpty)
        #expect(result.state.alerts.first?.silenced?.reason == "quiet hours 10:00-12:00 UTC")
        #expect(result.state.alerts.first?.silenced?.until == Self.utc("2025-12-09T12:00:00Z"))
        // 20 minutes without a document: stale, told at once although the window holds the disk.
        result = AlertEngine.evaluate(
            documents: [doc], config: config, previous: result.state,
            now: AlertEngineTests.t0.addingTimeInterval(20 * 60))
        #expect(result.notices.map { "\($0.kind.rawValue) \($0.alert.id)" } == ["opened web-1/stale"])
        // Named explicitly, stale is held too.
        let named = try Self.config(#"[{"alerts": ["stale"], "from": "10:00", "to": "12:00"}]"#)
        result = AlertEngine.evaluate(
            documents: [doc], config: named, previous: AlertState(), now: AlertEngineTests.t0.addingTimeInterval(1200))
        #expect(result.notices.isEmpty)
        #expect(result.state.alerts.first { $0.kind == "stale" }?.silenced != nil)
    }

    @Test func afterTheWindowAnAlertStillHoldingIsToldOnce() throws {
        let config = try Self.config(#"[{"alerts": ["disk"], "from": "10:00", "to": "10:45"}]"#)
        var state = AlertState()
        var told: [[String]] = []
        for minutes in [0.0, 10, 14, 15, 16] {
            let result = AlertEngine.evaluate(
                documents: [AlertEngineTests.doc(at: minutes, disk: 93)], config: config, previous: state,
                now: AlertEngineTests.t0.addingTimeInterval(minutes * 60))
            state = result.state
            told.append(result.notices.map { "\($0.kind.rawValue) \($0.alert.id)" })
        }
        #expect(told == [[], [], [], ["opened web-1/disk"], []])
    }

    @Test(arguments: [
        (#"[{"from": "2:00", "to": "04:30"}]"#, "is not a time of day HH:MM"),
        (#"[{"from": "02:00", "to": "25:00"}]"#, "is not a time of day HH:MM"),
        (#"[{"from": "02:00", "to": "02:00"}]"#, "the same as from"),
        (#"[{"from": "02:00"}]"#, "to"),
        (#"[{"from": "02:00", "to": "04:00", "timezone": "Mars/Olympus"}]"#, "is not a time zone name"),
        (#"[{"from": "02:00", "to": "04:00", "days": ["monday"]}]"#, "is not a day"),
        (#"[{"from": "02:00", "to": "04:00", "alerts": ["cpuu"]}]"#, "is not all, an alert kind"),
        (#"[{"from": "02:00", "to": "04:00", "vms": ["web 1"]}]"#, "is not a vm_id or a pattern"),
        (#"[{"from": "02:00", "to": "04:00", "every": "day"}]"#, "every"),
    ])
    func aBadWindowIsAClearConfigError(json: String, expected: String) {
        do {
            _ = try Self.config(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.message.contains("quiet_hours"), "\(error.message)")
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }
}

import Foundation
import LookoutCore
import Testing

/// The disk-full fit on synthetic hourly series, the config keys, and the forecast alert
/// through the real engine.
@Suite struct DiskForecastTests {
    /// 2025-12-09T10:30:00Z
    static let now = Date(timeIntervalSince1970: 1_765_276_200)
    static let db = try! VMID(validating: "db-1")

    /// One point per hour for the last `hours` hours, percent from `percent(hoursAgo)`.
    static func series(hours: Int, usedGB: ((Int) -> Double)? = nil, _ percent: (Int) -> Double)
        -> [DiskForecast.Point]
    {
        (1...hours).map { ago in
            DiskForecast.Point(
                time: now.addingTimeInterval(-Double(ago) * 3600), percent: percent(ago), usedGB: usedGB?(ago))
        }
    }

    static func fit(_ points: [DiskForecast.Point], path: String = "/", warningDays: Int = 7) -> DiskForecast {
        DiskForecast.fit(
            vmID: db, path: path, points: points, now: now, settings: ForecastSettings(warningDays: warningDays))
    }

    @Test func aLinearFillIsProjectedExactly() throws {
        // 2 points a day, now at 90 %: full in 5 days; 50 GB disk, so +1 GB/day.
        let forecast = Self.fit(
            Self.series(hours: 72, usedGB: { 45 - Double($0) / 24 }) { 90 - 2 * Double($0) / 24 })
        #expect(forecast.points == 72)
        #expect(abs(try #require(forecast.percentPerDay) - 2) < 1e-9)
        #expect(abs(try #require(forecast.gbPerDay) - 1) < 1e-9)
        #expect(abs(try #require(forecast.daysLeft) - 5) < 1e-9)
        #expect(abs(try #require(forecast.fullAt).timeIntervalSince(Self.now) - 5 * 86_400) < 1e-3)
        #expect(forecast.warning)
        #expect(forecast.reason == nil)
        #expect(forecast.message == "disk / on db-1 full in ~5 days (+1 GB/day)")
    }

    @Test func noiseAroundATrendStillFindsIt() throws {
        // A daily swing of ±3 points and a deterministic jitter around +1 point a day from 80 %.
        let forecast = Self.fit(
            Self.series(hours: 72) { ago in
                80 - Double(ago) / 24 + 3 * cos(Double(ago) * .pi / 12) + Double((ago * 7919) % 11 - 5) / 10
            })
        let perDay = try #require(forecast.percentPerDay)
        #expect(abs(perDay - 1) < 0.25)
        let days = try #require(forecast.daysLeft)
        #expect((15...25).contains(days))
        #expect(!forecast.warning)
        #expect(forecast.gbPerDay == nil)
    }

    @Test func noForecastFromAFlatOrShrinkingTrend() {
        let cases: [(String, (Int) -> Double)] = [
            ("flat", { _ in 60 }),
            ("shrinking", { ago in 50 + Double(ago) / 24 }),
            ("barely growing", { ago in 60 - 0.01 * Double(ago) / 24 }),
        ]
        for (name, percent) in cases {
            let forecast = Self.fit(Self.series(hours: 72, percent))
            #expect(forecast.reason == .notGrowing, "\(name)")
            #expect(forecast.daysLeft == nil && forecast.fullAt == nil && !forecast.warning, "\(name)")
        }
    }

    @Test func noForecastFromFewerThanTwelveHours() {
        let eleven = Self.fit(Self.series(hours: 11) { 90 + Double(11 - $0) })
        #expect(eleven.reason == .tooFewPoints)
        #expect(eleven.points == 11)
        #expect(eleven.percentPerDay == nil && !eleven.warning)
        let twelve = Self.fit(Self.series(hours: 12) { 90 - Double($0) / 10 })
        #expect(twelve.reason == nil)
        #expect(twelve.warning)
    }

    @Test func aDiskAlreadyOverTheLineIsFullNow() throws {
        let forecast = Self.fit(Self.series(hours: 24) { 101 - Double($0) / 24 })
        #expect(try #require(forecast.daysLeft) == 0)
        #expect(forecast.message == "disk / on db-1 full within a day (+1 %/day)")
    }

    @Test func aFallingUsedSizeUnderARisingPercentKeepsItsSign() throws {
        // The disk was shrunk: used GB falls 0.3 a day while the percent rises 2 points a day.
        let forecast = Self.fit(
            Self.series(hours: 72, usedGB: { 20 + 0.3 * Double($0) / 24 }) { 90 - 2 * Double($0) / 24 })
        #expect(abs(try #require(forecast.gbPerDay) + 0.3) < 1e-9)
        #expect(forecast.message == "disk / on db-1 full in ~5 days (-0.3 GB/day)")
    }

    @Test func aFilesystemWithoutUsedBytesSaysPercentPerDay() {
        let forecast = Self.fit(Self.series(hours: 48) { 96 - 2 * Double($0) / 24 }, path: "/srv")
        #expect(forecast.message == "filesystem /srv on db-1 full in ~2 days (+2 %/day)")
    }

    @Test func theWarningLimitIsTheConfigs() {
        let points = Self.series(hours: 48) { 90 - Double($0) / 24 }
        #expect(!Self.fit(points, warningDays: 7).warning)
        #expect(Self.fit(points, warningDays: 14).warning)
    }

    @Test func configKeysAndTheirLimits() throws {
        func load(_ json: String) throws -> MonitoringConfig {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent(
                "forecast-\(UUID().uuidString).json")
            try Data(json.utf8).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            return try MonitoringConfig.load(path: url.path)
        }
        #expect(try load("{}").forecast == ForecastSettings(windowDays: 3, warningDays: 7))
        #expect(try load(#"{"forecast": {"window_days": 5, "warning_days": 14}}"#).forecast.windowDays == 5)
        for bad in [#"{"window_days": 0}"#, #"{"warning_days": 400}"#, #"{"window": 3}"#] {
            #expect(throws: ConfigError.self) { try load(#"{"forecast": \#(bad)}"#) }
        }
    }

    @Test func theEngineRaisesOneWarningAndResolvesItWhenTheTrendEases() throws {
        var document = AlertEngineTests.doc("db-1", at: 0, disk: 50)
        document.timestamp = Self.now
        let warning = Self.fit(Self.series(hours: 72) { 90 - 2 * Double($0) / 24 })
        let calm = Self.fit(Self.series(hours: 72) { _ in 60 })
        let first = AlertEngine.evaluate(
            documents: [document], config: MonitoringConfig(), previous: AlertState(), now: Self.now,
            forecasts: [warning])
        let notice = try #require(first.notices.first)
        #expect(first.notices.count == 1)
        #expect(notice.kind == .opened)
        #expect(notice.alert.id == "db-1/forecast/")
        #expect(notice.alert.severity == .warning)
        #expect(notice.alert.message == "disk / on db-1 full in ~5 days (+2 %/day)")
        // The store could not say: the alert stays as it was, with no notice.
        let later = Self.now.addingTimeInterval(600)
        document.timestamp = later
        let unknown = AlertEngine.evaluate(
            documents: [document], config: MonitoringConfig(), previous: first.state, now: later, forecasts: nil)
        #expect(unknown.notices.isEmpty)
        #expect(unknown.state.alerts.map(\.id) == ["db-1/forecast/"])
        #expect(unknown.state.alerts.first?.since == Self.now)
        let eased = AlertEngine.evaluate(
            documents: [document], config: MonitoringConfig(), previous: unknown.state, now: later,
            forecasts: [calm])
        #expect(eased.notices.map(\.kind) == [.resolved])
        #expect(eased.state.alerts.isEmpty)
    }

    @Test func aFilesystemForecastIsNamedLikeItsFsAlert() throws {
        let forecast = Self.fit(Self.series(hours: 48) { 96 - 2 * Double($0) / 24 }, path: "/srv/backup")
        var document = AlertEngineTests.doc("db-1", at: 0)
        document.timestamp = Self.now
        let result = AlertEngine.evaluate(
            documents: [document], config: MonitoringConfig(), previous: AlertState(), now: Self.now,
            forecasts: [forecast])
        #expect(result.state.alerts.map(\.id) == ["db-1/forecast/srv/backup"])
        #expect(result.state.alerts.first?.metric == "/srv/backup")
    }

    @Test func theAPIBodyRoundsAndNamesItsFields() throws {
        let forecast = Self.fit(Self.series(hours: 72, usedGB: { 45 - Double($0) / 24 }) { 90 - 2 * Double($0) / 24 })
        let json = try #require(
            JSONSerialization.jsonObject(with: JSONEncoder().encode(forecast)) as? [String: Any])
        #expect(json["vm_id"] as? String == "db-1")
        #expect(json["path"] as? String == "/")
        #expect(json["days_left"] as? Double == 5)
        #expect(json["gb_per_day"] as? Double == 1)
        #expect(json["percent_per_day"] as? Double == 2)
        #expect(json["full_at"] as? String == "2025-12-14T10:30:00Z")
        #expect(json["warning"] as? Bool == true)
        #expect(json["reason"] == nil)
    }
}

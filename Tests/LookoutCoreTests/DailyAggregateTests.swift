import Foundation
import LookoutCore
import Testing

/// The pure maths of the daily aggregate on fixed input.
@Suite struct DailyAggregateTests {
    /// 2025-12-09T00:00:00Z.
    static let dayStart = 1_765_238_400.0
    static let day = DailyAggregate.Day("2025-12-09")!

    static func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: dayStart + seconds) }

    @Test func statsOnAKnownList() throws {
        let s = try #require(DailyAggregate.stats([5, 1, 3, 2, 4]))
        #expect(s == DailyAggregate.Stats(min: 1, avg: 3, max: 5, p95: 5, samples: 5))
        #expect(DailyAggregate.stats([]) == nil)
        // Nearest rank: ⌈0.95 × 20⌉ = 19th of 1…20; ⌈0.95 × 100⌉ = 95th of 1…100.
        #expect(DailyAggregate.stats((1...20).map(Double.init))?.p95 == 19)
        #expect(DailyAggregate.stats((1...100).reversed().map(Double.init))?.p95 == 95)
        #expect(DailyAggregate.stats([7])?.p95 == 7)
    }

    @Test func coverageCountsDistinctMinutesAcrossGaps() {
        let times = [0, 60, 120, 600, 630, 1439 * 60].map { Self.at(Double($0)) }
        #expect(DailyAggregate.coverageMinutes(times, day: Self.day) == 5)
    }

    @Test func dayBoundaries() {
        let times = [Self.at(-1), Self.at(0), Self.at(86_399), Self.at(86_400)]
        #expect(DailyAggregate.coverageMinutes(times, day: Self.day) == 2)
        let system = times.enumerated().map { index, time in
            DailyAggregate.SystemSample(time: time, values: ["cpu": Double(index)])
        }
        let report = DailyAggregate.report(
            day: Self.day, vms: [DailyAggregate.VMInput(vmID: "web-1", system: system)], alerts: [])
        #expect(report.vms["web-1"]?.samples == 2)
        let expected = DailyAggregate.Stats(min: 1, avg: 1.5, max: 2, p95: 2, samples: 2)
        #expect(report.vms["web-1"]?.metrics["cpu"] == expected)
        #expect(report.vms["web-1"]?.minutesWithData == 2)
    }

    @Test func servicesContainersAndAlerts() throws {
        let vm = try VMID(validating: "web-1")
        let input = DailyAggregate.VMInput(
            vmID: "web-1", system: [],
            services: [
                .init(time: Self.at(0), serviceID: "api", healthy: true, responseMS: 100),
                .init(time: Self.at(60), serviceID: "api", healthy: true, responseMS: 200),
                .init(time: Self.at(120), serviceID: "api", healthy: false, responseMS: 300),
                .init(time: Self.at(180), serviceID: "api", healthy: true, responseMS: 400),
            ],
            containers: [
                .init(time: Self.at(0), name: "db", status: "running", cpuPercent: 0, memoryMB: 0),
                .init(time: Self.at(30), name: "db", status: "running", cpuPercent: 0, memoryMB: 0),
                .init(time: Self.at(60), name: "db", status: "exited", cpuPercent: 0, memoryMB: 0),
                .init(time: Self.at(120), name: "db", status: "running", cpuPercent: 0, memoryMB: 0),
            ])
        func alert(_ id: String, _ severity: Severity, since: Double) -> Alert {
            Alert(
                id: id, vmID: vm, kind: "cpu", metric: "cpu", severity: severity, value: nil, threshold: nil,
                since: Self.at(since), message: "x")
        }
        let alerts = [
            alert("web-1/cpu", .warning, since: 10), alert("web-1/cpu", .warning, since: 10),  // same alert twice
            alert("web-1/disk", .critical, since: 500), alert("web-1/load", .warning, since: -5),  // the day before
        ]
        let report = DailyAggregate.report(day: Self.day, vms: [input], alerts: alerts)
        let day = try #require(report.vms["web-1"])
        #expect(day.services["api"] == DailyAggregate.ServiceDay(healthyShare: 0.75, avgResponseMS: 250, checks: 4))
        #expect(day.containers["db"]?.minutesRunning == 2)
        #expect(day.alertsOpened == ["warning": 1, "critical": 1])
        #expect(report.alertsOpened == ["warning": 1, "critical": 1])
        #expect(day.metrics.isEmpty && day.samples == 0)
    }

    @Test func optionalMetricsNamedSeriesAndTraffic() throws {
        // Two samples; only the second has swap (an agent upgraded at noon).
        let system = [
            DailyAggregate.SystemSample(time: Self.at(0), values: ["cpu": 10]),
            DailyAggregate.SystemSample(time: Self.at(43_200), values: ["cpu": 20, "swap": 5, "net_rx": 100]),
        ]
        let named = [
            DailyAggregate.NamedSample(time: Self.at(-60), series: "fs:/srv/backup", value: 1),  // the day before
            DailyAggregate.NamedSample(time: Self.at(0), series: "fs:/srv/backup", value: 90),
            DailyAggregate.NamedSample(time: Self.at(60), series: "fs:/srv/backup", value: 92),
            DailyAggregate.NamedSample(time: Self.at(60), series: "temp:acpitz", value: 41),
        ]
        let input = DailyAggregate.VMInput(
            vmID: "web-1", system: system, named: named, traffic: (rx: 1.5e9, tx: 2e8))
        let report = DailyAggregate.report(day: Self.day, vms: [input], alerts: [])
        let day = try #require(report.vms["web-1"])
        #expect(Set(day.metrics.keys) == ["cpu", "swap", "net_rx", "fs:/srv/backup", "temp:acpitz"])
        #expect(day.metrics["swap"] == DailyAggregate.Stats(min: 5, avg: 5, max: 5, p95: 5, samples: 1))
        #expect(day.metrics["fs:/srv/backup"] == DailyAggregate.Stats(min: 90, avg: 91, max: 92, p95: 92, samples: 2))
        #expect(day.rxBytes == 1.5e9 && day.txBytes == 2e8)
        // Encoded under the README's keys; a VM without traffic has none.
        let text = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(text.contains(#""rx_bytes":1500000000"#) && text.contains(#""tx_bytes":200000000"#))
        let plain = DailyAggregate.report(
            day: Self.day, vms: [DailyAggregate.VMInput(vmID: "db-1", system: system)], alerts: [])
        let plainText = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        #expect(!plainText.contains("rx_bytes") && plain.vms["db-1"]?.rxBytes == nil)
    }

    /// Yesterday before 23:50 UTC, today from 23:50 on.
    static let defaultDayTable: [(Double, String)] = [
        (0, "2025-12-08"),  // 00:00 → yesterday
        (3_600, "2025-12-08"),  // 01:00
        (85_799, "2025-12-08"),  // 23:49:59
        (85_800, "2025-12-09"),  // 23:50 → today
        (86_100, "2025-12-09"),  // 23:55, the cron line
        (86_399, "2025-12-09"),  // 23:59:59
        (86_700, "2025-12-09"),  // 00:05 the next day → the day that just ended
    ]

    @Test(arguments: defaultDayTable)
    func defaultDay(secondsIntoDay: Double, expected: String) {
        #expect(DailyAggregate.defaultDay(now: Self.at(secondsIntoDay)).description == expected)
    }

    @Test(arguments: ["2024-02-29", "2025-12-09", "1970-01-01", "2100-12-31"])
    func validDatesRoundTrip(_ text: String) throws {
        let day = try #require(DailyAggregate.Day(text))
        #expect(day.description == text)
        #expect(DailyAggregate.Day(containing: day.start) == day)
    }

    @Test(arguments: [
        "2025-02-29", "2025-13-01", "2025-1-01", "../etc/pa", "2025-12-09x", "+025-12-09", "", "2025-12-32",
    ])
    func invalidDatesAreRefused(_ text: String) {
        #expect(DailyAggregate.Day(text) == nil)
    }

    @Test func dayIndexMatchesUnixTime() {
        #expect(Self.day.start == Date(timeIntervalSince1970: Self.dayStart))
        #expect(Self.day.end == Date(timeIntervalSince1970: Self.dayStart + 86_400))
    }
}

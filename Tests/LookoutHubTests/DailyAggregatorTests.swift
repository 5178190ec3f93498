import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Testing

@testable import LookoutHub

/// The daily aggregate on a real SQLite file, and its API routes.
@Suite struct DailyAggregatorTests {
    static let dayStart = Date(timeIntervalSince1970: 1_765_238_400)  // 2025-12-09T00:00:00Z
    static let day = DailyAggregate.Day("2025-12-09")!
    let folder = NSTemporaryDirectory() + "lookout-daily-\(UUID().uuidString)"

    static func at(_ minutes: Double) -> Date { dayStart.addingTimeInterval(minutes * 60) }

    /// A day of web-1: cpu 10, 20, …, 100 at minutes 0…9, one sample the day before and
    /// one at 00:00 the day after; a service and a container; alerts resolved and active.
    func fill(_ store: HistoryStore) async throws {
        for i in 0..<10 {
            let doc = makeDocument(
                "web-1", at: Self.at(Double(i)), cpu: Double(10 * (i + 1)),
                services: [ServiceStatus(id: "api", healthy: i != 3, responseMS: Double(100 + i))],
                containers: [
                    ContainerMetrics(name: "db", status: i < 4 ? "running" : "exited", cpuPercent: 1, memoryMB: 5)
                ])
            #expect(try await store.insert(doc))
        }
        #expect(try await store.insert(makeDocument("web-1", at: Self.at(-1), cpu: 99)))
        #expect(try await store.insert(makeDocument("web-1", at: Self.at(1440), cpu: 99)))
        let vm = try VMID(validating: "web-1")
        let resolved = Alert(
            id: "web-1/cpu", vmID: vm, kind: "cpu", metric: "cpu", severity: .critical, value: 95, threshold: 90,
            since: Self.at(5), message: "cpu high", resolvedAt: Self.at(1500))  // resolved the next day
        let older = Alert(
            id: "web-1/disk", vmID: vm, kind: "disk", metric: "disk", severity: .warning, value: 85, threshold: 80,
            since: Self.at(-100), message: "disk", resolvedAt: Self.at(30))  // opened the day before
        try await store.recordResolved([resolved, older])
        var state = AlertState()
        state.alerts = [
            Alert(
                id: "web-1/memory", vmID: vm, kind: "memory", metric: "memory", severity: .warning, value: 85,
                threshold: 80, since: Self.at(600), message: "memory")
        ]
        try AtomicFile.write(JSONEncoder.lookout(pretty: true).encode(state), to: "\(folder)/alerts.json")
    }

    @Test func writesTheDayAndIsIdempotent() async throws {
        try AtomicFile.makeDirectories(folder)
        let store = try HistoryStore(path: "\(folder)/lookout.sqlite", logger: Logger(label: "test"))
        try await fill(store)
        let aggregator = DailyAggregator(dataFolder: folder, store: store)
        let (path, report) = try await aggregator.run(day: Self.day)
        #expect(path == "\(folder)/history/2025-12-09.json")
        let first = try AtomicFile.read(path, limit: 1 << 20)
        let decoded = try JSONDecoder().decode(DailyAggregate.Report.self, from: Data(first))
        #expect(decoded == report)
        #expect(report.date == "2025-12-09")
        let vm = try #require(report.vms["web-1"])
        #expect(vm.samples == 10 && vm.minutesWithData == 10)
        #expect(vm.metrics["cpu"] == DailyAggregate.Stats(min: 10, avg: 55, max: 100, p95: 100, samples: 10))
        #expect(vm.metrics["memory"]?.avg == 20)
        #expect(Set(vm.metrics.keys) == ["cpu", "memory", "disk", "load1", "load5", "load15"])
        #expect(vm.services["api"] == DailyAggregate.ServiceDay(healthyShare: 0.9, avgResponseMS: 104.5, checks: 10))
        #expect(vm.containers["db"]?.minutesRunning == 4)
        #expect(vm.alertsOpened == ["critical": 1, "warning": 1])
        #expect(report.alertsOpened == ["critical": 1, "warning": 1])
        let text = String(decoding: first, as: UTF8.self)
        #expect(text.contains("\"minutes_with_data\" : 10"))

        try await aggregator.run(day: Self.day)
        #expect(try AtomicFile.read(path, limit: 1 << 20) == first)
    }

    @Test func theDayHasTheExtraSeriesAndItsTraffic() async throws {
        try AtomicFile.makeDirectories(folder)
        let store = try HistoryStore(path: "\(folder)/lookout.sqlite", logger: Logger(label: "test"))
        // 23:55 the day before, then 00:05 … 00:25: the first delta is the day's (its later sample).
        let times = [-5.0, 5, 10, 15, 20, 25]
        for (i, minute) in times.enumerated() {
            let document = makeExtrasDocument(
                "web-1", at: Self.at(minute), rxTotal: Double(i) * 1000, txTotal: Double(i) * 10, rxRate: Double(i),
                txRate: 1, bootID: "b", swapPercent: Double(i), filesystems: [("/srv/backup", 90 + Double(i))])
            #expect(try await store.insert(document))
        }
        let (_, report) = try await DailyAggregator(dataFolder: folder, store: store).run(day: Self.day)
        let vm = try #require(report.vms["web-1"])
        #expect(vm.samples == 5)
        #expect(vm.metrics["swap"] == DailyAggregate.Stats(min: 1, avg: 3, max: 5, p95: 5, samples: 5))
        #expect(vm.metrics["net_rx"]?.max == 5)
        #expect(vm.metrics["fs:/srv/backup"] == DailyAggregate.Stats(min: 91, avg: 93, max: 95, p95: 95, samples: 5))
        #expect(vm.metrics["disk_util"] == nil)
        #expect(vm.rxBytes == 5000 && vm.txBytes == 50)
    }

    @Test func aServiceRunTimeIsTheNextOccurrence() {
        #expect(DailyAggregateService.minuteOfDay("23:55") == 1435)
        #expect(DailyAggregateService.minuteOfDay("00:00") == 0)
        for bad in ["24:00", "7:30", "12:60", "+1:00", "1200", ""] {
            #expect(DailyAggregateService.minuteOfDay(bad) == nil, "\(bad)")
        }
        // 10:00 → 23:55 (the day so far); 23:55 → 00:05 the next day (the day just ended,
        // complete); 00:05 → 23:55 that day.
        let day = Self.day
        let next = DailyAggregate.Day(index: day.index + 1)
        #expect(DailyAggregateService.nextRun(after: Self.at(600), minuteOfDay: 1435) == (Self.at(1435), day))
        #expect(DailyAggregateService.nextRun(after: Self.at(1435), minuteOfDay: 1435) == (Self.at(1445), day))
        #expect(DailyAggregateService.nextRun(after: Self.at(1445), minuteOfDay: 1435) == (Self.at(1440 + 1435), next))
        #expect(DailyAggregateService.nextRun(after: Self.at(2), minuteOfDay: 1435) == (Self.at(5), day.previous))
        // A daily time before 23:50 writes yesterday; the 00:05 run is there all the same.
        #expect(DailyAggregateService.nextRun(after: Self.at(30), minuteOfDay: 360) == (Self.at(360), day.previous))
    }

    /// The issue's case: a sample at 23:57:30, after the 23:55 run, is in that day's file once
    /// the 00:05 run has rewritten it. The services' clock is injected; nothing sleeps.
    @Test func aSampleAt235730IsInThatDaysFile() async throws {
        try AtomicFile.makeDirectories(folder)
        let store = try HistoryStore(path: "\(folder)/lookout.sqlite", logger: Logger(label: "test"))
        let aggregator = DailyAggregator(dataFolder: folder, store: store)
        let service = DailyAggregateService(
            aggregator: aggregator, logger: Logger(label: "test"), now: { Self.at(1436) })
        #expect(try await store.insert(makeDocument("web-1", at: Self.at(1200), cpu: 10)))
        // 23:55: the day so far.
        let evening = DailyAggregateService.nextRun(after: Self.at(1200), minuteOfDay: 1435)
        #expect(await service.write(evening.day))
        #expect(try readReport(Self.day).vms["web-1"]?.samples == 1)
        // 23:57:30: one more sample; 00:05: the day complete.
        #expect(try await store.insert(makeDocument("web-1", at: Self.at(1437.5), cpu: 30)))
        let midnight = DailyAggregateService.nextRun(after: evening.at, minuteOfDay: 1435)
        #expect(midnight.at == Self.at(1445) && midnight.day == Self.day)
        #expect(await service.write(midnight.day))
        let vm = try #require(try readReport(Self.day).vms["web-1"])
        #expect(vm.samples == 2)
        #expect(vm.metrics["cpu"]?.max == 30)
    }

    /// At start, `serve` writes every day within raw_days whose file is missing or was written
    /// before the day ended; complete files and days without samples are left alone.
    @Test func startWritesMissingAndIncompleteDays() async throws {
        try AtomicFile.makeDirectories(folder)
        let store = try HistoryStore(path: "\(folder)/lookout.sqlite", logger: Logger(label: "test"))
        let aggregator = DailyAggregator(dataFolder: folder, store: store)
        // Samples on the 6th, the 8th and the 9th; "now" is the 11th at 10:00, raw_days 5: the
        // 6th is partly pruned already, the 7th onwards fully within retention.
        for (day, minute) in [(-3, 600.0), (-1, 600.0), (0, 600.0), (0, 1437.5)] {
            #expect(try await store.insert(makeDocument("web-1", at: Self.at(Double(day * 1440) + minute))))
        }
        let now = Self.at(2 * 1440 + 600)
        let service = DailyAggregateService(
            aggregator: aggregator, rawDays: 5, logger: Logger(label: "test"), now: { now })
        // The 9th was written at 23:55 that day (file time before the day's end): incomplete.
        try await aggregator.run(day: Self.day)
        let ninth = "\(folder)/history/\(Self.day).json"
        try FileManager.default.setAttributes([.modificationDate: Self.at(1435)], ofItemAtPath: ninth)

        let written = await service.catchUp(now: now)
        #expect(written.map(\.description) == ["2025-12-08", "2025-12-09"])
        #expect(try readReport(Self.day).vms["web-1"]?.samples == 2)
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/history/2025-12-06.json"))  // partly pruned
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/history/2025-12-10.json"))  // no samples
        #expect(await service.catchUp(now: now).isEmpty)  // now every file is complete
    }

    func readReport(_ day: DailyAggregate.Day) throws -> DailyAggregate.Report {
        let bytes = try AtomicFile.read("\(folder)/history/\(day).json", limit: 1 << 20)
        return try JSONDecoder().decode(DailyAggregate.Report.self, from: Data(bytes))
    }

    @Test func apiListsAndServesDailyFiles() async throws {
        let hub = try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"))
        let app = Application(router: hub.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/monitoring/daily", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"days":[]}"#)
            }
            try await fill(hub.ingestor.store)
            let (path, _) = try await DailyAggregator(dataFolder: folder, store: hub.ingestor.store).run(day: Self.day)
            try await DailyAggregator(dataFolder: folder, store: hub.ingestor.store).run(day: Self.day.previous)
            try AtomicFile.write(Array("x".utf8), to: "\(folder)/history/notes.txt")
            try await client.execute(uri: "/api/monitoring/daily", method: .get) { response in
                #expect(String(buffer: response.body) == #"{"days":["2025-12-08","2025-12-09"]}"#)
            }
            let written = try AtomicFile.read(path, limit: 1 << 20)
            try await client.execute(uri: "/api/monitoring/daily/2025-12-09", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Array(response.body.readableBytesView) == written)
            }
            try await client.execute(uri: "/api/monitoring/daily/2025-12-10", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body) == #"{"error":"Not found"}"#)
            }
            for bad in ["2025-13-01", "notes", "%2e%2e", "2025-12-9", "..%2Falerts"] {
                try await client.execute(uri: "/api/monitoring/daily/\(bad)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
        }
    }
}

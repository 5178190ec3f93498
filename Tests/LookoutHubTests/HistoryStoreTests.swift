import Foundation
import GRDB
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// The history store against real SQLite files in a temporary folder; every clock is a fixed date.
///
/// A class so that each test gets its own folder in `init` and `deinit` removes it.
@Suite final class HistoryStoreTests: Sendable {
    /// 2025-12-09T00:00:00Z: whole hours and days, so bucket boundaries are easy to read.
    static let t0 = Date(timeIntervalSince1970: 1_765_238_400)
    static let vm = "web-1"

    let folder: String
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        folder = url.path
        path = "\(folder)/lookout.sqlite"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func openStore() throws -> HistoryStore {
        try HistoryStore(path: path, logger: Logger(label: "test"))
    }

    static func vmID(_ text: String = vm) throws -> VMID { try VMID(validating: text) }

    static func retention(rawDays: Int = 14, hourlyDays: Int = 365) -> Retention {
        var retention = Retention()
        retention.rawDays = rawDays
        retention.hourlyDays = hourlyDays
        return retention
    }

    /// The hourly table as `metric@hour: min/avg/max/count`, read straight from the file.
    static func hourlyRows(_ path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM hourly ORDER BY vm_id, metric, hour").map { row in
                let metric: String = row["metric"], hour: Int64 = row["hour"], count: Int = row["count"]
                let low: Double = row["min"], mean: Double = row["avg"], high: Double = row["max"]
                return "\(row["vm_id"] as String) \(metric)@\(hour): \(low)/\(mean)/\(high)/\(count)"
            }
        }
    }

    // MARK: - Opening

    @Test func freshStorePassesIntegrityCheck() async throws {
        let store = try openStore()
        #expect(try await store.integrityCheck())
        #expect(try await store.latestDocuments().isEmpty)
        #expect(try await store.sampleCount(vmID: Self.vmID()) == 0)
    }

    @Test func reopeningFindsTheData() async throws {
        let document = makeDocument(Self.vm, at: Self.t0, cpu: 42)
        do {
            let store = try openStore()
            #expect(try await store.insert(document))
        }
        let reopened = try openStore()
        #expect(try await reopened.sampleCount(vmID: Self.vmID()) == 1)
        #expect(try await reopened.latestDocuments() == [document])
        #expect(try await reopened.insert(document) == false)
        #expect(try await reopened.integrityCheck())
    }

    @Test func fileThatIsNotADatabaseIsNamed() async throws {
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: HubError.self) {
            try HistoryStore(path: path, logger: Logger(label: "test"))
        }
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains("not a SQLite database") == true)
    }

    @Test func newerSchemaIsRefused() async throws {
        _ = try openStore()
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999-from-the-future')")
        }
        let error = #expect(throws: HubError.self) {
            try HistoryStore(path: path, logger: Logger(label: "test"))
        }
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains("newer") == true)
    }

    // MARK: - Insert

    @Test func insertIsIdempotent() async throws {
        let store = try openStore()
        let services = [ServiceStatus(id: "mail", healthy: true, responseMS: 125)]
        let containers = [ContainerMetrics(name: "front", status: "running", cpuPercent: 0.5, memoryMB: 45)]
        let first = makeDocument(Self.vm, at: Self.t0, cpu: 10, services: services, containers: containers)
        // A replay of the same sample, even with other figures, is not a second sample.
        let replay = makeDocument(Self.vm, at: Self.t0, cpu: 99, services: services + services)
        #expect(try await store.insert(first))
        #expect(try await store.insert(replay) == false)
        #expect(try await store.sampleCount(vmID: Self.vmID()) == 1)
        #expect(try await store.latestDocuments() == [first])
        let end = Self.t0.addingTimeInterval(1)
        #expect(
            try await store.serviceSamples(vmID: Self.vmID(), from: Self.t0, to: end) == [
                ServiceSample(time: Self.t0, serviceID: "mail", healthy: true, responseMS: 125)
            ])
        #expect(
            try await store.containerSamples(vmID: Self.vmID(), from: Self.t0, to: end) == [
                ContainerSample(time: Self.t0, name: "front", status: "running", cpuPercent: 0.5, memoryMB: 45)
            ])
    }

    @Test func concurrentInsertsAreGroupCommitted() async throws {
        let store = try openStore()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<500 {
                let vm = "vm-\(i % 5)"
                let document = makeDocument(vm, at: Self.t0.addingTimeInterval(Double(i * 60)), cpu: Double(i % 100))
                group.addTask { try await store.insert(document) }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 500)
        #expect(results.allSatisfy { $0 })
        // Inserts that arrived while a transaction ran shared the next one.
        #expect(store.writeTransactions < 500)
        for n in 0..<5 {
            #expect(try await store.sampleCount(vmID: Self.vmID("vm-\(n)")) == 100)
        }
        let latest = try await store.latestDocuments()
        #expect(latest.map(\.vmID.rawValue) == ["vm-0", "vm-1", "vm-2", "vm-3", "vm-4"])
        // vm-n's newest sample is i = 495 + n.
        #expect(latest.map(\.timestamp) == (495..<500).map { Self.t0.addingTimeInterval(Double($0 * 60)) })
        #expect(try await store.integrityCheck())
    }

    @Test func latestKeepsTheNewestWhenAnOlderDocumentArrivesLater() async throws {
        let store = try openStore()
        let newer = makeDocument(Self.vm, at: Self.t0.addingTimeInterval(300), cpu: 50)
        let older = makeDocument(Self.vm, at: Self.t0, cpu: 5)
        #expect(try await store.insert(newer))
        #expect(try await store.insert(older))
        #expect(try await store.sampleCount(vmID: Self.vmID()) == 2)
        #expect(try await store.latestDocuments() == [newer])
    }

    @Test func serviceAndContainerSamplesAreReadInAHalfOpenRange() async throws {
        let store = try openStore()
        for minute in 0..<3 {
            let time = Self.t0.addingTimeInterval(Double(minute * 60))
            let services = [
                ServiceStatus(id: "web", healthy: minute != 1, responseMS: Double(minute)),
                ServiceStatus(id: "api", healthy: true, responseMS: 10),
            ]
            let containers = [ContainerMetrics(name: "db", status: "running", cpuPercent: 1, memoryMB: 100)]
            #expect(try await store.insert(makeDocument(Self.vm, at: time, services: services, containers: containers)))
        }
        let from = Self.t0.addingTimeInterval(60), to = Self.t0.addingTimeInterval(120)
        let services = try await store.serviceSamples(vmID: Self.vmID(), from: from, to: to)
        #expect(
            services == [
                ServiceSample(time: from, serviceID: "api", healthy: true, responseMS: 10),
                ServiceSample(time: from, serviceID: "web", healthy: false, responseMS: 1),
            ])
        let containers = try await store.containerSamples(vmID: Self.vmID(), from: Self.t0, to: to)
        #expect(containers.map(\.time) == [Self.t0, from])
        #expect(try await store.serviceSamples(vmID: Self.vmID("other"), from: Self.t0, to: to).isEmpty)
    }

    // MARK: - Series

    /// 60 samples one per minute, cpu = minute index.
    static func insertHour(_ store: HistoryStore) async throws {
        for minute in 0..<60 {
            let time = t0.addingTimeInterval(Double(minute * 60))
            #expect(try await store.insert(makeDocument(vm, at: time, cpu: Double(minute), memory: 50)))
        }
    }

    @Test func seriesDownsamplesRawSamplesInSQLBuckets() async throws {
        let store = try openStore()
        try await Self.insertHour(store)
        let points = try await store.series(
            vmID: Self.vmID(), metric: .cpu, from: Self.t0, to: Self.t0.addingTimeInterval(3600), maxPoints: 6,
            now: Self.t0.addingTimeInterval(3600), retention: Self.retention())
        let expected = (0..<6).map { k -> SeriesPoint in
            let low = Double(10 * k)
            return SeriesPoint(
                time: Self.t0.addingTimeInterval(Double(k * 600)), min: low, avg: low + 4.5, max: low + 9, count: 10)
        }
        #expect(points == expected)
        let memory = try await store.series(
            vmID: Self.vmID(), metric: .memoryUsedMB, from: Self.t0, to: Self.t0.addingTimeInterval(3600),
            maxPoints: 1, now: Self.t0, retention: Self.retention())
        #expect(memory == [SeriesPoint(time: Self.t0, min: 512, avg: 512, max: 512, count: 60)])
    }

    @Test func seriesOmitsEmptyBucketsAndKeepsWithinMaxPoints() async throws {
        let store = try openStore()
        try await Self.insertHour(store)
        // Two hours asked, data in the second only: the first hour's buckets are empty and left out.
        let points = try await store.series(
            vmID: Self.vmID(), metric: .cpu, from: Self.t0.addingTimeInterval(-3600),
            to: Self.t0.addingTimeInterval(3600), maxPoints: 4, now: Self.t0, retention: Self.retention())
        #expect(points.map(\.time) == [Self.t0, Self.t0.addingTimeInterval(1800)])
        #expect(points.map(\.count) == [30, 30])
        // More points than samples: one sample per bucket, never more than asked.
        let fine = try await store.series(
            vmID: Self.vmID(), metric: .cpu, from: Self.t0, to: Self.t0.addingTimeInterval(59 * 60),
            maxPoints: 1000, now: Self.t0, retention: Self.retention())
        #expect(fine.count == 60)
        #expect(fine.allSatisfy { $0.count == 1 && $0.min == $0.max })
        let none = try await store.series(
            vmID: Self.vmID(), metric: .cpu, from: Self.t0.addingTimeInterval(7200),
            to: Self.t0.addingTimeInterval(9000), maxPoints: 10, now: Self.t0, retention: Self.retention())
        #expect(none.isEmpty)
    }

    @Test func seriesBeyondRawRetentionReadsWeightedHourlyRollups() async throws {
        let store = try openStore()
        // Hour 0: six samples at cpu 10; hour 1: two samples at cpu 40 and 20.
        for i in 0..<6 {
            let time = Self.t0.addingTimeInterval(Double(i * 600))
            #expect(try await store.insert(makeDocument(Self.vm, at: time, cpu: 10)))
        }
        #expect(try await store.insert(makeDocument(Self.vm, at: Self.t0.addingTimeInterval(3600), cpu: 40)))
        #expect(try await store.insert(makeDocument(Self.vm, at: Self.t0.addingTimeInterval(4200), cpu: 20)))
        let retention = Self.retention(rawDays: 14)
        let rolled = try await store.applyRetention(now: Self.t0.addingTimeInterval(2 * 3600), retention: retention)
        #expect(rolled == RetentionReport(hoursRolledUp: 2, rawDeleted: 0, hourlyDeleted: 0))
        let later = Self.t0.addingTimeInterval(20 * 86_400)
        let pruned = try await store.applyRetention(now: later, retention: retention)
        #expect(pruned == RetentionReport(hoursRolledUp: 0, rawDeleted: 8, hourlyDeleted: 0))
        #expect(try await store.sampleCount(vmID: Self.vmID()) == 0)
        #expect(
            try Self.hourlyRows(path).filter { $0.contains(" cpu@") } == [
                "web-1 cpu@1765238400: 10.0/10.0/10.0/6", "web-1 cpu@1765242000: 20.0/30.0/40.0/2",
            ])

        let hourly = try await store.series(
            vmID: Self.vmID(), metric: .cpu, from: Self.t0, to: Self.t0.addingTimeInterval(7200), maxPoints: 2,
            now: later, retention: retention)
        #expect(
            hourly == [
                SeriesPoint(time: Self.t0, min: 10, avg: 10, max: 10, count: 6),
                SeriesPoint(time: Self.t0.addingTimeInterval(3600), min: 20, avg: 30, max: 40, count: 2),
            ])
        // One bucket over both hours: (6 × 10 + 2 × 30) / 8, not the mean of the hourly means.
        let merged = try await store.series(
            vmID: Self.vmID(), metric: .cpu, from: Self.t0, to: Self.t0.addingTimeInterval(7200), maxPoints: 1,
            now: later, retention: retention)
        #expect(merged == [SeriesPoint(time: Self.t0, min: 10, avg: 15, max: 40, count: 8)])
    }

    @Test func seriesFromHourlyAddsHoursNotYetRolledUp() async throws {
        let store = try openStore()
        let retention = Self.retention(rawDays: 1)
        #expect(try await store.insert(makeDocument(Self.vm, at: Self.t0, cpu: 10)))
        _ = try await store.applyRetention(now: Self.t0.addingTimeInterval(3600), retention: retention)
        // Newer than the last rolled-up hour: only in the raw table so far.
        #expect(try await store.insert(makeDocument(Self.vm, at: Self.t0.addingTimeInterval(3700), cpu: 30)))
        let points = try await store.series(
            vmID: Self.vmID(), metric: .cpu, from: Self.t0, to: Self.t0.addingTimeInterval(7200), maxPoints: 2,
            now: Self.t0.addingTimeInterval(86_400 + 7200), retention: retention)
        #expect(
            points == [
                SeriesPoint(time: Self.t0, min: 10, avg: 10, max: 10, count: 1),
                SeriesPoint(time: Self.t0.addingTimeInterval(3600), min: 30, avg: 30, max: 30, count: 1),
            ])
    }

    @Test func seriesPointEncodesTheDashboardShape() throws {
        let point = SeriesPoint(time: Self.t0, min: 1, avg: 4.0 / 3.0, max: 2.5, count: 3)
        let json = String(decoding: try JSONEncoder.lookout().encode(point), as: UTF8.self)
        #expect(json == #"{"avg":1.33,"max":2.5,"min":1,"n":3,"t":"2025-12-09T00:00:00Z"}"#)
        let decoded = try JSONDecoder().decode(SeriesPoint.self, from: Data(json.utf8))
        #expect(decoded == SeriesPoint(time: Self.t0, min: 1, avg: 1.33, max: 2.5, count: 3))
    }

    // MARK: - Retention

    @Test func retentionIsIdempotentAndPrunesByAge() async throws {
        let store = try openStore()
        let retention = Self.retention(rawDays: 2, hourlyDays: 5)
        let services = [ServiceStatus(id: "web", healthy: true, responseMS: 5)]
        let containers = [ContainerMetrics(name: "db", status: "running", cpuPercent: 1, memoryMB: 100)]
        // One sample at the start of each day 0…6, two in the current hour of day 6.
        for day in 0..<7 {
            let time = Self.t0.addingTimeInterval(Double(day * 86_400))
            #expect(
                try await store.insert(
                    makeDocument(Self.vm, at: time, cpu: Double(day), services: services, containers: containers)))
        }
        let now = Self.t0.addingTimeInterval(6 * 86_400 + 1800)
        #expect(try await store.insert(makeDocument(Self.vm, at: now.addingTimeInterval(-60), cpu: 1)))

        let first = try await store.applyRetention(now: now, retention: retention)
        // Days 0…5 rolled (day 6's hour is not complete); raw older than now − 2 d: days 0…4.
        // Hourly older than now − 5 d: days 0 and 1 (rolled just before, then pruned).
        // These documents have none of the optional figures: one hourly row per fixed metric.
        let fixed = Metric.allCases.count - Metric.optional.count
        #expect(first == RetentionReport(hoursRolledUp: 6, rawDeleted: 5, hourlyDeleted: 2 * fixed))
        let rowsAfterFirst = try Self.hourlyRows(path)
        #expect(rowsAfterFirst.count == 4 * fixed)
        #expect(rowsAfterFirst.contains("web-1 cpu@\(1_765_238_400 + 2 * 86_400): 2.0/2.0/2.0/1"))

        let second = try await store.applyRetention(now: now, retention: retention)
        #expect(second == RetentionReport(hoursRolledUp: 0, rawDeleted: 0, hourlyDeleted: 0))
        #expect(try Self.hourlyRows(path) == rowsAfterFirst)

        #expect(try await store.sampleCount(vmID: Self.vmID()) == 3)
        let all = Self.t0.addingTimeInterval(8 * 86_400)
        #expect(try await store.serviceSamples(vmID: Self.vmID(), from: Self.t0, to: all).count == 2)
        #expect(try await store.containerSamples(vmID: Self.vmID(), from: Self.t0, to: all).count == 2)
        #expect(try await store.integrityCheck())
    }

    @Test func lateSampleReRollsItsHour() async throws {
        let store = try openStore()
        let retention = Self.retention()
        #expect(try await store.insert(makeDocument(Self.vm, at: Self.t0, cpu: 10)))
        let now = Self.t0.addingTimeInterval(2 * 3600)
        #expect(try await store.applyRetention(now: now, retention: retention).hoursRolledUp == 1)
        // A spool replay brings a sample for the hour already rolled up.
        #expect(try await store.insert(makeDocument(Self.vm, at: Self.t0.addingTimeInterval(600), cpu: 30)))
        #expect(try await store.applyRetention(now: now, retention: retention).hoursRolledUp == 1)
        #expect(
            try Self.hourlyRows(path).filter { $0.contains(" cpu@") } == [
                "web-1 cpu@1765238400: 10.0/20.0/30.0/2"
            ])
    }
}

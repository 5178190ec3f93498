import Foundation
import GRDB
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// The hourly rollup of service checks (`service_hourly`): filled by the retention pass with
/// the VM's hours, pruned with `hourly_days`, purged with the VM, back-filled by the migration
/// on an upgraded store, and read by the status page's service uptime beyond `raw_days`.
/// A real SQLite file in a temp folder, a fixed clock.
@Suite final class ServiceRollupTests: Sendable {
    /// 2025-12-09T00:00:00Z, a UTC midnight.
    static let t0 = Date(timeIntervalSince1970: 1_765_238_400)
    static let day: TimeInterval = 86_400

    let folder: String
    var path: String { "\(folder)/lookout.sqlite" }

    init() throws {
        folder = NSTemporaryDirectory() + "lookout-service-rollup-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    func openStore() throws -> HistoryStore {
        try HistoryStore(path: path, logger: Logger(label: "test"))
    }

    static func vm(_ text: String) throws -> VMID { try VMID(validating: text) }

    static func retention(rawDays: Int = 14, hourlyDays: Int = 365) -> Retention {
        var retention = Retention()
        retention.rawDays = rawDays
        retention.hourlyDays = hourlyDays
        return retention
    }

    /// `service_hourly` as "vm service@hour: up/checks", sorted, read without the store.
    func rollups() throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM service_hourly ORDER BY vm_id, service_id, hour").map { row in
                let vm: String = row["vm_id"]
                let service: String = row["service_id"]
                let hour: Int64 = row["hour"]
                let up: Int = row["up"]
                let checks: Int = row["checks"]
                return "\(vm) \(service)@\(hour): \(up)/\(checks)"
            }
        }
    }

    /// Documents every `step` seconds in [from, to), each with the checks `services` gives.
    static func insert(
        _ store: HistoryStore, _ vm: String, from: Date, to: Date, step: TimeInterval = 300,
        services: (Date) -> [ServiceStatus]
    ) async throws {
        var time = from
        while time < to {
            #expect(try await store.insert(makeDocument(vm, at: time, services: services(time))))
            time += step
        }
    }

    static func check(_ id: String, _ healthy: Bool) -> ServiceStatus {
        ServiceStatus(id: id, healthy: healthy, responseMS: 10)
    }

    static let hour0 = Int64(t0.timeIntervalSince1970)

    // MARK: - Rolling up

    @Test func aCompleteHourIsRolledUpPerServiceAndTheOpenHourWaits() async throws {
        // A new file is created at the current schema without a word.
        let logs = CapturedLogs()
        let store = try HistoryStore(path: path, logger: logs.logger)
        #expect(logs.messages(at: .notice).isEmpty)
        // Hour 0: twelve documents, `site` fails every fourth, `api` always; hour 1 is still open.
        try await Self.insert(store, "web-1", from: Self.t0, to: Self.t0 + 3600) { time in
            let index = Int(time.timeIntervalSince(Self.t0) / 300)
            return [Self.check("site", index % 4 != 0), Self.check("api", false)]
        }
        try await Self.insert(store, "web-1", from: Self.t0 + 3600, to: Self.t0 + 3900) { _ in
            [Self.check("site", true)]
        }
        try await Self.insert(store, "db-1", from: Self.t0 + 1200, to: Self.t0 + 1800) { _ in
            [Self.check("pg", true)]
        }
        let report = try await store.applyRetention(now: Self.t0 + 3900, retention: Self.retention())
        #expect(report.hoursRolledUp == 2)
        #expect(
            try rollups() == [
                "db-1 pg@\(Self.hour0): 2/2", "web-1 api@\(Self.hour0): 0/12", "web-1 site@\(Self.hour0): 9/12",
            ])

        // Once hour 1 is complete, it is rolled too; hour 0 is left as it was.
        _ = try await store.applyRetention(now: Self.t0 + 7200, retention: Self.retention())
        #expect(try rollups().contains("web-1 site@\(Self.hour0 + 3600): 1/1"))
        #expect(try rollups().count == 4)
    }

    @Test func aSecondPassChangesNothingAndALateReplayCorrectsItsHour() async throws {
        let store = try openStore()
        try await Self.insert(store, "web-1", from: Self.t0, to: Self.t0 + 3600, step: 600) { _ in
            [Self.check("site", true)]
        }
        let now = Self.t0 + 2 * 3600
        _ = try await store.applyRetention(now: now, retention: Self.retention())
        let first = try rollups()
        #expect(first == ["web-1 site@\(Self.hour0): 6/6"])
        let again = try await store.applyRetention(now: now, retention: Self.retention())
        #expect(again.hoursRolledUp == 0)
        #expect(try rollups() == first)

        // A spool replay lands in the rolled-up hour: the next pass rolls that hour again, whole.
        #expect(try await store.insert(makeDocument("web-1", at: Self.t0 + 300, services: [Self.check("site", false)])))
        let replayed = try await store.applyRetention(now: now, retention: Self.retention())
        #expect(replayed.hoursRolledUp == 1)
        #expect(try rollups() == ["web-1 site@\(Self.hour0): 6/7"])
    }

    @Test func rollupsArePrunedAfterHourlyDaysAndOutliveTheRawChecks() async throws {
        let store = try openStore()
        try await Self.insert(store, "web-1", from: Self.t0, to: Self.t0 + 3600, step: 1200) { _ in
            [Self.check("site", true)]
        }
        try await Self.insert(store, "web-1", from: Self.t0 + 5 * Self.day, to: Self.t0 + 5 * Self.day + 600) { _ in
            [Self.check("site", false)]
        }
        let retention = Self.retention(rawDays: 2, hourlyDays: 4)
        // Day 3: the raw checks of day 0 are pruned, their rollup stays.
        _ = try await store.applyRetention(now: Self.t0 + 3 * Self.day, retention: retention)
        let raw = try await store.serviceSamples(vmID: Self.vm("web-1"), from: Self.t0, to: Self.t0 + Self.day)
        #expect(raw.isEmpty)
        #expect(try rollups() == ["web-1 site@\(Self.hour0): 3/3"])
        // Day 6: older than hourly_days (4) now: gone; day 5's hour stays.
        _ = try await store.applyRetention(now: Self.t0 + 6 * Self.day, retention: retention)
        #expect(try rollups() == ["web-1 site@\(Self.hour0 + 5 * 86_400): 0/2"])
    }

    @Test func purgingAVMDropsItsServiceRollupsOnly() async throws {
        let store = try openStore()
        for vm in ["web-1", "web-2"] {
            try await Self.insert(store, vm, from: Self.t0, to: Self.t0 + 3600, step: 1800) { _ in
                [Self.check("site", true)]
            }
        }
        _ = try await store.applyRetention(now: Self.t0 + 7200, retention: Self.retention())
        #expect(try rollups().count == 2)
        let forgetter = VMForgetter(
            dataFolder: folder, store: store, logger: Logger(label: "test"), now: { Self.t0 + 7200 })
        _ = try await forgetter.forget(try Self.vm("web-1"), purge: true)
        #expect(try rollups() == ["web-2 site@\(Self.hour0): 2/2"])

        // Forgetting without --purge keeps the history, rollups included.
        _ = try await forgetter.forget(try Self.vm("web-2"), purge: false)
        #expect(try rollups() == ["web-2 site@\(Self.hour0): 2/2"])
    }

    // MARK: - Upgrading

    /// A store written before `v5-service-hourly` (every migration up to v4, raw checks whose
    /// hours were rolled up already, so `rollup_pending` no longer names them) gets its service
    /// rollups from the migration, and keeps its services' days once the raw checks are pruned.
    @Test func theMigrationRollsUpTheChecksAnOlderHubStored() async throws {
        let old = try DatabaseQueue(path: path)
        try HistoryStore.migrator.migrate(old, upTo: "v4-interface-counters")
        try await old.write { db in
            // Two hours of day 0: `site` 3 of 4 in the first, 2 of 2 in the second; `api` once.
            for (offset, service, healthy) in [
                (0, "site", true), (900, "site", false), (1800, "site", true), (2700, "site", true),
                (3600, "site", true), (4500, "site", true), (600, "api", false),
            ] {
                try db.execute(
                    sql: "INSERT INTO service_samples VALUES ('web-1', ?, ?, ?, 10)",
                    arguments: [Self.hour0 + Int64(offset), service, healthy])
            }
        }
        try old.close()

        let logs = CapturedLogs()
        let store = try HistoryStore(path: path, logger: logs.logger)
        // The upgrade is said, before and after: on a large fleet it takes a while.
        let notices = logs.messages(at: .notice)
        #expect(notices.count == 2)
        #expect(notices.first?.contains("upgrading the schema (v5-service-hourly)") == true)
        #expect(notices.last?.contains("schema upgraded in") == true)
        let migrations = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
        #expect(migrations.last == "v5-service-hourly")
        #expect(
            try rollups() == [
                "web-1 api@\(Self.hour0): 0/1", "web-1 site@\(Self.hour0): 3/4", "web-1 site@\(Self.hour0 + 3600): 2/2",
            ])

        // 20 days later, raw_days 14: the raw checks are pruned, the status page still has day 0.
        let now = Self.t0 + 20 * Self.day
        _ = try await store.applyRetention(now: now, retention: Self.retention())
        #expect(try await store.serviceSamples(vmID: Self.vm("web-1"), from: Self.t0, to: now).isEmpty)
        let key = StatusPageConfig.ServiceKey(vmID: try Self.vm("web-1"), serviceID: "site")
        let uptime = try await store.dailyUptime(
            vms: [:], services: [key], days: 21, now: now, retention: Self.retention())
        let days = try #require(uptime.services[key]?.days)
        #expect(days.first == 83.3)
        #expect(days.dropFirst().allSatisfy { $0 == nil })
    }

    // MARK: - Uptime across the raw window's edge

    /// 30 days of hourly checks with raw_days 14: the days before the raw window come from the
    /// rollups, with the same ratio the raw checks gave before they were pruned.
    @Test func serviceUptimeReadsTheRollupsBeyondRawDays() async throws {
        let store = try openStore()
        let start = Self.t0 - 30 * Self.day
        let now = Self.t0 + 12 * 3600
        // Day d fails (d mod 4) of its 24 checks, at the first hours of the day.
        try await Self.insert(store, "web-1", from: start, to: now, step: 3600) { time in
            let offset = time.timeIntervalSince(start)
            let day = Int(offset / Self.day)
            let hour = Int(offset.truncatingRemainder(dividingBy: Self.day) / 3600)
            return [Self.check("site", hour >= day % 4)]
        }
        let key = StatusPageConfig.ServiceKey(vmID: try Self.vm("web-1"), serviceID: "site")
        let retention = Self.retention(rawDays: 14)
        func uptime() async throws -> DailyUptime {
            let answer = try await store.dailyUptime(
                vms: [:], services: [key], days: 90, now: now, retention: retention)
            return try #require(answer.services[key])
        }
        let allRaw = try await uptime()
        _ = try await store.applyRetention(now: now, retention: retention)
        let raw = try await store.serviceSamples(vmID: Self.vm("web-1"), from: start, to: now)
        #expect(raw.first?.time ?? .distantPast >= now - 14 * Self.day)
        let rolled = try await uptime()

        // 90 days: 59 before the first check, then 30 whole days of 24 checks and today's 12.
        let expected: [Double?] =
            Array(repeating: nil, count: 59)
            + (0...30).map { day in
                let checks = day == 30 ? 12.0 : 24
                return DailyUptime.percent(checks - Double(day % 4), of: checks)
            }
        #expect(rolled.days == expected, "\(rolled.days)")
        #expect(rolled == allRaw)
        // Days 15 to 30 back lie before the raw window and still have data: 95.8 % for 1 of 24.
        #expect(rolled.days[59..<75].allSatisfy { $0 != nil })
        #expect(rolled.days[60] == 95.8)
    }

    @Test func aDayWithoutChecksBeyondRawDaysIsNoData() async throws {
        let store = try openStore()
        let now = Self.t0 + 20 * Self.day + 12 * 3600
        // Day 0 and day 2 have checks, day 1 none (the VM was silent).
        for day in [0.0, 2] {
            try await Self.insert(store, "web-1", from: Self.t0 + day * Self.day, to: Self.t0 + day * Self.day + 3600) {
                _ in [Self.check("site", true)]
            }
        }
        try await Self.insert(store, "web-1", from: now - 600, to: now) { _ in [Self.check("site", true)] }
        _ = try await store.applyRetention(now: now, retention: Self.retention())
        let key = StatusPageConfig.ServiceKey(vmID: try Self.vm("web-1"), serviceID: "site")
        let other = StatusPageConfig.ServiceKey(vmID: try Self.vm("web-1"), serviceID: "never")
        let uptime = try await store.dailyUptime(
            vms: [:], services: [key, other], days: 21, now: now, retention: Self.retention())
        let days = try #require(uptime.services[key]?.days)
        #expect(Array(days[0..<3]) == [100, nil, 100])
        #expect(days[3..<20].allSatisfy { $0 == nil })
        #expect(days[20] == 100)
        #expect(uptime.services[other]?.days == Array(repeating: nil, count: 21))
    }
}

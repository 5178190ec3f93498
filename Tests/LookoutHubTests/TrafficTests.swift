import Foundation
import GRDB
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// Monthly traffic: the delta rule and the allowance month as pure tables, then the sums the
/// store keeps in `traffic_days` from fixed sample lists (real SQLite files).
@Suite final class TrafficTests: Sendable {
    static let vm = "web-1"
    /// 2025-12-09T00:00:00Z.
    static let t0 = Date(timeIntervalSince1970: 1_765_238_400)

    let folder: String

    init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-traffic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        folder = url.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func openStore(_ name: String = "lookout") throws -> HistoryStore {
        try HistoryStore(path: "\(folder)/\(name).sqlite", logger: Logger(label: "test"))
    }

    static func date(_ text: String) -> Date { Timestamp.parse(text)! }

    // MARK: - The delta rule

    typealias Reading = TrafficCounter.Reading
    static let deltaTable: [(String, Reading, Reading, Double, Double)] = [
        ("same boot, both up", Reading(rx: 100, tx: 200, boot: 1), Reading(rx: 150, tx: 260, boot: 1), 50, 60),
        ("nothing moved", Reading(rx: 100, tx: 200, boot: 1), Reading(rx: 100, tx: 200, boot: 1), 0, 0),
        (
            "rx went back: bytes since the reset", Reading(rx: 100, tx: 200, boot: 1),
            Reading(rx: 40, tx: 260, boot: 1), 40, 60
        ),
        (
            "new boot: all of the new counters", Reading(rx: 100, tx: 200, boot: 1), Reading(rx: 150, tx: 260, boot: 2),
            150, 260
        ),
        ("no boot_id at all, up", Reading(rx: 100, tx: 200, boot: nil), Reading(rx: 150, tx: 260, boot: nil), 50, 60),
        ("no boot_id at all, back", Reading(rx: 100, tx: 200, boot: nil), Reading(rx: 10, tx: 20, boot: nil), 10, 20),
        (
            "agent starts sending boot_id", Reading(rx: 100, tx: 200, boot: nil), Reading(rx: 150, tx: 260, boot: 7),
            50, 60
        ),
    ]

    @Test(arguments: deltaTable)
    func deltaRule(_ row: (String, Reading, Reading, Double, Double)) {
        let delta = TrafficCounter.delta(from: row.1, to: row.2)
        #expect(delta.rx == row.3, "\(row.0)")
        #expect(delta.tx == row.4, "\(row.0)")
    }

    @Test func bootIsA32BitHashOfTheBootID() throws {
        let a = try #require(TrafficCounter.boot("6f1c2d3e-0000-4000-8000-000000000001"))
        #expect((0...Int64(UInt32.max)).contains(a))
        #expect(TrafficCounter.boot("6f1c2d3e-0000-4000-8000-000000000001") == a)
        #expect(TrafficCounter.boot("6f1c2d3e-0000-4000-8000-000000000002") != a)
        #expect(TrafficCounter.boot(nil) == nil)
    }

    // MARK: - The allowance month

    /// (now, reset_day, period start, period end), all UTC.
    static let periodTable: [(String, Int, String, String)] = [
        ("2025-12-09T10:00:00Z", 1, "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("2025-12-09T00:00:00Z", 9, "2025-12-09T00:00:00Z", "2026-01-09T00:00:00Z"),
        ("2025-12-08T23:59:59Z", 9, "2025-11-09T00:00:00Z", "2025-12-09T00:00:00Z"),
        ("2026-01-15T12:00:00Z", 20, "2025-12-20T00:00:00Z", "2026-01-20T00:00:00Z"),
        // reset_day 31: the last day of a shorter month, then the 31st again.
        ("2026-02-27T12:00:00Z", 31, "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z"),
        ("2026-02-28T00:00:00Z", 31, "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z"),
        ("2026-03-30T23:00:00Z", 31, "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z"),
        ("2026-03-31T00:00:00Z", 31, "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z"),
        ("2024-02-29T08:00:00Z", 31, "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z"),
        ("2024-02-29T08:00:00Z", 30, "2024-02-29T00:00:00Z", "2024-03-30T00:00:00Z"),
        ("2025-12-31T23:59:59Z", 1, "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"),
    ]

    @Test(arguments: periodTable)
    func allowanceMonth(_ row: (String, Int, String, String)) {
        let period = TrafficPeriod.containing(Self.date(row.0), resetDay: row.1)
        #expect(Timestamp.format(period.start) == row.2, "\(row.0) reset \(row.1)")
        #expect(Timestamp.format(period.end) == row.3, "\(row.0) reset \(row.1)")
    }

    @Test func projectionAndExhaustion() throws {
        let vm = try VMID(validating: Self.vm)
        let period = TrafficPeriod(start: Self.date("2025-12-01T00:00:00Z"), end: Self.date("2025-12-31T00:00:00Z"))
        let allowance = TrafficAllowance(monthlyGB: 1, direction: .tx, resetDay: 1)
        // 10 of 30 days gone, 0.5 GB sent: 1.5 GB by the end, the 1 GB reached on day 20.
        let tenDays = Self.date("2025-12-11T00:00:00Z")
        let usage = HistoryStore.usage(vm: vm, period: period, rx: 7, tx: 0.5e9, allowance: allowance, now: tenDays)
        #expect(usage.usedBytes == 0.5e9)
        #expect(usage.projectedBytes == 1.5e9)
        #expect(usage.allowanceBytes == 1e9)
        #expect(usage.projectedExhaustion.map(Timestamp.format) == "2025-12-21T00:00:00Z")
        // At a rate that stays below the allowance: no exhaustion date.
        let low = HistoryStore.usage(vm: vm, period: period, rx: 0, tx: 0.2e9, allowance: allowance, now: tenDays)
        #expect(low.projectedBytes == 0.6e9)
        #expect(low.projectedExhaustion == nil)
        // "both" sums the directions; no allowance: tx, no exhaustion date.
        let both = HistoryStore.usage(
            vm: vm, period: period, rx: 0.1e9, tx: 0.2e9,
            allowance: TrafficAllowance(monthlyGB: 1, direction: .both), now: tenDays)
        #expect(both.usedBytes == 0.3e9)
        let none = HistoryStore.usage(vm: vm, period: period, rx: 5, tx: 9, allowance: nil, now: tenDays)
        #expect(none.usedBytes == 9 && none.direction == .tx && none.allowanceBytes == nil)
        #expect(none.projectedExhaustion == nil)
    }

    @Test func theFirstMinutesOfAMonthProjectAtLeastOneHourOfElapsedTime() throws {
        let vm = try VMID(validating: Self.vm)
        let period = TrafficPeriod(start: Self.date("2025-12-01T00:00:00Z"), end: Self.date("2025-12-31T00:00:00Z"))
        // 100 MB in the first minute: as if in one hour, 720 × 100 MB = 72 GB, not 4.3 TB.
        let usage = HistoryStore.usage(
            vm: vm, period: period, rx: 0, tx: 100e6, allowance: nil, now: Self.date("2025-12-01T00:01:00Z"))
        #expect(usage.projectedBytes == 72e9)
    }

    // MARK: - Sums in the store

    /// rx / tx counters and boot of each sample, 5 minutes apart from t0 (nil: no sample).
    static let samples: [(Double, Double, String)?] = [
        (1000, 100, "boot-a"),
        (1500, 150, "boot-a"),  // +500 +50
        (2500, 300, "boot-a"),  // +1000 +150
        nil, nil,  // a gap: nothing counted twice
        (4000, 350, "boot-a"),  // +1500 +50
        (300, 30, "boot-b"),  // reboot: +300 +30
        (800, 90, "boot-b"),  // +500 +60
        (100, 95, "boot-b"),  // rx reset (interface recreated): +100, tx +5
    ]
    static let expectedRx = 500.0 + 1000 + 1500 + 300 + 500 + 100
    static let expectedTx = 50.0 + 150 + 50 + 30 + 60 + 5

    static func documents() -> [MetricsDocument] {
        samples.enumerated().compactMap { index, sample in
            sample.map { rx, tx, boot in
                makeExtrasDocument(
                    vm, at: t0.addingTimeInterval(Double(index * 300)), rxTotal: rx, txTotal: tx, bootID: boot)
            }
        }
    }

    /// `traffic_days` as `day: rx/tx`.
    static func trafficRows(_ store: HistoryStore) async throws -> [String] {
        try await store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM traffic_days ORDER BY vm_id, day").map { row in
                let day: Int64 = row["day"], rx: Double = row["rx_bytes"], tx: Double = row["tx_bytes"]
                return
                    "\(row["vm_id"] as String) \(Timestamp.day(Date(timeIntervalSince1970: Double(day)))): \(rx)/\(tx)"
            }
        }
    }

    @Test func sumsSurviveResetsRebootsAndGaps() async throws {
        let store = try openStore()
        for document in Self.documents() { #expect(try await store.insert(document)) }
        #expect(try await Self.trafficRows(store) == ["web-1 2025-12-09: \(Self.expectedRx)/\(Self.expectedTx)"])
        // A duplicate (a replay of a stored sample) adds nothing.
        #expect(try await store.insert(Self.documents()[2]) == false)
        #expect(try await Self.trafficRows(store) == ["web-1 2025-12-09: \(Self.expectedRx)/\(Self.expectedTx)"])
    }

    /// Orders the same samples arrive in: a spool replay into a gap, newest first, interleaved.
    /// (Indices into the 7 documents: the 9 slots less the 2 of the gap.)
    static let orders: [[Int]] = [[0, 1, 4, 5, 6, 2, 3], [6, 5, 4, 3, 2, 1, 0], [3, 0, 6, 1, 5, 2, 4]]

    @Test(arguments: orders)
    func outOfOrderInsertsGiveTheSameSums(_ order: [Int]) async throws {
        let documents = Self.documents()
        let store = try openStore()
        try #require(Set(order) == Set(documents.indices))
        for index in order { #expect(try await store.insert(documents[index])) }
        #expect(try await Self.trafficRows(store) == ["web-1 2025-12-09: \(Self.expectedRx)/\(Self.expectedTx)"])
    }

    @Test func aBatchOfConcurrentInsertsGivesTheSameSums() async throws {
        let store = try openStore()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for document in Self.documents().reversed() { group.addTask { try await store.insert(document) } }
            for try await isNew in group { #expect(isNew) }
        }
        #expect(try await Self.trafficRows(store) == ["web-1 2025-12-09: \(Self.expectedRx)/\(Self.expectedTx)"])
    }

    @Test func aDeltaBelongsToTheDayOfItsLaterSampleAndTheMonthRollsOver() async throws {
        let store = try openStore()
        let times = ["2025-12-31T23:50:00Z", "2025-12-31T23:55:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"]
        for (index, time) in times.enumerated() {
            let bytes = Double(index) * 1000
            _ = try await store.insert(
                makeExtrasDocument(Self.vm, at: Self.date(time), rxTotal: bytes, txTotal: bytes * 2, bootID: "b"))
        }
        #expect(
            try await Self.trafficRows(store) == ["web-1 2025-12-31: 1000.0/2000.0", "web-1 2026-01-01: 2000.0/4000.0"])

        var config = MonitoringConfig()
        config.traffic[try VMID(validating: "db-1")] = TrafficAllowance(monthlyGB: 5, direction: .both, resetDay: 31)
        let december = try await store.trafficUsage(config: config, now: Self.date("2025-12-31T23:59:00Z"))
        let january = try await store.trafficUsage(config: config, now: Self.date("2026-01-01T12:00:00Z"))
        let web = try VMID(validating: Self.vm), db = try VMID(validating: "db-1")
        #expect(december[web]?.rxBytes == 1000 && december[web]?.txBytes == 2000)
        #expect(january[web]?.rxBytes == 2000 && january[web]?.usedBytes == 4000)
        #expect(january[web]?.allowanceBytes == nil)
        #expect(january[web].map { Timestamp.format($0.periodStart) } == "2026-01-01T00:00:00Z")
        // A VM with an allowance and no traffic yet still has its row, in its own month.
        let quiet = try #require(january[db])
        #expect(quiet.usedBytes == 0 && quiet.allowanceBytes == 5e9 && quiet.projectedBytes == 0)
        #expect(Timestamp.format(quiet.periodStart) == "2025-12-31T00:00:00Z")
        #expect(Timestamp.format(quiet.periodEnd) == "2026-01-31T00:00:00Z")
        // Months later, a VM that has gone quiet keeps its row, with nothing used.
        let march = try await store.trafficUsage(config: MonitoringConfig(), now: Self.date("2026-03-05T00:00:00Z"))
        #expect(march.count == 1)
        #expect(march[web]?.rxBytes == 0 && march[web]?.txBytes == 0)
        #expect(march[web].map { Timestamp.format($0.periodStart) } == "2026-03-01T00:00:00Z")
    }

    @Test func samplesWithoutNetworkCountNothingAndDoNotBreakTheChain() async throws {
        let store = try openStore()
        _ = try await store.insert(makeExtrasDocument(Self.vm, at: Self.t0, rxTotal: 100, txTotal: 10))
        _ = try await store.insert(makeExtrasDocument(Self.vm, at: Self.t0.addingTimeInterval(300)))
        _ = try await store.insert(
            makeExtrasDocument(Self.vm, at: Self.t0.addingTimeInterval(600), rxTotal: 250, txTotal: 40))
        #expect(try await Self.trafficRows(store) == ["web-1 2025-12-09: 150.0/30.0"])
    }

    @Test func forgetPurgeAndRetentionRemoveTrafficDays() async throws {
        let store = try openStore()
        for document in Self.documents() { _ = try await store.insert(document) }
        var retention = Retention()
        retention.hourlyDays = 30
        _ = try await store.applyRetention(now: Self.t0.addingTimeInterval(29 * 86_400), retention: retention)
        #expect(try await Self.trafficRows(store).count == 1)
        _ = try await store.applyRetention(now: Self.t0.addingTimeInterval(31 * 86_400), retention: retention)
        #expect(try await Self.trafficRows(store).isEmpty)

        let other = try openStore("other")
        for document in Self.documents() { _ = try await other.insert(document) }
        _ = try await other.purge(vmID: VMID(validating: Self.vm), notAfter: Self.t0.addingTimeInterval(86_400))
        #expect(try await Self.trafficRows(other).isEmpty)
    }
}

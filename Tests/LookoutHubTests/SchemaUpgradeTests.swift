import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Testing

@testable import LookoutHub

/// Every migration of this binary, in order: what an upgraded file records.
let allMigrations = ["v1", "v2-alert-history", "v3-system-extras", "v4-interface-counters", "v5-service-hourly"]

/// A data folder written by an older Lookout (schema migration "v1" only, checked in under
/// `Fixtures/schema-v1/`, see its README) is opened by this binary: the schema migrates
/// forward in place and the old history is served as before.
@Suite final class SchemaUpgradeTests: Sendable {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/schema-v1/data")
    /// 2025-12-09T11:00:00Z, an hour after the fixture's last sample.
    static let now = Date(timeIntervalSince1970: 1_765_278_000)

    let folder: String
    var database: String { "\(folder)/lookout.sqlite" }

    init() throws {
        folder = NSTemporaryDirectory() + "lookout-upgrade-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: Self.fixture.path, toPath: folder)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The migrations recorded in the file and its tables, read without the store.
    func schema() throws -> (migrations: [String], tables: Set<String>) {
        let queue = try DatabaseQueue(path: database)
        return try queue.read { db in
            (
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier"),
                Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
            )
        }
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func aV1DataFolderIsMigratedAndItsHistoryServed() async throws {
        // The fixture is what it claims to be: v1 only, no alert history table.
        let before = try schema()
        #expect(before.migrations == ["v1"])
        #expect(!before.tables.contains("alert_history"))
        #expect(before.tables.isSuperset(of: ["samples", "service_samples", "container_samples", "latest", "hourly"]))

        let hub = try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"), now: { Self.now })
        let store = hub.ingestor.store

        // Migrated forward, in place, and intact.
        let after = try schema()
        #expect(after.migrations == allMigrations)
        #expect(after.tables.contains("alert_history"))
        // The old service checks are rolled up by the migration (the status page's older days).
        let rolled = try await store.pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT SUM(checks) FROM service_hourly WHERE vm_id = 'web-1' AND service_id = 'site'")
        }
        #expect(rolled == 3)
        #expect(try await store.integrityCheck())
        let integrity = try await store.pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        #expect(integrity == ["ok"])

        // The old rows are there: the fleet restored from `latest`, the samples counted.
        #expect(hub.ingestor.fleet.count == 2)
        #expect(try await store.sampleCount(vmID: VMID(validating: "web-1")) == 3)
        #expect(try await store.sampleCount(vmID: VMID(validating: "db-1")) == 2)

        let app = Application(router: hub.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/monitoring/summary", method: .get) { response in
                #expect(response.status == .ok)
                let vms = try #require(try Self.json(response.body)["vms"] as? [String: [String: Any]])
                #expect(Set(vms.keys) == ["web-1", "db-1"])
                #expect(vms["db-1"]?["timestamp"] as? String == "2025-12-09T10:10:00Z")
            }
            // The old samples as a chart series: one point per sample.
            let uri =
                "/api/monitoring/history/web-1?metric=cpu&from=2025-12-09T09:00:00Z&to=2025-12-09T11:00:00Z&points=120"
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .ok)
                let points = try #require(try Self.json(response.body)["points"] as? [[String: Any]])
                #expect(points.compactMap { $0["avg"] as? Double } == [10, 20, 30])
            }
            // The table v2 added answers, empty.
            try await client.execute(uri: "/api/monitoring/alerts/history?limit=50", method: .get) { response in
                #expect(response.status == .ok)
                let alerts = try #require(try Self.json(response.body)["alerts"] as? [Any])
                #expect(alerts.isEmpty)
            }
        }

        // New data lands beside the old: a sample, a resolved alert (the v2 table).
        #expect(try await store.insert(makeDocument("web-1", at: Self.now.addingTimeInterval(-60), cpu: 40)))
        let alert = Alert(
            id: "db-1/disk", vmID: try VMID(validating: "db-1"), kind: "threshold", metric: "disk", severity: .critical,
            value: 92, threshold: 90, since: Self.now.addingTimeInterval(-3600), message: "disk 92%, critical at 90%",
            resolvedAt: Self.now)
        try await store.recordResolved([alert])
        #expect(try await store.alertHistory(limit: 10).map(\.id) == ["db-1/disk"])
        #expect(try await store.sampleCount(vmID: VMID(validating: "web-1")) == 4)

        // The daily aggregate reads the old service and container rows too.
        let (_, report) = try await DailyAggregator(dataFolder: folder, store: store).run(
            day: DailyAggregate.Day("2025-12-09")!)
        #expect(report.vms["web-1"]?.samples == 4)
        #expect(report.vms["web-1"]?.services["site"]?.checks == 3)
        #expect(report.vms["db-1"]?.metrics["disk"]?.max == 92)
        #expect(report.vms["db-1"]?.containers["postgres"]?.minutesRunning == 2)
    }

    @Test func reopeningTheMigratedFolderRunsNoMigrationAgain() async throws {
        _ = try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"), now: { Self.now })
        let hub = try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"), now: { Self.now })
        #expect(try schema().migrations == allMigrations)
        #expect(hub.ingestor.fleet.count == 2)
        #expect(try await hub.ingestor.store.integrityCheck())
    }
}

/// A data folder written before issue 11 (migrations `v1` and `v2-alert-history`, checked in
/// under `Fixtures/schema-v2/`, see its README) upgrades in place to `v3-system-extras`,
/// keeps every row, and takes the new figures.
@Suite final class SchemaV2UpgradeTests: Sendable {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/schema-v2/data")
    /// 2025-12-09T11:00:00Z.
    static let now = Date(timeIntervalSince1970: 1_765_278_000)
    static let tables = [
        "samples", "service_samples", "container_samples", "latest", "hourly", "rollup_pending", "alert_history",
    ]

    let folder: String
    var database: String { "\(folder)/lookout.sqlite" }

    init() throws {
        folder = NSTemporaryDirectory() + "lookout-upgrade-v2-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: Self.fixture.path, toPath: folder)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Every row of the v2 tables as text (only the columns v2 had), read without the store.
    func rows() throws -> [String: [String]] {
        let queue = try DatabaseQueue(path: database)
        return try queue.read { db in
            var result: [String: [String]] = [:]
            for table in Self.tables {
                let columns = Self.v2Columns[table] ?? "*"
                result[table] = try Row.fetchAll(db, sql: "SELECT \(columns) FROM \(table)").map { row in
                    row.columnNames.map { "\(row[$0] as DatabaseValue)" }.joined(separator: "|")
                }.sorted()
            }
            return result
        }
    }

    /// `samples` as v2 had it; v3 appended nullable columns (checked apart).
    static let v2Columns = [
        "samples": "vm_id, ts, cpu, memory, disk, load1, load5, load15, memory_used_mb, disk_used_gb, uptime"
    ]

    func migrations() throws -> [String] {
        try DatabaseQueue(path: database).read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
    }

    @Test func aV2DataFolderUpgradesInPlaceKeepsEveryRowAndTakesTheNewFigures() async throws {
        #expect(try migrations() == ["v1", "v2-alert-history"])
        let before = try rows()
        #expect(before["samples"]?.count == 5 && before["alert_history"]?.count == 1 && before["hourly"]?.count == 1)

        let hub = try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"), now: { Self.now })
        let store = hub.ingestor.store
        #expect(try migrations() == allMigrations)
        #expect(try await store.integrityCheck())
        // Every old row, unchanged (the new columns are NULL and not part of these texts).
        let after = try rows()
        for table in Self.tables {
            #expect(after[table] == before[table], "\(table)")
        }
        let nulls = try await store.pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM samples WHERE net_rx IS NULL AND swap IS NULL AND boot IS NULL")
        }
        #expect(nulls == 5)
        #expect(try await store.alertHistory(limit: 10).map(\.id) == ["db-1/disk"])
        let web = try VMID(validating: "web-1")
        #expect(try await store.extraSeries(vmID: web, now: Self.now, retention: Retention()).isEmpty)

        // New documents with the issue 11 figures land beside the old rows.
        for (i, minute) in [15.0, 20, 25].enumerated() {
            let document = makeExtrasDocument(
                "web-1", at: Date(timeIntervalSince1970: 1_765_274_400 + minute * 60), rxTotal: Double(i) * 500,
                txTotal: Double(i) * 700, rxRate: 10, txRate: 20, bootID: "b", swapPercent: 3,
                filesystems: [("/srv/backup", 91)], temperatures: [("acpitz", 40)])
            #expect(await hub.ingestor.ingest(document) == .stored)
        }
        #expect(try await store.sampleCount(vmID: web) == 6)
        #expect(
            try await store.extraSeries(vmID: web, now: Self.now, retention: Retention()).map(\.rawValue) == [
                "net_rx", "net_tx", "swap", "fs:/srv/backup", "temp:acpitz",
            ])
        let traffic = try await store.trafficUsage(config: MonitoringConfig(), now: Self.now)
        #expect(traffic[web]?.rxBytes == 1000 && traffic[web]?.txBytes == 1400)

        // The 10:00 hour rolls up old and new samples: cpu over all six, swap over the three new.
        _ = try await store.applyRetention(now: Self.now, retention: Retention())
        let hourly = try await store.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT metric, count FROM hourly WHERE vm_id = 'web-1' AND hour = 1765274400 ORDER BY metric"
            ).map { "\($0["metric"] as String)=\($0["count"] as Int)" }
        }
        #expect(hourly.contains("cpu=6") && hourly.contains("swap=3") && hourly.contains("fs:/srv/backup=3"))
        #expect(!hourly.contains { $0.hasPrefix("disk_util") })
        #expect(try await store.integrityCheck())
    }
}

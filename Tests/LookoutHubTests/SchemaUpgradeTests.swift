import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Testing

@testable import LookoutHub

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
        #expect(after.migrations == ["v1", "v2-alert-history", "v3-system-extras"])
        #expect(after.tables.contains("alert_history"))
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
        #expect(try schema().migrations == ["v1", "v2-alert-history", "v3-system-extras"])
        #expect(hub.ingestor.fleet.count == 2)
        #expect(try await hub.ingestor.store.integrityCheck())
    }
}

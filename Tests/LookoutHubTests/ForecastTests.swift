import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Synchronization
import Testing

@testable import LookoutHub

/// Forecasts from the store's hourly rollups, `GET /api/monitoring/forecast` and the alert
/// pass's forecast warning, on a real SQLite file.
@Suite struct ForecastTests {
    static let now = Date(timeIntervalSince1970: 1_765_276_200)  // 2025-12-09T10:30:00Z
    let folder = NSTemporaryDirectory() + "lookout-forecast-\(UUID().uuidString)"

    func withHub(
        now: @escaping @Sendable () -> Date = { ForecastTests.now },
        _ body: @escaping @Sendable (Hub, any TestClientProtocol) async throws -> Void
    ) async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hub = try await Hub.open(
            Hub.Settings(dataFolder: folder, config: MonitoringConfig()), logger: Logger(label: "test"), now: now)
        let app = Application(router: hub.router())
        try await app.test(.router) { client in try await body(hub, client) }
    }

    /// `hours` hours of db-1, one sample each 20 minutes up to `now`: the root disk grows
    /// 2 points a day to 90 % now (1 GB a day of its 50 GB), `/srv` stays at 40 %, and `/var`
    /// has only the last 6 hours. Then a retention pass rolls the hours up.
    func fill(_ hub: Hub, hours: Int = 48) async throws {
        let samples = hours * 3
        for index in 0...samples {
            let ago = Double(samples - index) / 3  // hours before now
            let disk = 90 - 2 * ago / 24
            var filesystems: [(String, Double)] = [("/", disk), ("/srv", 40)]
            if ago < 6 { filesystems.append(("/var", 99)) }
            var document = makeExtrasDocument(
                "db-1", at: Self.now.addingTimeInterval(-ago * 3600), filesystems: filesystems)
            document.system.disk = DiskMetrics(totalGB: 50, usedGB: 50 * disk / 100, percent: disk)
            #expect(await hub.ingestor.ingest(document) == .stored)
        }
        _ = try await hub.ingestor.store.applyRetention(now: Self.now, retention: Retention())
    }

    @Test func theStoreFitsTheRootDiskAndEveryFilesystem() async throws {
        try await withHub { hub, _ in
            try await fill(hub)
            let vm = try VMID(validating: "db-1")
            let forecasts = try await hub.ingestor.store.forecasts(
                vmIDs: [vm], settings: ForecastSettings(), now: Self.now)
            #expect(forecasts.map(\.path) == ["/", "/srv", "/var"])
            let root = forecasts[0]
            // 48 complete hours are rolled up (the hour in progress is not).
            #expect(root.points == 48)
            #expect(abs((root.percentPerDay ?? 0) - 2) < 0.01)
            #expect(abs((root.gbPerDay ?? 0) - 1) < 0.01)
            #expect(abs((root.daysLeft ?? 0) - 5) < 0.05)
            #expect(root.warning)
            #expect(forecasts[1].reason == .notGrowing)
            #expect(forecasts[2].reason == .tooFewPoints)
        }
    }

    @Test func theRouteListsEveryProjection() async throws {
        try await withHub { hub, client in
            try await fill(hub)
            try await client.execute(uri: "/api/monitoring/forecast", method: .get) { response in
                #expect(response.status == .ok)
                let body = try #require(
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                #expect(body["window_days"] as? Int == 3)
                #expect(body["warning_days"] as? Int == 7)
                #expect(body["generated_at"] as? String == "2025-12-09T10:30:00Z")
                let rows = try #require(body["filesystems"] as? [[String: Any]])
                #expect(rows.map { $0["path"] as? String } == ["/", "/srv", "/var"])
                #expect(rows.map { $0["warning"] as? Bool } == [true, false, false])
                #expect(rows.map { $0["reason"] as? String } == [nil, "not_growing", "too_few_points"])
                #expect(rows[0]["vm_id"] as? String == "db-1")
            }
        }
    }

    /// The route reads the alert pass's forecasts while they are fresh, instead of fitting the
    /// whole fleet for every dashboard: history added since is seen only after the refresh
    /// interval.
    @Test func theRouteSharesTheAlertPassForecastsUntilTheyAreStale() async throws {
        let clock = Mutex(Self.now)
        try await withHub(now: { clock.withLock { $0 } }) { hub, client in
            func rootReason() async throws -> String? {
                try await client.execute(uri: "/api/monitoring/forecast", method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try #require(
                        try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                    let rows = try #require(body["filesystems"] as? [[String: Any]])
                    return try #require(rows.first { $0["path"] as? String == "/" })["reason"] as? String
                }
            }
            // One old sample: nothing to fit in the window yet.
            let old = makeExtrasDocument("db-1", at: Self.now.addingTimeInterval(-40 * 86_400), filesystems: [])
            #expect(await hub.ingestor.ingest(old) == .stored)
            _ = try await hub.alertPass().run(documents: hub.ingestor.fleet.entries().map(\.document), now: Self.now)
            try await fill(hub)
            clock.withLock { $0 = Self.now.addingTimeInterval(ForecastCache.refreshInterval - 1) }
            #expect(try await rootReason() == "too_few_points", "the pass's fit, not a new one")
            clock.withLock { $0 = Self.now.addingTimeInterval(ForecastCache.refreshInterval) }
            #expect(try await rootReason() == nil, "refitted: the root disk now has a projection")
        }
    }

    @Test func theAlertPassRaisesTheWarning() async throws {
        try await withHub { hub, _ in
            try await fill(hub)
            let pass = hub.alertPass()
            let report = try await pass.run(documents: hub.ingestor.fleet.entries().map(\.document), now: Self.now)
            #expect(report.problems.isEmpty)
            let state = try AlertStateFile(dataFolder: folder).load()
            let forecast = try #require(state.alerts.first { $0.kind == "forecast" })
            #expect(forecast.id == "db-1/forecast/")
            #expect(forecast.severity == .warning)
            #expect(forecast.message.hasPrefix("disk / on db-1 full in ~5 days (+1 GB/day)"))
            // /var at 99 % is an fs alert, but too young for a forecast.
            #expect(state.alerts.filter { $0.kind == "forecast" }.count == 1)
        }
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Synchronization
import Testing

@testable import LookoutHub

/// The public status page: daily uptime from a real SQLite file with a fixed clock, and the
/// open routes through the router (no socket).
@Suite final class StatusPageTests: Sendable {
    /// 2025-12-09T00:00:00Z, a UTC midnight.
    static let t0 = Date(timeIntervalSince1970: 1_765_238_400)
    static let day: TimeInterval = 86_400
    /// Documents without `interval_seconds`: stale after `stale_after_minutes` (15).
    static let staleAfter = 900

    let folder: String

    init() throws {
        folder = NSTemporaryDirectory() + "lookout-status-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    func openStore() throws -> HistoryStore {
        try HistoryStore(path: "\(folder)/lookout.sqlite", logger: Logger(label: "test"))
    }

    static func vm(_ text: String) throws -> VMID { try VMID(validating: text) }

    /// A document every 5 minutes from `from` up to and including `to`.
    static func insert(
        _ store: HistoryStore, _ vm: String, from: Date, to: Date,
        services: (Date) -> [ServiceStatus] = { _ in [] }
    ) async throws {
        var time = from
        while time <= to {
            #expect(try await store.insert(makeDocument(vm, at: time, services: services(time))))
            time += 300
        }
    }

    // MARK: - Uptime arithmetic

    @Test func vmUptimeCountsFullDaysHalfDaysGapsAndNoDataBeforeTheFirstSample() async throws {
        let store = try openStore()
        let now = Self.t0 + 4 * Self.day + 12 * 3600
        // web-1: from noon of day 0, a 6 h gap at the start of day 2, then until now.
        try await Self.insert(store, "web-1", from: Self.t0 + 12 * 3600, to: Self.t0 + 2 * Self.day - 300)
        try await Self.insert(store, "web-1", from: Self.t0 + 2 * Self.day + 6 * 3600, to: now)
        // web-2: day 1 from midnight to 11:45, then silent: up until 12:00 (stale after 15 min).
        try await Self.insert(store, "web-2", from: Self.t0 + Self.day, to: Self.t0 + Self.day + 11.75 * 3600)
        let uptime = try await store.dailyUptime(
            vms: [
                try Self.vm("web-1"): Self.staleAfter, try Self.vm("web-2"): Self.staleAfter, try Self.vm("web-3"): 900,
            ],
            services: [], days: 6, now: now, retention: Retention())
        let web1 = try #require(uptime.vms[try Self.vm("web-1")])
        // Day −1: before the first sample. Day 0 counts from the first sample. Day 2: the last
        // sample of day 1 covers 10 minutes of it, then 18 h from 06:00: 65,400 s of 86,400.
        #expect(web1.days == [nil, 100, 100, 75.6, 100, 100])
        let web2 = try #require(uptime.vms[try Self.vm("web-2")])
        #expect(web2.days == [nil, nil, 50, 0, 0, 0])
        // 12 h up of 3.5 days measured since the first sample.
        #expect(web2.total == 14.2)
        let never = try #require(uptime.vms[try Self.vm("web-3")])
        #expect(never.days == Array(repeating: nil, count: 6) && never.total == nil)
        // 324,600 s up of 345,600 measured since the first sample.
        #expect(web1.total == 93.9)
    }

    @Test func serviceUptimeIsTheShareOfHealthyChecksFromItsFirstCheck() async throws {
        let store = try openStore()
        let now = Self.t0 + 2 * Self.day + 12 * 3600
        let site = try Self.vm("web-1")
        // The check appears on day 1; a quarter of day 1's checks fail, day 2 is clean.
        try await Self.insert(store, "web-1", from: Self.t0, to: now) { time in
            guard time >= Self.t0 + Self.day else { return [] }
            let index = Int(time.timeIntervalSince(Self.t0) / 300)
            let failing = time < Self.t0 + 2 * Self.day && index % 4 == 0
            return [
                ServiceStatus(id: "site", healthy: !failing, responseMS: 10),
                ServiceStatus(id: "other", healthy: false, responseMS: 1),
            ]
        }
        let key = StatusPageConfig.ServiceKey(vmID: site, serviceID: "site")
        let missing = StatusPageConfig.ServiceKey(vmID: site, serviceID: "never")
        let uptime = try await store.dailyUptime(
            vms: [:], services: [key, missing], days: 3, now: now, retention: Retention())
        let days = try #require(uptime.services[key])
        #expect(days.days == [nil, 75, 100])
        // 216 + 145 healthy of 288 + 145 checks.
        #expect(days.total == 83.3)
        #expect(uptime.services[missing]?.days == [nil, nil, nil])
    }

    @Test func beyondTheRawWindowTheHourlyRollupsCount() async throws {
        let store = try openStore()
        let now = Self.t0 + 5 * Self.day
        // Day 0 full, day 1 the morning only, day 2 nothing: all rolled up and pruned from raw.
        try await Self.insert(store, "web-1", from: Self.t0, to: Self.t0 + Self.day - 300)
        try await Self.insert(store, "web-1", from: Self.t0 + Self.day, to: Self.t0 + Self.day + 12 * 3600 - 300)
        try await Self.insert(store, "web-1", from: now - 3600, to: now)
        var retention = Retention()
        retention.rawDays = 2
        _ = try await store.applyRetention(now: now, retention: retention)
        #expect(try await store.sampleCount(vmID: try Self.vm("web-1")) == 13)
        let uptime = try await store.dailyUptime(
            vms: [try Self.vm("web-1"): Self.staleAfter], services: [], days: 6, now: now, retention: retention)
        // Hourly, at an hour's resolution: day 1 up to 12:00 plus the 15 stale minutes after the
        // last rolled-up hour (less its last second). Day 4 is raw: up from 23:00.
        let days = try #require(uptime.vms[try Self.vm("web-1")]?.days)
        #expect(days == [100, 51, 0, 0, 4.1, 100], "\(days)")
    }

    @Test func runsBridgeGapsWithinTheStaleLimitOnly() {
        let runs = UptimeWindow.runs([(0, 0), (300, 300), (600, 600), (2000, 2000), (2100, 2100)], staleAfter: 900)
        #expect(runs.map { [$0.from, $0.to] } == [[0, 1500], [2000, 3000]])
        // Rolled-up hours are spans: an hour missing between two is bridged by a stale limit
        // longer than the hour, not by 15 minutes.
        let long = UptimeWindow.runs([(0, 3599), (7200, 10_799)], staleAfter: 3601)
        #expect(long.map { [$0.from, $0.to] } == [[0, 14_400]])
        let short = UptimeWindow.runs([(0, 3599), (7200, 10_799)], staleAfter: 900)
        #expect(short.map { [$0.from, $0.to] } == [[0, 4499], [7200, 11_699]])
        #expect(UptimeWindow.runs([], staleAfter: 900).isEmpty)
    }

    @Test func percentagesRoundDownSoAMissedMinuteIsNeverOneHundred() {
        #expect(DailyUptime.percent(86_340, of: 86_400) == 99.9)
        #expect(DailyUptime.percent(86_400, of: 86_400) == 100)
        #expect(DailyUptime.percent(0, of: 0) == 100)
        #expect(DailyUptime.percent(1, of: 3) == 33.3)
    }

    // MARK: - Routes

    static let main = "main-token-0123456789"

    static func pageConfig() throws -> MonitoringConfig {
        try MonitoringConfig.parse(
            Array(
                #"""
                {"status_page": {"title": "Example status", "vms": {"web-1": "Website", "db-1": "Database"},
                                 "services": {"web-1/site": "Shop"}}}
                """#.utf8))
    }

    func withHub(
        config: MonitoringConfig, clock: @escaping @Sendable () -> Date, publicFolder: String? = nil,
        _ body: @escaping @Sendable (Hub, any TestClientProtocol) async throws -> Void
    ) async throws {
        let hub = try await Hub.open(
            Hub.Settings(
                dataFolder: "\(folder)/data", config: config, tokens: APITokens(main: Self.main),
                publicFolder: publicFolder),
            logger: Logger(label: "test"), now: clock)
        let app = Application(router: hub.router())
        try await app.test(.router) { client in try await body(hub, client) }
    }

    static func status(_ client: any TestClientProtocol) async throws -> (String, [String: Any]) {
        try await client.execute(uri: "/api/status", method: .get) { response in
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            return (text, object)
        }
    }

    @Test func theStatusIsOpenWhileTheMonitoringAPIStaysClosed() async throws {
        let now = Self.t0 + 12 * 3600
        let clock = Mutex(now)
        try await withHub(config: try Self.pageConfig(), clock: { clock.withLock { $0 } }) { hub, client in
            for vm in ["web-1", "db-1", "secret-9"] {
                await hub.ingestor.ingest(
                    makeDocument(vm, at: now - 60, services: [ServiceStatus(id: "site", healthy: true, responseMS: 5)]))
            }
            let (text, body) = try await Self.status(client)
            #expect(body["title"] as? String == "Example status")
            #expect(body["status"] as? String == "operational")
            let entries = try #require(body["entries"] as? [[String: Any]])
            #expect(entries.map { $0["name"] as? String } == ["Database", "Shop", "Website"])
            #expect(entries.map { $0["kind"] as? String } == ["vm", "service", "vm"])
            #expect(entries.allSatisfy { ($0["uptime"] as? [Any])?.count == 90 })
            let days = try #require(entries[0]["uptime"] as? [[String: Any]])
            #expect(days.last?["day"] as? String == "2025-12-09" && days.first?["day"] as? String == "2025-09-11")
            #expect(days.first?["uptime"] is NSNull && days.last?["uptime"] as? Double == 100)
            for leak in ["web-1", "db-1", "secret-9", "\"site\"", "cpu", "response"] {
                #expect(!text.contains(leak), "\(leak) in \(text)")
            }
            for path in ["/api/monitoring/summary", "/api/monitoring/alerts", "/metrics", "/api/monitoring/vm/web-1"] {
                try await client.execute(uri: path, method: .get) { #expect($0.status == .unauthorized, "\(path)") }
            }
            try await client.execute(uri: "/api/status", method: .post) { #expect($0.status == .methodNotAllowed) }
            try await client.execute(uri: "/api/status", method: .head) { #expect($0.status == .ok) }
        }
    }

    @Test func theBannerFollowsStalenessAlertsAndFailingChecks() async throws {
        let now = Self.t0 + 12 * 3600
        let clock = Mutex(now)
        let data = "\(folder)/data"
        try await withHub(config: try Self.pageConfig(), clock: { clock.withLock { $0 } }) { hub, client in
            func ingest(_ vm: String, at time: Date, healthy: Bool = true) async {
                await hub.ingestor.ingest(
                    makeDocument(vm, at: time, services: [ServiceStatus(id: "site", healthy: healthy, responseMS: 5)]))
            }
            await ingest("web-1", at: now - 60)
            await ingest("db-1", at: now - 60)
            let (first, body) = try await Self.status(client)
            #expect(body["status"] as? String == "operational")
            // Nothing changed: the same bytes, the same updated_at.
            clock.withLock { $0 = now + 30 }
            #expect(try await Self.status(client).0 == first)

            // One failed check: degraded; the second in a row: outage.
            await ingest("web-1", at: now + 60, healthy: false)
            var (_, state) = try await Self.status(client)
            #expect(state["status"] as? String == "degraded")
            await ingest("web-1", at: now + 120, healthy: false)
            (_, state) = try await Self.status(client)
            #expect(state["status"] as? String == "outage")
            let incidents = try #require(state["incidents"] as? [[String: Any]])
            #expect(incidents.count == 1)
            #expect(
                incidents.first?["name"] as? String == "Shop" && incidents.first?["severity"] as? String == "critical")
            #expect(incidents.first?["since"] as? String == Timestamp.format(now + 60))
            await ingest("web-1", at: now + 180)
            (_, state) = try await Self.status(client)
            #expect(state["status"] as? String == "operational")

            // An open alert of db-1: degraded, the incident starting when the alert opened.
            let alert = Alert(
                id: "db-1/disk", vmID: try Self.vm("db-1"), kind: "disk", metric: "disk", severity: .critical,
                value: 95, threshold: 90, since: now - 600, message: "disk 95% on db-1.internal")
            let alerts = AlertState(alerts: [alert], notified: [:], updatedAt: now, bootIDs: [:])
            try AtomicFile.write(Array(try JSONEncoder().encode(alerts)), to: "\(data)/alerts.json")
            let (withAlert, degraded) = try await Self.status(client)
            #expect(degraded["status"] as? String == "degraded")
            #expect(!withAlert.contains("disk") && !withAlert.contains("internal"), "\(withAlert)")
            let alertIncidents = try #require(degraded["incidents"] as? [[String: Any]])
            #expect(alertIncidents.first?["name"] as? String == "Database")
            #expect(alertIncidents.first?["since"] as? String == Timestamp.format(now - 600))
            try FileManager.default.removeItem(atPath: "\(data)/alerts.json")

            // db-1 silent for more than 15 minutes: outage, without a new document.
            clock.withLock { $0 = now + 20 * 60 }
            await ingest("web-1", at: now + 19 * 60)
            (_, state) = try await Self.status(client)
            #expect(state["status"] as? String == "outage")
            let entries = try #require(state["entries"] as? [[String: Any]])
            #expect(entries.map { $0["state"] as? String } == ["outage", "operational", "operational"])
        }
    }

    @Test func unconfiguredEveryStatusRouteIs404EvenWithTheFileOnDisk() async throws {
        let publicFolder = "\(folder)/public"
        try FileManager.default.createDirectory(atPath: publicFolder, withIntermediateDirectories: true)
        try AtomicFile.write(Array("<!doctype html><title>Status</title>".utf8), to: "\(publicFolder)/status.html")
        try await withHub(config: MonitoringConfig(), clock: { Self.t0 }, publicFolder: publicFolder) { _, client in
            for path in ["/api/status", "/status", "/status.html"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound, "\(path)")
                    #expect(response.headers[.contentType] == "application/json")
                    #expect(String(buffer: response.body).contains("no status page is configured"))
                }
            }
        }
        try await withHub(config: try Self.pageConfig(), clock: { Self.t0 }, publicFolder: publicFolder) { _, client in
            for path in ["/status", "/status.html"] {
                let etag = try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    #expect(String(buffer: response.body).contains("<title>Status</title>"))
                    return try #require(response.headers[.eTag])
                }
                try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: etag]) {
                    #expect($0.status == .notModified)
                }
                try await client.execute(uri: path + "/", method: .get) { response in
                    #expect(response.status == .movedPermanently)
                    #expect(response.headers[.location] == "..\(path)")
                }
            }
        }
    }
}

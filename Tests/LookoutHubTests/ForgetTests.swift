import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// `lookout forget` and `retention.forget_after_days` on a real data folder and database;
/// the clock is injected everywhere.
@Suite final class ForgetTests: Sendable {
    static let t0 = Date(timeIntervalSince1970: 1_765_276_200)  // 2025-12-09T10:30:00Z

    let folder: String

    init() throws {
        folder =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("lookout-forget-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func open(now: Date = t0) async throws -> Hub {
        try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"), now: { now })
    }

    func vm(_ text: String) throws -> VMID { try VMID(validating: text) }

    func writeFile(_ document: MetricsDocument) throws {
        let path = "\(folder)/\(document.vmID)/metrics.json"
        try AtomicFile.makeDirectories(AtomicFile.folder(of: path))
        try AtomicFile.write(document.encoded(), to: path, durable: false)
    }

    func activeAlerts() throws -> [String] {
        try AlertStateFile(dataFolder: folder).load().alerts.map(\.id).sorted()
    }

    func saveAlerts(_ vms: [String]) throws {
        var state = AlertState()
        for name in vms {
            state.alerts.append(
                Alert(
                    id: "\(name)/stale", vmID: try vm(name), kind: "stale", metric: "stale", severity: .critical,
                    value: nil, threshold: nil, since: Self.t0, message: "\(name) stopped reporting"))
            state.notified["\(name)/stale"] = AlertState.Told(open: true, severity: .critical, at: Self.t0)
        }
        try AlertStateFile(dataFolder: folder).save(state)
    }

    @Test func forgetRemovesTheLatestDocumentItsAlertsAndItsFiles() async throws {
        let hub = try await open()
        for name in ["web-1", "web-2"] {
            let document = makeDocument(name, at: Self.t0.addingTimeInterval(-120))
            try writeFile(document)
            try AtomicFile.makeDirectories("\(folder)/\(name)/journal")
            try AtomicFile.write(document.encoded(), to: "\(folder)/\(name)/journal/1.json", durable: false)
        }
        _ = await hub.folderWatcher().scan()
        #expect(hub.ingestor.fleet.count == 2)
        try saveAlerts(["web-1", "web-2"])

        let forgetter = VMForgetter(
            dataFolder: folder, store: hub.ingestor.store, logger: Logger(label: "test"),
            now: { Self.t0 })
        let report = try await forgetter.forget(try vm("web-1"), purge: false)
        #expect(report.alertsRemoved == 1)
        #expect(report.latestRemoved)
        #expect(report.removedFiles == ["\(folder)/web-1/journal", "\(folder)/web-1/metrics.json"])
        #expect(report.appliedByRunningHub == nil)  // no watcher runs in this test
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/web-1"))
        #expect(try activeAlerts() == ["web-2/stale"])
        #expect(try AlertStateFile(dataFolder: folder).load().notified.keys.sorted() == ["web-2/stale"])
        // History stays.
        #expect(try await hub.ingestor.store.sampleCount(vmID: vm("web-1")) == 1)

        // The hub applies the request at its next scan: gone from the fleet, the summary and /metrics.
        _ = await hub.folderWatcher().scan()
        #expect(hub.ingestor.fleet.entry(try vm("web-1")) == nil)
        // A one-off scan (as `lookout check` runs) applies it but does not acknowledge it: only
        // a running hub's watcher does, for the `lookout forget` waiting on it.
        #expect(ForgetRequests(dataFolder: folder).load(try vm("web-1"))?.appliedAt == nil)
        let app = Application(router: hub.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/monitoring/summary", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(!text.contains("web-1") && text.contains("web-2"))
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(!text.contains(#""web-1""#) && text.contains(#""web-2""#))
            }
        }

        // A restarted hub does not bring it back, not even from an old file a sync tool delivers again.
        try writeFile(makeDocument("web-1", at: Self.t0.addingTimeInterval(-60)))
        let restarted = try await open()
        #expect(restarted.ingestor.fleet.entry(try vm("web-1")) == nil)
        let entries = await restarted.folderWatcher().scan()
        let old = try #require(entries.first { $0.path.hasSuffix("web-1/metrics.json") })
        guard case .ingested(.rejected(let reason)) = old.result else {
            Issue.record("expected a rejection, got \(old.result)")
            return
        }
        #expect(reason.contains("forgotten"))
        #expect(restarted.ingestor.fleet.entry(try vm("web-1")) == nil)

        // A newer document: the VM is alive, back in the fleet, and the tombstone goes.
        #expect(await restarted.ingestor.ingest(makeDocument("web-1", at: Self.t0.addingTimeInterval(30))) == .stored)
        #expect(restarted.ingestor.fleet.entry(try vm("web-1")) != nil)
        #expect(ForgetRequests(dataFolder: folder).load(try vm("web-1")) == nil)
    }

    @Test func purgeDeletesTheHistoryToo() async throws {
        let hub = try await open()
        for i in 0..<5 {
            _ = await hub.ingestor.ingest(makeDocument("web-1", at: Self.t0.addingTimeInterval(Double(-600 + i * 60))))
        }
        _ = await hub.ingestor.ingest(makeDocument("web-2", at: Self.t0.addingTimeInterval(-60)))
        let store = hub.ingestor.store
        _ = try await store.applyRetention(now: Self.t0.addingTimeInterval(7200), retention: Retention())
        let forgetter = VMForgetter(dataFolder: folder, store: store, logger: Logger(label: "test"), now: { Self.t0 })
        let report = try await forgetter.forget(try vm("web-1"), purge: true)
        #expect(report.samplesPurged == 5)
        #expect(try await store.sampleCount(vmID: vm("web-1")) == 0)
        #expect(try await store.sampleCount(vmID: vm("web-2")) == 1)
        let hourly = try await store.series(
            vmID: vm("web-1"), metric: .cpu, from: Self.t0.addingTimeInterval(-86_400 * 30), to: Self.t0,
            maxPoints: 10, now: Self.t0.addingTimeInterval(86_400 * 60), retention: Retention())
        #expect(hourly.isEmpty)
        #expect(try await store.knows(vmID: vm("web-1")) == false)
    }

    /// History stays after a forget "until retention takes it": the VM has no latest row any
    /// more, and its old samples must still be pruned.
    @Test func retentionStillPrunesAForgottenVM() async throws {
        let hub = try await open()
        let old = Self.t0.addingTimeInterval(-20 * 86_400)
        let services = [ServiceStatus(id: "api", healthy: true, responseMS: 5)]
        _ = try await hub.ingestor.store.insert(makeDocument("gone", at: old, services: services))
        _ = try await hub.ingestor.store.insert(makeDocument("gone", at: Self.t0.addingTimeInterval(-3600)))
        let forgetter = VMForgetter(
            dataFolder: folder, store: hub.ingestor.store, logger: Logger(label: "test"),
            now: { Self.t0 })
        _ = try await forgetter.forget(try vm("gone"), purge: false)
        let report = try await hub.ingestor.store.applyRetention(now: Self.t0, retention: Retention())
        #expect(report.rawDeleted == 1)
        #expect(try await hub.ingestor.store.sampleCount(vmID: vm("gone")) == 1)
        let oldServices = try await hub.ingestor.store.serviceSamples(
            vmID: vm("gone"), from: old.addingTimeInterval(-1), to: Self.t0)
        #expect(oldServices.isEmpty)
    }

    @Test func forgetAfterDaysForgetsOnlyTheSilentVMs() async throws {
        let hub = try await open()
        _ = await hub.ingestor.ingest(makeDocument("gone", at: Self.t0.addingTimeInterval(-31 * 86_400)))
        _ = await hub.ingestor.ingest(makeDocument("quiet", at: Self.t0.addingTimeInterval(-29 * 86_400)))
        _ = await hub.ingestor.ingest(makeDocument("alive", at: Self.t0.addingTimeInterval(-60)))
        try saveAlerts(["gone", "alive"])
        var retention = Retention()
        retention.forgetAfterDays = 30
        let service = RetentionService(
            store: hub.ingestor.store, retention: retention, logger: Logger(label: "test"), now: { Self.t0 },
            fleet: hub.ingestor.fleet)
        // A running watcher (as inside serve) must not make the pass wait for its acknowledgement.
        let presence = try #require(await WatcherPresence(dataFolder: folder).hold())
        defer { close(presence) }
        let clock = ContinuousClock()
        let started = clock.now
        await service.pass()
        #expect(started.duration(to: clock.now) < .seconds(30), "the pass waited for its own watcher")
        #expect(try activeAlerts() == ["alive/stale"])
        #expect(ForgetRequests(dataFolder: folder).load(try vm("gone")) != nil)
        // Gone from the fleet at once, and the watcher's scan agrees.
        #expect(hub.ingestor.fleet.entries().map(\.document.vmID.rawValue) == ["alive", "quiet"])
        _ = await hub.folderWatcher().scan()
        #expect(hub.ingestor.fleet.entries().map(\.document.vmID.rawValue) == ["alive", "quiet"])
        // Off by default.
        let defaults = RetentionService(
            store: hub.ingestor.store, retention: Retention(), logger: Logger(label: "test"),
            now: { Self.t0.addingTimeInterval(400 * 86_400) })
        await defaults.forgetSilentVMs()
        #expect(ForgetRequests(dataFolder: folder).load(try vm("alive")) == nil)
    }

    @Test func forgetAfterDaysIsValidated() throws {
        let config = try MonitoringConfig.parse(Array(#"{"retention": {"forget_after_days": 30}}"#.utf8))
        #expect(config.retention.forgetAfterDays == 30)
        #expect(try MonitoringConfig.parse(Array("{}".utf8)).retention.forgetAfterDays == nil)
        for bad in ["0", "-1", "3651", "\"30\""] {
            let error = #expect(throws: ConfigError.self) {
                try MonitoringConfig.parse(Array(#"{"retention": {"forget_after_days": \#(bad)}}"#.utf8))
            }
            #expect(error?.description.contains("forget_after_days") == true, "\(bad): \(String(describing: error))")
        }
    }

    @Test func aRequestFileThatIsNotOneIsIgnored() throws {
        let requests = ForgetRequests(dataFolder: folder)
        try AtomicFile.makeDirectories(requests.folder)
        try AtomicFile.write(Array("junk".utf8), to: "\(requests.folder)/web-1", durable: false)
        let request = ForgetRequest(vmID: try vm("web-2"), forgottenAt: Self.t0, purge: false)
        try requests.save(request)
        let (all, problems) = requests.all()
        #expect(all == [request])
        #expect(problems.count == 1 && problems[0].contains("web-1"))
    }
}

import Foundation
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// `lookout replay` on a real SQLite file: documents rebuilt from the stored columns, the
/// report's notices and table, read-only opening and its errors.
@Suite final class ReplayHistoryTests: Sendable {
    /// 2025-12-09T00:00:00Z.
    static let t0 = Date(timeIntervalSince1970: 1_765_238_400)

    let folder: String
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        folder = url.path
        path = "\(folder)/lookout.sqlite"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    static func at(_ minute: Int) -> Date { t0.addingTimeInterval(Double(minute) * 60) }

    /// A document with every figure an alert rule reads.
    static func document(_ vm: String, minute: Int, cpu: Double, fs: Double = 40, healthy: Bool = true)
        -> MetricsDocument
    {
        var document = makeDocument(
            vm, at: at(minute), cpu: cpu, memory: 20, disk: 30, load: 0.5,
            services: [ServiceStatus(id: "api", healthy: healthy, responseMS: 12, error: healthy ? nil : "HTTP 500")],
            containers: [ContainerMetrics(name: "db", status: "running", cpuPercent: 1, memoryMB: 100)])
        document.intervalSeconds = 60
        document.system.cpu.cores = 4
        document.system.bootID = "b0"
        document.system.swap = SwapMetrics(totalMB: 512, usedMB: 51.2, percent: 10)
        document.system.diskIO = DiskIOMetrics(
            device: "vda", readBytesPerSecond: 1, writeBytesPerSecond: 2, utilPercent: 5)
        document.system.filesystems = [
            FilesystemMetrics(path: "/", device: "vda1", fstype: "ext4", totalGB: 50, usedGB: 15, percent: 30),
            FilesystemMetrics(path: "/srv", device: "vdb", fstype: "xfs", totalGB: 100, usedGB: fs, percent: fs),
        ]
        document.system.temperatures = [TemperatureReading(sensor: "cpu", celsius: 50)]
        return document
    }

    /// web-1: cpu 85 from minute 10 to 14, 97 from 30 to 34; /srv at 95 from 40 to 44.
    /// db-1: the api service fails from minute 20 to 24.
    /// The store stays open (returned) while replay reads beside it, as beside a running hub.
    func storeHistory() async throws -> HistoryStore {
        let store = try HistoryStore(path: path, logger: Logger(label: "test"))
        for minute in 0...60 {
            let cpu: Double =
                switch minute {
                case 10..<15: 85
                case 30..<35: 97
                default: 10
                }
            _ = try await store.insert(
                Self.document("web-1", minute: minute, cpu: cpu, fs: (40..<45) ~= minute ? 95 : 40))
            _ = try await store.insert(Self.document("db-1", minute: minute, cpu: 5, healthy: !((20..<25) ~= minute)))
        }
        return store
    }

    static func config(cpuWarning: Double = 80) -> MonitoringConfig {
        var config = MonitoringConfig()
        config.thresholds.cpu = Threshold(warning: cpuWarning, critical: 95)
        config.notifications.cooldownMinutes = 10
        return config
    }

    @Test func storedSamplesComeBackAsTheDocumentsTheHubJudged() async throws {
        let store = try await storeHistory()
        defer { withExtendedLifetime(store) {} }
        let history = try ReplayHistory(path: path)
        let vm = try VMID(validating: "db-1")
        let documents = try history.documents(vm, from: Self.at(20), to: Self.at(21))
        #expect(documents.count == 2)
        let rebuilt = try #require(documents.first)
        var original = Self.document("db-1", minute: 20, cpu: 5, healthy: false)
        #expect(rebuilt.timestamp == original.timestamp)
        #expect(rebuilt.system.cpu == original.system.cpu)
        #expect(rebuilt.system.memory.percent == original.system.memory.percent)
        #expect(rebuilt.system.disk.percent == original.system.disk.percent)
        #expect(rebuilt.system.load == original.system.load)
        #expect(rebuilt.system.swap?.percent == 10)
        #expect(rebuilt.system.diskIO?.utilPercent == 5)
        #expect(rebuilt.system.diskIO?.device == "vda")
        #expect(rebuilt.system.filesystems?.map(\.path) == ["/", "/srv"])
        #expect(rebuilt.system.filesystems?.map(\.percent) == [30, 40])
        #expect(rebuilt.system.temperatures == original.system.temperatures)
        #expect(rebuilt.intervalSeconds == 60)
        // The error text is not stored: the service's health is.
        original.services[0].error = nil
        #expect(rebuilt.services == original.services)
        #expect(rebuilt.containers == original.containers)
        #expect(try history.vmIDs().map(\.rawValue) == ["db-1", "web-1"])
        #expect(try history.oldestSample() == Self.t0)
    }

    @Test func theReportListsEveryNoticeAndTheTableOfBothConfigs() async throws {
        let store = try await storeHistory()
        defer { withExtendedLifetime(store) {} }
        let history = try ReplayHistory(path: path)
        let report = try ReplayReport.build(
            history: history, vms: try history.vmIDs(), current: Self.config(),
            proposed: Self.config(cpuWarning: 90), from: Self.t0, to: Self.at(60))
        func lines(_ notices: [Notice]) -> [String] {
            notices.map { "\(Int($0.at.timeIntervalSince(Self.t0) / 60)) \($0.alert.id) \($0.kind.rawValue)" }
        }
        let current =
            [
                "20 db-1/service/api opened", "25 db-1/service/api resolved",
            ] + [
                "10 web-1/cpu opened", "15 web-1/cpu resolved", "30 web-1/cpu opened", "35 web-1/cpu resolved",
                "40 web-1/fs/srv opened", "45 web-1/fs/srv resolved",
            ]
        #expect(lines(report.current) == current)
        let proposed = try #require(report.proposed)
        #expect(lines(proposed) == current.filter { !$0.hasPrefix("10 ") && !$0.hasPrefix("15 ") })
        #expect(report.samples == 122)
        let table = report.rows.map { row in
            "\(row.vmID) \(row.alert) \(row.current.notices) \(row.current.firingMinutes) "
                + "\(row.proposed?.notices ?? -1) \(row.proposed?.firingMinutes ?? -1)"
        }
        #expect(table == ["db-1 service api 2 5 2 5", "web-1 cpu 4 10 2 5", "web-1 fs /srv 2 5 2 5"])
        let text = report.text(labels: .init(current: "current.json", proposed: "proposed.json"))
        #expect(text.contains("notices with proposed.json: 6"))
        #expect(text.contains("2025-12-09T00:30:00Z  web-1  web-1/cpu  opened  critical  97  CPU 97%, critical at 95%"))
        let json = try report.json(labels: .init(current: "current.json", proposed: "proposed.json"))
        let decoded = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((decoded["current"] as? [Any])?.count == 8)
        #expect((decoded["proposed"] as? [Any])?.count == 6)
        #expect(decoded["proposed_config"] as? String == "proposed.json")
    }

    @Test func replayWritesNothing() async throws {
        let store = try await storeHistory()
        func files() throws -> [Data?] {
            try ["", "-wal"].map { suffix in
                FileManager.default.fileExists(atPath: path + suffix)
                    ? try Data(contentsOf: URL(fileURLWithPath: path + suffix)) : nil
            }
        }
        let before = try files()
        let history = try ReplayHistory(path: path)
        _ = try ReplayReport.build(
            history: history, vms: try history.vmIDs(), current: Self.config(), proposed: nil, from: Self.t0,
            to: Self.at(60))
        #expect(try files() == before)
        withExtendedLifetime(store) {}
    }

    @Test func aMissingOrDamagedDatabaseIsNamed() throws {
        #expect(throws: HubError.self) { try ReplayHistory(path: path) }
        do {
            _ = try ReplayHistory(path: path)
        } catch {
            #expect(error.message.contains("no history database at \(path)"))
            #expect(error.kind == .needsOperator)
        }
        try Data("not a database at all, just text".utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try ReplayHistory(path: path)
            Issue.record("a text file opened as a history database")
        } catch {
            #expect(error.message.contains("cannot read the history database \(path)"))
        }
    }

    @Test func sinceTakesTheHistoryAPIsDurations() {
        #expect(ReplayHistory.parseSince("7d") == TimeInterval(7 * 86_400))
        #expect(ReplayHistory.parseSince("30m") == 1800)
        #expect(ReplayHistory.parseSince("2w") == TimeInterval(14 * 86_400))
        for bad in ["", "7", "d", "-1d", "401d", "200000000000000d", "9223372036854775807d"] {
            #expect(ReplayHistory.parseSince(bad) == nil)
        }
    }
}

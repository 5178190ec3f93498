import Foundation
import GRDB
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// The alert pass against a real SQLite store that fails underneath it: the pass still
/// judges the documents it holds in memory, queues the notices, and records the resolved
/// alerts once the store works again (a full disk: tests/test_delivery.py).
@Suite struct AlertPassTests {
    static let t0 = Date(timeIntervalSince1970: 1_765_276_200)
    let folder = NSTemporaryDirectory() + "lookout-pass-\(UUID().uuidString)"

    func open() throws -> (HistoryStore, AlertPass, RecordingChannel) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try HistoryStore(path: "\(folder)/lookout.sqlite", logger: Logger(label: "test"))
        let channel = RecordingChannel()
        let pass = AlertPass(
            dataFolder: folder, store: store, config: MonitoringConfig(), channels: [channel],
            logger: Logger(label: "test"))
        return (store, pass, channel)
    }

    /// Renames the tables the pass reads and writes, so every query of them fails as it
    /// would on a damaged or unreachable database; `false` puts them back.
    func breakStore(_ store: HistoryStore, _ broken: Bool) async throws {
        try await store.pool.write { db in
            for table in ["latest", "samples", "alert_history"] {
                let (from, to) = broken ? (table, "gone_\(table)") : ("gone_\(table)", table)
                try db.execute(sql: "ALTER TABLE \(from) RENAME TO \(to)")
            }
        }
    }

    @Test func aFailingStoreDoesNotStopThePassAndResolvedAlertsAreRecordedLater() async throws {
        let (store, pass, channel) = try open()
        try await breakStore(store, true)

        let opened = try await pass.run(documents: [makeDocument("web-1", at: Self.t0, disk: 93)], now: Self.t0)
        #expect(opened.notices == 1 && opened.active == 1)
        #expect(opened.problems.contains { $0.contains("judging the documents in memory only") }, "\(opened.problems)")
        _ = await pass.deliver(now: Self.t0)
        #expect(channel.delivered.map(\.kind) == [.opened])

        let t1 = Self.t0.addingTimeInterval(60)
        let resolved = try await pass.run(documents: [makeDocument("web-1", at: t1, disk: 50)], now: t1)
        #expect(resolved.notices == 1 && resolved.active == 0)
        #expect(resolved.problems.contains { $0.contains("could not record 1 resolved alert(s), will retry") })
        _ = await pass.deliver(now: t1)
        #expect(channel.delivered.map(\.kind) == [.opened, .resolved])

        // The store works again: the next pass records what the failing one could not.
        try await breakStore(store, false)
        let t2 = Self.t0.addingTimeInterval(120)
        let later = try await pass.run(documents: [makeDocument("web-1", at: t2, disk: 50)], now: t2)
        #expect(later.problems.isEmpty, "\(later.problems)")
        #expect(try await store.alertHistory(limit: 10).map(\.id) == ["web-1/disk"])
    }

    /// serve could not write alerts.json (a full disk) and kept its state in memory; space
    /// came back and a cron `check` wrote a newer alerts.json, having told the alert
    /// already. serve's next pass judges from that file, not from its older memory, so it
    /// does not tell the alert again.
    @Test func aNewerAlertsFileWrittenByAnotherProcessBeatsTheStateHeldInMemory() async throws {
        let (_, pass, channel) = try open()
        let t1 = Self.t0.addingTimeInterval(60)
        pass.memory.setUnsavedState(AlertState(updatedAt: Self.t0))
        let told = AlertEngine.evaluate(
            documents: [makeDocument("web-1", at: t1, disk: 93)], config: MonitoringConfig(), previous: AlertState(),
            now: t1)
        try pass.stateFile.save(told.state)
        let t2 = Self.t0.addingTimeInterval(120)
        let report = try await pass.run(documents: [makeDocument("web-1", at: t2, disk: 93)], now: t2)
        #expect(report.notices == 0, "the alert check already told was told again")
        _ = await pass.deliver(now: t2)
        #expect(channel.delivered.isEmpty)
        #expect(pass.memory.unsavedState() == nil)
    }

    @Test func aPairNobodyHeardOfIsRecordedInTheAlertHistory() async throws {
        let (store, pass, channel) = try open()
        channel.setDown(true)
        _ = try await pass.run(documents: [makeDocument("web-1", at: Self.t0, disk: 93)], now: Self.t0)
        _ = await pass.deliver(now: Self.t0)
        let t1 = Self.t0.addingTimeInterval(60)
        _ = try await pass.run(documents: [makeDocument("web-1", at: t1, disk: 50)], now: t1)
        channel.setDown(false)
        let report = await pass.deliver(now: t1)
        #expect(report.dropped == 2 && report.delivered == 0)
        #expect(channel.delivered.isEmpty)
        let history = try await store.alertHistory(limit: 10)
        #expect(history.map(\.id) == ["web-1/disk"])
        #expect(history.first?.undeliveredVia == ["recording"])
        // A pass that records the same resolved alert again keeps the note.
        try await store.recordResolved(history)
        #expect(try await store.alertHistory(limit: 10).first?.undeliveredVia == ["recording"])
    }

    /// A reboot through the real pass and store: one notice, the boot id kept in alerts.json
    /// (so a second process or a restart does not tell it again), resolved on the next pass
    /// without a notice but recorded in the alert history.
    @Test func aRebootIsToldOnceAndRecordedWhenItResolves() async throws {
        let (store, pass, channel) = try open()
        func doc(_ boot: String, at time: Date) -> MetricsDocument {
            var document = makeDocument("web-1", at: time)
            document.system.bootID = boot
            document.system.uptime = UptimeMetrics(seconds: 240)
            return document
        }
        let t1 = Self.t0.addingTimeInterval(60)
        let t2 = Self.t0.addingTimeInterval(120)
        #expect(try await pass.run(documents: [doc("aaaa", at: Self.t0)], now: Self.t0).notices == 0)
        let rebooted = try await pass.run(documents: [doc("bbbb", at: t1)], now: t1)
        #expect(rebooted.notices == 1 && rebooted.active == 1)
        #expect(try pass.stateFile.load().bootIDs == [try VMID(validating: "web-1"): "bbbb"])
        let after = try await pass.run(documents: [doc("bbbb", at: t2)], now: t2)
        #expect(after.notices == 0 && after.active == 0)
        _ = await pass.deliver(now: t2)
        #expect(channel.delivered.map { "\($0.kind.rawValue) \($0.alert.id)" } == ["opened web-1/reboot"])
        #expect(try await store.alertHistory(limit: 10).map(\.id) == ["web-1/reboot"])
    }
}

import Foundation
import LookoutCore
import Logging
import Synchronization
import Testing

@testable import LookoutHub

/// A channel that fails while `down` is set and records what it delivered (the outbox's
/// own contract is under test here; real SMTP and webhooks are tested end to end).
final class RecordingChannel: NotificationChannel {
    let name = "recording"
    let state = Mutex((down: false, delivered: [Notice]()))

    var delivered: [Notice] { state.withLock { $0.delivered } }
    func setDown(_ down: Bool) { state.withLock { $0.down = down } }

    func send(_ notice: Notice) async throws(DeliveryError) {
        let down = state.withLock { $0.down }
        if down { throw DeliveryError("connection refused") }
        state.withLock { $0.delivered.append(notice) }
    }
}

@Suite struct OutboxTests {
    static let t0 = Date(timeIntervalSince1970: 1_765_276_200)
    let folder = NSTemporaryDirectory() + "lookout-outbox-\(UUID().uuidString)"

    func notice(_ id: String) throws -> Notice {
        let alert = Alert(id: id, vmID: try VMID(validating: "web-1"), kind: "disk", metric: "disk", severity: .critical,
                          value: 93, threshold: 90, since: Self.t0, message: "disk 93%, critical at 90%")
        return Notice(kind: .opened, alert: alert, at: Self.t0)
    }

    @Test func aFailedNoticeWaitsWithBackoffAndIsDeliveredOnceWhenTheChannelRecovers() async throws {
        let outbox = Outbox(dataFolder: folder, logger: Logger(label: "test"))
        let channel = RecordingChannel()
        channel.setDown(true)
        try outbox.enqueue([try notice("web-1/disk"), try notice("web-1/cpu")], channels: [channel], now: Self.t0)
        #expect(outbox.pending().count == 2)

        let first = await outbox.deliver(channels: [channel], now: Self.t0)
        #expect(first == Outbox.Report(delivered: 0, failed: 2, waiting: 0))
        channel.setDown(false)
        // 10 s later the backoff (30 s) has not passed: nothing is sent.
        let early = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(10))
        #expect(early == Outbox.Report(delivered: 0, failed: 0, waiting: 2))
        let due = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(31))
        #expect(due == Outbox.Report(delivered: 2, failed: 0, waiting: 0))
        #expect(channel.delivered.map(\.alert.id) == ["web-1/disk", "web-1/cpu"])
        #expect(outbox.pending().isEmpty)
        let again = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(3600))
        #expect(again == Outbox.Report())
        #expect(channel.delivered.count == 2)
    }

    @Test func backoffDoublesUpToAnHour() async throws {
        let outbox = Outbox(dataFolder: folder, logger: Logger(label: "test"))
        let channel = RecordingChannel()
        channel.setDown(true)
        try outbox.enqueue([try notice("web-1/disk")], channels: [channel], now: Self.t0)
        var now = Self.t0
        var waits: [Int] = []
        for _ in 0..<9 {
            _ = await outbox.deliver(channels: [channel], now: now)
            let path = try #require(outbox.pending().first)
            let entry = try JSONDecoder().decode(Outbox.Entry.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            waits.append(Int(entry.nextAttempt.timeIntervalSince(now)))
            now = entry.nextAttempt
        }
        #expect(waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
    }

    @Test func aDamagedEntryIsMovedAsideNotRetriedForever() async throws {
        let outbox = Outbox(dataFolder: folder, logger: Logger(label: "test"))
        try FileManager.default.createDirectory(atPath: outbox.folder, withIntermediateDirectories: true)
        try Data("{half".utf8).write(to: URL(fileURLWithPath: outbox.folder + "/0001-x.json"))
        _ = await outbox.deliver(channels: [RecordingChannel()], now: Self.t0)
        #expect(outbox.pending().isEmpty)
        #expect(FileManager.default.fileExists(atPath: outbox.folder + "/0001-x.json.bad"))
    }
}

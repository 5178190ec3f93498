import Foundation
import Logging
import LookoutCore
import Synchronization
import Testing

@testable import LookoutHub

/// A channel that fails while `down` is set (permanently when `refusing`), can be held in
/// the middle of a send, and records what it delivered (the outbox's own contract is under
/// test here; real SMTP and webhooks are tested end to end).
final class RecordingChannel: NotificationChannel {
    let id: String
    struct State {
        var down = false
        var refusing = false
        var holding = false
        var held: [CheckedContinuation<Void, Never>] = []
        var attempts = 0
        var delivered: [Notice] = []
        var deliveryIDs: [String] = []
    }
    let state = Mutex(State())

    init(id: String = "recording") { self.id = id }

    var delivered: [Notice] { state.withLock { $0.delivered } }
    var attempts: Int { state.withLock { $0.attempts } }
    var deliveryIDs: [String] { state.withLock { $0.deliveryIDs } }
    var isHolding: Bool { state.withLock { !$0.held.isEmpty } }
    func setDown(_ down: Bool, refusing: Bool = false) {
        state.withLock {
            $0.down = down; $0.refusing = refusing
        }
    }
    /// Every send waits until ``release()`` (a relay that accepted the connection and went quiet).
    func hold() { state.withLock { $0.holding = true } }
    func release() {
        let held = state.withLock { state in
            state.holding = false
            defer { state.held = [] }
            return state.held
        }
        for continuation in held { continuation.resume() }
    }

    func send(_ notice: Notice, deliveryID: String) async throws(DeliveryError) {
        let holding = state.withLock { state in
            state.attempts += 1
            state.deliveryIDs.append(deliveryID)
            return state.holding
        }
        if holding {
            await withCheckedContinuation { continuation in
                state.withLock { $0.held.append(continuation) }
            }
        }
        let (down, refusing) = state.withLock { ($0.down, $0.refusing) }
        if down { throw DeliveryError(refusing ? "HTTP 404 no such hook" : "connection refused", permanent: refusing) }
        state.withLock { $0.delivered.append(notice) }
    }
}

/// Polls `condition` (bounded: a failure bound, not a speed requirement).
func eventually(_ what: String, _ condition: () -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(30)
    while !condition() {
        guard clock.now < deadline else { Issue.record("timed out waiting for \(what)"); return }
        try await Task.sleep(for: .milliseconds(10))
    }
}

@Suite struct OutboxTests {
    static let t0 = Date(timeIntervalSince1970: 1_765_276_200)
    let folder = NSTemporaryDirectory() + "lookout-outbox-\(UUID().uuidString)"

    func notice(_ id: String, _ kind: Notice.Kind = .opened, at minutes: Double = 0) throws -> Notice {
        var alert = Alert(
            id: id, vmID: try VMID(validating: "web-1"), kind: "disk", metric: "disk", severity: .critical,
            value: 93, threshold: 90, since: Self.t0, message: "disk 93%, critical at 90%")
        if kind == .resolved { alert.resolvedAt = Self.t0.addingTimeInterval(minutes * 60) }
        return Notice(kind: kind, alert: alert, at: Self.t0.addingTimeInterval(minutes * 60))
    }

    func outbox(undelivered: @escaping @Sendable (Alert, String) async -> Void = { _, _ in }) -> Outbox {
        Outbox(dataFolder: folder, logger: Logger(label: "test"), undelivered: undelivered)
    }

    @Test func aFailedNoticeWaitsWithBackoffAndIsDeliveredOnceWhenTheChannelRecovers() async throws {
        let outbox = outbox()
        let channel = RecordingChannel()
        channel.setDown(true)
        outbox.enqueue([try notice("web-1/disk"), try notice("web-1/cpu")], channels: [channel], now: Self.t0)
        #expect(outbox.pending().count == 2)

        // The first failure ends the channel's round: the second notice is not tried.
        let first = await outbox.deliver(channels: [channel], now: Self.t0)
        #expect(
            first == Outbox.Report(delivered: 0, failed: 1, waiting: 1, errors: ["recording": "connection refused"]))
        #expect(channel.attempts == 1)
        channel.setDown(false)
        // 10 s later the backoff (30 s) of the first has not passed; the second is due.
        let early = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(10))
        #expect(early == Outbox.Report(delivered: 1, failed: 0, waiting: 1))
        let due = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(31))
        #expect(due == Outbox.Report(delivered: 1, failed: 0, waiting: 0))
        #expect(Set(channel.delivered.map(\.alert.id)) == ["web-1/disk", "web-1/cpu"])
        #expect(outbox.pending().isEmpty)
        let again = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(3600))
        #expect(again == Outbox.Report())
        #expect(channel.delivered.count == 2)
    }

    /// A `check` with another config than the running `serve` (a channel this process does
    /// not know) must not destroy what serve queued: the entry is set aside, intact.
    @Test func anEntryOfAChannelThisConfigLacksIsKeptAsideNotDeleted() async throws {
        let outbox = outbox()
        let serveOnly = RecordingChannel(id: "webhook:ntfy:ntfy.example:0badc0de")
        serveOnly.setDown(true)
        outbox.enqueue([try notice("web-1/disk")], channels: [serveOnly], now: Self.t0)
        let queued = try #require(outbox.pending().first)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: queued))
        _ = await outbox.deliver(channels: [RecordingChannel()], now: Self.t0)
        #expect(outbox.pending().isEmpty)
        let kept = "\(folder)/outbox/failed/" + URL(fileURLWithPath: queued).lastPathComponent
        #expect(try Data(contentsOf: URL(fileURLWithPath: kept)) == bytes)
    }

    @Test func backoffDoublesUpToAnHourAndKeepsTheDeliveryID() async throws {
        let outbox = outbox()
        let channel = RecordingChannel()
        channel.setDown(true)
        outbox.enqueue([try notice("web-1/disk")], channels: [channel], now: Self.t0)
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
        #expect(Set(channel.deliveryIDs).count == 1)
    }

    /// warning → critical → warning → critical in one episode: the second escalation is a
    /// notice of its own (its own file and Message-ID), not a repeat of the first, while the
    /// same transition judged again from the same saved state keeps its name.
    @Test func twoEscalationsOfOneEpisodeAreTwoNotices() {
        let t0 = Date(timeIntervalSince1970: 1_765_276_200)
        var state = AlertState()
        var escalations: [Notice] = []
        for (minutes, disk) in [(0.0, 85.0), (1, 95), (40, 85), (41, 95)] {
            let now = t0.addingTimeInterval(minutes * 60)
            let result = AlertEngine.evaluate(
                documents: [makeDocument("web-1", at: now, disk: disk)], config: MonitoringConfig(), previous: state,
                now: now)
            if minutes == 41 {
                let again = AlertEngine.evaluate(
                    documents: [makeDocument("web-1", at: now, disk: disk)], config: MonitoringConfig(),
                    previous: state, now: now.addingTimeInterval(7))
                #expect(
                    again.notices.map { Outbox.key($0, channel: "email") }
                        == result.notices.map { Outbox.key($0, channel: "email") })
            }
            state = result.state
            escalations += result.notices.filter { $0.kind == .escalated }
        }
        #expect(escalations.count == 2)
        let keys = escalations.map { Outbox.key($0, channel: "email") }
        #expect(Set(keys.map(\.fileName)).count == 2)
        #expect(Set(keys.map(\.deliveryID)).count == 2)
    }

    @Test func aPassRepeatedAfterACrashOverwritesInsteadOfQueueingTwice() async throws {
        let outbox = outbox()
        let channel = RecordingChannel()
        let resolved = try notice("web-1/disk", .resolved, at: 5)
        outbox.enqueue([resolved], channels: [channel], now: Self.t0)
        // The same transition of the same alert, judged again a minute later.
        outbox.enqueue(
            [try notice("web-1/disk", .resolved, at: 6)], channels: [channel], now: Self.t0.addingTimeInterval(60))
        #expect(outbox.pending().count == 1)
        #expect(outbox.pending().first?.hasSuffix(Outbox.fileName(of: resolved, channelID: "recording")) == true)
        _ = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(120))
        #expect(channel.delivered.count == 1)
    }

    @Test func twoChannelsOnOneHostEachGetTheirOwnNoticesOnce() async throws {
        let outbox = outbox()
        let a = RecordingChannel(id: "webhook:ntfy:ntfy.sh:aaaaaaaa")
        let b = RecordingChannel(id: "webhook:ntfy:ntfy.sh:bbbbbbbb")
        outbox.enqueue([try notice("web-1/disk")], channels: [a, b], now: Self.t0)
        let report = await outbox.deliver(channels: [a, b], now: Self.t0)
        #expect(report.delivered == 2)
        #expect(a.delivered.count == 1 && b.delivered.count == 1)
    }

    @Test func aChannelThatHangsHoldsUpNoOther() async throws {
        let outbox = outbox()
        let stuck = RecordingChannel(id: "email")
        let webhook = RecordingChannel(id: "webhook:generic:hooks.example:12345678")
        stuck.hold()
        outbox.enqueue([try notice("web-1/disk"), try notice("web-1/cpu")], channels: [stuck, webhook], now: Self.t0)
        let round = Task { await outbox.deliver(channels: [stuck, webhook], now: Self.t0) }
        try await eventually("the webhook's deliveries while email hangs") { webhook.delivered.count == 2 }
        #expect(stuck.isHolding && stuck.delivered.isEmpty)
        // A second round for the hanging channel does not start a second send of the same file.
        let overlapping = await outbox.deliver(channel: stuck, now: Self.t0)
        #expect(overlapping == Outbox.Report())
        stuck.release()
        let report = await round.value
        #expect(report.delivered == 4)
        #expect(stuck.attempts == 2)
    }

    @Test func anOpenedStillWaitingWhenItsResolvedIsQueuedIsDroppedWithIt() async throws {
        let recorded = Mutex<[(String, String)]>([])
        let outbox = outbox { alert, channel in recorded.withLock { $0.append((alert.id, channel)) } }
        let channel = RecordingChannel()
        channel.setDown(true)
        outbox.enqueue([try notice("web-1/disk")], channels: [channel], now: Self.t0)
        _ = await outbox.deliver(channels: [channel], now: Self.t0)
        channel.setDown(false)
        outbox.enqueue(
            [try notice("web-1/disk", .resolved, at: 2)], channels: [channel], now: Self.t0.addingTimeInterval(120))
        let report = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(120))
        #expect(report.dropped == 2 && report.delivered == 0)
        #expect(channel.delivered.isEmpty)
        #expect(outbox.pending().isEmpty)
        #expect(recorded.withLock { $0.map { "\($0.0) \($0.1)" } } == ["web-1/disk recording"])
    }

    @Test func aResolvedNeverOvertakesTheNoticeBeforeIt() async throws {
        let outbox = outbox()
        let channel = RecordingChannel()
        outbox.enqueue([try notice("web-1/disk")], channels: [channel], now: Self.t0)
        _ = await outbox.deliver(channels: [channel], now: Self.t0)
        // Escalated fails and waits 30 s; the resolved, due at once, must wait behind it.
        channel.setDown(true)
        outbox.enqueue(
            [try notice("web-1/disk", .escalated, at: 1)], channels: [channel], now: Self.t0.addingTimeInterval(60))
        _ = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(60))
        channel.setDown(false)
        outbox.enqueue(
            [try notice("web-1/disk", .resolved, at: 1.25)], channels: [channel], now: Self.t0.addingTimeInterval(75))
        let early = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(75))
        #expect(early == Outbox.Report(delivered: 0, failed: 0, waiting: 2))
        _ = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(95))
        #expect(channel.delivered.map(\.kind) == [.opened, .escalated, .resolved])
    }

    @Test func aPermanentRefusalStopsAfterABoundedNumberOfTries() async throws {
        let outbox = outbox()
        let channel = RecordingChannel()
        channel.setDown(true, refusing: true)
        outbox.enqueue([try notice("web-1/disk")], channels: [channel], now: Self.t0)
        var now = Self.t0
        var gaveUp = 0
        for _ in 0..<6 {
            gaveUp += await outbox.deliver(channels: [channel], now: now).gaveUp
            now = now.addingTimeInterval(7200)
        }
        #expect(channel.attempts == Outbox.maxPermanentAttempts)
        #expect(gaveUp == 1)
        #expect(outbox.pending().isEmpty)
        #expect(AtomicFile.fileNames(in: outbox.folder + "/failed").count == 1)
        let health = ChannelHealth.report(dataFolder: folder, channelIDs: ["recording"])
        #expect(health.first?.status == .refused)
        #expect(health.first?.lastError == "HTTP 404 no such hook")
    }

    @Test func aDamagedEntryIsMovedAsideAnUnreadableOneIsRetried() async throws {
        let outbox = outbox()
        let channel = RecordingChannel()
        try FileManager.default.createDirectory(atPath: outbox.folder, withIntermediateDirectories: true)
        let prefix = Outbox.channelPrefix("recording")
        try Data("{half".utf8).write(to: URL(fileURLWithPath: outbox.folder + "/\(prefix)web-1_x-opened-0.json"))
        // A read error (here EISDIR; in the field EMFILE or EIO) is not damage: it stays.
        let unreadable = outbox.folder + "/\(prefix)web-1_y-opened-1.json"
        try FileManager.default.createDirectory(atPath: unreadable, withIntermediateDirectories: true)
        _ = await outbox.deliver(channels: [channel], now: Self.t0)
        #expect(FileManager.default.fileExists(atPath: outbox.folder + "/\(prefix)web-1_x-opened-0.json.bad"))
        #expect(outbox.pending() == [unreadable])
    }

    @Test func aFolderThatCannotBeWrittenKeepsNoticesInMemoryUntilItCan() async throws {
        let outbox = outbox()
        let channel = RecordingChannel()
        channel.setDown(true)
        // `outbox` is a file: nothing can be written under it (as with ENOSPC or EIO).
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: outbox.folder))
        let kept = outbox.enqueue(
            [try notice("web-1/disk"), try notice("web-1/cpu")], channels: [channel], now: Self.t0)
        #expect(kept == 2)
        let first = await outbox.deliver(channels: [channel], now: Self.t0)
        #expect(first.failed == 1 && outbox.inMemoryCount == 2)
        // Writing works again: the next round writes them out and delivers.
        try FileManager.default.removeItem(atPath: outbox.folder)
        channel.setDown(false)
        let second = await outbox.deliver(channels: [channel], now: Self.t0.addingTimeInterval(31))
        #expect(second.delivered == 2)
        #expect(outbox.inMemoryCount == 0 && outbox.pending().isEmpty)
    }

    @Test func entriesOfAnEarlierVersionFindTheirChannel() async throws {
        let outbox = outbox()
        let channel = RecordingChannel(id: "webhook:ntfy:ntfy.sh:3f9a1c2b")
        try FileManager.default.createDirectory(atPath: outbox.folder, withIntermediateDirectories: true)
        let old =
            #"{"channel":"webhook:ntfy:ntfy.sh","notice":\#(String(decoding: try JSONEncoder.lookout().encode(try notice("web-1/disk")), as: UTF8.self)),"attempts":1,"next_attempt":"2025-12-09T10:30:00Z"}"#
        try Data(old.utf8).write(to: URL(fileURLWithPath: outbox.folder + "/1765276200000-000001-abc.json"))
        let report = await outbox.deliver(channels: [channel], now: Self.t0)
        #expect(report.delivered == 1)
        #expect(outbox.pending().isEmpty)
    }
}

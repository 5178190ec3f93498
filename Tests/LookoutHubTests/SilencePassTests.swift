import Foundation
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// The alert pass reads DATA/silences.json (written by `lookout silence` or the API) at each
/// pass; a damaged file silences nothing and says so (issue 12, item 1).
@Suite struct SilencePassTests {
    static let t0 = AlertPassTests.t0
    let folder = NSTemporaryDirectory() + "lookout-silence-pass-\(UUID().uuidString)"

    func open() throws -> (AlertPass, RecordingChannel) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try HistoryStore(path: "\(folder)/lookout.sqlite", logger: Logger(label: "test"))
        let channel = RecordingChannel()
        let pass = AlertPass(
            dataFolder: folder, store: store, config: MonitoringConfig(), channels: [channel],
            logger: Logger(label: "test"))
        return (pass, channel)
    }

    @Test func aSilenceInTheFileHoldsTheNoticeUntilItEnds() async throws {
        let (pass, channel) = try open()
        _ = try await SilenceFile(dataFolder: folder).add(
            vm: "web-*", alert: "disk", reason: "resize", endsAt: Self.t0.addingTimeInterval(600), now: Self.t0)
        let held = try await pass.run(documents: [makeDocument("web-1", at: Self.t0, disk: 93)], now: Self.t0)
        #expect(held.notices == 0 && held.active == 1 && held.problems.isEmpty, "\(held.problems)")
        #expect(try pass.stateFile.load().alerts.first?.silenced?.reason == "resize")
        let t1 = Self.t0.addingTimeInterval(600)
        let told = try await pass.run(documents: [makeDocument("web-1", at: t1, disk: 93)], now: t1)
        #expect(told.notices == 1)
        _ = await pass.deliver(now: t1)
        #expect(channel.delivered.map(\.kind) == [.opened])
    }

    @Test func aDamagedSilencesFileSilencesNothingAndIsReported() async throws {
        let (pass, _) = try open()
        try "{broken".write(toFile: "\(folder)/silences.json", atomically: true, encoding: .utf8)
        let report = try await pass.run(documents: [makeDocument("web-1", at: Self.t0, disk: 93)], now: Self.t0)
        #expect(report.notices == 1)
        #expect(
            report.problems.contains { $0.contains("silences.json is damaged") && $0.contains("no silence applies") })
        #expect(try String(contentsOfFile: "\(folder)/silences.json", encoding: .utf8) == "{broken")
    }
}

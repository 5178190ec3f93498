import Foundation
import LookoutCore
import Testing

/// `DATA/silences.json`: atomic read-modify-write under a lock, pruning, damaged files (issue 12, item 1).
@Suite struct SilenceFileTests {
    let folder = NSTemporaryDirectory() + "lookout-silences-\(UUID().uuidString)"
    static let now = AlertEngineTests.t0

    init() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    @Test func addListRemove() async throws {
        let file = SilenceFile(dataFolder: folder)
        #expect(try file.load(now: Self.now).isEmpty)
        let added = try await file.add(
            vm: "web-*", alert: "service/api", reason: "deploy", endsAt: Self.now.addingTimeInterval(3600),
            now: Self.now)
        #expect(added.id.count == 8 && added.id.allSatisfy(\.isHexDigit))
        #expect(try file.load(now: Self.now) == [added])
        let removed = try await file.remove(id: added.id, now: Self.now)
        #expect(removed == added)
        #expect(try file.load(now: Self.now).isEmpty)
        do {
            _ = try await file.remove(id: added.id, now: Self.now)
            Issue.record("removed twice")
        } catch {
            #expect(error.isUsage && error.message.contains("no active silence has the id"))
        }
    }

    @Test func endedSilencesAreNotListedAndArePrunedOnTheNextWrite() async throws {
        let file = SilenceFile(dataFolder: folder)
        let short = try await file.add(
            vm: "a", alert: "all", reason: "r", endsAt: Self.now.addingTimeInterval(60), now: Self.now)
        let later = Self.now.addingTimeInterval(120)
        #expect(try file.load(now: later).isEmpty)
        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        #expect(text.contains(short.id))
        _ = try await file.add(vm: "b", alert: "all", reason: "r", endsAt: later.addingTimeInterval(60), now: later)
        #expect(!(try String(contentsOfFile: file.path, encoding: .utf8)).contains(short.id))
    }

    @Test func concurrentWritersLoseNothing() async throws {
        let file = SilenceFile(dataFolder: folder)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<24 {
                group.addTask {
                    _ = try await file.add(
                        vm: "vm-\(index)", alert: "all", reason: "r", endsAt: Self.now.addingTimeInterval(600),
                        now: Self.now)
                }
            }
            try await group.waitForAll()
        }
        let silences = try file.load(now: Self.now)
        #expect(Set(silences.map(\.vm)).count == 24 && Set(silences.map(\.id)).count == 24)
    }

    @Test(arguments: ["{not json", #"{"silences": [{"id": "x"}]}"#, #"{"silences": 3}"#])
    func aDamagedFileIsAClearErrorAndIsLeftAsItIs(text: String) async throws {
        let file = SilenceFile(dataFolder: folder)
        try text.write(toFile: file.path, atomically: true, encoding: .utf8)
        do {
            _ = try file.load(now: Self.now)
            Issue.record("loaded \(text)")
        } catch {
            #expect(error.message.contains("silences.json is damaged") && !error.isUsage, "\(error.message)")
        }
        do {
            _ = try await file.add(
                vm: "a", alert: "all", reason: "r", endsAt: Self.now.addingTimeInterval(60), now: Self.now)
            Issue.record("wrote over a damaged file")
        } catch {
            #expect(error.message.contains("damaged"))
        }
        #expect(try String(contentsOfFile: file.path, encoding: .utf8) == text)
    }

    @Test(arguments: [
        ("", "all", "r", "vm: empty"), ("web 1", "all", "r", "is not a vm_id or a pattern"),
        ("web-1", "disks", "r", "alert: \"disks\" is not all, an alert kind"),
        ("web-1", "service/", "r", "names no subject"), ("web-1", "all", "two\nlines", "one line only"),
        ("web-1", "all", "red \u{1B}[31m", "reason: holds the control character U+001B"),
        ("web-1", "all", "zero \u{0}", "control character"),
    ])
    func badFieldsAreRefusedByName(vm: String, alert: String, reason: String, expected: String) async {
        let file = SilenceFile(dataFolder: folder)
        do {
            _ = try await file.add(
                vm: vm, alert: alert, reason: reason, endsAt: Self.now.addingTimeInterval(60), now: Self.now)
            Issue.record("accepted \(vm) \(alert)")
        } catch {
            #expect(error.isUsage && error.message.contains(expected), "\(error.message)")
        }
        #expect(!FileManager.default.fileExists(atPath: file.path))
    }

    /// Certificate and forecast alerts can be silenced by kind and subject like the others.
    @Test(arguments: ["cert", "cert/mail-imaps", "forecast", "forecast//srv", "reboot", "traffic"])
    func everyAlertKindCanBeSilenced(alert: String) {
        #expect(AlertSelector.problem(alert) == nil, "\(alert)")
    }

    @Test func atMostAThousandSilencesAreActive() async throws {
        let file = SilenceFile(dataFolder: folder)
        let ends = Self.now.addingTimeInterval(3600)
        try await file.modify(now: Self.now) { (silences: inout [Silence]) throws(SilenceError) in
            for index in 0..<SilenceFile.maximumActive {
                silences.append(
                    Silence(
                        id: String(format: "%08x", index), vm: "vm-\(index)", alert: "all", reason: "r",
                        createdAt: Self.now, endsAt: ends))
            }
        }
        do {
            _ = try await file.add(vm: "one-more", alert: "all", reason: "r", endsAt: ends, now: Self.now)
            Issue.record("a silence past the cap was added")
        } catch {
            #expect(error.isUsage && error.message.contains("1000 silences are active"), "\(error.message)")
        }
        #expect(try file.load(now: Self.now).count == SilenceFile.maximumActive)
    }

    @Test func anEndInThePastOrBeyondAYearIsRefused() async {
        let file = SilenceFile(dataFolder: folder)
        for end in [Self.now, Self.now.addingTimeInterval(-1), Self.now.addingTimeInterval(367 * 86_400)] {
            do {
                _ = try await file.add(vm: "a", alert: "all", reason: "r", endsAt: end, now: Self.now)
                Issue.record("accepted \(end)")
            } catch {
                #expect(error.isUsage)
            }
        }
    }

    /// A silence lasts at most a year (the spellings are DurationTextTests').
    @Test func silencesLastAtMostAYear() {
        #expect(Silence.duration("366d") == TimeInterval(366 * 86_400))
        #expect(Silence.duration("367d") == nil)
        #expect(Silence.duration("53w") == nil)
    }
}

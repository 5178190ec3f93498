import Foundation
import LookoutCore
import Testing

/// `lookout-agent collect --data` keeps its journal beside `metrics.json`: real runs of the
/// built binary on the fixture procfs, a real tmpfs for the full disk.
@Suite struct AgentJournalTests {
    static let procfs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/proc/x86_64-1cpu").path
    let work: String = {
        let path = NSTemporaryDirectory() + "lookout-agent-jrnl-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()
    var journal: String { "\(work)/data/web-1/journal" }

    func collect(journalSamples: Int?) throws -> AgentProcess.Result {
        var arguments = [
            "collect", "--procfs", Self.procfs, "--state", "\(work)/state/state.json", "--docker-socket",
            "\(work)/no-docker.sock", "--vm-id", "web-1", "--data", "\(work)/data",
        ]
        if let journalSamples {
            let config = "\(work)/agent.json"
            try AtomicFile.write(Array(#"{"journal_samples": \#(journalSamples)}"#.utf8), to: config)
            arguments += ["--config", config]
        }
        return try AgentProcess.run(arguments)
    }

    /// Earlier samples (named as the agent names them) and files that are not the journal's.
    func seed(_ seconds: [Int64]) throws {
        try AtomicFile.makeDirectories(journal)
        for second in seconds {
            let name = JournalName.name(for: Date(timeIntervalSince1970: TimeInterval(second)))
            try AtomicFile.write(Array("{}".utf8), to: "\(journal)/\(name)")
        }
        for name in ["notes.txt", "12345.json", "0000000000x1.json", ".keep"] {
            try AtomicFile.write(Array("mine".utf8), to: "\(journal)/\(name)")
        }
    }

    func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: journal).sorted()
    }

    static let foreign = [".keep", "0000000000x1.json", "12345.json", "notes.txt"]

    @Test func theJournalKeepsTheNewestDocumentsAndNothingElseIsDeleted() throws {
        try seed([1_700_000_000, 1_700_000_300, 1_700_000_600, 1_700_000_900, 1_700_001_200])
        let result = try collect(journalSamples: 3)
        #expect(result.status == 0, "\(result.stderr)")
        let metrics = try Array(Data(contentsOf: URL(fileURLWithPath: "\(work)/data/web-1/metrics.json")))
        let document = try MetricsDocument.decode(metrics)
        let newest = JournalName.name(for: document.timestamp)
        #expect(newest.count == 17 && newest.hasPrefix("00"), "\(newest)")
        // Pruned oldest first down to three; the names that are not the journal's stay.
        #expect(try names() == (Self.foreign + ["001700000900.json", "001700001200.json", newest]).sorted())
        // The same bytes as metrics.json: one document, whichever file the hub reads first.
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: "\(journal)/\(newest)"))) == metrics)
    }

    /// After a clock that ran two days ahead is corrected, the files it stamped go, and the
    /// new sample stays (kept by their names, they would push out every new file).
    @Test func filesFromAClockThatRanAheadGoBeforeTheNewSample() throws {
        let ahead = Int64(Date().timeIntervalSince1970) + 2 * 86_400
        try seed([ahead, ahead + 300, ahead + 600])
        let result = try collect(journalSamples: 3)
        #expect(result.status == 0, "\(result.stderr)")
        let metrics = try Array(Data(contentsOf: URL(fileURLWithPath: "\(work)/data/web-1/metrics.json")))
        let newest = JournalName.name(for: try MetricsDocument.decode(metrics).timestamp)
        #expect(try names() == (Self.foreign + [newest]).sorted())
    }

    @Test func withoutAConfigTheJournalIsOnWithTheDefault() throws {
        let result = try collect(journalSamples: nil)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try names().count == 1)
        #expect(try names().allSatisfy { JournalName.seconds(of: $0) != nil })
    }

    @Test func zeroSamplesWritesNoJournalAndPrunesWhatWasLeft() throws {
        try seed([1_700_000_000, 1_700_000_300])
        let result = try collect(journalSamples: 0)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(work)/data/web-1/metrics.json"))
        #expect(try names() == Self.foreign)
    }

    /// The journal on a full 64 KiB tmpfs: metrics.json (written first, elsewhere) is still
    /// delivered and the run succeeds; the journal's failure is one warning naming ENOSPC.
    @Test func aFullJournalDiskNeverFailsTheMetricsFile() throws {
        try AtomicFile.makeDirectories(journal)
        let mounted = try AgentProcess.shell(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", journal])
        try #require(mounted.status == 0, "mounting a tmpfs needs root: \(mounted.stderr)")
        defer { _ = try? AgentProcess.shell(["umount", journal]) }
        _ = try AgentProcess.shell(["dd", "if=/dev/zero", "of=\(journal)/filler", "bs=4096"])

        let full = try collect(journalSamples: 288)
        #expect(full.status == 0, "\(full.stderr)")
        #expect(full.stderr.contains("could not add the sample to the journal"), "\(full.stderr)")
        #expect(full.stderr.contains("No space left on device"), "\(full.stderr)")
        let metrics = try Array(Data(contentsOf: URL(fileURLWithPath: "\(work)/data/web-1/metrics.json")))
        #expect(try MetricsDocument.decode(metrics).vmID.rawValue == "web-1")
        #expect(try names() == ["filler"], "no journal file nor temp file may be left")

        try FileManager.default.removeItem(atPath: "\(journal)/filler")
        let freed = try collect(journalSamples: 288)
        #expect(freed.status == 0, "\(freed.stderr)")
        #expect(!freed.stderr.contains("could not add the sample to the journal"), "\(freed.stderr)")
        #expect(try names().count == 1)
    }
}

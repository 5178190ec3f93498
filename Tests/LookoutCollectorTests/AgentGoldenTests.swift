import Foundation
import LookoutCore
import Testing

/// The real `lookout-agent` binary run on fixture procfs trees, its document diffed against
/// a checked-in golden file (node_exporter's end-to-end test, in Swift).
///
/// The timestamp and the disk figures (statvfs of a real path: `system.disk` and each of
/// `system.filesystems`) vary from run to run, so they are normalised before the diff;
/// everything else must match byte for byte. Each tree (`Fixtures/golden/<tree>/`) holds a
/// procfs, a sysfs and an agent config; its mountinfo mounts real block filesystems only on
/// `/` and `/tmp`, which exist on every test machine, so the list does not depend on the host.
/// Regenerate after an intended change with:
///     LOOKOUT_UPDATE_GOLDEN=1 swift test --filter AgentGoldenTests
@Suite struct AgentGoldenTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    let work: URL = {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "lookout-golden-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// The agent's output with the timestamp and the statvfs figures replaced by placeholders,
    /// after checking that they are well formed; the rest is kept byte for byte.
    func normalised(_ text: String) throws -> String {
        let document = try MetricsDocument.decode(Array(text.utf8))
        #expect((0...100).contains(document.system.disk.percent))
        #expect(document.system.disk.totalGB > 0)
        var result = text.replacingOccurrences(
            of: #""timestamp" : "[0-9TZ:-]{20}""#, with: #""timestamp" : "<timestamp>""#, options: .regularExpression)
        for key in ["percent", "total_gb", "used_gb"] {
            result = result.replacingOccurrences(
                of: #"("disk" : \{[^}]*"\#(key)" : )[0-9.]+"#, with: "$1\"<statvfs>\"", options: .regularExpression)
        }
        for filesystem in document.system.filesystems ?? [] {
            #expect((0...100).contains(filesystem.percent) && filesystem.usedGB <= filesystem.totalGB, "\(filesystem)")
        }
        if let start = result.range(of: #""filesystems" : ["#),
            let end = result.range(of: "]", range: start.upperBound..<result.endIndex)
        {
            let section = result[start.upperBound..<end.lowerBound].replacingOccurrences(
                of: #"("(percent|total_gb|used_gb)" : )[0-9.]+"#, with: "$1\"<statvfs>\"", options: .regularExpression)
            result.replaceSubrange(start.upperBound..<end.lowerBound, with: section)
        }
        return result
    }

    @Test(arguments: ["x86_64-1cpu", "aarch64-4cpu"])
    func documentMatchesTheGoldenFile(tree: String) throws {
        let state = work.appendingPathComponent("state.json").path
        try FileManager.default.copyItem(
            atPath: Self.fixtures.appendingPathComponent("golden/\(tree).state.json").path, toPath: state)
        let folder = Self.fixtures.appendingPathComponent("golden/\(tree)")
        let arguments = [
            "collect", "--stdout", "--vm-id", "golden-\(tree)", "--procfs", folder.appendingPathComponent("proc").path,
            "--state", state, "--config", folder.appendingPathComponent("agent.json").path,
            "--docker-socket", work.appendingPathComponent("no-docker.sock").path, "--disk-path", "/",
            "--sysfs", folder.appendingPathComponent("sys").path,
        ]
        let result = try AgentProcess.run(arguments)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let actual = try normalised(result.stdout)
        let goldenPath = Self.fixtures.appendingPathComponent("golden/\(tree).json").path
        if ProcessInfo.processInfo.environment["LOOKOUT_UPDATE_GOLDEN"] == "1" {
            try actual.write(toFile: goldenPath, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: goldenPath, encoding: .utf8)
        #expect(actual == expected)
        // The run saved the new counters for the next one.
        let savedText = try String(contentsOfFile: state, encoding: .utf8)
        #expect(savedText.contains(tree == "x86_64-1cpu" ? #""total":43200000"# : #""total":4320000"#), "\(savedText)")
        let disk = tree == "x86_64-1cpu" ? #""device":"vda""# : #""device":"mmcblk0""#
        #expect(savedText.contains(disk), "\(savedText)")
        if tree == "aarch64-4cpu" {
            // Configured, but not a mount point on this tree: skipped, and said so.
            #expect(result.stderr.contains("filesystems: /var/lib/docker skipped"), "\(result.stderr)")
        }
    }

    @Test func dataFolderGetsTheDocumentAtomicallyAndNothingElse() throws {
        let data = work.appendingPathComponent("data")
        let result = try AgentProcess.run(
            [
                "collect", "--data", data.path, "--procfs",
                Self.fixtures.appendingPathComponent("proc/x86_64-1cpu").path,
                "--state", work.appendingPathComponent("state.json").path,
                "--docker-socket", work.appendingPathComponent("none.sock").path, "--interval", "60",
            ], environment: ["VM_ID": "web-1"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: data.path) == ["web-1"])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("web-1").path).sorted() == [
                "journal", "metrics.json",
            ])
        let bytes = try Array(Data(contentsOf: data.appendingPathComponent("web-1/metrics.json")))
        let document = try MetricsDocument.decode(bytes)
        // The journal holds the same document, named by its timestamp, and no temp file.
        let journal = data.appendingPathComponent("web-1/journal")
        let name = JournalName.name(for: document.timestamp)
        #expect(try FileManager.default.contentsOfDirectory(atPath: journal.path) == [name])
        #expect(try Array(Data(contentsOf: journal.appendingPathComponent(name))) == bytes)
        #expect(document.vmID.rawValue == "web-1")
        #expect(document.intervalSeconds == 60)
        #expect(document.system.memory.totalMB == 992)
        // No state file: the first run says why it takes a short sample.
        #expect(result.stderr.contains("no state file"))
    }

    @Test func garbledProcfsFailsWithTheFileNamed() throws {
        let root = Self.fixtures.appendingPathComponent("proc/garbled").path
        let result = try AgentProcess.run([
            "collect", "--stdout", "--vm-id", "bad", "--procfs", root, "--state",
            work.appendingPathComponent("s.json").path,
            "--docker-socket", work.appendingPathComponent("none.sock").path,
        ])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("could not parse") && result.stderr.contains(root), "\(result.stderr)")
    }

    @Test(arguments: [
        (["collect", "--vm-id", "../x"], Int32(78), "invalid vm_id \"../x\""),
        (["collect", "--push", "ftp://hub"], 78, "--push:"),
        (["collect", "--interval", "0"], 78, "--interval: 0 is not between"),
        (["collect", "--no-such-flag"], 64, "Unknown option '--no-such-flag'"),
    ])
    func badUsageExitsWithAClearMessage(arguments: [String], status: Int32, message: String) throws {
        let result = try AgentProcess.run(arguments + ["--state", work.appendingPathComponent("s.json").path])
        #expect(result.status == status)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func helpExplainsEveryOption() throws {
        let result = try AgentProcess.run(["collect", "--help"])
        #expect(result.status == 0)
        for option in [
            "--vm-id", "--procfs", "--disk-path", "--state", "--config", "--docker-socket", "--data",
            "--stdout", "--push", "--token", "--interval", "--lock-wait",
        ] {
            #expect(result.stdout.contains(option), "\(option) missing from --help")
        }
        #expect(
            try AgentProcess.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                == LookoutVersion.current)
    }
}

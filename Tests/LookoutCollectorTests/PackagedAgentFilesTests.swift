import Foundation
import LookoutCore
import Testing

/// The agent package's unit and default config (deploy/debian/lookout-agent), run as they
/// are written with system paths moved under a temp root: as shipped the unit exits 0 with
/// one line (no restart loop, no documents in the journal); with the `data` line uncommented
/// it samples into that folder. The packages themselves are tested in tests/test_packages.py.
@Suite struct PackagedAgentFilesTests {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/debian/lookout-agent")
    let root: String = {
        let path = NSTemporaryDirectory() + "lookout-packaged-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path + "/etc/lookout", withIntermediateDirectories: true)
        return path
    }()

    func packaged(_ name: String) throws -> String {
        try String(contentsOf: Self.package.appendingPathComponent(name), encoding: .utf8)
    }

    /// The unit's ExecStart with /usr/bin, /etc/lookout and /var/lib moved under `root`.
    func unitCommand() throws -> [String] {
        let unit = try packaged("lookout-agent.service").replacingOccurrences(of: "\\\n", with: " ")
        let line = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        var arguments = line.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
        #expect(arguments.removeFirst() == "/usr/bin/lookout-agent")
        return arguments.map {
            $0.replacingOccurrences(of: "/etc/lookout/", with: "\(root)/etc/lookout/")
                .replacingOccurrences(of: "/var/lib/", with: "\(root)/var/lib/")
        }
    }

    func installConfig(_ text: String) {
        _ = FileManager.default.createFile(atPath: "\(root)/etc/lookout/agent.json", contents: Data(text.utf8))
    }

    @Test func theShippedConfigIsValidAndTheUnitExitsZeroWithOneLine() async throws {
        installConfig(try packaged("agent.json"))
        let result = try await RunningAgent(try unitCommand()).result()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty, "no document on stdout (the journal): \(result.stdout.prefix(200))")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("no destination configured"), "\(result.stderr)")
        #expect(result.stderr.contains("\(root)/etc/lookout/agent.json"), "it names the file to edit")
    }

    @Test func uncommentingTheDataLineMakesTheUnitSample() async throws {
        let shipped = try packaged("agent.json")
        let edited = shipped.replacingOccurrences(
            of: #"// "data": "/var/lib/lookout-agent/data","#, with: #""data": "\#(root)/var/lib/lookout-agent/data","#)
        #expect(edited != shipped, "the shipped config has a data line to uncomment")
        installConfig(edited)
        let agent = try RunningAgent(try unitCommand(), environment: ["VM_ID": "web-1"])
        let document = try await agent.firstDocument(at: "\(root)/var/lib/lookout-agent/data/web-1/metrics.json")
        #expect(document.vmID.rawValue == "web-1")
        #expect(document.intervalSeconds == 60)
    }

    @Test func theStdoutFlagStillPrintsWithoutADestination() throws {
        installConfig(try packaged("agent.json"))
        let result = try AgentProcess.run([
            "collect", "--stdout", "--exit-unless-configured", "--config", "\(root)/etc/lookout/agent.json",
            "--state", "\(root)/state.json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try MetricsDocument.decode(Array(result.stdout.utf8)).vmID.rawValue.isEmpty == false)
    }
}

import Foundation
import LookoutCore
import Testing

/// The agent's cron line and systemd unit, run as they are written (paths moved under a
/// temp root, the binary swapped for the built one): what an operator copies must work.
@Suite struct DeployFilesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let root: String = {
        let path = NSTemporaryDirectory() + "lookout-deploy-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path + "/etc/lookout", withIntermediateDirectories: true)
        return path
    }()

    func deployFile(_ path: String) throws -> String {
        try String(contentsOf: Self.repository.appendingPathComponent("deploy/\(path)"), encoding: .utf8)
    }

    /// The command with its system paths moved under `root` and the built binary in place.
    func moved(_ command: String) throws -> String {
        try command.replacingOccurrences(of: "/usr/local/bin/lookout-agent", with: AgentProcess.binary)
            .replacingOccurrences(of: "/etc/lookout/", with: "\(root)/etc/lookout/")
            .replacingOccurrences(of: "/var/lib/", with: "\(root)/var/lib/")
    }

    func sh(_ command: String, environment: [String: String]) throws -> AgentProcess.Result {
        try AgentProcess.shell(["env", "-i"] + environment.map { "\($0)=\($1)" } + ["/bin/sh", "-c", command])
    }

    @Test func theCronLineWorksOnceAgentJSONExists() throws {
        let file = try deployFile("cron.d/lookout-agent")
        let line = try #require(file.split(separator: "\n").first { $0.hasPrefix("*/5 ") })
        let fields = line.split(separator: " ", maxSplits: 6)
        #expect(fields[5] == "root")
        // The cron line names no --state; as root that would be /var/lib/lookout-agent.
        let command = try moved(String(fields[6])) + " --state \(root)/var/lib/lookout-agent/state.json"
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin"]
        for assignment in file.split(separator: "\n") where assignment.hasPrefix("VM_ID=") {
            environment["VM_ID"] = String(assignment.dropFirst(6))
        }
        #expect(environment["VM_ID"] == "web-1")

        let without = try sh(command, environment: environment)
        #expect(without.status == 78, "\(without.stderr)")
        #expect(without.stderr.contains("\(root)/etc/lookout/agent.json"), "\(without.stderr)")
        // What the README's install does: an empty config unless there is one.
        let install =
            #"install -d -m 0755 /etc/lookout/ && { [ -e /etc/lookout/agent.json ] || "#
            + #"echo "{}" > /etc/lookout/agent.json; }"#
        let created = try sh(try moved(install), environment: environment)
        #expect(created.status == 0, "\(created.stderr)")
        let with = try sh(command, environment: environment)
        #expect(with.status == 0, "\(with.stderr)")
        let document = try MetricsDocument.decode(
            Array(Data(contentsOf: URL(fileURLWithPath: "\(root)/var/lib/lookout/data/web-1/metrics.json"))))
        #expect(document.intervalSeconds == 300)
    }

    @Test func theUnitRunsItsCommandAndDoesNotRestartOnBadConfiguration() async throws {
        let unit = try deployFile("systemd/lookout-agent.service")
        let keys = unit.replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n")
        let prevent = try #require(keys.first { $0.hasPrefix("RestartPreventExitStatus=") })
        #expect(Set(prevent.dropFirst("RestartPreventExitStatus=".count).split(separator: " ")) == ["64", "78"])
        let execStart = try #require(keys.first { $0.hasPrefix("ExecStart=") }).dropFirst("ExecStart=".count)
        var arguments = try moved(String(execStart)).split(separator: " ").filter { !$0.isEmpty }.map(String.init)
        #expect(arguments.removeFirst() == (try AgentProcess.binary))

        // No agent.json: exit 78, which the unit does not restart.
        let bad = try await RunningAgent(arguments, environment: ["VM_ID": "web-1"]).result()
        #expect(bad.status == 78, "\(bad.stderr)")
        _ = FileManager.default.createFile(atPath: "\(root)/etc/lookout/agent.json", contents: Data("{}".utf8))
        let agent = try RunningAgent(arguments, environment: ["VM_ID": "web-1"])
        let document = try await agent.firstDocument(at: "\(root)/var/lib/lookout/data/web-1/metrics.json")
        #expect(document.intervalSeconds == 60)
    }
}

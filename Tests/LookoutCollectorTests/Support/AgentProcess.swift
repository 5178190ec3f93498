import Foundation
import LookoutCore
import Synchronization
import Testing

/// Runs the built `lookout-agent` binary, as cron would.
enum AgentProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The binary SwiftPM built beside this test bundle (`swift build --build-tests` builds both).
    static var binary: String {
        get throws {
            let bundle = URL(
                fileURLWithPath: try String(contentsOfFile: "/proc/self/cmdline", encoding: .utf8)
                    .split(separator: "\0").first.map(String.init) ?? "")
            var candidates = [bundle.deletingLastPathComponent().appendingPathComponent("lookout-agent").path]
            if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                candidates.append(
                    URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("lookout-agent").path)
            }
            let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
            return try #require(
                found,
                "lookout-agent is not built beside the tests (looked at \(candidates)); run `swift build --build-tests` first"
            )
        }
    }

    /// The agent's environment: this process's, without the variables the agent reads
    /// (so the tests' own shell cannot change what they see), plus `extra`.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["VM_ID"] = nil
        env["LOOKOUT_TOKEN"] = nil
        env.merge(extra) { $1 }
        return env
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try execute(URL(fileURLWithPath: try binary), arguments, environment: Self.environment(environment))
    }

    /// Runs a system tool (`mount`, `dd`) by name through `/usr/bin/env`.
    static func shell(_ arguments: [String]) throws -> Result {
        try execute(URL(fileURLWithPath: "/usr/bin/env"), arguments, environment: ProcessInfo.processInfo.environment)
    }

    private static func execute(
        _ executable: URL, _ arguments: [String], environment: [String: String]
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A `lookout-agent` process that runs while the test goes on: its standard error is read
/// as it comes (on threads of its own, not the test's), so a test can wait for a log line
/// (`waiting up to …`) before it acts, instead of sleeping for a guessed time.
final class RunningAgent: @unchecked Sendable {
    private let process = Process()
    private let output = Mutex<(stdout: [UInt8], stderr: [UInt8], openPipes: Int, status: Int32?)>(([], [], 2, nil))

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: try AgentProcess.binary)
        process.arguments = arguments
        process.environment = AgentProcess.environment(environment)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.terminationHandler = { [self] process in
            self.output.withLock { $0.status = process.terminationStatus }
        }
        try process.run()
        for (pipe, isStderr) in [(out, false), (err, true)] {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [self] in
                while true {
                    let data = handle.availableData
                    self.output.withLock { state in
                        if data.isEmpty {
                            state.openPipes -= 1
                        } else if isStderr {
                            state.stderr += data
                        } else {
                            state.stdout += data
                        }
                    }
                    if data.isEmpty { break }
                }
            }
        }
    }

    var stderr: String { output.withLock { String(decoding: $0.stderr, as: UTF8.self) } }

    /// Sends SIGTERM, as systemd does to stop a unit.
    func terminate() { process.terminate() }

    /// Waits until standard error contains `text`; fails the test if the process ends or
    /// `bound` passes first (a failure bound only: the line normally comes in milliseconds).
    func waitForStderr(containing text: String, bound: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now.advanced(by: bound)
        while !stderr.contains(text) {
            let ended = output.withLock { $0.status != nil && $0.openPipes == 0 }
            try #require(!ended && ContinuousClock.now < deadline, "no \"\(text)\" on stderr: \(stderr)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the process to end and both pipes to close.
    func result(bound: Duration = .seconds(120)) async throws -> AgentProcess.Result {
        let deadline = ContinuousClock.now.advanced(by: bound)
        while true {
            let state = output.withLock { $0 }
            if let status = state.status, state.openPipes == 0 {
                return AgentProcess.Result(
                    status: status, stdout: String(decoding: state.stdout, as: UTF8.self),
                    stderr: String(decoding: state.stderr, as: UTF8.self))
            }
            if ContinuousClock.now >= deadline {
                process.terminate()
                try #require(Bool(false), "lookout-agent did not end within \(bound): \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension RunningAgent {
    /// Waits (failing after 60 s) for the daemon to write `path`, stops it, and decodes what
    /// it wrote: the first document of a unit's command.
    func firstDocument(at path: String) async throws -> MetricsDocument {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while !FileManager.default.fileExists(atPath: path) {
            try #require(ContinuousClock.now < deadline, "no document from the unit's command: \(stderr)")
            try await Task.sleep(for: .milliseconds(20))
        }
        terminate()
        _ = try await result()
        return try MetricsDocument.decode(Array(Data(contentsOf: URL(fileURLWithPath: path))))
    }
}

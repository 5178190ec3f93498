import Foundation
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
            let bundle = URL(fileURLWithPath: try String(contentsOfFile: "/proc/self/cmdline", encoding: .utf8)
                .split(separator: "\0").first.map(String.init) ?? "")
            var candidates = [bundle.deletingLastPathComponent().appendingPathComponent("lookout-agent").path]
            if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("lookout-agent").path)
            }
            let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
            return try #require(found, "lookout-agent is not built beside the tests (looked at \(candidates)); run `swift build --build-tests` first")
        }
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["VM_ID"] = nil
        env["LOOKOUT_TOKEN"] = nil
        env.merge(environment) { $1 }
        process.environment = env
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

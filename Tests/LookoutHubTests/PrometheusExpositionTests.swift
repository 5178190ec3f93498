import Foundation
import LookoutCore
import Testing

@testable import LookoutHub

/// `/metrics` must stay valid exposition whatever the strings in the fleet hold. The
/// document validator refuses control characters at ingest, so these tests put hostile
/// names straight into a `Fleet` (as a bug elsewhere, or an older store, might) and read
/// the output back with the reference parser, prometheus_client (a test dependency).
@Suite struct PrometheusExpositionTests {
    static let now = Date(timeIntervalSince1970: 1_765_276_200)

    /// Each hostile value and what the reference parser must read back.
    static let hostile: [(String, String)] = [
        ("evil\"name\\with\nnewline", "evil\"name\\with\nnewline"),
        ("crlf\r\nlookout_up{vm_id=\"forged\"} 1", "crlf \nlookout_up{vm_id=\"forged\"} 1"),
        ("cr\rtab\tnul\u{0}del\u{7F}c1\u{85}", "cr tab nul del c1 "),
        ("ünïcødé ✓ 東京", "ünïcødé ✓ 東京"),
    ]

    func fleet() -> Fleet {
        let fleet = Fleet()
        let containers = Self.hostile.map {
            ContainerMetrics(name: $0.0, status: "running", cpuPercent: 1, memoryMB: 10)
        }
        let services = Self.hostile.map { ServiceStatus(id: $0.0, healthy: true, responseMS: 5) }
        _ = fleet.update(makeDocument("web-1", at: Self.now, services: services, containers: containers))
        return fleet
    }

    @Test func escapesPerUnicodeScalar() {
        #expect(PrometheusExposition.escapeLabelValue("plain") == "plain")
        #expect(PrometheusExposition.escapeLabelValue("a\r\nb") == #"a \nb"#)
        #expect(PrometheusExposition.escapeLabelValue("q\"b\\") == #"q\"b\\"#)
        #expect(PrometheusExposition.escapeLabelValue("x\u{1B}[31m") == "x [31m")
    }

    @Test func everyLineIsACommentOrOneSample() {
        let text = PrometheusExposition.render(fleet().entries(), config: MonitoringConfig(), now: Self.now)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            #expect(line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") || line.hasPrefix("lookout_"), "\(line)")
            #expect(!line.unicodeScalars.contains { $0 == "\r" }, "\(line)")
            #expect(!line.hasPrefix(#"lookout_up{vm_id="forged""#), "a label value started a series: \(line)")
        }
    }

    @Test func theReferenceParserReadsBackEveryHostileLabel() throws {
        let text = PrometheusExposition.render(fleet().entries(), config: MonitoringConfig(), now: Self.now)
        let parsed = try Self.parseWithPrometheusClient(text)
        let running = try #require(parsed["lookout_container_running"])
        #expect(Set(running.compactMap { $0["container"] }) == Set(Self.hostile.map(\.1)))
        #expect(running.allSatisfy { $0["vm_id"] == "web-1" })
        let healthy = try #require(parsed["lookout_service_healthy"])
        #expect(Set(healthy.compactMap { $0["service"] }) == Set(Self.hostile.map(\.1)))
        // One series per VM: nothing forged a second vm_id.
        #expect(parsed["lookout_up"]?.map { $0["vm_id"] } == ["web-1"])
    }

    /// `{family: [labels of each sample]}` as prometheus_client parses `text`.
    static func parseWithPrometheusClient(_ text: String) throws -> [String: [[String: String]]] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            text = sys.stdin.buffer.read().decode("utf-8")
            out = {f.name: [s.labels for s in f.samples] for f in text_string_to_metric_families(text)}
            sys.stdout.write(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "prometheus_client failed: \(problem)")
        return try JSONDecoder().decode([String: [[String: String]]].self, from: data)
    }
}

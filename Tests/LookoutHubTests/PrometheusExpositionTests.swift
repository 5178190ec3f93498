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
        let data = try runPrometheusClient(
            text, output: "{f.name: [s.labels for s in f.samples] for f in text_string_to_metric_families(text)}")
        return try JSONDecoder().decode([String: [[String: String]]].self, from: data)
    }

    /// Runs prometheus_client's parser on `text` and returns the JSON of the Python expression
    /// `output` (over `text` and `text_string_to_metric_families`).
    static func runPrometheusClient(_ text: String, output: String) throws -> Data {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            text = sys.stdin.buffer.read().decode("utf-8")
            sys.stdout.write(json.dumps(\(output)))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), stdout = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = stdout
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "prometheus_client failed: \(problem)")
        return data
    }

    // MARK: - Issue 11's families

    /// One parsed sample: its family's type, the sample name, labels and value.
    struct Parsed: Decodable {
        let family: String
        let type: String
        let name: String
        let labels: [String: String]
        let value: Double
    }

    static func parseSamples(_ text: String) throws -> [Parsed] {
        let data = try runPrometheusClient(
            text,
            output: """
                [{"family": f.name, "type": f.type, "name": s.name, "labels": s.labels, "value": s.value}
                     for f in text_string_to_metric_families(text) for s in f.samples]
                """)
        return try JSONDecoder().decode([Parsed].self, from: data)
    }

    @Test func systemExtrasAreExposedInBaseUnits() throws {
        let fleet = Fleet()
        var document = makeExtrasDocument(
            "web-1", at: Self.now, rxTotal: 123_456_789, txTotal: 98_765_432, rxRate: 5120.5, txRate: 880,
            diskIO: DiskIOMetrics(
                device: "vda", readBytesPerSecond: 40960, writeBytesPerSecond: 204_800, utilPercent: 3.5),
            swapPercent: 50, filesystems: [("/srv/back\"up\n", 91)], temperatures: [("coretemp package_id_0", 48)])
        document.system.network?.interfaces.append(
            InterfaceMetrics(name: "wg0", rxBytesPerSecond: 1, txBytesPerSecond: 2, rxBytes: 3, txBytes: 4))
        _ = fleet.update(document)
        _ = fleet.update(makeDocument("db-1", at: Self.now))  // an older agent: none of the new families
        let web = try VMID(validating: "web-1")
        let usage = TrafficUsage(
            vmID: web, periodStart: Self.now, periodEnd: Self.now, rxBytes: 1e9, txBytes: 2.5e9, usedBytes: 2.5e9,
            allowanceBytes: nil, direction: .tx, projectedBytes: 0, projectedExhaustion: nil)
        var gone = usage
        gone.vmID = try VMID(validating: "gone-1")  // not in the fleet (forgotten): not exposed
        let text = PrometheusExposition.render(
            fleet.entries(), config: MonitoringConfig(), now: Self.now, traffic: [web: usage, gone.vmID: gone])
        let samples = try Self.parseSamples(text)
        func value(_ name: String, _ labels: [String: String]) -> Double? {
            samples.first { sample in
                sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
            }?.value
        }
        func count(_ name: String) -> Int { samples.filter { $0.name == name }.count }
        let eth0 = ["vm_id": "web-1", "interface": "eth0"]
        #expect(value("lookout_network_receive_bytes_per_second", eth0) == 5120.5)
        #expect(value("lookout_network_transmit_bytes_per_second", eth0) == 880)
        #expect(value("lookout_network_receive_bytes_total", eth0) == 123_456_789)
        #expect(value("lookout_network_transmit_bytes_total", eth0) == 98_765_432)
        #expect(value("lookout_network_transmit_bytes_total", ["interface": "wg0"]) == 4)
        #expect(count("lookout_network_receive_bytes_total") == 2)
        #expect(samples.first { $0.name == "lookout_network_receive_bytes_total" }?.type == "counter")
        #expect(samples.first { $0.name == "lookout_network_receive_bytes_per_second" }?.type == "gauge")
        let vda = ["vm_id": "web-1", "device": "vda"]
        #expect(value("lookout_disk_io_read_bytes_per_second", vda) == 40960)
        #expect(value("lookout_disk_io_write_bytes_per_second", vda) == 204_800)
        #expect(value("lookout_disk_io_utilization_ratio", vda) == 0.035)
        let mib = 1_048_576.0, gib = 1_073_741_824.0
        #expect(value("lookout_swap_total_bytes", ["vm_id": "web-1"]) == 1024 * mib)
        #expect(value("lookout_swap_used_bytes", ["vm_id": "web-1"]) == 512 * mib)
        // The path goes through the one escaping routine and reads back as it was.
        let backup = ["vm_id": "web-1", "path": "/srv/back\"up\n", "device": "/dev/vdb", "fstype": "xfs"]
        #expect(value("lookout_filesystem_size_bytes", backup) == 100 * gib)
        #expect(value("lookout_filesystem_used_bytes", backup) == 91 * gib)
        #expect(value("lookout_filesystem_used_ratio", backup) == 0.91)
        #expect(value("lookout_temperature_celsius", ["sensor": "coretemp package_id_0"]) == 48)
        #expect(value("lookout_traffic_month_bytes", ["vm_id": "web-1", "direction": "rx"]) == 1e9)
        #expect(value("lookout_traffic_month_bytes", ["vm_id": "web-1", "direction": "tx"]) == 2.5e9)
        #expect(count("lookout_traffic_month_bytes") == 2)
        // db-1 has no such figures: it appears in none of these families.
        let extras = samples.filter { $0.name.hasPrefix("lookout_network") || $0.name.hasPrefix("lookout_swap") }
        #expect(!extras.contains { $0.labels["vm_id"] == "db-1" })
        #expect(value("lookout_cpu_percent", ["vm_id": "db-1"]) == 10)
    }
}

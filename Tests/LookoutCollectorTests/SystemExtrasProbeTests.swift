import Foundation
import Logging
import LookoutCore
import Testing

@testable import LookoutCollector

/// Swap, temperatures, `--sysfs` and the network section through the whole collector.
@Suite struct SystemExtrasProbeTests {
    // MARK: Swap

    @Test(
        arguments: [
            (
                "a quarter used",
                "MemTotal: 1015808 kB\nSwapCached: 0 kB\nSwapTotal: 2097148 kB\nSwapFree: 1572861 kB\n",
                SwapMetrics(totalMB: 2048, usedMB: 512, percent: 25)
            ),
            (
                "none used", "SwapTotal:  1048576 kB\nSwapFree:   1048576 kB\n",
                .init(totalMB: 1024, usedMB: 0, percent: 0)
            ),
            ("rounds to 1 decimal", "SwapTotal: 3 kB\nSwapFree: 2 kB\n", .init(totalMB: 0, usedMB: 0, percent: 33.3)),
            (
                "free above total reads 0 used", "SwapTotal: 1024 kB\nSwapFree: 4096 kB\n",
                .init(totalMB: 1, usedMB: 0, percent: 0)
            ),
            ("no swap: SwapTotal 0", "SwapTotal:       0 kB\nSwapFree:        0 kB\n", nil),
            ("a kernel without swap lines", "MemTotal: 1015808 kB\nMemFree: 61440 kB\n", nil),
            ("no swap: SwapFree missing does not matter", "SwapTotal: 0 kB\n", nil),
        ] as [(String, String, SwapMetrics?)])
    func parsesSwapLines(_ label: String, text: String, expected: SwapMetrics?) throws {
        #expect(try SwapProbe.parse(text, path: "/fake/meminfo") == expected)
    }

    @Test(arguments: [
        ("SwapTotal: lots kB\nSwapFree: 1 kB\n", #"SwapTotal "lots""#),
        ("SwapTotal: 1024 kB\nSwapFree: -1 kB\n", #"SwapFree "-1""#),
        ("SwapTotal: 1024 kB\n", "SwapFree (missing beside SwapTotal)"),
    ])
    func rejectsGarbledSwapLines(text: String, detail: String) {
        #expect(throws: CollectorError.malformed("/fake/meminfo", detail)) {
            try SwapProbe.parse(text, path: "/fake/meminfo")
        }
    }

    @Test func swapIsInTheSystemSectionOnlyWhereThereIsSwap() async throws {
        let on = machine("swap-on")
        let (metrics, _) = try await SystemProbe(procfs: on.procfs, diskPath: "/tmp", sysfs: on.sysfs)
            .collect(previousCPU: nil, firstSampleDelay: .zero)
        #expect(metrics.swap == SwapMetrics(totalMB: 2048, usedMB: 512, percent: 25))
        #expect(metrics.memory == (try MemoryProbe.read(from: on.procfs)))
        let cloud = machine("cloud-1cpu")
        let (none, _) = try await SystemProbe(procfs: cloud.procfs, diskPath: "/tmp", sysfs: cloud.sysfs)
            .collect(previousCPU: nil, firstSampleDelay: .zero)
        #expect(none.swap == nil)
        #expect(none.temperatures == nil)
    }

    // MARK: Temperatures

    @Test func hwmonChipsWithLabelsNumbersAndBrokenInputs() {
        let readings = TemperatureProbe.read(from: machine("bare-metal").sysfs)
        #expect(
            readings == [
                TemperatureReading(sensor: "acpitz temp1", celsius: 27.8),
                // Only 150 °C of broken's inputs is a temperature: garbage, empty, -5 and 200 are dropped.
                .init(sensor: "broken temp5", celsius: 150),
                .init(sensor: "coretemp core_0", celsius: 46),
                .init(sensor: "coretemp core_1", celsius: 47.5),
                .init(sensor: "coretemp package_id_0", celsius: 48),
                // Attributes in the device folder (older kernels), numbered 1 then 12.
                .init(sensor: "it87 temp1", celsius: 35),
                .init(sensor: "it87 temp12", celsius: 36),
                .init(sensor: "nvme composite", celsius: 38.9),
                // A second drive of the same kind (hwmon10, after hwmon3).
                .init(sensor: "nvme composite #2", celsius: 41.9),
                .init(sensor: "nvme sensor_1", celsius: 39.1),
            ])
    }

    @Test func thermalZonesWhenThereIsNoHwmon() {
        #expect(
            TemperatureProbe.read(from: machine("thermal-only").sysfs) == [
                TemperatureReading(sensor: "cpu-thermal", celsius: 45.3),
                // No type file: the zone's own name. -273 °C (no sensor) is dropped.
                .init(sensor: "thermal_zone2", celsius: 51),
            ])
    }

    @Test func noSensorsMeansNoField() {
        #expect(TemperatureProbe.read(from: machine("cloud-1cpu").sysfs) == nil)
        #expect(TemperatureProbe.read(from: ProcFS(root: "/nonexistent-lookout-sysfs")) == nil)
    }

    @Test(
        arguments: [
            ("48000", 48.0), ("48000\n", 48), ("  27800 ", 27.8), ("0", 0), ("150000", 150), ("45277", 45.3),
            ("150001", 150), ("150100", nil), ("-1000", nil), ("-273000", nil), ("48.5", nil), ("", nil),
            ("garbage", nil), ("99999999999999999999", nil),
        ] as [(String, Double?)])
    func millidegrees(_ text: String, _ celsius: Double?) {
        #expect(TemperatureProbe.celsius(text) == celsius)
    }

    @Test(
        arguments: [
            ("coretemp", "Package id 0", 1, "coretemp package_id_0"), ("coretemp", "Core 12", 14, "coretemp core_12"),
            ("nvme", "Composite", 1, "nvme composite"), ("nvme", nil, 3, "nvme temp3"),
            ("k10temp", "", 1, "k10temp temp1"),
            ("amdgpu", "edge", 1, "amdgpu edge"),
        ] as [(String, String?, Int, String)])
    func sensorNames(chip: String, label: String?, index: Int, expected: String) {
        #expect(TemperatureProbe.sensorName(chip: chip, label: label, index: index) == expected)
    }

    @Test func atMost64SensorsWithPlainNames() {
        var readings = (0..<70).map { TemperatureReading(sensor: "chip temp\(100 + $0)", celsius: 40) }
        readings.append(.init(sensor: "bad\u{7}name", celsius: 40))
        readings.append(.init(sensor: String(repeating: "x", count: 121), celsius: 40))
        let kept = TemperatureProbe.finish(readings)
        #expect(kept?.count == 64)
        #expect(kept?.first?.sensor == "chip temp100" && kept?.last?.sensor == "chip temp163")
        #expect(TemperatureProbe.finish([]) == nil)
    }

    // MARK: The whole collector, --sysfs and the state file

    @Test func theCollectorReportsNetworkAndTemperaturesAndKeepsTheCounters() async throws {
        let tree = machine("bare-metal")
        let collector = Collector(
            vmID: try VMID(validating: "metal-1"), procfs: tree.procfs, diskPath: "/", sysfs: tree.sysfs,
            dockerSocket: "/nonexistent-lookout.sock", serviceChecks: [], intervalSeconds: 300,
            logger: Logger(label: "test.extras"), now: { Date(timeIntervalSince1970: 1_765_000_300) })
        let (document, state) = try await collector.collect(state: AgentState(), firstSampleDelay: .zero)
        try document.validate()
        #expect(document.system.network?.interfaces.map(\.name) == ["enp0s31f6"])
        #expect(document.system.network?.rxBytes == 123_456)
        #expect(document.system.temperatures?.count == 10)
        #expect(
            state.network
                == NetworkCounters(
                    time: 1_765_000_300, bootID: fixtureBootID,
                    interfaces: ["enp0s31f6": .init(rx: 123_456, tx: 654_321)]))
        // The state file round trip, and what the next run makes of it.
        let saved = try JSONDecoder().decode(AgentState.self, from: JSONEncoder().encode(state))
        #expect(saved == state)
        var earlier = saved
        earlier.network?.time -= 100
        earlier.network?.interfaces["enp0s31f6"] = .init(rx: 23_456, tx: 454_321)
        let (next, _) = try await collector.collect(state: earlier, firstSampleDelay: .zero)
        #expect(next.system.network?.rxBytesPerSecond == 1000 && next.system.network?.txBytesPerSecond == 2000)
        // The bytes the document grows by for one interface and the sensors of this box.
        let plain = MetricsDocument(
            vmID: document.vmID, timestamp: document.timestamp,
            system: SystemMetrics(
                cpu: document.system.cpu, memory: document.system.memory, disk: document.system.disk,
                uptime: document.system.uptime, load: document.system.load, bootID: document.system.bootID),
            containers: [], services: [], intervalSeconds: 300, agent: document.agent)
        var oneInterface = document
        oneInterface.system.temperatures = nil
        #expect(oneInterface.encoded().count - plain.encoded().count < 400)
    }

    @Test func aStateFileOfAnOlderAgentStillLoads() throws {
        let old = #"{"cpu":{"total":43200000,"idle":39300000,"bootTime":1764841800},"containers":{}}"#
        let state = try JSONDecoder().decode(AgentState.self, from: Data(old.utf8))
        #expect(state.network == nil)
        #expect(state.cpu?.total == 43_200_000)
    }

    @Test func sysfsDefaultsToSysAndFollowsTheOption() throws {
        #expect(try AgentSettings.resolve(AgentOptions(), environment: [:], hostName: "h").sysfs.root == "/sys")
        var options = AgentOptions()
        options.sysfs = "/srv/fixture/sys/"
        let settings = try AgentSettings.resolve(options, environment: [:], hostName: "h")
        #expect(settings.sysfs.root == "/srv/fixture/sys")
        let collector = Collector(settings: settings, logger: Logger(label: "test.sysfs"))
        #expect(collector.system.sysfs.root == "/srv/fixture/sys")
        #expect(collector.network.sysfs.root == "/srv/fixture/sys")
    }

    @Test func theConfigNetworkKeyBecomesTheSelection() throws {
        let folder = NSTemporaryDirectory() + "lookout-net-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func settings(_ json: String) throws(CollectorError) -> AgentSettings {
            let path = folder + "/agent.json"
            _ = FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
            var options = AgentOptions()
            options.configPath = path
            return try AgentSettings.resolve(options, environment: [:], hostName: "h")
        }
        #expect(try settings("{}").interfaces == .automatic)
        #expect(try settings(#"{"network": {}}"#).interfaces == .automatic)
        #expect(try settings(#"{"network": {"interfaces": ["eth*"]}}"#).interfaces == .allow(["eth*"]))
        #expect(try settings(#"{"network": {"interfaces": ["-wg0"]}}"#).interfaces == .deny(["wg0"]))
        let cases = [
            (#"{"network": {"interfaces": ["eth0", "-wg0"]}}"#, "network.interfaces: mixes allow entries"),
            (#"{"network": {"interfaces": ["eth0", "a/b"]}}"#, #"network.interfaces: [1] "a/b": holds "/""#),
            (#"{"network": {"interfaces": "eth0"}}"#, "network.interfaces"),
            (#"{"network": {"interface": ["eth0"]}}"#, "network.interface: unknown key"),
        ]
        for (json, message) in cases {
            let error = #expect(throws: CollectorError.self) { try settings(json) }
            #expect(error?.message.contains(message) == true, "\(String(describing: error))")
        }
    }

    @Test(arguments: ["collect", "run"])
    func helpExplainsSysfs(_ command: String) throws {
        let result = try AgentProcess.run([command, "--help"])
        #expect(result.status == 0)
        #expect(
            result.stdout.contains("--sysfs <dir>") && result.stdout.contains("Root of the sys file system"),
            "\(result.stdout)")
    }

    /// The real binary, both roots on a fixture tree: `--sysfs` reaches the probes.
    @Test func theAgentBinaryReadsProcfsAndSysfsTrees() throws {
        let work = NSTemporaryDirectory() + "lookout-sysfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let base = machineRoot.appendingPathComponent("bare-metal").path
        let result = try AgentProcess.run([
            "collect", "--stdout", "--vm-id", "metal-1", "--procfs", base + "/proc", "--sysfs", base + "/sys",
            "--state", work + "/state.json", "--docker-socket", work + "/no-docker.sock",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let document = try MetricsDocument.decode(Array(result.stdout.utf8))
        #expect(document.system.temperatures?.first == TemperatureReading(sensor: "acpitz temp1", celsius: 27.8))
        #expect(document.system.temperatures?.count == 10)
        #expect(document.system.network?.interfaces.map(\.name) == ["enp0s31f6"])
        let state = try JSONDecoder().decode(
            AgentState.self, from: Data(contentsOf: URL(fileURLWithPath: work + "/state.json")))
        #expect(state.network?.interfaces["enp0s31f6"] == InterfaceCounters(rx: 123_456, tx: 654_321))
    }
}

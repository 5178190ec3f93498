import Foundation
import Logging
import LookoutCore
import Synchronization
import Testing

@testable import LookoutCollector

/// Machine trees (`proc/` and `sys/` side by side), found beside this file.
let machineRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/machines")

func machine(_ name: String) -> (procfs: ProcFS, sysfs: ProcFS) {
    let base = machineRoot.appendingPathComponent(name)
    return (
        ProcFS(root: base.appendingPathComponent("proc").path), ProcFS(root: base.appendingPathComponent("sys").path)
    )
}

/// The boot id of every machine tree copied from `proc/x86_64-1cpu`.
let fixtureBootID = "6f1c2a4e-3b8d-4e51-9a0c-2d7e5b9f1a38"

private let header = """
    Inter-|   Receive                                                |  Transmit
     face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed

    """

@Suite struct NetworkProbeTests {
    let logs = CapturedLogs()
    /// The agent's clock, fixed: a long delta's time comes from the previous counters.
    let now: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_765_000_300) }

    // MARK: Parsing /proc/net/dev

    @Test(
        arguments: [
            (
                "kernel layout",
                header + "    lo:  100 1 0 0 0 0 0 0  200 2 0 0 0 0 0 0\n  eth0: 5 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0\n",
                ["lo": InterfaceCounters(rx: 100, tx: 200), "eth0": .init(rx: 5, tx: 7)]
            ),
            (
                "long name glued to its first counter",
                header + "enp0s31f6:123456 100 0 0 0 0 0 0 654321 200 0 0 0 0 0 0\n",
                ["enp0s31f6": .init(rx: 123_456, tx: 654_321)]
            ),
            (
                "tabs, no final newline, 64-bit counters", "eth0:\t18446744073709551615 1 0 0 0 0 0 0 9 1 0 0 0 0 0 0",
                ["eth0": .init(rx: .max, tx: 9)]
            ),
            ("only the header: no interfaces", header, [:]),
            ("empty file", "", [:]),
            ("older kernel with fewer columns", "eth0: 10 1 0 0 0 0 0 0 20\n", ["eth0": .init(rx: 10, tx: 20)]),
        ] as [(String, String, [String: InterfaceCounters])])
    func parsesNetDev(_ label: String, text: String, expected: [String: InterfaceCounters]) throws {
        #expect(try NetworkProbe.parse(text, path: "/fake/net/dev") == expected)
    }

    @Test(arguments: [
        ("eth0: 12x34 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n", #"eth0 counter "12x34""#),
        ("eth0: -1 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n", #"eth0 counter "-1""#),
        ("eth0: 1 2 3\n", #"eth0 counters "1 2 3" (fewer than 9)"#),
        ("garbage line\n", #"line "garbage line" (no interface name)"#),
        (" : 1 2 3 4 5 6 7 8 9\n", #"line " : 1 2 3 4 5 6 7 8 9" (empty interface name)"#),
    ])
    func rejectsGarbledNetDev(text: String, detail: String) {
        #expect(throws: CollectorError.malformed("/fake/net/dev", detail)) {
            try NetworkProbe.parse(header + text, path: "/fake/net/dev")
        }
    }

    // MARK: Deltas

    @Test(
        arguments: [
            (
                "steady", InterfaceCounters(rx: 1000, tx: 2000), InterfaceCounters(rx: 4000, tx: 2600), 300.0,
                NetworkProbe.Rate(rx: 10, tx: 2)
            ),
            ("no traffic", .init(rx: 5, tx: 5), .init(rx: 5, tx: 5), 300, .init(rx: 0, tx: 0)),
            ("rx went backwards: recreated", .init(rx: 5000, tx: 5), .init(rx: 10, tx: 9), 300, nil),
            ("tx went backwards: reset", .init(rx: 5, tx: 5000), .init(rx: 9, tx: 10), 300, nil),
            ("32-bit wrap is a reset too", .init(rx: 4_294_967_000, tx: 0), .init(rx: 1000, tx: 0), 300, nil),
            ("no time passed", .init(rx: 1, tx: 1), .init(rx: 9, tx: 9), 0, nil),
            ("clock went back", .init(rx: 1, tx: 1), .init(rx: 9, tx: 9), -60, nil),
        ] as [(String, InterfaceCounters, InterfaceCounters, Double, NetworkProbe.Rate?)])
    func rateIsTheDeltaOverTheWallTime(
        _ label: String, previous: InterfaceCounters, current: InterfaceCounters, seconds: Double,
        expected: NetworkProbe.Rate?
    ) {
        #expect(NetworkProbe.rate(previous: previous, current: current, seconds: seconds) == expected)
    }

    @Test func noPreviousRateWithoutPreviousCounters() {
        #expect(NetworkProbe.rate(previous: nil, current: .init(rx: 1, tx: 1), seconds: 300) == nil)
    }

    @Test func rateSinceThePreviousRunWithoutSleeping() async throws {
        let (procfs, sysfs) = machine("cloud-1cpu")
        let previous = NetworkCounters(
            time: 1_765_000_000, bootID: fixtureBootID,
            interfaces: ["eth0": .init(rx: 1_234_567_890 - 3_000_000, tx: 987_654_321 - 300_000)])
        // The clock is read once per reading of net/dev: once means no short sample was taken.
        let reads = ReadCount()
        let clock: @Sendable () -> Date = {
            reads.tick()
            return Date(timeIntervalSince1970: 1_765_000_300)
        }
        let reading = await NetworkProbe(procfs: procfs, sysfs: sysfs)
            .read(previous: previous, firstSampleDelay: .zero, now: clock, logger: logs.logger)
        #expect(reads.value == 1)
        let eth0 = InterfaceMetrics(
            name: "eth0", rxBytesPerSecond: 10_000, txBytesPerSecond: 1000, rxBytes: 1_234_567_890,
            txBytes: 987_654_321)
        #expect(
            reading.metrics
                == NetworkMetrics(
                    rxBytesPerSecond: 10_000, txBytesPerSecond: 1000, rxBytes: 1_234_567_890, txBytes: 987_654_321,
                    interfaces: [eth0]))
        #expect(
            reading.counters
                == NetworkCounters(
                    time: 1_765_000_300, bootID: fixtureBootID,
                    interfaces: ["eth0": .init(rx: 1_234_567_890, tx: 987_654_321)]))
    }

    @Test func firstRunTakesAShortSample() async throws {
        // The tree does not change between the two reads: the short sample shows no traffic.
        let (procfs, sysfs) = machine("cloud-1cpu")
        let reading = await NetworkProbe(procfs: procfs, sysfs: sysfs)
            .read(previous: nil, firstSampleDelay: .zero, now: now, logger: logs.logger)
        let metrics = try #require(reading.metrics)
        #expect(metrics.interfaces.map(\.name) == ["eth0"])
        #expect(metrics.rxBytesPerSecond == 0 && metrics.txBytesPerSecond == 0)
        #expect(metrics.rxBytes == 1_234_567_890 && metrics.txBytes == 987_654_321)
        #expect(reading.counters?.interfaces.keys.sorted() == ["eth0"])
    }

    @Test func shortSampleMeasuresOnlyTheInterfacesWhoseDeltaRestarted() {
        let before = NetworkCounters(
            time: 1000, interfaces: ["eth0": .init(rx: 0, tx: 0), "eth1": .init(rx: 50, tx: 50)])
        let first = NetworkCounters(
            time: 1300, interfaces: ["eth0": .init(rx: 3000, tx: 300), "eth1": .init(rx: 1, tx: 1)])
        let second = NetworkCounters(
            time: 1302, interfaces: ["eth0": .init(rx: 3100, tx: 310), "eth1": .init(rx: 201, tx: 21)])
        let (firstRates, restarting) = NetworkProbe.rates(of: first, against: [before])
        #expect(firstRates == ["eth0": .init(rx: 10, tx: 1)])
        #expect(restarting == ["eth1"])
        // eth0 keeps its long baseline; eth1 (reset) is measured over the short sample.
        let (rates, still) = NetworkProbe.rates(of: second, against: [before, first])
        #expect(rates["eth0"] == .init(rx: 3100.0 / 302, tx: 310.0 / 302))
        #expect(rates["eth1"] == .init(rx: 100, tx: 10))
        #expect(still.isEmpty)
    }

    @Test func countersThatWrapOrResetRestartOnlyThatInterface() async throws {
        let previous = try #require(await reading(of: "net-reset/before", previous: nil).counters)
        #expect(previous.time == 1_765_000_300)
        var shifted = previous
        shifted.time -= 300
        let after = await reading(of: "net-reset/after", previous: shifted, delay: .zero)
        let metrics = try #require(after.metrics)
        #expect(metrics.interfaces.map(\.name) == ["eth0", "eth1", "eth2"])
        // eth1 grew by 300 000 / 600 000 bytes in 300 s.
        #expect(metrics.interfaces[1].rxBytesPerSecond == 1000 && metrics.interfaces[1].txBytesPerSecond == 2000)
        // eth0 wrapped and eth2 is new: measured over the short sample (no change in the tree: 0).
        #expect(metrics.interfaces[0].rxBytesPerSecond == 0 && metrics.interfaces[2].txBytesPerSecond == 0)
        #expect(metrics.interfaces[0].rxBytes == 1000)
        #expect(metrics.rxBytesPerSecond == 1000 && metrics.rxBytes == 1000 + 1_300_000 + 5000)
    }

    @Test func aNewBootRestartsEveryInterface() async throws {
        var previous = try #require(await reading(of: "net-reset/before", previous: nil).counters)
        previous.time -= 300
        // The same counters as after/ (eth1 would read 1000 B/s), but another boot id.
        let rebooted = await reading(of: "net-reset/rebooted", previous: previous, delay: .zero)
        let metrics = try #require(rebooted.metrics)
        #expect(metrics.interfaces.allSatisfy { $0.rxBytesPerSecond == 0 && $0.txBytesPerSecond == 0 })
        #expect(rebooted.counters?.bootID == "0a1b2c3d-0000-4000-8000-000000000001")
    }

    @Test func anAbsurdRateIsDroppedWithALogLine() async throws {
        let (procfs, sysfs) = machine("cloud-1cpu")
        // 1.2 GB in 1/16 s: 19.2 GB/s, above 100 Gbit/s.
        let previous = NetworkCounters(
            time: 1_765_000_300 - 0.0625, bootID: fixtureBootID,
            interfaces: ["eth0": .init(rx: 34_567_890, tx: 987_654_321)])
        let reading = await NetworkProbe(procfs: procfs, sysfs: sysfs)
            .read(previous: previous, firstSampleDelay: .zero, now: now, logger: logs.logger)
        #expect(reading.metrics == nil)
        #expect(reading.counters?.interfaces["eth0"] == .init(rx: 1_234_567_890, tx: 987_654_321))
        #expect(logged("eth0 reads 19200000000 B/s in, 0 B/s out, above 100 Gbit/s"))
    }

    @Test func justBelowTheLimitIsReported() {
        let counters = NetworkCounters(time: 1, interfaces: ["eth0": .init(rx: 1, tx: 1)])
        let probe = NetworkProbe(procfs: ProcFS(), sysfs: ProcFS(root: "/sys"))
        let metrics = probe.metrics(counters, rates: ["eth0": .init(rx: 12.5e9, tx: 0)], logger: logs.logger)
        #expect(metrics?.rxBytesPerSecond == 12.5e9)
    }

    @Test func aDamagedNetDevLeavesTheSectionOutAndKeepsTheBaseline() async throws {
        let previous = NetworkCounters(time: 1, bootID: "x", interfaces: ["eth0": .init(rx: 1, tx: 1)])
        let damaged = await reading(of: "damaged", previous: previous)
        #expect(damaged == NetworkProbe.Reading(metrics: nil, counters: previous))
        #expect(logged(#"could not parse eth0 counter "12x34" in "#))
        // A tree without net/dev at all (a fixture, a strange container): absent, quietly.
        let missing = await reading(of: "thermal-only", previous: nil)
        #expect(missing == NetworkProbe.Reading(metrics: nil, counters: nil))
    }

    // MARK: Which interfaces

    @Test(
        arguments: [
            ("default: up, not virtual", InterfaceSelection.automatic, ["eth0", "wg0"]),
            ("allow list, down and virtual too", .allow(["eth1", "docker0"]), ["docker0", "eth1"]),
            ("allow with wildcards", .allow(["eth*", "br-*"]), ["br-0f1e2d3c4b5a", "eth0", "eth1"]),
            ("deny list on top of the default", .deny(["wg*"]), ["eth0"]),
            (
                "allow everything", .allow(["*"]),
                ["br-0f1e2d3c4b5a", "docker0", "eth0", "eth1", "lo", "veth1a2b3c4", "wg0"]
            ),
            ("allow list matching nothing", .allow(["ens9"]), []),
        ] as [(String, InterfaceSelection, [String])])
    func selectsInterfaces(_ label: String, selection: InterfaceSelection, expected: [String]) async throws {
        let (procfs, sysfs) = machine("docker-host")
        let reading = await NetworkProbe(procfs: procfs, sysfs: sysfs, selection: selection)
            .read(previous: nil, firstSampleDelay: .zero, now: now, logger: logs.logger)
        #expect((reading.metrics?.interfaces ?? []).map(\.name) == expected)
        #expect((reading.counters?.interfaces.keys.sorted() ?? []) == expected)
    }

    @Test func withoutSysfsEveryNonVirtualInterfaceCountsAsUp() async throws {
        let (procfs, _) = machine("docker-host")
        let reading = await NetworkProbe(procfs: procfs, sysfs: ProcFS(root: "/nonexistent-lookout-sysfs"))
            .read(previous: nil, firstSampleDelay: .zero, now: now, logger: logs.logger)
        #expect(reading.metrics?.interfaces.map(\.name) == ["eth0", "eth1", "wg0"])
    }

    @Test(
        arguments: [
            ("eth0", "eth0", true), ("eth0", "eth01", false), ("eth*", "eth", true), ("eth*", "eth12", true),
            ("*0", "wg0", true), ("*0", "wg1", false), ("e*h*1", "enp0s31f6h1", true), ("e*h*1", "eth0", false),
            ("br-*", "br0", false), ("*", "anything", true), ("a**b", "ab", true), ("v*th*", "veth1a2b3c4", true),
        ])
    func wildcards(_ pattern: String, _ name: String, _ matches: Bool) {
        #expect(InterfaceSelection.allow([pattern]).includes(name, isUp: { false }) == matches)
    }

    @Test(
        arguments: [
            (["eth0"], InterfaceSelection.allow(["eth0"])),
            (["eth*", "ens3"], .allow(["eth*", "ens3"])),
            (["-wg0", "-tailscale*"], .deny(["wg0", "tailscale*"])),
        ] as [([String], InterfaceSelection)])
    func parsesTheConfigList(_ entries: [String], expected: InterfaceSelection) throws {
        #expect(try InterfaceSelection(entries: entries) == expected)
    }

    @Test(arguments: [
        (["eth0", "-wg0"], #"mixes allow entries ("eth0") and deny entries ("-wg0")"#),
        ([], "is empty; leave the key out"),
        (["eth0", ""], #"[1] "": an empty interface name"#),
        (["-"], #"[0] "-": an empty interface name"#),
        (["-*"], #"[0] "-*": leaves out every interface"#),
        (["eth0:1"], #"[0] "eth0:1": holds ":""#),
        (["a/b"], #"[0] "a/b": holds "/""#),
        (["eth 0"], "holds white space or a control character"),
        (["eth\u{1B}0"], #"[0] "eth?0": holds white space or a control character"#),
        ([String(repeating: "x", count: 65)], "longer than 64 bytes"),
    ])
    func refusesBadConfigLists(_ entries: [String], message: String) {
        let error = #expect(throws: CollectorError.self) { try InterfaceSelection(entries: entries) }
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    // MARK: Helpers

    private func logged(_ text: String) -> Bool {
        logs.entries.contains { $0.level >= .warning && $0.message.contains(text) }
    }

    private func reading(
        of tree: String, previous: NetworkCounters?, delay: Duration = .zero
    ) async -> NetworkProbe.Reading {
        let (procfs, sysfs) = machine(tree)
        return await NetworkProbe(procfs: procfs, sysfs: sysfs)
            .read(previous: previous, firstSampleDelay: delay, now: now, logger: logs.logger)
    }
}

/// How often a clock was read.
final class ReadCount: Sendable {
    private let box = Mutex(0)
    func tick() { box.withLock { $0 += 1 } }
    var value: Int { box.withLock { $0 } }
}

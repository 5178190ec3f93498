import Foundation
import LookoutCollector
import LookoutCore
import Testing

/// Fixture procfs trees, found beside this file so the tests run from any working folder.
private let fixtureRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/proc")

private func fixture(_ name: String) -> ProcFS {
    ProcFS(root: fixtureRoot.appendingPathComponent(name).path)
}

/// The path the inline parser tables pretend their text came from.
private let fake = "/fake"

@Suite struct SystemProbeTests {
    // MARK: CPU

    @Test(
        arguments: [
            (
                "6.1 line, guest and guest_nice not added", "cpu  100 20 30 400 50 6 7 8 90 10\ncpu0 1\ncpu1 1\n",
                CPUCounters(total: 621, idle: 450), 2
            ),
            ("8 fields (2.6.11, steal)", "cpu  100 20 30 400 50 6 7 8\ncpu0 1\n", .init(total: 621, idle: 450), 1),
            ("7 fields (2.6.0, no steal)", "cpu  100 20 30 400 50 6 7\ncpu0 1\n", .init(total: 613, idle: 450), 1),
            ("4 fields (2.4, no iowait)", "cpu  100 20 30 400\ncpu0 100 20 30 400\n", .init(total: 550, idle: 400), 1),
            (
                "other lines first, tabs, no final newline",
                "intr 5 0 0\nctxt 9\ncpu\t1 2 3 4 5\ncpu0 0\ncpu1 0\ncpu2 0\ncpu3 0",
                .init(total: 15, idle: 9), 4
            ),
        ] as [(String, String, CPUCounters, Int)])
    func parsesStat(_ label: String, text: String, counters: CPUCounters, cores: Int) throws {
        let sample = try CPUProbe.parse(text, path: "\(fake)/stat")
        #expect(sample == CPUProbe.Sample(counters: counters, cores: cores))
    }

    @Test(arguments: [
        ("cpu  100 2x 30 400\ncpu0 100 2x 30 400\n", #"cpu counter "2x""#),
        ("cpu  -1 20 30 400\ncpu0 1\n", #"cpu counter "-1""#),
        ("cpu  100 20 30 400 50 6 7 8 z 0\ncpu0 1\n", #"cpu counter "z""#),
        ("cpu  100 20 30\ncpu0 100 20 30\n", #"cpu line "cpu  100 20 30""#),
        ("intr 5 0 0\nctxt 9\n", "aggregate cpu line (missing)"),
        ("", "aggregate cpu line (missing)"),
        ("cpu  100 20 30 400\n", "cpu count (no cpuN lines)"),
        (
            "cpu  18446744073709551615 1 0 0\ncpu0 1\n",
            #"cpu line "cpu  18446744073709551615 1 0 0" (counters overflow)"#
        ),
    ])
    func rejectsGarbledStat(text: String, detail: String) {
        #expect(throws: CollectorError.malformed("\(fake)/stat", detail)) {
            try CPUProbe.parse(text, path: "\(fake)/stat")
        }
    }

    @Test(
        arguments: [
            ("quarter busy", CPUCounters(total: 0, idle: 0), CPUCounters(total: 1000, idle: 750), 25.0),
            ("half busy", .init(total: 1000, idle: 500), .init(total: 2000, idle: 1000), 50.0),
            ("all idle", .init(total: 1000, idle: 500), .init(total: 2000, idle: 1500), 0.0),
            ("all busy", .init(total: 1000, idle: 500), .init(total: 2000, idle: 500), 100.0),
            ("rounds down to 1 decimal", .init(total: 0, idle: 0), .init(total: 3, idle: 2), 33.3),
            ("rounds up to 1 decimal", .init(total: 0, idle: 0), .init(total: 3, idle: 1), 66.7),
            ("no time passed", .init(total: 2000, idle: 1000), .init(total: 2000, idle: 1000), nil),
            ("reboot: total went backwards", .init(total: 2000, idle: 1000), .init(total: 1000, idle: 500), nil),
            // iowait may step back (proc(5)): the delta restarts instead of reading 100 % busy.
            ("idle went backwards", .init(total: 2000, idle: 1000), .init(total: 3000, idle: 900), nil),
            ("idle grew faster than total", .init(total: 2000, idle: 1000), .init(total: 2100, idle: 1200), 0),
            (
                "boot time changed", .init(total: 2000, idle: 1000, bootTime: 1_765_000_000),
                .init(total: 9000, idle: 3000, bootTime: 1_765_086_400), nil
            ),
            ("same boot", .init(total: 2000, idle: 1000, bootTime: 1), .init(total: 3000, idle: 1250, bootTime: 1), 75),
            // btime is derived from the wall clock and may jitter by a second between reads.
            (
                "btime jitter", .init(total: 2000, idle: 1000, bootTime: 100),
                .init(total: 3000, idle: 1250, bootTime: 101), 75
            ),
            (
                "btime 5 s off", .init(total: 2000, idle: 1000, bootTime: 105),
                .init(total: 3000, idle: 1250, bootTime: 100), 75
            ),
            (
                "btime 6 s off", .init(total: 2000, idle: 1000, bootTime: 100),
                .init(total: 3000, idle: 1250, bootTime: 106), nil
            ),
            // boot_id, where both readings have one, decides alone.
            (
                "boot_id changed, btime equal", .init(total: 2000, idle: 1000, bootTime: 100, bootID: "a"),
                .init(total: 3000, idle: 1250, bootTime: 100, bootID: "b"), nil
            ),
            (
                "same boot_id, btime far off", .init(total: 2000, idle: 1000, bootTime: 100, bootID: "a"),
                .init(total: 3000, idle: 1250, bootTime: 900, bootID: "a"), 75
            ),
            (
                "boot_id only now (state of an older agent): btime decides",
                .init(total: 2000, idle: 1000, bootTime: 100),
                .init(total: 3000, idle: 1250, bootTime: 100, bootID: "a"), 75
            ),
            ("saved state with idle above total", .init(total: 100, idle: 200), .init(total: 300, idle: 250), 75),
        ] as [(String, CPUCounters, CPUCounters, Double?)])
    func busyPercent(_ label: String, previous: CPUCounters, current: CPUCounters, expected: Double?) {
        #expect(CPUProbe.percent(previous: previous, current: current) == expected)
    }

    // MARK: Memory

    @Test(
        arguments: [
            (
                "MemAvailable", "MemTotal: 1048576 kB\nMemFree: 10 kB\nMemAvailable: 262144 kB\nHugePages_Total: 0\n",
                MemoryMetrics(totalMB: 1024, usedMB: 768, availableMB: 256, percent: 75)
            ),
            (
                "no MemAvailable: free + buffers + cached + reclaimable",
                "MemTotal: 2097152 kB\nMemFree: 262144 kB\nBuffers: 131072 kB\nCached: 524288 kB\n"
                    + "SReclaimable: 131072 kB\n",
                .init(totalMB: 2048, usedMB: 1024, availableMB: 1024, percent: 50)
            ),
            (
                "no MemAvailable, no SReclaimable (before 2.6.19)",
                "MemTotal: 1048576 kB\nMemFree: 262144 kB\nBuffers: 131072 kB\nCached: 131072 kB\n",
                .init(totalMB: 1024, usedMB: 512, availableMB: 512, percent: 50)
            ),
            (
                "rounded to 1 decimal", "MemTotal: 1000 kB\nMemAvailable: 333 kB\n",
                .init(totalMB: 1.0, usedMB: 0.7, availableMB: 0.3, percent: 66.7)
            ),
            (
                "available above total is capped", "MemTotal: 1024 kB\nMemAvailable: 2048 kB\n",
                .init(totalMB: 1, usedMB: 0, availableMB: 1, percent: 0)
            ),
            (
                "unrelated lines are not checked", "Weird: not a number\nMemTotal:\t4096 kB\nMemAvailable:\t1024 kB",
                .init(totalMB: 4, usedMB: 3, availableMB: 1, percent: 75)
            ),
        ] as [(String, String, MemoryMetrics)])
    func parsesMeminfo(_ label: String, text: String, expected: MemoryMetrics) throws {
        #expect(try MemoryProbe.parse(text, path: "\(fake)/meminfo") == expected)
    }

    @Test(arguments: [
        ("MemFree: 10 kB\nMemAvailable: 5 kB\n", "MemTotal (missing)"),
        ("MemTotal: abc kB\nMemAvailable: 5 kB\n", #"MemTotal "abc""#),
        ("MemTotal:\nMemAvailable: 5 kB\n", #"MemTotal """#),
        ("MemTotal: 0 kB\nMemAvailable: 0 kB\n", #"MemTotal "0""#),
        ("MemTotal: 1024 kB\nMemAvailable: -5 kB\n", #"MemAvailable "-5""#),
        ("MemTotal: 1024 kB\nBuffers: 1 kB\n", "MemFree (missing, and no MemAvailable)"),
        ("MemTotal: 1024 kB\nMemFree: 1 kB\nCached: 1.5 kB\n", #"Cached "1.5""#),
    ])
    func rejectsGarbledMeminfo(text: String, detail: String) {
        #expect(throws: CollectorError.malformed("\(fake)/meminfo", detail)) {
            try MemoryProbe.parse(text, path: "\(fake)/meminfo")
        }
    }

    // MARK: Load and uptime

    @Test(
        arguments: [
            ("0.08 0.05 0.02 1/123 4567\n", LoadMetrics(one: 0.08, five: 0.05, fifteen: 0.02)),
            ("12.34 5.00 0.00 3/400 1\n", .init(one: 12.34, five: 5, fifteen: 0)),
            ("1.00 2.00 3.00", .init(one: 1, five: 2, fifteen: 3)),
        ] as [(String, LoadMetrics)])
    func parsesLoadavg(text: String, expected: LoadMetrics) throws {
        #expect(try LoadProbe.parse(text, path: "\(fake)/loadavg") == expected)
    }

    @Test(arguments: [
        ("abc 0.05 0.02 1/123 4567\n", #"load "abc""#),
        ("0.08 0.05 x 1/123 4567\n", #"load "x""#),
        ("-1.00 0.05 0.02 1/123 4567\n", #"load "-1.00""#),
        ("nan 0.05 0.02 1/123 4567\n", #"load "nan""#),
        ("0.08 0.05\n", #"load line "0.08 0.05""#),
        ("", #"load line """#),
    ])
    func rejectsGarbledLoadavg(text: String, detail: String) {
        #expect(throws: CollectorError.malformed("\(fake)/loadavg", detail)) {
            try LoadProbe.parse(text, path: "\(fake)/loadavg")
        }
    }

    @Test(
        arguments: [
            ("432000.57 420000.12\n", 432_000.0),
            ("12.99 1.00\n", 12),
            ("3600.99 7000.00\n", 3600),
            ("0.00 0.00", 0),
        ] as [(String, Double)])
    func parsesUptime(text: String, seconds: Double) throws {
        // Rounded down to whole seconds; `human` is the document model's business.
        #expect(try UptimeProbe.parse(text, path: "\(fake)/uptime") == UptimeMetrics(seconds: seconds))
    }

    @Test(arguments: [
        ("up 5 days\n", #"uptime "up""#),
        ("-5.00 1.00\n", #"uptime "-5.00""#),
        ("inf 1.00\n", #"uptime "inf""#),
        ("", #"uptime """#),
    ])
    func rejectsGarbledUptime(text: String, detail: String) {
        #expect(throws: CollectorError.malformed("\(fake)/uptime", detail)) {
            try UptimeProbe.parse(text, path: "\(fake)/uptime")
        }
    }

    // MARK: Disk

    @Test(
        arguments: [
            // 48 GiB in 4 KiB blocks, 36 GiB free of which 4 GiB reserved: 12 / (12 + 32).
            ((12_582_912, 9_437_184, 8_388_608, 4096) as (UInt64, UInt64, UInt64, UInt64), 48.0, 12.0, 27.3),
            // No reserved blocks: half of 1 GiB used.
            ((262_144, 131_072, 131_072, 4096), 1.0, 0.5, 50.0),
            // 10 GiB in 1 MiB fragments; only the root reserve is left, so users see a full disk.
            ((10_240, 512, 0, 1 << 20), 10.0, 9.5, 100.0),
            // A file system with no blocks at all (some pseudo file systems): no division by zero.
            ((0, 0, 0, 4096), 0.0, 0.0, 0.0),
        ] as [((UInt64, UInt64, UInt64, UInt64), Double, Double, Double)])
    func diskFigures(blocks: (UInt64, UInt64, UInt64, UInt64), totalGB: Double, usedGB: Double, percent: Double) {
        let metrics = DiskProbe.metrics(
            blocks: blocks.0, bfree: blocks.1, bavail: blocks.2, frsize: blocks.3, path: "/data")
        #expect(metrics == DiskMetrics(totalGB: totalGB, usedGB: usedGB, percent: percent, path: "/data"))
    }

    @Test func measuresARealFileSystem() throws {
        let metrics = try DiskProbe.read(path: "/tmp")
        #expect(metrics.path == "/tmp")
        #expect(metrics.totalGB > 0)
        #expect(metrics.usedGB <= metrics.totalGB)
        #expect((0...100).contains(metrics.percent))
    }

    @Test func missingDiskPathIsNamed() throws {
        let path = "/tmp/lookout-missing-\(UUID().uuidString)/disk"
        let error = try #require(throws: CollectorError.self) { try DiskProbe.read(path: path) }
        #expect(error.description.contains(path))
        #expect(error.description.contains("statvfs"))
    }

    // MARK: Fixture trees

    @Test(
        arguments: [
            (
                "x86_64-1cpu",
                CPUProbe.Sample(
                    counters: .init(total: 43_200_000, idle: 39_300_000, bootTime: 1_764_841_800), cores: 1),
                MemoryMetrics(totalMB: 992, usedMB: 744, availableMB: 248, percent: 75),
                LoadMetrics(one: 0.08, five: 0.05, fifteen: 0.02), UptimeMetrics(seconds: 432_000, human: "5 days")
            ),
            (
                "aarch64-4cpu",
                .init(counters: .init(total: 4_320_000, idle: 3_956_000, bootTime: 1_765_252_800), cores: 4),
                .init(totalMB: 3952, usedMB: 988, availableMB: 2964, percent: 25),
                .init(one: 1.5, five: 0.75, fifteen: 0.25), .init(seconds: 10_800, human: "3 hours")
            ),
            (
                "no-memavailable",
                .init(counters: .init(total: 10_000, idle: 8_500, bootTime: 1_765_238_400), cores: 2),
                .init(totalMB: 2048, usedMB: 1024, availableMB: 1024, percent: 50),
                .init(one: 0.5, five: 0.25, fifteen: 0.1), .init(seconds: 7260, human: "2 hours")
            ),
        ] as [(String, CPUProbe.Sample, MemoryMetrics, LoadMetrics, UptimeMetrics)])
    func readsFixtureTree(
        _ tree: String, cpu: CPUProbe.Sample, memory: MemoryMetrics, load: LoadMetrics, uptime: UptimeMetrics
    ) throws {
        let procfs = fixture(tree)
        #expect(try CPUProbe.read(from: procfs) == cpu)
        #expect(try MemoryProbe.read(from: procfs) == memory)
        #expect(try LoadProbe.read(from: procfs) == load)
        #expect(try UptimeProbe.read(from: procfs) == uptime)
    }

    @Test(
        arguments: [
            ("6f1c2a4e-3b8d-4e51-9a0c-2d7e5b9f1a38\n", "6f1c2a4e-3b8d-4e51-9a0c-2d7e5b9f1a38"),
            ("ABCDEF01-2345", "ABCDEF01-2345"),
            ("", nil), ("\n", nil), ("6f1c2a4e 3b8d\n", nil), ("not-an-id\n", nil), ("6f1c\u{1b}[2J\n", nil),
            (String(repeating: "a", count: 65), nil),
        ] as [(String, String?)])
    func parsesBootID(text: String, expected: String?) {
        #expect(BootIDProbe.parse(text) == expected)
    }

    @Test func bootIDIsReadUnderTheProcfsRootAndMissingIsNil() {
        #expect(BootIDProbe.read(from: fixture("x86_64-1cpu")) == "6f1c2a4e-3b8d-4e51-9a0c-2d7e5b9f1a38")
        #expect(BootIDProbe.read(from: fixture("no-memavailable")) == nil)
    }

    /// Fixture readings of one machine (`boot/before`) and what came after it: the same
    /// boot with btime a second later, a reboot with a new boot_id and the same btime, and
    /// idle + iowait stepping back. A restarted delta takes a short sample of a tree that
    /// does not change, so it reads 0; a measured one reads the fixtures' 50 %.
    @Test(
        arguments: [
            ("jitter", 50.0, "3d5f0a6c-1e2b-4c7d-8e9f-a0b1c2d3e4f5"),
            ("rebooted", 0, "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
            ("idle-backwards", 0, "3d5f0a6c-1e2b-4c7d-8e9f-a0b1c2d3e4f5"),
        ] as [(String, Double, String)])
    func rebootsAreToldByBootID(after tree: String, percent: Double, bootID: String) async throws {
        let before = try await SystemProbe(procfs: fixture("boot/before"), diskPath: "/")
            .readCPU(previous: nil, firstSampleDelay: .zero).counters
        #expect(before.bootID == "3d5f0a6c-1e2b-4c7d-8e9f-a0b1c2d3e4f5")
        #expect(before.bootTime == 1_765_000_000)
        let reading = try await SystemProbe(procfs: fixture("boot/\(tree)"), diskPath: "/")
            .readCPU(previous: before, firstSampleDelay: .zero)
        #expect(reading.percent == percent)
        #expect(reading.counters.bootID == bootID)
    }

    @Test func rebootBetweenSamplesRestartsTheDelta() throws {
        let before = try CPUProbe.read(from: fixture("counters-backwards/before")).counters
        let after = try CPUProbe.read(from: fixture("counters-backwards/after")).counters
        #expect(after == CPUCounters(total: 12_000, idle: 10_300, bootTime: 1_765_273_800))
        #expect(CPUProbe.percent(previous: before, current: after) == nil)
    }

    @Test func garbledFilesNameTheFileAndTheToken() {
        let procfs = fixture("garbled")
        #expect(throws: CollectorError.malformed(procfs.path("loadavg"), #"load "abc""#)) {
            try LoadProbe.read(from: procfs)
        }
        #expect(throws: CollectorError.malformed(procfs.path("meminfo"), #"MemTotal "abc""#)) {
            try MemoryProbe.read(from: procfs)
        }
        #expect(throws: CollectorError.malformed(procfs.path("uptime"), #"uptime "up""#)) {
            try UptimeProbe.read(from: procfs)
        }
        do {
            _ = try CPUProbe.read(from: procfs)
            Issue.record("a stat with a letter in a counter was accepted")
        } catch {
            #expect(error.description == #"could not parse cpu counter "9000o0" in "# + procfs.path("stat"))
        }
    }

    @Test func missingFileNamesTheFullPath() throws {
        // counters-backwards holds only the before/ and after/ trees, no files of its own.
        let procfs = fixture("counters-backwards")
        let error = try #require(throws: CollectorError.self) { try CPUProbe.read(from: procfs) }
        #expect(error.description.contains(fixtureRoot.appendingPathComponent("counters-backwards/stat").path))
    }

    // MARK: SystemProbe

    @Test(
        arguments: [
            // 1000 ticks since the previous sample, 500 of them idle.
            ("x86_64-1cpu", CPUCounters(total: 43_199_000, idle: 39_299_500), 50.0, 1),
            // 4000 ticks over 4 cores, 1000 idle.
            ("aarch64-4cpu", .init(total: 4_316_000, idle: 3_955_000), 75.0, 4),
        ] as [(String, CPUCounters, Double, Int)])
    func collectsSinceThePreviousSample(
        _ tree: String, previous: CPUCounters, percent: Double, cores: Int
    ) async throws {
        let procfs = fixture(tree)
        let probe = SystemProbe(procfs: procfs, diskPath: fixtureRoot.path)
        let (metrics, latest) = try await probe.collect(previousCPU: previous, firstSampleDelay: .zero)
        #expect(metrics.cpu == CPUMetrics(percent: percent, cores: cores))
        var expected = try CPUProbe.read(from: procfs).counters
        expected.percent = percent
        expected.bootID = BootIDProbe.read(from: procfs)
        #expect(expected.bootID != nil)
        #expect(latest == expected)
        #expect(metrics.bootID == expected.bootID)
        #expect(metrics.memory == (try MemoryProbe.read(from: procfs)))
        #expect(metrics.uptime == (try UptimeProbe.read(from: procfs)))
        #expect(metrics.load == (try LoadProbe.read(from: procfs)))
        #expect(metrics.disk.path == fixtureRoot.path)
        #expect((0...100).contains(metrics.disk.percent))
    }

    @Test func firstRunTakesAShortSample() async throws {
        // The fixture does not change between the two reads, so the short sample shows no work.
        let probe = SystemProbe(procfs: fixture("x86_64-1cpu"), diskPath: "/tmp")
        let (metrics, latest) = try await probe.collect(previousCPU: nil, firstSampleDelay: .zero)
        #expect(metrics.cpu == CPUMetrics(percent: 0, cores: 1))
        #expect(
            latest
                == CPUCounters(
                    total: 43_200_000, idle: 39_300_000, bootTime: 1_764_841_800,
                    bootID: "6f1c2a4e-3b8d-4e51-9a0c-2d7e5b9f1a38", percent: 0))
        #expect(metrics.memory == MemoryMetrics(totalMB: 992, usedMB: 744, availableMB: 248, percent: 75))
    }

    @Test func aSampleLessThanATickLaterRepeatsThePreviousFigure() async throws {
        // Two cron runs within 10 ms see the same counters: no sleep, no division by zero.
        let previous = CPUCounters(total: 43_200_000, idle: 39_300_000, bootTime: 1_764_841_800, percent: 42.5)
        let probe = SystemProbe(procfs: fixture("x86_64-1cpu"), diskPath: "/tmp")
        let (metrics, latest) = try await probe.collect(previousCPU: previous, firstSampleDelay: .seconds(30))
        #expect(metrics.cpu.percent == 42.5)
        var expected = previous
        expected.bootID = "6f1c2a4e-3b8d-4e51-9a0c-2d7e5b9f1a38"
        #expect(latest == expected)
    }

    @Test func countersThatWentBackwardsTakeAShortSample() async throws {
        let previous = try CPUProbe.read(from: fixture("counters-backwards/before")).counters
        let probe = SystemProbe(procfs: fixture("counters-backwards/after"), diskPath: "/tmp")
        let (metrics, latest) = try await probe.collect(previousCPU: previous, firstSampleDelay: .zero)
        #expect(metrics.cpu.percent == 0)
        #expect(latest == CPUCounters(total: 12_000, idle: 10_300, bootTime: 1_765_273_800, percent: 0))
        #expect(metrics.uptime == UptimeMetrics(seconds: 120, human: "2 minutes"))
    }

    @Test func collectReportsTheFirstFailure() async throws {
        let garbled = SystemProbe(procfs: fixture("garbled"), diskPath: "/tmp")
        let badCounter = CollectorError.malformed(fixture("garbled").path("stat"), #"cpu counter "9000o0""#)
        await #expect(throws: badCounter) {
            _ = try await garbled.collect(previousCPU: nil, firstSampleDelay: .zero)
        }
        let missingDisk = "/tmp/lookout-missing-\(UUID().uuidString)"
        let probe = SystemProbe(procfs: fixture("x86_64-1cpu"), diskPath: missingDisk)
        let error = try await #require(throws: CollectorError.self) {
            _ = try await probe.collect(previousCPU: nil, firstSampleDelay: .zero)
        }
        #expect(error.description.contains(missingDisk))
    }
}

import Foundation
import Logging
import LookoutCollector
import LookoutCore
import Synchronization
import Testing

@Suite struct DiskIOProbeTests {
    // MARK: diskstats

    @Test func parsesDiskstatsOfEveryKernelGeneration() throws {
        let text = """
               7       0 loop0 0 0 0 0 0 0 0 0 0 0 0
             252       0 vda 792171 58755 31832642 1202867 575263 585531 87359320 649531 0 145436 1907615
             252       1 vda1 792000 58000 31830000 1202000 575000 585000 87359000 649000 0 145000 1907000 378563 84 62210960 43846 77447 11369
             8       1 sda1 120 2400 30 960
            """
        let entries = try DiskIOProbe.parse(text, path: "/fake/diskstats")
        #expect(entries.map(\.name) == ["loop0", "vda", "vda1"])
        #expect(
            entries[1]
                == .init(
                    major: 252, minor: 0, name: "vda", sectorsRead: 31_832_642, sectorsWritten: 87_359_320,
                    ioTicks: 145_436))
        #expect(entries[2].ioTicks == 145_000)
    }

    @Test(arguments: [
        " 252 0 vda 1 2 many 4 5 6 7 8 9 10 11",
        " 252 0 vda 1 2 3 4 5 6 7 8 9 -10 11",
        "vda 1 2 3 4 5 6 7 8 9 10 11",
    ])
    func rejectsADamagedLine(line: String) {
        #expect(throws: CollectorError.malformed("/fake/diskstats", "diskstats line \"\(line)\"")) {
            try DiskIOProbe.parse(line + "\n", path: "/fake/diskstats")
        }
    }

    // MARK: partitions to disks

    @Test(arguments: [
        ("vda1", "vda"), ("vda", "vda"), ("sda3", "sda"), ("sdab12", "sdab"), ("xvda1", "xvda"), ("hdb2", "hdb"),
        ("nvme0n1p1", "nvme0n1"), ("nvme0n1", "nvme0n1"), ("nvme10n2p15", "nvme10n2"), ("mmcblk0p2", "mmcblk0"),
        ("mmcblk0", "mmcblk0"), ("dm-0", "dm-0"), ("md127", "md127"), ("md127p1", "md127"), ("loop0", "loop0"),
        ("loop0p1", "loop0"), ("zram0", "zram0"), ("sr0", "sr0"), ("emcpowera1", "emcpowera"),
    ])
    func mapsAPartitionToItsDiskByName(_ name: String, disk: String) {
        // emcpowera1 is the one the rules do not know: only sysfs can tell (next test).
        let expected = name == "emcpowera1" ? name : disk
        #expect(DiskIOProbe.wholeDisk(byName: name) == expected)
    }

    @Test func sysfsNamesTheDiskWhereTheRulesCannot() {
        let sysfs = ProcFS(root: storageFixture("powerpath") + "/sys")
        #expect(DiskIOProbe.wholeDisk(of: "emcpowera1", sysfs: sysfs) == "emcpowera")
        let cloud = ProcFS(root: storageFixture("cloud-vm") + "/sys")
        #expect(DiskIOProbe.wholeDisk(of: "vda1", sysfs: cloud) == "vda")
        // Not in sysfs: the rules.
        #expect(DiskIOProbe.wholeDisk(of: "nvme0n1p1", sysfs: cloud) == "nvme0n1")
    }

    @Test(arguments: [
        ("cloud-vm", "vda"), ("nvme", "nvme0n1"), ("lvm", "dm-0"), ("bare-metal", "sda"), ("btrfs", "sda"),
        ("powerpath", "emcpowera"),
    ])
    func findsTheDiskOfTheRootFilesystem(tree: String, disk: String) throws {
        let procfs = ProcFS(root: storageFixture(tree) + "/proc")
        let mounts = try MountInfo.read(from: procfs)
        let entries = try DiskIOProbe.parse(procfs.read("diskstats"), path: "diskstats")
        let sysfs = ProcFS(root: storageFixture(tree) + "/sys")
        #expect(DiskIOProbe.rootDevice(mounts: mounts, entries: entries, sysfs: sysfs) == disk)
    }

    // MARK: rates

    static let before = DiskIOCounters(
        device: "vda", sectorsRead: 1000, sectorsWritten: 2000, ioTicks: 10_000, uptime: 1000, bootID: "a")

    @Test(
        arguments: [
            (
                "300 s of reads, writes and 3.1 % busy",
                DiskIOCounters(
                    device: "vda", sectorsRead: 25_000, sectorsWritten: 122_000, ioTicks: 19_300, uptime: 1300,
                    bootID: "a"),
                DiskIOMetrics(
                    device: "vda", readBytesPerSecond: 40960, writeBytesPerSecond: 204_800, utilPercent: 3.1)
            ),
            (
                "idle", .init(device: "vda", sectorsRead: 1000, sectorsWritten: 2000, ioTicks: 10_000, uptime: 1060),
                .init(device: "vda", readBytesPerSecond: 0, writeBytesPerSecond: 0, utilPercent: 0)
            ),
            // io_ticks advances in jiffies: a saturated device may read a little over 100 %.
            (
                "busy over 100 % is clamped",
                .init(
                    device: "vda", sectorsRead: 1000, sectorsWritten: 2000, ioTicks: 20_500, uptime: 1010, bootID: "a"),
                .init(device: "vda", readBytesPerSecond: 0, writeBytesPerSecond: 0, utilPercent: 100)
            ),
            (
                "a counter reset",
                .init(device: "vda", sectorsRead: 10, sectorsWritten: 5000, ioTicks: 20_000, uptime: 1300),
                nil
            ),
            (
                "io_ticks wrapped",
                .init(device: "vda", sectorsRead: 2000, sectorsWritten: 3000, ioTicks: 5, uptime: 1300),
                nil
            ),
            (
                "another boot",
                .init(
                    device: "vda", sectorsRead: 2000, sectorsWritten: 3000, ioTicks: 20_000, uptime: 1300, bootID: "b"),
                nil
            ),
            (
                "uptime went back (a reboot without boot_id)",
                .init(
                    device: "vda", sectorsRead: 2000, sectorsWritten: 3000, ioTicks: 20_000, uptime: 900), nil
            ),
            (
                "no time passed",
                .init(
                    device: "vda", sectorsRead: 2000, sectorsWritten: 3000, ioTicks: 20_000, uptime: 1000), nil
            ),
            (
                "another device",
                .init(
                    device: "vdb", sectorsRead: 2000, sectorsWritten: 3000, ioTicks: 20_000, uptime: 1300), nil
            ),
        ] as [(String, DiskIOCounters, DiskIOMetrics?)])
    func ratesBetweenTwoReadings(_ label: String, after: DiskIOCounters, expected: DiskIOMetrics?) {
        #expect(DiskIOProbe.metrics(previous: Self.before, current: after) == expected)
    }

    // MARK: the probe on fixture trees

    @Test func theFirstSampleIsAShortOneAndKeepsTheCounters() async throws {
        let reading = await storageProbe("nvme").readDiskIO(
            mounts: storageProbe("nvme").mounts(), previous: nil, firstSampleDelay: .zero)
        // The fixture does not move during the short sample: all zero, and the counters kept.
        #expect(
            reading.metrics
                == DiskIOMetrics(device: "nvme0n1", readBytesPerSecond: 0, writeBytesPerSecond: 0, utilPercent: 0))
        #expect(reading.counters?.sectorsWritten == 800_000)
        #expect(reading.counters?.uptime == 5000)
        #expect(reading.counters?.bootID == "6f1c2a4e-3b8d-4e51-9a0c-2d7e5b9f1a38")
    }

    @Test func countersThatResetRestartTheDelta() async throws {
        let before = await storageProbe("reset/before").readDiskIO(
            mounts: storageProbe("reset/before").mounts(), previous: nil, firstSampleDelay: .zero)
        let probe = storageProbe("reset/after")
        let after = await probe.readDiskIO(mounts: probe.mounts(), previous: before.counters, firstSampleDelay: .zero)
        // Not a negative or absurd rate: a fresh baseline from the new counters.
        #expect(
            after.metrics == DiskIOMetrics(device: "vda", readBytesPerSecond: 0, writeBytesPerSecond: 0, utilPercent: 0)
        )
        #expect(after.counters?.sectorsRead == 2048)
        #expect(after.counters?.uptime == 5300)
        // And the next sample measures from there.
        let next = DiskIOCounters(
            device: "vda", sectorsRead: 2048 + 600, sectorsWritten: 4096, ioTicks: 100 + 3000, uptime: 5330,
            bootID: after.counters?.bootID)
        #expect(DiskIOProbe.metrics(previous: try #require(after.counters), current: next)?.utilPercent == 10)
    }

    /// Two runs within /proc/uptime's 10 ms (back to back, as a benchmark runs them): the
    /// second repeats the first's figures without a short sample and keeps its baseline.
    @Test func aSampleWithinTheUptimeResolutionRepeatsThePreviousFigures() async throws {
        let slept = Mutex(0)
        var probe = storageProbe("nvme")
        probe.sleep = { _ in slept.withLock { $0 += 1 } }
        let first = await probe.readDiskIO(mounts: probe.mounts(), previous: nil, firstSampleDelay: .zero)
        #expect(slept.withLock { $0 } == 1)
        var previous = try #require(first.counters)
        previous.sectorsRead -= 2000  // what the figures below were measured from, 10 s before
        previous.reported = DiskIOMetrics(
            device: "nvme0n1", readBytesPerSecond: 102.4, writeBytesPerSecond: 0, utilPercent: 1)
        let again = await probe.readDiskIO(mounts: probe.mounts(), previous: previous, firstSampleDelay: .zero)
        #expect(slept.withLock { $0 } == 1)
        #expect(again.metrics == previous.reported)
        #expect(again.counters == previous)
        // A state file of this version without figures to repeat: a short sample, as before.
        previous.reported = nil
        _ = await probe.readDiskIO(mounts: probe.mounts(), previous: previous, firstSampleDelay: .zero)
        #expect(slept.withLock { $0 } == 2)
    }

    @Test func theConfiguredDeviceWinsOverTheRootDisk() async throws {
        let probe = storageProbe("bare-metal", diskIODevice: "sdb")
        let reading = await probe.readDiskIO(mounts: probe.mounts(), previous: nil, firstSampleDelay: .zero)
        #expect(reading.metrics?.device == "sdb")
        #expect(reading.counters?.sectorsRead == 5_000_000)
    }

    @Test func aConfiguredDeviceThatDoesNotExistIsWarnedAboutOnce() async throws {
        let logs = CapturedLogs()
        let probe = storageProbe("bare-metal", diskIODevice: "vdq", logs: logs)
        for _ in 0..<3 {
            let reading = await probe.readDiskIO(mounts: probe.mounts(), previous: nil, firstSampleDelay: .zero)
            #expect(reading == .init())
        }
        let warnings = logs.entries.filter { $0.level == .warning }.map(\.message)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("no device \"vdq\" (disk_io.device in the config)") == true, "\(warnings)")
    }

    @Test func anOverlayRootHasNoDiskIOAndSaysSoOnceAtDebugLevel() async throws {
        let logs = CapturedLogs()
        let probe = storageProbe("container-overlay", logs: logs)
        for _ in 0..<2 {
            let reading = await probe.readDiskIO(mounts: probe.mounts(), previous: nil, firstSampleDelay: .zero)
            #expect(reading == .init())
        }
        #expect(logs.notices.isEmpty, "\(logs.notices.map(\.message))")
        let debug = logs.entries.filter { $0.level == .debug }.map(\.message)
        #expect(debug.count == 1)
        #expect(debug.first?.contains("overlay overlay, device 0:52") == true, "\(debug)")
    }

    @Test func aDamagedDiskstatsLeavesTheFieldOutWithAWarning() async throws {
        let logs = CapturedLogs()
        let probe = storageProbe("damaged-diskstats", logs: logs)
        let reading = await probe.readDiskIO(mounts: probe.mounts(), previous: nil, firstSampleDelay: .zero)
        #expect(reading == .init())
        let warning = try #require(logs.notices.first?.message)
        #expect(warning.contains("disk_io left out: could not parse diskstats line"), "\(warning)")
        #expect(warning.contains("damaged-diskstats/proc/diskstats"), "\(warning)")
    }

    @Test func aDamagedMountinfoLeavesBothFieldsOutWithOneWarning() async throws {
        let logs = CapturedLogs()
        let probe = storageProbe("damaged-mountinfo", logs: logs)
        let mounts = probe.mounts()
        #expect(mounts == nil)
        #expect(probe.mounts() == nil)
        #expect(await probe.readDiskIO(mounts: mounts, previous: nil, firstSampleDelay: .zero) == .init())
        #expect(probe.readFilesystems(mounts: mounts) == nil)
        #expect(logs.notices.count == 1)
        #expect(
            logs.notices.first?.message.contains(#"mountinfo line "28 1 259:x / / rw - ext4 /dev/vda1 rw""#) == true)
    }

    @Test func anOldStateFileWithoutDiskCountersStillLoads() throws {
        let old = #"{"cpu":{"idle":3955000,"total":4316000},"containers":{}}"#
        let state = try JSONDecoder().decode(AgentState.self, from: Data(old.utf8))
        #expect(state.diskIO == nil)
        #expect(state.cpu?.total == 4_316_000)
        let damaged = #"{"cpu":{"idle":1,"total":2},"containers":{},"diskIO":{"device":7}}"#
        #expect(try JSONDecoder().decode(AgentState.self, from: Data(damaged.utf8)).diskIO == nil)
        let saved = AgentState(diskIO: Self.before)
        let again = try JSONDecoder().decode(AgentState.self, from: JSONEncoder().encode(saved))
        #expect(again == saved)
    }
}

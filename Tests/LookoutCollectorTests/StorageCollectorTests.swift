import Foundation
import Logging
import LookoutCollector
import LookoutCore
import Synchronization
import Testing

/// disk_io and filesystems through the whole collector, on the golden cloud-VM tree.
@Suite struct StorageCollectorTests {
    static let tree = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden/x86_64-1cpu").path

    func collector(filesystems: FilesystemSelection = .paths([])) throws -> Collector {
        var collector = Collector(
            vmID: try VMID(validating: "web-1"), procfs: ProcFS(root: Self.tree + "/proc"), diskPath: "/",
            dockerSocket: Self.tree + "/no-docker.sock", serviceChecks: [], intervalSeconds: 300,
            logger: Logger(label: "test.storage"))
        collector.storage = StorageProbe(
            procfs: ProcFS(root: Self.tree + "/proc"), sysfs: ProcFS(root: Self.tree + "/sys"),
            filesystems: filesystems, logger: Logger(label: "test.storage"))
        return collector
    }

    @Test func aSampleCarriesDiskIOAndTheRootFilesystemAndKeepsTheCounters() async throws {
        let previous = DiskIOCounters(
            device: "vda", sectorsRead: 31_808_642, sectorsWritten: 87_239_320, ioTicks: 136_136, uptime: 431_700.57,
            bootID: "6f1c2a4e-3b8d-4e51-9a0c-2d7e5b9f1a38")
        let (document, state) = try await collector().collect(state: AgentState(diskIO: previous))
        #expect(
            document.system.diskIO
                == DiskIOMetrics(
                    device: "vda", readBytesPerSecond: 40960, writeBytesPerSecond: 204_800, utilPercent: 3.1))
        let root = try #require(document.system.filesystems?.first)
        #expect(document.system.filesystems?.count == 1)
        #expect((root.path, root.device, root.fstype) == ("/", "/dev/vda1", "ext4"))
        // Measured exactly as system.disk (both are statvfs of / here).
        #expect((root.totalGB, root.usedGB) == (document.system.disk.totalGB, document.system.disk.usedGB))
        #expect(state.diskIO?.sectorsRead == 31_832_642)
        #expect(state.diskIO?.uptime == 432_000.57)
        // The document is one the hub accepts.
        _ = try MetricsDocument.decode(Array(document.encoded()))
    }

    /// With no previous counters both CPU and disk I/O take a short sample, side by side so
    /// that a first run waits for one delay, not two. Proved by order, not by time: the disk
    /// sample's sleep makes the fixture's CPU fully busy; only if CPU is inside its own short
    /// sample then does it read 100 %. (Run one after the other, in either order, CPU
    /// would see the same counters twice or none of the change: 0 %.)
    @Test func theShortSamplesOfCPUAndDiskIORunSideBySide() async throws {
        let root = NSTemporaryDirectory() + "lookout-storage-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: Self.tree, toPath: root)
        let stat = root + "/proc/stat"
        let original = try String(contentsOfFile: stat, encoding: .utf8)
        let busy = original.replacingOccurrences(of: "cpu  2500000 ", with: "cpu  2600000 ")
            .replacingOccurrences(of: "cpu0 2500000 ", with: "cpu0 2600000 ")
        #expect(busy != original)
        var collector = Collector(
            vmID: try VMID(validating: "web-1"), procfs: ProcFS(root: root + "/proc"), diskPath: "/",
            dockerSocket: root + "/no-docker.sock", serviceChecks: [], intervalSeconds: 300,
            logger: Logger(label: "test.storage"))
        // Each short sample's wait waits for the other's (30 s each at most, failure bounds):
        // CPU, having read its first counters, waits for the disk sample to make the CPU busy;
        // the disk sample waits for CPU to be inside its sample before it does. CPU reads
        // 100 % only if both samples are open at once; one after the other it reads 0 %.
        let cpuWaiting = Flag()
        let diskWrote = Flag()
        collector.system.sleep = { _ in
            cpuWaiting.raise()
            try await diskWrote.wait()
        }
        collector.storage.sleep = { _ in
            try await cpuWaiting.wait()
            try busy.write(toFile: stat, atomically: true, encoding: .utf8)
            diskWrote.raise()
        }
        let (document, state) = try await collector.collect(state: AgentState(), firstSampleDelay: .seconds(1))
        #expect(document.system.cpu.percent == 100)
        #expect(document.system.diskIO?.device == "vda")
        #expect(state.diskIO != nil && state.cpu != nil)
    }

    @Test func autoAddsTheSecondDiskAndLeavesThePseudoFilesystemsOut() async throws {
        let (document, _) = try await collector(filesystems: .auto).collect(
            state: AgentState(), firstSampleDelay: .zero)
        let filesystems = try #require(document.system.filesystems)
        #expect(filesystems.map(\.path) == ["/", "/tmp"])
        #expect(filesystems.map(\.device) == ["/dev/vda1", "/dev/vdb"])
    }
}

/// A flag one task raises and another waits for (30 s at most: a failure bound).
private final class Flag: Sendable {
    private let raised = Mutex(false)
    func raise() { raised.withLock { $0 = true } }
    func wait() async throws {
        for _ in 0..<3000 where !raised.withLock({ $0 }) {
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

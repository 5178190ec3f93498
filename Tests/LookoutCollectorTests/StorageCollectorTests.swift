import Foundation
import Logging
import LookoutCollector
import LookoutCore
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

    /// With no previous counters both CPU and disk I/O take a short sample; they run side
    /// by side, so a first run waits for one delay, not two. (The bound is generous: two
    /// delays one after the other would take at least 4 s.)
    @Test func theShortSamplesOfCPUAndDiskIOOverlap() async throws {
        let start = ContinuousClock.now
        let (document, state) = try await collector().collect(state: AgentState(), firstSampleDelay: .seconds(2))
        #expect(ContinuousClock.now - start < .milliseconds(3500))
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

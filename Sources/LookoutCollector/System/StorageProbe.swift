import Logging
import LookoutCore

/// The storage figures of a sample beyond `system.disk`: `disk_io` and `filesystems`.
///
/// Both are extras: a machine without them (an overlay root in a container, a damaged
/// mountinfo) still gets its sample, with the field absent and the reason logged once per
/// process, never an error.
public struct StorageProbe: Sendable {
    public let procfs: ProcFS
    /// Where `class/block/<name>/partition` tells a partition's disk.
    public let sysfs: ProcFS
    /// The device of `disk_io.device` in the agent config, instead of the root's disk.
    public var diskIODevice: String?
    public var filesystems: FilesystemProbe
    /// How the short sample waits; a test passes one that acts while CPU's sample sleeps.
    public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    let logger: Logger
    let warned = OncePerKey()

    public init(
        procfs: ProcFS, sysfs: ProcFS, diskIODevice: String? = nil, filesystems: FilesystemSelection = .paths([]),
        logger: Logger
    ) {
        self.procfs = procfs
        self.sysfs = sysfs
        self.diskIODevice = diskIODevice
        self.filesystems = FilesystemProbe(selection: filesystems, logger: logger)
        self.logger = logger
    }

    /// The mounts of mountinfo, or `nil` (logged once) when it cannot be read or parsed.
    public func mounts() -> [MountInfo.Mount]? {
        do {
            return try MountInfo.read(from: procfs)
        } catch {
            if warned.claim("mountinfo") {
                logger.warning("filesystems and disk_io left out: \(error)")
            }
            return nil
        }
    }

    /// The disk I/O figures and the counters to keep for the next sample.
    public struct DiskIOReading: Sendable, Equatable {
        public var metrics: DiskIOMetrics?
        public var counters: DiskIOCounters?

        public init(metrics: DiskIOMetrics? = nil, counters: DiskIOCounters? = nil) {
            self.metrics = metrics
            self.counters = counters
        }
    }

    /// Reads the disk I/O rates since `previous`; with no usable previous counters (the
    /// first run, a reboot, a reset, another device) it takes a short sample of
    /// `firstSampleDelay`, as CPU does, so the collector runs it beside CPU's.
    public func readDiskIO(
        mounts: [MountInfo.Mount]?, previous: DiskIOCounters?, firstSampleDelay: Duration = .milliseconds(250)
    ) async -> DiskIOReading {
        let path = procfs.path(DiskIOProbe.file)
        do {
            let entries = try DiskIOProbe.parse(procfs.read(DiskIOProbe.file), path: path)
            let device: String
            if let configured = diskIODevice {
                device = configured
            } else if let mounts, let found = DiskIOProbe.rootDevice(mounts: mounts, entries: entries, sysfs: sysfs) {
                device = found
            } else {
                if let mounts, warned.claim("no root device") {
                    let root = MountInfo.visible(at: "/", in: mounts)
                    let what = root.map { "\($0.fstype) \($0.source), device \($0.deviceNumber)" } ?? "not in mountinfo"
                    logger.debug("disk_io left out: the root filesystem (\(what)) has no line in \(path)")
                }
                return DiskIOReading()
            }
            let bootID = BootIDProbe.read(from: procfs)
            guard var current = try counters(of: device, in: entries, bootID: bootID) else {
                if warned.claim("no device \(device)") {
                    let origin = diskIODevice == nil ? "the root filesystem's disk" : "disk_io.device in the config"
                    logger.warning("disk_io left out: \(path) has no device \"\(device)\" (\(origin))")
                }
                return DiskIOReading()
            }
            if let previous, let metrics = DiskIOProbe.metrics(previous: previous, current: current) {
                current.reported = metrics
                return DiskIOReading(metrics: metrics, counters: current)
            }
            if let previous, let reported = previous.reported, current.uptime == previous.uptime,
                DiskIOProbe.comparable(previous, current)
            {
                // Within uptime's 10 ms of the previous sample (runs back to back): nothing to
                // measure and no reason to sleep. Repeat its figures and keep its counters as
                // the baseline, so the next sample measures the whole time since then.
                return DiskIOReading(metrics: reported, counters: previous)
            }
            let first = current
            do {
                try await sleep(firstSampleDelay)
            } catch {
                return DiskIOReading()
            }
            let again = try DiskIOProbe.parse(procfs.read(DiskIOProbe.file), path: path)
            current = try counters(of: device, in: again, bootID: bootID) ?? first
            // No time passed over the short sample only on a fixture tree: nothing moved.
            let metrics =
                DiskIOProbe.metrics(previous: first, current: current)
                ?? DiskIOMetrics(device: device, readBytesPerSecond: 0, writeBytesPerSecond: 0, utilPercent: 0)
            current.reported = metrics
            return DiskIOReading(metrics: metrics, counters: current)
        } catch {
            if warned.claim("diskstats") {
                logger.warning("disk_io left out: \(error)")
            }
            return DiskIOReading()
        }
    }

    /// The document's `filesystems`, or `nil` without mountinfo.
    public func readFilesystems(mounts: [MountInfo.Mount]?) -> [FilesystemMetrics]? {
        mounts.flatMap { filesystems.read(mounts: $0) }
    }

    private func counters(
        of device: String, in entries: [DiskIOProbe.Entry], bootID: String?
    ) throws(CollectorError) -> DiskIOCounters? {
        guard let entry = entries.last(where: { $0.name == device }) else { return nil }
        return DiskIOCounters(
            device: device, sectorsRead: entry.sectorsRead, sectorsWritten: entry.sectorsWritten,
            ioTicks: entry.ioTicks, uptime: try DiskIOProbe.uptime(procfs), bootID: bootID)
    }
}

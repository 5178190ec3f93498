import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The counters of one `/proc/diskstats` line that the document's disk I/O figures need,
/// kept in the state file so that a cron run reports the rates since the previous run.
public struct DiskIOCounters: Codable, Sendable, Equatable {
    /// The kernel's name of the device, e.g. `vda`, `nvme0n1`, `dm-0`.
    public var device: String
    /// Sectors read and written: 512-byte units whatever the device's own sector size.
    public var sectorsRead: UInt64
    public var sectorsWritten: UInt64
    /// Milliseconds the device had I/O in flight (the kernel's `io_ticks`).
    public var ioTicks: UInt64
    /// Seconds since boot (`/proc/uptime`) when the line was read: the clock of the rates.
    public var uptime: Double
    /// This boot's id, so counters of another boot are never subtracted.
    public var bootID: String?
    /// The figures reported at this reading, repeated when the next sample comes less than
    /// the 10 ms resolution of `/proc/uptime` later and so has nothing new to measure.
    public var reported: DiskIOMetrics?

    public init(
        device: String, sectorsRead: UInt64, sectorsWritten: UInt64, ioTicks: UInt64, uptime: Double,
        bootID: String? = nil, reported: DiskIOMetrics? = nil
    ) {
        self.device = device
        self.sectorsRead = sectorsRead
        self.sectorsWritten = sectorsWritten
        self.ioTicks = ioTicks
        self.uptime = uptime
        self.bootID = bootID
        self.reported = reported
    }
}

/// Disk I/O of the device that holds the root filesystem, from `/proc/diskstats`.
///
/// The device is found from the root mount's `major:minor` (mountinfo) and mapped from a
/// partition to its disk (``wholeDisk(of:sysfs:)``), unless the agent config names one.
/// The rates are deltas over `/proc/uptime`, not over the wall clock: the boot clock does
/// not jump when NTP steps the time, it restarts with the counters at a reboot, and a
/// fixture tree supplies it, so the real binary's output is exact in the golden test.
public enum DiskIOProbe {
    /// One line of diskstats.
    public struct Entry: Sendable, Equatable {
        public var major: UInt32
        public var minor: UInt32
        public var name: String
        public var sectorsRead: UInt64
        public var sectorsWritten: UInt64
        public var ioTicks: UInt64

        public init(
            major: UInt32, minor: UInt32, name: String, sectorsRead: UInt64, sectorsWritten: UInt64, ioTicks: UInt64
        ) {
            self.major = major
            self.minor = minor
            self.name = name
            self.sectorsRead = sectorsRead
            self.sectorsWritten = sectorsWritten
            self.ioTicks = ioTicks
        }
    }

    static let file = "diskstats"

    /// Parses the text of diskstats (`254 0 vda 7921 58 31832642 1202 575263 585 87359320 649 0 145436 1907 …`).
    ///
    /// Fields after the name: reads, reads merged, sectors read, ms reading, writes, writes
    /// merged, sectors written, ms writing, I/Os in flight, io_ticks, weighted ms; kernels
    /// 4.18 and 5.5 append discard and flush fields, which are not used. A line needs at
    /// least the eleven fields up to io_ticks (kernels before 2.6.25 wrote four for
    /// partitions: those lines are not disks, so they are skipped, not errors).
    /// - Throws: ``CollectorError`` naming the line when a field that is used is not a number.
    public static func parse(_ text: String, path: String) throws(CollectorError) -> [Entry] {
        var entries: [Entry] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty { continue }
            guard fields.count >= 3, let major = UInt32(fields[0]), let minor = UInt32(fields[1]) else {
                throw .malformed(path, "diskstats line \"\(line.prefix(120))\"")
            }
            if fields.count < 13 { continue }
            guard let read = UInt64(fields[5]), let written = UInt64(fields[9]), let ticks = UInt64(fields[12]) else {
                throw .malformed(path, "diskstats line \"\(line.prefix(120))\"")
            }
            entries.append(
                Entry(
                    major: major, minor: minor, name: String(fields[2]), sectorsRead: read, sectorsWritten: written,
                    ioTicks: ticks))
        }
        return entries
    }

    /// The whole disk a block device belongs to: `vda1` → `vda`, `nvme0n1p1` → `nvme0n1`,
    /// `mmcblk0p2` → `mmcblk0`, `sda3` → `sda`; a disk (`dm-0`, `md0`, `vda`) is itself.
    ///
    /// Where sysfs has `class/block/<name>/partition`, the partition's parent directory in
    /// sysfs names the disk: that is the kernel's own answer and covers any naming scheme.
    /// Without sysfs (a container, an old kernel) the naming rules decide.
    public static func wholeDisk(of name: String, sysfs: ProcFS) -> String {
        let entry = sysfs.path("class/block/\(name)")
        if access(entry + "/partition", F_OK) == 0, let real = realpath(entry, nil) {
            defer { free(real) }
            let components = String(cString: real).split(separator: "/")
            if components.count >= 2, components.last == Substring(name) {
                return String(components[components.count - 2])
            }
        }
        return wholeDisk(byName: name)
    }

    /// The naming rules of ``wholeDisk(of:sysfs:)``: `<letters><digits>` for the sd, vd, xvd
    /// and hd families drops the digits; `<…digit>p<digits>` (nvme, mmcblk, loop, md, nbd)
    /// drops `p<digits>`; anything else is a whole disk.
    public static func wholeDisk(byName name: String) -> String {
        let bytes = Array(name.utf8)
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        let isLetter = { (byte: UInt8) in (0x61...0x7A).contains(byte) }
        var end = bytes.count
        while end > 0, isDigit(bytes[end - 1]) { end -= 1 }
        guard end < bytes.count, end > 0 else { return name }
        if bytes[end - 1] == 0x70, end >= 2, isDigit(bytes[end - 2]) {  // "p" after a digit
            return String(decoding: bytes[..<(end - 1)], as: UTF8.self)
        }
        for family in ["sd", "vd", "xvd", "hd"] where name.hasPrefix(family) {
            let letters = bytes[family.utf8.count..<end]
            if !letters.isEmpty, letters.allSatisfy(isLetter) {
                return String(decoding: bytes[..<end], as: UTF8.self)
            }
        }
        return name
    }

    /// The diskstats name of the disk under the root mount, or `nil` when it has none
    /// (overlay, zfs, tmpfs, an NFS root). Found by `major:minor`; a btrfs root, whose
    /// mount carries an anonymous device number, is found by its source's name instead.
    public static func rootDevice(mounts: [MountInfo.Mount], entries: [Entry], sysfs: ProcFS) -> String? {
        guard let root = MountInfo.visible(at: "/", in: mounts) else { return nil }
        var name = entries.first { $0.major == root.major && $0.minor == root.minor }?.name
        if name == nil, root.source.hasPrefix("/dev/") {
            let base = String(root.source.dropFirst(5))
            name = entries.first { $0.name == base }?.name
        }
        return name.map { wholeDisk(of: $0, sysfs: sysfs) }
    }

    /// The figures between two readings of the same device in the same boot, or `nil` when
    /// they mean nothing and the delta must restart: another device, another boot, no time
    /// passed, or a counter that went backwards (a reset, or io_ticks, which older kernels
    /// keep in 32 bits, wrapping after 49 days of busy time).
    ///
    /// bytes/s = Δ sectors × 512 / Δ seconds; util = Δ io_ticks (ms) / Δ ms × 100, clamped
    /// to 0–100 (io_ticks advances in jiffies, so a busy device may read a little over).
    public static func metrics(previous: DiskIOCounters, current: DiskIOCounters) -> DiskIOMetrics? {
        guard comparable(previous, current), current.uptime > previous.uptime else { return nil }
        let seconds = current.uptime - previous.uptime
        let read = Double(current.sectorsRead - previous.sectorsRead) * 512 / seconds
        let written = Double(current.sectorsWritten - previous.sectorsWritten) * 512 / seconds
        let util = Double(current.ioTicks - previous.ioTicks) / (seconds * 1000) * 100
        return DiskIOMetrics(
            device: current.device, readBytesPerSecond: SystemProbe.oneDecimal(read),
            writeBytesPerSecond: SystemProbe.oneDecimal(written), utilPercent: SystemProbe.oneDecimal(min(util, 100)))
    }

    /// Whether `previous` is a baseline for `current` at all: the same device in the same
    /// boot, no counter lower, no clock gone back.
    public static func comparable(_ previous: DiskIOCounters, _ current: DiskIOCounters) -> Bool {
        let sameBoot = previous.bootID == nil || current.bootID == nil || previous.bootID == current.bootID
        return previous.device == current.device && sameBoot && current.uptime >= previous.uptime
            && current.sectorsRead >= previous.sectorsRead && current.sectorsWritten >= previous.sectorsWritten
            && current.ioTicks >= previous.ioTicks
    }

    /// The seconds since boot, with the centiseconds `/proc/uptime` gives.
    static func uptime(_ procfs: ProcFS) throws(CollectorError) -> Double {
        let text = try procfs.read(UptimeProbe.file)
        let token = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first ?? ""
        guard let seconds = Double(token), seconds.isFinite, seconds >= 0 else {
            throw .malformed(procfs.path(UptimeProbe.file), "uptime \"\(token.prefix(40))\"")
        }
        return seconds
    }
}

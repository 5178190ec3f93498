#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// The optional figures of `system` beyond DESIGN §2 (issue 11): each is absent when the
// machine has no such thing (no swap, no sensors) or the agent is older. Byte counters are
// `Double` like every other figure of the document (exact up to 2^53 bytes, 9 PB), so that
// other agents writing `1024.0` decode alike.

/// Swap from `/proc/meminfo` (SwapTotal, SwapFree); absent when SwapTotal is 0.
public struct SwapMetrics: Codable, Sendable, Equatable {
    public var totalMB: Double
    public var usedMB: Double
    /// used / total, 0–100.
    public var percent: Double

    public init(totalMB: Double, usedMB: Double, percent: Double) {
        self.totalMB = totalMB
        self.usedMB = usedMB
        self.percent = percent
    }

    enum CodingKeys: String, CodingKey {
        case totalMB = "total_mb", usedMB = "used_mb", percent
    }
}

/// Network throughput from `/proc/net/dev`: rates are the delta since the previous sample,
/// totals the kernel's counters; the top-level figures are the sums over `interfaces`.
public struct NetworkMetrics: Codable, Sendable, Equatable {
    public var rxBytesPerSecond: Double
    public var txBytesPerSecond: Double
    public var rxBytes: Double
    public var txBytes: Double
    public var interfaces: [InterfaceMetrics]

    public init(
        rxBytesPerSecond: Double, txBytesPerSecond: Double, rxBytes: Double, txBytes: Double,
        interfaces: [InterfaceMetrics]
    ) {
        self.rxBytesPerSecond = rxBytesPerSecond
        self.txBytesPerSecond = txBytesPerSecond
        self.rxBytes = rxBytes
        self.txBytes = txBytes
        self.interfaces = interfaces
    }

    enum CodingKeys: String, CodingKey {
        case rxBytesPerSecond = "rx_bytes_per_s", txBytesPerSecond = "tx_bytes_per_s"
        case rxBytes = "rx_bytes", txBytes = "tx_bytes", interfaces
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rxBytesPerSecond = try c.decode(Double.self, forKey: .rxBytesPerSecond)
        txBytesPerSecond = try c.decode(Double.self, forKey: .txBytesPerSecond)
        rxBytes = try c.decode(Double.self, forKey: .rxBytes)
        txBytes = try c.decode(Double.self, forKey: .txBytes)
        interfaces = try c.decodeIfPresent([InterfaceMetrics].self, forKey: .interfaces) ?? []
    }
}

public struct InterfaceMetrics: Codable, Sendable, Equatable {
    public var name: String
    public var rxBytesPerSecond: Double
    public var txBytesPerSecond: Double
    public var rxBytes: Double
    public var txBytes: Double

    public init(name: String, rxBytesPerSecond: Double, txBytesPerSecond: Double, rxBytes: Double, txBytes: Double) {
        self.name = name
        self.rxBytesPerSecond = rxBytesPerSecond
        self.txBytesPerSecond = txBytesPerSecond
        self.rxBytes = rxBytes
        self.txBytes = txBytes
    }

    enum CodingKeys: String, CodingKey {
        case name
        case rxBytesPerSecond = "rx_bytes_per_s", txBytesPerSecond = "tx_bytes_per_s"
        case rxBytes = "rx_bytes", txBytes = "tx_bytes"
    }
}

/// Disk I/O of the device holding the root filesystem, from `/proc/diskstats`.
public struct DiskIOMetrics: Codable, Sendable, Equatable {
    /// The whole disk, e.g. `vda`, `nvme0n1`, `dm-0` (partitions are mapped to their disk).
    public var device: String
    public var readBytesPerSecond: Double
    public var writeBytesPerSecond: Double
    /// Δ io_ticks / Δ wall time, 0–100: the share of time the device was busy.
    public var utilPercent: Double

    public init(device: String, readBytesPerSecond: Double, writeBytesPerSecond: Double, utilPercent: Double) {
        self.device = device
        self.readBytesPerSecond = readBytesPerSecond
        self.writeBytesPerSecond = writeBytesPerSecond
        self.utilPercent = utilPercent
    }

    enum CodingKeys: String, CodingKey {
        case device, readBytesPerSecond = "read_bytes_per_s", writeBytesPerSecond = "write_bytes_per_s"
        case utilPercent = "util_percent"
    }
}

/// One mounted filesystem, measured as `system.disk` is (statvfs, `df`'s percent).
public struct FilesystemMetrics: Codable, Sendable, Equatable {
    public var path: String
    public var device: String
    public var fstype: String
    public var totalGB: Double
    public var usedGB: Double
    public var percent: Double

    public init(path: String, device: String, fstype: String, totalGB: Double, usedGB: Double, percent: Double) {
        self.path = path
        self.device = device
        self.fstype = fstype
        self.totalGB = totalGB
        self.usedGB = usedGB
        self.percent = percent
    }

    enum CodingKeys: String, CodingKey {
        case path, device, fstype, totalGB = "total_gb", usedGB = "used_gb", percent
    }
}

/// One temperature sensor: hwmon `name` + label (e.g. `coretemp package_id_0`) or a thermal zone's type.
public struct TemperatureReading: Codable, Sendable, Equatable {
    public var sensor: String
    public var celsius: Double

    public init(sensor: String, celsius: Double) {
        self.sensor = sensor
        self.celsius = celsius
    }
}

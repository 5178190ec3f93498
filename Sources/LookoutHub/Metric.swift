import LookoutCore

/// A fixed numeric series the hub keeps history of, one per VM: a column of `samples`.
///
/// The first eight are in every document; the issue 11 ones (``isOptional``) are absent when
/// the machine has no such thing or the agent is older, and their column is NULL then.
public enum Metric: String, CaseIterable, Sendable, Codable {
    case cpu, memory, disk, load1, load5, load15
    case memoryUsedMB = "memory_used_mb", diskUsedGB = "disk_used_gb"
    /// Bytes/s received and sent: the sums over the document's interfaces.
    case netRx = "net_rx", netTx = "net_tx"
    /// Bytes/s read from and written to the root disk, and its busy share (%).
    case diskRead = "disk_read", diskWrite = "disk_write", diskUtil = "disk_util"
    /// Swap used, %.
    case swap

    /// The metrics a document may lack (nullable columns; NULLs are skipped everywhere).
    public static let optional: [Metric] = allCases.filter(\.isOptional)

    public var isOptional: Bool {
        switch self {
        case .cpu, .memory, .disk, .load1, .load5, .load15, .memoryUsedMB, .diskUsedGB: false
        case .netRx, .netTx, .diskRead, .diskWrite, .diskUtil, .swap: true
        }
    }

    /// The value of this metric in `document`; nil when the document has no such figure.
    public func value(in document: MetricsDocument) -> Double? {
        let system = document.system
        switch self {
        case .cpu: return system.cpu.percent
        case .memory: return system.memory.percent
        case .disk: return system.disk.percent
        case .load1: return system.load.one
        case .load5: return system.load.five
        case .load15: return system.load.fifteen
        case .memoryUsedMB: return system.memory.usedMB
        case .diskUsedGB: return system.disk.usedGB
        case .netRx: return system.network?.rxBytesPerSecond
        case .netTx: return system.network?.txBytesPerSecond
        case .diskRead: return system.diskIO?.readBytesPerSecond
        case .diskWrite: return system.diskIO?.writeBytesPerSecond
        case .diskUtil: return system.diskIO?.utilPercent
        case .swap: return system.swap?.percent
        }
    }
}

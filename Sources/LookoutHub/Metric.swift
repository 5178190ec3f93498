import LookoutCore

/// A numeric series the hub keeps history of, one per VM.
public enum Metric: String, CaseIterable, Sendable, Codable {
    case cpu, memory, disk, load1, load5, load15
    case memoryUsedMB = "memory_used_mb", diskUsedGB = "disk_used_gb"

    /// The value of this metric in `document`.
    public func value(in document: MetricsDocument) -> Double {
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
        }
    }
}

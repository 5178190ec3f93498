import Foundation
import LookoutCore

/// A valid document for `vm` at `time`: memory of 1024 MB and a 50 GB disk, with the used
/// amounts following the percentages, and the same value for all three load averages.
func makeDocument(
    _ vm: String, at time: Date, cpu: Double = 10, memory: Double = 20, disk: Double = 30, load: Double = 0.5,
    services: [ServiceStatus] = [], containers: [ContainerMetrics] = []
) -> MetricsDocument {
    let memoryUsed = 1024 * memory / 100
    let diskUsed = 50 * disk / 100
    let system = SystemMetrics(
        cpu: CPUMetrics(percent: cpu, cores: 1),
        memory: MemoryMetrics(totalMB: 1024, usedMB: memoryUsed, availableMB: 1024 - memoryUsed, percent: memory),
        disk: DiskMetrics(totalGB: 50, usedGB: diskUsed, percent: disk),
        uptime: UptimeMetrics(seconds: 3600),
        load: LoadMetrics(one: load, five: load, fifteen: load))
    // Test vm_ids are literals chosen valid; a typo should stop the test at once.
    // swiftlint:disable:next force_try
    return MetricsDocument(
        vmID: try! VMID(validating: vm), timestamp: time, system: system,
        containers: containers, services: services)
}

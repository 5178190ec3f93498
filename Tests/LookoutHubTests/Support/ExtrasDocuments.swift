import Foundation
import LookoutCore

/// `makeDocument` plus issue 11's figures: one interface `eth0` carrying all the traffic,
/// the root disk's I/O, swap, filesystems (path: percent) and sensors (name: °C). A nil
/// argument leaves that figure out, as an older agent or a machine without it would.
func makeExtrasDocument(
    _ vm: String, at time: Date, cpu: Double = 10, rxTotal: Double? = nil, txTotal: Double? = nil,
    rxRate: Double = 0, txRate: Double = 0, bootID: String? = nil, diskIO: DiskIOMetrics? = nil,
    swapPercent: Double? = nil, filesystems: [(String, Double)] = [], temperatures: [(String, Double)] = []
) -> MetricsDocument {
    var document = makeDocument(vm, at: time, cpu: cpu)
    if let rxTotal, let txTotal {
        document.system.network = NetworkMetrics(
            rxBytesPerSecond: rxRate, txBytesPerSecond: txRate, rxBytes: rxTotal, txBytes: txTotal,
            interfaces: [
                InterfaceMetrics(
                    name: "eth0", rxBytesPerSecond: rxRate, txBytesPerSecond: txRate, rxBytes: rxTotal, txBytes: txTotal
                )
            ])
    }
    document.system.bootID = bootID
    document.system.diskIO = diskIO
    document.system.swap = swapPercent.map { SwapMetrics(totalMB: 1024, usedMB: 1024 * $0 / 100, percent: $0) }
    if !filesystems.isEmpty {
        document.system.filesystems = filesystems.map { path, percent in
            FilesystemMetrics(
                path: path, device: "/dev/vdb", fstype: "xfs", totalGB: 100, usedGB: percent, percent: percent)
        }
    }
    if !temperatures.isEmpty {
        document.system.temperatures = temperatures.map { TemperatureReading(sensor: $0.0, celsius: $0.1) }
    }
    return document
}

// Micro-benchmarks of the pure parts, in a release build:
//   swift run -c release lookout-benchmarks
// Prints the median and the slowest of repeated runs; no test depends on these figures.
import Foundation
import LookoutCore

func measure(_ label: String, runs: Int = 50, _ body: () -> Void) {
    let clock = ContinuousClock()
    body()  // warm-up
    var times: [Duration] = []
    for _ in 0..<runs {
        times.append(clock.measure(body))
    }
    times.sort()
    func ms(_ d: Duration) -> String {
        String(format: "%.3f ms", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000)
    }
    print("\(label): median \(ms(times[times.count / 2])), max \(ms(times.last!)) over \(runs) runs")
}

let now = Date()
func makeDocument(_ i: Int) -> MetricsDocument {
    let system = SystemMetrics(
        cpu: CPUMetrics(percent: Double(i % 100), cores: 1),
        memory: MemoryMetrics(totalMB: 1024, usedMB: 512, availableMB: 512, percent: Double((i * 7) % 100)),
        disk: DiskMetrics(totalGB: 40, usedGB: 20, percent: Double((i * 13) % 100)),
        uptime: UptimeMetrics(seconds: 86_400),
        load: LoadMetrics(one: 0.5, five: Double(i % 5), fifteen: 0.2))
    var containers: [ContainerMetrics] = []
    for c in 0..<3 {
        let status = c == 2 && i % 50 == 0 ? "exited" : "running"
        containers.append(ContainerMetrics(name: "c\(c)", status: status, cpuPercent: 1, memoryMB: 50))
    }
    let services = [ServiceStatus(id: "site", healthy: i % 40 != 0, responseMS: 20)]
    let id = try! VMID(validating: "vm-\(i)")
    return MetricsDocument(
        vmID: id, timestamp: now.addingTimeInterval(-30), system: system, containers: containers,
        services: services, intervalSeconds: 300)
}

let documents = (0..<1000).map(makeDocument)
let config = MonitoringConfig()
let first = AlertEngine.evaluate(documents: documents, config: config, previous: AlertState(), now: now)
print("1000 VMs: \(first.state.alerts.count) active alerts after the first pass")
measure("alert evaluation pass, 1000 VMs, steady state") {
    _ = AlertEngine.evaluate(documents: documents, config: config, previous: first.state, now: now)
}
measure("alert evaluation pass, 1000 VMs, from empty state") {
    _ = AlertEngine.evaluate(documents: documents, config: config, previous: AlertState(), now: now)
}
// Issue 12: the same pass with 100 silences (patterns and exact names, a tenth of them
// covering some VM) and two quiet-hours windows, one of them open now.
let silences = (0..<100).map { i in
    Silence(
        id: "s\(i)", vm: i % 2 == 0 ? "vm-\(i * 10)" : "vm-\(i)*", alert: i % 3 == 0 ? "all" : "disk",
        reason: "bench", createdAt: now.addingTimeInterval(-60), endsAt: now.addingTimeInterval(3600))
}
var quietConfig = MonitoringConfig()
quietConfig.quietHours = [
    try! QuietHours(vms: ["vm-9*"], alerts: ["cpu", "disk"], from: 0, to: 1439, timezone: "Europe/Berlin"),
    try! QuietHours(vms: ["backup-*"], from: 120, to: 270, timezone: "Europe/Berlin"),
]
let held = AlertEngine.evaluate(
    documents: documents, config: quietConfig, previous: first.state, now: now, silences: silences)
print("1000 VMs, 100 silences, quiet hours: \(held.state.alerts.filter { $0.silenced != nil }.count) alerts held")
measure("alert evaluation pass, 1000 VMs, 100 silences + quiet hours, steady state") {
    _ = AlertEngine.evaluate(
        documents: documents, config: quietConfig, previous: held.state, now: now, silences: silences)
}
let encoded = documents.map { $0.encoded() }
measure("decode + validate 1000 documents", runs: 20) {
    for bytes in encoded { _ = try! MetricsDocument.decode(bytes) }
}
measure("encode 1000 documents", runs: 20) {
    for document in documents { _ = document.encoded() }
}

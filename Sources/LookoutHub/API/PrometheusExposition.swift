import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The fleet in the Prometheus text exposition format (version 0.0.4), one series per VM
/// and metric labelled `vm_id`, so Prometheus, VictoriaMetrics or an OpenTelemetry
/// Collector can scrape every host through the hub. Units follow Prometheus conventions
/// (bytes, seconds, ratios as percentages keep the document's scale and say so).
enum PrometheusExposition {
    struct Family {
        let name: String
        let help: String
        var samples: [(labels: [(String, String)], value: Double)] = []
        /// `gauge`, or `counter` for the kernel's byte counters (names ending in `_total`).
        var type = "gauge"
    }

    /// - Parameter traffic: the current allowance month per VM (``HistoryStore/trafficUsage(config:now:)``),
    ///   for `lookout_traffic_month_bytes`; empty leaves the family without samples.
    static func render(
        _ entries: [Fleet.Entry], config: MonitoringConfig, now: Date, traffic: [VMID: TrafficUsage] = [:]
    ) -> String {
        let mib = 1_048_576.0, gib = 1_073_741_824.0
        var families: [Family] = []
        func family(_ name: String, _ help: String, _ value: (Fleet.Entry) -> Double) {
            var f = Family(name: name, help: help)
            for entry in entries { f.samples.append(([("vm_id", entry.document.vmID.rawValue)], value(entry))) }
            families.append(f)
        }
        family("lookout_cpu_percent", "CPU busy share of all cores since the previous sample, 0-100.") {
            $0.document.system.cpu.percent
        }
        family("lookout_cpu_cores", "CPU cores online.") { Double($0.document.system.cpu.cores) }
        family("lookout_memory_total_bytes", "Memory total.") { $0.document.system.memory.totalMB * mib }
        family("lookout_memory_used_bytes", "Memory used: total minus MemAvailable.") {
            $0.document.system.memory.usedMB * mib
        }
        family("lookout_memory_available_bytes", "MemAvailable.") { $0.document.system.memory.availableMB * mib }
        family("lookout_memory_percent", "Memory used, 0-100.") { $0.document.system.memory.percent }
        family("lookout_disk_total_bytes", "Root file system size.") { $0.document.system.disk.totalGB * gib }
        family("lookout_disk_used_bytes", "Root file system used.") { $0.document.system.disk.usedGB * gib }
        family("lookout_disk_percent", "Root file system used, as df reports it, 0-100.") {
            $0.document.system.disk.percent
        }
        family("lookout_load1", "Load average over 1 minute.") { $0.document.system.load.one }
        family("lookout_load5", "Load average over 5 minutes.") { $0.document.system.load.five }
        family("lookout_load15", "Load average over 15 minutes.") { $0.document.system.load.fifteen }
        family("lookout_uptime_seconds", "Seconds since boot.") { $0.document.system.uptime.seconds }
        family("lookout_last_report_timestamp_seconds", "Unix time of the VM's latest document.") {
            $0.document.timestamp.timeIntervalSince1970
        }
        family("lookout_up", "1 while the VM reports on time, 0 when it is stale.") {
            now.timeIntervalSince($0.document.timestamp) > Double(VMHealth.staleAfter($0.document, config: config))
                ? 0 : 1
        }
        var containerRunning = Family(
            name: "lookout_container_running", help: "1 when the container's state is running.")
        var containerCPU = Family(
            name: "lookout_container_cpu_percent", help: "Container CPU as a share of the whole host, 0-100.")
        var containerMemory = Family(name: "lookout_container_memory_bytes", help: "Container memory minus page cache.")
        var serviceHealthy = Family(name: "lookout_service_healthy", help: "1 when the service check passed.")
        var serviceResponse = Family(name: "lookout_service_response_seconds", help: "Service check response time.")
        for entry in entries {
            let vm = ("vm_id", entry.document.vmID.rawValue)
            for container in entry.document.containers {
                let labels = [vm, ("container", container.name), ("status", container.status)]
                containerRunning.samples.append((labels, container.status == "running" ? 1 : 0))
                containerCPU.samples.append(([vm, ("container", container.name)], container.cpuPercent))
                containerMemory.samples.append(([vm, ("container", container.name)], container.memoryMB * mib))
            }
            for service in entry.document.services {
                let labels = [vm, ("service", service.id)]
                serviceHealthy.samples.append((labels, service.healthy ? 1 : 0))
                serviceResponse.samples.append((labels, service.responseMS / 1000))
            }
        }
        families += [containerRunning, containerCPU, containerMemory, serviceHealthy, serviceResponse]
        families += systemExtras(entries, traffic: traffic)
        families.append(Family(name: "lookout_vms", help: "VMs the hub knows.", samples: [([], Double(entries.count))]))

        var out = ""
        out.reserveCapacity(entries.count * 1500 + 2000)
        for f in families {
            out += "# HELP \(f.name) \(f.help)\n# TYPE \(f.name) \(f.type)\n"
            for sample in f.samples {
                out += f.name
                if !sample.labels.isEmpty {
                    out +=
                        "{" + sample.labels.map { "\($0.0)=\"\(escapeLabelValue($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " \(format(sample.value))\n"
            }
        }
        return out
    }

    /// Issue 11's figures: per interface, the root disk's I/O, swap, every filesystem, every
    /// sensor, and the month's traffic. A VM without such a figure has no sample in the family.
    static func systemExtras(_ entries: [Fleet.Entry], traffic: [VMID: TrafficUsage]) -> [Family] {
        let mib = 1_048_576.0, gib = 1_073_741_824.0
        var rxRate = Family(
            name: "lookout_network_receive_bytes_per_second",
            help: "Bytes received per second since the previous sample.")
        var txRate = Family(
            name: "lookout_network_transmit_bytes_per_second", help: "Bytes sent per second since the previous sample.")
        var rxTotal = Family(
            name: "lookout_network_receive_bytes_total", help: "Bytes received: the kernel's counter.", type: "counter")
        var txTotal = Family(
            name: "lookout_network_transmit_bytes_total", help: "Bytes sent: the kernel's counter.", type: "counter")
        var read = Family(
            name: "lookout_disk_io_read_bytes_per_second", help: "Bytes read per second from the root disk.")
        var write = Family(
            name: "lookout_disk_io_write_bytes_per_second", help: "Bytes written per second to the root disk.")
        var util = Family(name: "lookout_disk_io_utilization_ratio", help: "Share of time the root disk was busy, 0-1.")
        var swapTotal = Family(name: "lookout_swap_total_bytes", help: "Swap size.")
        var swapUsed = Family(name: "lookout_swap_used_bytes", help: "Swap used.")
        var fsSize = Family(name: "lookout_filesystem_size_bytes", help: "File system size.")
        var fsUsed = Family(name: "lookout_filesystem_used_bytes", help: "File system used.")
        var fsRatio = Family(name: "lookout_filesystem_used_ratio", help: "File system used, as df reports it, 0-1.")
        var temperature = Family(name: "lookout_temperature_celsius", help: "Sensor temperature.")
        var month = Family(
            name: "lookout_traffic_month_bytes",
            help: "Bytes received (rx) or sent (tx) in the current allowance month.")
        for entry in entries {
            let system = entry.document.system
            let vm = ("vm_id", entry.document.vmID.rawValue)
            for interface in system.network?.interfaces ?? [] {
                let labels = [vm, ("interface", interface.name)]
                rxRate.samples.append((labels, interface.rxBytesPerSecond))
                txRate.samples.append((labels, interface.txBytesPerSecond))
                rxTotal.samples.append((labels, interface.rxBytes))
                txTotal.samples.append((labels, interface.txBytes))
            }
            if let io = system.diskIO {
                let labels = [vm, ("device", io.device)]
                read.samples.append((labels, io.readBytesPerSecond))
                write.samples.append((labels, io.writeBytesPerSecond))
                util.samples.append((labels, io.utilPercent / 100))
            }
            if let swap = system.swap {
                swapTotal.samples.append(([vm], swap.totalMB * mib))
                swapUsed.samples.append(([vm], swap.usedMB * mib))
            }
            for fs in system.filesystems ?? [] {
                let labels = [vm, ("path", fs.path), ("device", fs.device), ("fstype", fs.fstype)]
                fsSize.samples.append((labels, fs.totalGB * gib))
                fsUsed.samples.append((labels, fs.usedGB * gib))
                fsRatio.samples.append((labels, fs.percent / 100))
            }
            for reading in system.temperatures ?? [] {
                temperature.samples.append(([vm, ("sensor", reading.sensor)], reading.celsius))
            }
        }
        // Only VMs of the fleet: a forgotten VM's traffic rows stay in the store, not here.
        for entry in entries {
            guard let usage = traffic[entry.document.vmID] else { continue }
            month.samples.append(([("vm_id", usage.vmID.rawValue), ("direction", "rx")], usage.rxBytes))
            month.samples.append(([("vm_id", usage.vmID.rawValue), ("direction", "tx")], usage.txBytes))
        }
        return [
            rxRate, txRate, rxTotal, txTotal, read, write, util, swapTotal, swapUsed, fsSize, fsUsed, fsRatio,
            temperature, month,
        ]
    }

    /// The exposition format's one escaping routine for label values, judged per Unicode
    /// scalar: backslash, double quote and line feed get the escapes the format defines;
    /// any other control character, for which it has none, becomes a space. Per scalar
    /// because Swift's `Character` joins "\r\n" into one grapheme, which a `Character`
    /// switch on "\n" misses, and the raw line break would then start a forged series.
    static func escapeLabelValue(_ value: String) -> String {
        let needsWork = value.unicodeScalars.contains { $0 == "\\" || $0 == "\"" || ControlCharacters.contains($0) }
        guard needsWork else { return value }
        var result = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": result.append(contentsOf: #"\\"#.unicodeScalars)
            case "\"": result.append(contentsOf: #"\""#.unicodeScalars)
            case "\n": result.append(contentsOf: #"\n"#.unicodeScalars)
            case _ where ControlCharacters.contains(scalar): result.append(" ")
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

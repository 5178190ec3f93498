import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The history database opened read-only, to rebuild each stored sample as the document the
/// hub judged (`lookout replay`). It never migrates, checkpoints or writes: a running hub
/// beside it is not disturbed, and a replay leaves the file byte for byte as it was.
///
/// What a stored sample keeps: every figure an alert rule reads (cpu, memory, disk, load,
/// swap, disk_util, each filesystem's and sensor's value, each service's health, each
/// container's status, the boot id as its hash). What it does not keep is taken from the VM's
/// latest document: the core count, the interval, the disk totals and device names. A
/// service's error text is not stored, so a replayed notice names the service only.
public struct ReplayHistory: Sendable {
    public let path: String
    let queue: DatabaseQueue

    /// Opens `path` read-only.
    /// - Throws: ``HubError`` when the file is missing, not a database, or has another schema
    ///   than this binary's (older: start `lookout serve` once to upgrade it; newer: upgrade lookout).
    public init(path: String) throws(HubError) {
        self.path = path
        guard access(path, F_OK) == 0 else {
            throw HubError("no history database at \(path): is --data the hub's data folder?", kind: .needsOperator)
        }
        var config = Configuration()
        config.readonly = true
        config.label = "lookout.replay"
        config.busyMode = .timeout(5)
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            let (superseded, complete) = try queue.read { db in
                (try HistoryStore.migrator.hasBeenSuperseded(db), try HistoryStore.migrator.hasCompletedMigrations(db))
            }
            if superseded {
                throw HubError(
                    "\(path) was written by a newer version of lookout; replay it with that version",
                    kind: .needsOperator)
            }
            if !complete {
                throw HubError(
                    "\(path) has an older schema; start this version's `lookout serve` (or `check`) once to upgrade it",
                    kind: .needsOperator)
            }
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError("cannot read the history database \(path): \(error)", kind: .needsOperator)
        }
    }

    /// `--since`: `30m`, `24h`, `7d` → seconds (at most 400 days), as the history API's `range`.
    public static func parseSince(_ text: String) -> TimeInterval? {
        MonitoringController.parseRange(text)
    }

    /// The VMs with raw samples, sorted: one index seek each, never a scan of the samples.
    public func vmIDs() throws(HubError) -> [VMID] {
        try read("listing the VMs") { db in
            let next = try db.cachedStatement(sql: "SELECT vm_id FROM samples WHERE vm_id > ? ORDER BY vm_id LIMIT 1")
            var result: [VMID] = []
            var after = ""
            while let vm = try String.fetchOne(next, arguments: [after]) {
                if let id = try? VMID(validating: vm) { result.append(id) }
                after = vm
            }
            return result
        }
    }

    /// The oldest raw sample's time (the start of what can be replayed), nil when there is none.
    public func oldestSample() throws(HubError) -> Date? {
        let vms = try vmIDs()
        return try read("finding the oldest sample") { db in
            let first = try db.cachedStatement(sql: "SELECT MIN(ts) FROM samples WHERE vm_id = ?")
            let times = try vms.compactMap { try Int64.fetchOne(first, arguments: [$0.rawValue]) }
            return times.min().map { Date(timeIntervalSince1970: Double($0)) }
        }
    }

    /// The VM's latest stored document, the source of what samples do not keep.
    public func latestDocument(_ vmID: VMID) throws(HubError) -> MetricsDocument? {
        let data = try read("reading the latest document of \(vmID)") { db in
            try Data.fetchOne(db, sql: "SELECT document FROM latest WHERE vm_id = ?", arguments: [vmID.rawValue])
        }
        return data.flatMap { try? MetricsDocument.decode($0) }
    }

    /// The VM's samples with a time in [from, to], rebuilt as documents, oldest first.
    public func documents(_ vmID: VMID, from: Date, to: Date) throws(HubError) -> [MetricsDocument] {
        let template = try latestDocument(vmID)
        let vm = vmID.rawValue
        let range: StatementArguments = [vm, HistoryStore.seconds(from), HistoryStore.seconds(to)]
        return try read("reading the samples of \(vmID)") { db in
            var filesystems: [Int64: [FilesystemMetrics]] = [:]
            var temperatures: [Int64: [TemperatureReading]] = [:]
            let named = try Row.fetchCursor(
                db, sql: "SELECT series, ts, value FROM series_samples WHERE vm_id = ? AND ts >= ? AND ts <= ?",
                arguments: range)
            while let row = try named.next() {
                let ts: Int64 = row[1]
                let value: Double = row[2]
                guard let name = try? SeriesName(parsing: row[0] as String) else { continue }
                switch name.kind {
                case .filesystem:
                    filesystems[ts, default: []].append(
                        FilesystemMetrics(path: name.key, device: "", fstype: "", totalGB: 0, usedGB: 0, percent: value)
                    )
                case .temperature:
                    temperatures[ts, default: []].append(TemperatureReading(sensor: name.key, celsius: value))
                }
            }
            var services: [Int64: [ServiceStatus]] = [:]
            let serviceRows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT ts, service_id, healthy, response_ms FROM service_samples
                    WHERE vm_id = ? AND ts >= ? AND ts <= ? ORDER BY ts, service_id
                    """, arguments: range)
            while let row = try serviceRows.next() {
                services[row[0], default: []].append(
                    ServiceStatus(id: row[1], healthy: row[2], responseMS: row[3]))
            }
            var containers: [Int64: [ContainerMetrics]] = [:]
            let containerRows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT ts, name, status, cpu_percent, memory_mb FROM container_samples
                    WHERE vm_id = ? AND ts >= ? AND ts <= ? ORDER BY ts, name
                    """, arguments: range)
            while let row = try containerRows.next() {
                containers[row[0], default: []].append(
                    ContainerMetrics(name: row[1], status: row[2], cpuPercent: row[3], memoryMB: row[4]))
            }
            var documents: [MetricsDocument] = []
            let samples = try Row.fetchCursor(
                db,
                sql: """
                    SELECT ts, cpu, memory, disk, load1, load5, load15, memory_used_mb, disk_used_gb, uptime,
                           swap, disk_util, disk_read, disk_write, boot
                    FROM samples WHERE vm_id = ? AND ts >= ? AND ts <= ? ORDER BY ts
                    """, arguments: range)
            while let row = try samples.next() {
                let ts: Int64 = row[0]
                documents.append(
                    Self.document(
                        vmID, ts: ts, row: row, template: template, filesystems: filesystems[ts],
                        temperatures: temperatures[ts], services: services[ts] ?? [], containers: containers[ts] ?? []))
            }
            return documents
        }
    }

    /// One sample row as a document; the figures the row lacks come from `template`.
    static func document(
        _ vmID: VMID, ts: Int64, row: Row, template: MetricsDocument?, filesystems: [FilesystemMetrics]?,
        temperatures: [TemperatureReading]?, services: [ServiceStatus], containers: [ContainerMetrics]
    ) -> MetricsDocument {
        let known = template?.system
        let memoryPercent: Double = row[2]
        let memoryUsed: Double = row[7]
        let memoryTotal = known?.memory.totalMB ?? (memoryPercent > 0 ? memoryUsed * 100 / memoryPercent : memoryUsed)
        let diskPercent: Double = row[3]
        let diskUsed: Double = row[8]
        let diskTotal = known?.disk.totalGB ?? (diskPercent > 0 ? diskUsed * 100 / diskPercent : diskUsed)
        let swap = (row[10] as Double?).map { percent in
            SwapMetrics(
                totalMB: known?.swap?.totalMB ?? 0, usedMB: (known?.swap?.totalMB ?? 0) * percent / 100,
                percent: percent)
        }
        let diskIO = (row[11] as Double?).map { util in
            DiskIOMetrics(
                device: known?.diskIO?.device ?? "disk", readBytesPerSecond: (row[12] as Double?) ?? 0,
                writeBytesPerSecond: (row[13] as Double?) ?? 0, utilPercent: util)
        }
        let system = SystemMetrics(
            cpu: CPUMetrics(percent: row[1], cores: known?.cpu.cores ?? 1),
            memory: MemoryMetrics(
                totalMB: memoryTotal, usedMB: memoryUsed, availableMB: max(0, memoryTotal - memoryUsed),
                percent: memoryPercent),
            disk: DiskMetrics(totalGB: diskTotal, usedGB: diskUsed, percent: diskPercent, path: known?.disk.path),
            uptime: UptimeMetrics(seconds: row[9]),
            load: LoadMetrics(one: row[4], five: row[5], fifteen: row[6]),
            // The stored hash stands for the boot id: equal hashes, same boot.
            bootID: (row[14] as Int64?).map { "boot-\($0)" }, swap: swap, diskIO: diskIO,
            filesystems: filesystems, temperatures: temperatures)
        return MetricsDocument(
            vmID: vmID, timestamp: Date(timeIntervalSince1970: Double(ts)), system: system, containers: containers,
            services: services, intervalSeconds: template?.intervalSeconds, agent: template?.agent)
    }

    func read<T>(_ task: String, _ body: (Database) throws -> T) throws(HubError) -> T {
        do {
            return try queue.read(body)
        } catch {
            throw HubError("history database \(path): \(task): \(error)")
        }
    }
}

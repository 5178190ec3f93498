import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Makes the hub forget a VM that left (`lookout forget`, `retention.forget_after_days`):
/// its latest document (the file, its journal and the store's row), its active alerts, and
/// its place in a running hub's fleet. History stays until retention takes it, unless purged.
///
/// The order matters. The request file comes first, so a running hub refuses the VM's older
/// documents from its next scan on. The rest happens under the alert lock (`DATA/.alerts.lock`),
/// and, when a hub is running, the lock is held until that hub has dropped the VM from its
/// fleet: an alert pass in between would see the VM again, silent, and open "host down" anew.
public struct VMForgetter: Sendable {
    public let dataFolder: String
    let store: HistoryStore
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        dataFolder: String, store: HistoryStore, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.dataFolder = dataFolder
        self.store = store
        self.logger = logger
        self.now = now
    }

    /// What one forget did, for the command's answer and the log.
    public struct Report: Sendable, Equatable {
        public var removedFiles: [String] = []
        public var alertsRemoved = 0
        public var latestRemoved = false
        public var samplesPurged = 0
        /// Whether a running hub dropped the VM from its fleet (`nil`: no hub was running).
        public var appliedByRunningHub: Bool?
    }

    /// Forgets `vmID` as of now.
    /// - Parameters:
    ///   - purge: also delete its history (samples, hourly rows, resolved alerts).
    ///   - wait: how long to wait for a running hub to apply the request.
    public func forget(_ vmID: VMID, purge: Bool, wait: Duration = .seconds(60)) async throws(HubError) -> Report {
        let at = now()
        let requests = ForgetRequests(dataFolder: dataFolder)
        try requests.save(ForgetRequest(vmID: vmID, forgottenAt: at, purge: purge))
        let lock = FileLock(path: "\(dataFolder)/.alerts.lock")
        return try await lock.withLock { () async throws(HubError) -> Report in
            var report = Report()
            report.alertsRemoved = try removeAlerts(of: vmID)
            report.removedFiles = removeFiles(of: vmID)
            if purge {
                report.samplesPurged = try await store.purge(vmID: vmID, notAfter: at)
            }
            report.latestRemoved = try await store.forgetLatest(vmID: vmID, notAfter: at) || report.samplesPurged > 0
            if await WatcherPresence(dataFolder: dataFolder).isHeld() {
                report.appliedByRunningHub = await waitUntilApplied(vmID, requests: requests, wait: wait)
            }
            return report
        }
    }

    /// Removes the VM's active alerts and what was told about them from alerts.json.
    private func removeAlerts(of vmID: VMID) throws(HubError) -> Int {
        let file = AlertStateFile(dataFolder: dataFolder)
        var state = try file.load()
        let removed = state.alerts.filter { $0.vmID == vmID }
        guard !removed.isEmpty || state.notified.keys.contains(where: { $0.hasPrefix("\(vmID.rawValue)/") }) else {
            return 0
        }
        let ids = Set(removed.map(\.id))
        state.alerts.removeAll { $0.vmID == vmID }
        state.notified = state.notified.filter { !ids.contains($0.key) && !$0.key.hasPrefix("\(vmID.rawValue)/") }
        try file.save(state)
        return removed.count
    }

    /// `DATA/<vm>/metrics.json`, its conflict copies and `journal/`; the folder too when that
    /// leaves it empty (a sync tool's own files in it keep it).
    private func removeFiles(of vmID: VMID) -> [String] {
        let folder = "\(dataFolder)/\(vmID.rawValue)"
        var removed: [String] = []
        let manager = FileManager.default
        let names = AtomicFile.fileNames(in: folder).sorted().filter { name in
            name == "metrics.json" || name == "journal"
                || (name.hasPrefix("metrics.") && name.contains(".sync-conflict-"))
        }
        for name in names {
            let path = "\(folder)/\(name)"
            do {
                try manager.removeItem(atPath: path)
                removed.append(path)
            } catch {
                logger.warning("forget \(vmID): could not remove \(path): \(error)")
            }
        }
        if !removed.isEmpty, AtomicFile.fileNames(in: folder).isEmpty {
            rmdir(folder)
        }
        return removed
    }

    private func waitUntilApplied(_ vmID: VMID, requests: ForgetRequests, wait: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: wait)
        while clock.now < deadline {
            if requests.load(vmID)?.appliedAt != nil { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}

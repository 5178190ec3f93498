import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One alert pass over the fleet: evaluate, save `alerts.json`, record resolved alerts and
/// queue notices in the outbox. `lookout check` runs one and then delivers; `lookout serve`
/// runs one a minute while ``DeliveryService`` delivers on its own. The pass holds the alert
/// lock (so `serve` beside a cron `check`, or two `check`s, never evaluate twice) but never
/// waits for a channel: delivery takes no part in it.
///
/// What the pass cannot write does not stop it: a store that fails (disk full, I/O error)
/// is logged and the pass runs on the documents in memory; an `alerts.json` or outbox that
/// cannot be written is kept in memory for this process (the next pass starts from it, the
/// outbox delivers from it) and written once writing works again.
public struct AlertPass: Sendable {
    public let dataFolder: String
    let store: HistoryStore
    let config: MonitoringConfig
    public let channels: [any NotificationChannel]
    let logger: Logger
    public let outbox: Outbox
    let stateFile: AlertStateFile
    let lock: FileLock
    let memory: AlertMemory
    let forecastCache = ForecastCache()

    public struct Report: Sendable, Equatable {
        public var active = 0
        public var notices = 0
        /// Outbox entries only in memory (the outbox folder cannot be written).
        public var unwritten = 0
        /// Problems the pass worked around (store, alerts.json), for the caller's log and exit code.
        public var problems: [String] = []
    }

    public init(
        dataFolder: String, store: HistoryStore, config: MonitoringConfig, channels: [any NotificationChannel],
        logger: Logger
    ) {
        self.dataFolder = dataFolder
        self.store = store
        self.config = config
        self.channels = channels
        self.logger = logger
        self.outbox = Outbox(dataFolder: dataFolder, logger: logger) { [store, logger] alert, channel in
            do {
                try await store.recordUndelivered(alert, channel: channel)
            } catch {
                logger.error("could not note in the alert history that \(channel) missed \(alert.id): \(error)")
            }
        }
        self.stateFile = AlertStateFile(dataFolder: dataFolder)
        self.lock = FileLock(path: "\(dataFolder)/.alerts.lock")
        self.memory = AlertMemory()
    }

    /// Evaluates every VM's latest document at `now` and queues the notices; it does not
    /// deliver (see ``deliver(now:)``).
    ///
    /// `documents` is what the caller holds in memory; under the lock it is merged with
    /// the store's latest documents, newest per VM, because another process (`serve`
    /// beside a cron `check`) may have ingested a newer one and judged it already. An
    /// older view must never resolve or re-open what a newer one decided.
    public func run(documents: [MetricsDocument], now: Date) async throws(HubError) -> Report {
        try await lock.withLock { () async throws(HubError) -> Report in
            var report = Report()
            var stored: [MetricsDocument] = []
            do {
                stored = try await store.latestDocuments()
            } catch {
                report.problems.append("the history store failed, judging the documents in memory only: \(error)")
            }
            var newest: [VMID: MetricsDocument] = [:]
            for document in documents + stored
            where newest[document.vmID].map({ $0.timestamp < document.timestamp }) ?? true {
                newest[document.vmID] = document
            }
            let documents = newest.keys.sorted().map { newest[$0]! }
            // What this process could not write wins, unless another process (a cron `check`,
            // once the disk had room) has written a newer alerts.json since.
            let previous: AlertState
            if let unsaved = memory.unsavedState() {
                let onDisk = try? stateFile.load()
                if let onDisk, let written = onDisk.updatedAt, written > (unsaved.updatedAt ?? .distantPast) {
                    previous = onDisk
                    memory.setUnsavedState(nil)
                } else {
                    previous = unsaved
                }
            } else {
                previous = try stateFile.load()
            }
            let recent = await recentValues(for: documents, previous: previous, problems: &report.problems)
            var traffic: [VMID: TrafficUsage] = [:]
            do {
                traffic = try await store.trafficUsage(config: config, now: now)
            } catch {
                report.problems.append("monthly traffic unavailable, traffic alerts stay as they were: \(error)")
            }
            let forecasts = await forecasts(for: documents.map(\.vmID), now: now, problems: &report.problems)
            // A damaged silences file silences nothing (a page too many beats a page missed).
            var silences: [Silence] = []
            do {
                silences = try SilenceFile(dataFolder: dataFolder).load(now: now)
            } catch {
                report.problems.append("\(error); no silence applies in this pass")
            }
            let result = AlertEngine.evaluate(
                documents: documents, config: config, previous: previous, now: now, recent: recent, traffic: traffic,
                forecasts: forecasts, silences: silences)
            // Queue first, then save: a crash in between queues the same files again (same
            // names: overwritten, not doubled) rather than losing a notice.
            report.unwritten = outbox.enqueue(result.notices, channels: channels, now: now)
            do {
                try stateFile.save(result.state)
                memory.setUnsavedState(nil)
            } catch {
                memory.setUnsavedState(result.state)
                report.problems.append("\(error); the alert state is kept in memory until it can be written")
            }
            let resolved = memory.takeUnrecorded() + result.resolved
            do {
                try await store.recordResolved(resolved)
            } catch {
                memory.addUnrecorded(resolved)
                report.problems.append("could not record \(resolved.count) resolved alert(s), will retry: \(error)")
            }
            for notice in result.notices {
                logger.notice("\(notice.kind.rawValue): \(notice.alert.vmID) \(notice.alert.message)")
            }
            if !result.notices.isEmpty && channels.isEmpty {
                logger.warning("no notification channel is configured: \(result.notices.count) notice(s) only logged")
            }
            for problem in report.problems { logger.error("alert pass: \(problem)") }
            report.active = result.state.alerts.count
            report.notices = result.notices.count
            return report
        }
    }

    /// The disk-full forecasts of `vms` (cached, see ``ForecastCache``); nil when the store
    /// cannot say, which keeps the forecast alerts as they were.
    func forecasts(for vms: [VMID], now: Date, problems: inout [String]) async -> [DiskForecast]? {
        do {
            return try await forecastCache.forecasts(for: vms, now: now, store: store, settings: config.forecast)
        } catch {
            problems.append("disk forecasts unavailable, forecast alerts stay as they were: \(error)")
            return nil
        }
    }

    /// One delivery round over every channel, each channel on its own (see ``Outbox``).
    public func deliver(now: Date) async -> Outbox.Report {
        await outbox.deliver(channels: channels, now: now)
    }

    /// The last values of the metrics whose rule has `sustained_samples` > 1 (swap and
    /// disk_util only when the document carries them). When the store cannot say, an alert
    /// that is open stays judged on the current value alone (so a failing store neither
    /// resolves it nor holds it open), and no new one opens.
    func recentValues(
        for documents: [MetricsDocument], previous: AlertState, problems: inout [String]
    ) async -> AlertEngine.RecentValues {
        var result: AlertEngine.RecentValues = [:]
        for document in documents {
            let t = config.thresholds(for: document.vmID)
            let system = document.system
            var rules: [(String, Metric?, Threshold, Double)] = [
                ("cpu", .cpu, t.cpu, system.cpu.percent), ("memory", .memory, t.memory, system.memory.percent),
                ("disk", .disk, t.disk, system.disk.percent), ("load", .load5, t.load, system.load.five),
            ]
            // The store names these series (`Metric.swap`, `Metric.diskUtil`); a store without
            // them gives no recent values, so such a sustained rule opens nothing.
            if let swap = system.swap { rules.append(("swap", Metric.swap, t.swap, swap.percent)) }
            if let io = system.diskIO {
                rules.append(("disk_util", Metric.diskUtil, t.diskUtil, io.utilPercent))
            }
            let sustained = rules.filter { $0.2.sustainedSamples > 1 }
            guard let longest = sustained.map(\.2.sustainedSamples).max() else { continue }
            do {
                let values = try await store.recentValues(
                    vmID: document.vmID, metrics: sustained.compactMap(\.1), limit: longest)
                result[document.vmID] = Dictionary(
                    uniqueKeysWithValues: sustained.map { rule in (rule.0, rule.1.flatMap { values[$0] } ?? []) })
            } catch {
                problems.append(
                    "recent samples of \(document.vmID) unavailable (\(error)); sustained rules use the current value")
                let open = Set(previous.alerts.filter { $0.vmID == document.vmID }.map(\.kind))
                result[document.vmID] = Dictionary(
                    uniqueKeysWithValues: sustained.map { rule in
                        (rule.0, open.contains(rule.0) ? Array(repeating: rule.3, count: rule.2.sustainedSamples) : [])
                    })
            }
        }
        return result
    }
}

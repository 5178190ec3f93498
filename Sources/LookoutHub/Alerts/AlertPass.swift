#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LookoutCore
import Logging
import ServiceLifecycle

/// One alert pass over the fleet: evaluate, save `alerts.json`, record resolved alerts,
/// queue notices in the outbox, deliver what is due. `lookout check` runs one; `lookout
/// serve` runs one a minute. Both take the same lock, so running both, or `check` twice
/// at once, never evaluates or sends twice.
public struct AlertPass: Sendable {
    public let dataFolder: String
    let store: HistoryStore
    let config: MonitoringConfig
    let channels: [any NotificationChannel]
    let logger: Logger
    let outbox: Outbox
    let stateFile: AlertStateFile
    let lock: FileLock

    public struct Report: Sendable, Equatable {
        public var active = 0
        public var notices = 0
        public var delivery = Outbox.Report()
    }

    public init(dataFolder: String, store: HistoryStore, config: MonitoringConfig, channels: [any NotificationChannel], logger: Logger) {
        self.dataFolder = dataFolder
        self.store = store
        self.config = config
        self.channels = channels
        self.logger = logger
        self.outbox = Outbox(dataFolder: dataFolder, logger: logger)
        self.stateFile = AlertStateFile(dataFolder: dataFolder)
        self.lock = FileLock(path: "\(dataFolder)/.alerts.lock")
    }

    /// Evaluates every VM's latest document at `now` and delivers due notices.
    ///
    /// `documents` is what the caller holds in memory; under the lock it is merged with
    /// the store's latest documents, newest per VM, because another process (`serve`
    /// beside a cron `check`) may have ingested a newer one and judged it already. An
    /// older view must never resolve or re-open what a newer one decided.
    public func run(documents: [MetricsDocument], now: Date) async throws(HubError) -> Report {
        try await lock.withLock { () async throws(HubError) -> Report in
            var newest: [VMID: MetricsDocument] = [:]
            for document in documents + (try await store.latestDocuments())
            where newest[document.vmID].map({ $0.timestamp < document.timestamp }) ?? true {
                newest[document.vmID] = document
            }
            let documents = newest.keys.sorted().map { newest[$0]! }
            let previous = try stateFile.load()
            let recent = try await recentValues(for: documents)
            let result = AlertEngine.evaluate(documents: documents, config: config, previous: previous, now: now, recent: recent)
            // Queue first, then save: a crash in between resends (at most once more) rather than losing a notice.
            try outbox.enqueue(result.notices, channels: channels, now: now)
            try stateFile.save(result.state)
            try await store.recordResolved(result.resolved)
            for notice in result.notices {
                logger.notice("\(notice.kind.rawValue): \(notice.alert.vmID) \(notice.alert.message)")
            }
            if !result.notices.isEmpty && channels.isEmpty {
                logger.warning("no notification channel is configured: \(result.notices.count) notice(s) only logged")
            }
            let delivery = await outbox.deliver(channels: channels, now: now)
            return Report(active: result.state.alerts.count, notices: result.notices.count, delivery: delivery)
        }
    }

    /// The last values of the metrics whose rule has `sustained_samples` > 1.
    func recentValues(for documents: [MetricsDocument]) async throws(HubError) -> AlertEngine.RecentValues {
        var result: AlertEngine.RecentValues = [:]
        for document in documents {
            let t = config.thresholds(for: document.vmID)
            let rules: [(String, Metric, Threshold)] = [("cpu", .cpu, t.cpu), ("memory", .memory, t.memory),
                                                        ("disk", .disk, t.disk), ("load", .load5, t.load)]
            let sustained = rules.filter { $0.2.sustainedSamples > 1 }
            guard let longest = sustained.map(\.2.sustainedSamples).max() else { continue }
            let values = try await store.recentValues(vmID: document.vmID, metrics: sustained.map(\.1), limit: longest)
            result[document.vmID] = Dictionary(uniqueKeysWithValues: sustained.map { ($0.0, values[$0.1] ?? []) })
        }
        return result
    }
}

/// Runs an alert pass every `interval` inside `lookout serve`.
struct AlertService: Service {
    let pass: AlertPass
    let fleet: Fleet
    let interval: Duration
    let logger: Logger
    let now: @Sendable () -> Date

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let report = try await pass.run(documents: fleet.entries().map(\.document), now: now())
                if report.notices + report.delivery.delivered + report.delivery.failed > 0 {
                    logger.info(
                        "alert pass: \(report.active) active, \(report.notices) new notice(s), \(report.delivery.delivered) sent, \(report.delivery.failed) failed")
                }
            } catch {
                logger.error("alert pass failed: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

import Logging
import LookoutCore
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Rolls raw samples up into hourly rows and prunes old history, at start and then every
/// hour, so `lookout.sqlite` stays bounded (raw for `raw_days`, hourly for `hourly_days`);
/// then empties the WAL (a large delete leaves it long), and forgets the VMs silent for
/// `forget_after_days`.
struct RetentionService: Service {
    let store: HistoryStore
    let retention: Retention
    let logger: Logger
    let now: @Sendable () -> Date
    /// The hub's own fleet: a VM forgotten here leaves it at once. The forget does not wait
    /// for the folder watcher (this process's own), which would hold the alert lock meanwhile.
    var fleet: Fleet?
    var interval: Duration = .seconds(3600)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await pass()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One retention pass (also called by tests with an injected clock).
    func pass() async {
        do {
            let report = try await store.applyRetention(now: now(), retention: retention)
            if report.hoursRolledUp + report.rawDeleted + report.hourlyDeleted > 0 {
                logger.info(
                    """
                    retention: rolled up \(report.hoursRolledUp) hour(s), deleted \(report.rawDeleted) raw \
                    and \(report.hourlyDeleted) hourly row(s)
                    """)
            }
            await store.checkpoint()
        } catch {
            logger.error("retention pass failed: \(error)")
        }
        await forgetSilentVMs()
    }

    /// `retention.forget_after_days`: each VM whose latest document is older is forgotten.
    func forgetSilentVMs() async {
        guard let days = retention.forgetAfterDays else { return }
        let now = now()
        let forgetter = VMForgetter(
            dataFolder: AtomicFile.folder(of: store.path), store: store, logger: logger, now: { now })
        do {
            for (vmID, latest) in try await store.silentVMs(before: now.addingTimeInterval(-Double(days) * 86_400)) {
                _ = try await forgetter.forget(vmID, purge: false, wait: .zero)
                fleet?.forget(vmID, at: now)
                let since = Timestamp.format(latest)
                let limit = "retention.forget_after_days (\(days))"
                logger.notice("forgot \(vmID): silent since \(since), longer than \(limit); history stays")
            }
        } catch {
            logger.error("forgetting silent VMs failed: \(error)")
        }
    }
}

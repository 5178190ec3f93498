#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LookoutCore
import Logging
import ServiceLifecycle

/// Rolls raw samples up into hourly rows and prunes old history, at start and then every
/// hour, so `lookout.sqlite` stays bounded (raw for `raw_days`, hourly for `hourly_days`).
struct RetentionService: Service {
    let store: HistoryStore
    let retention: Retention
    let logger: Logger
    let now: @Sendable () -> Date
    var interval: Duration = .seconds(3600)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let report = try await store.applyRetention(now: now(), retention: retention)
                if report.hoursRolledUp + report.rawDeleted + report.hourlyDeleted > 0 {
                    logger.info(
                        """
                        retention: rolled up \(report.hoursRolledUp) hour(s), deleted \(report.rawDeleted) raw \
                        and \(report.hourlyDeleted) hourly row(s)
                        """)
                }
            } catch {
                logger.error("retention pass failed: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

import Logging
import LookoutCore
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Runs an alert pass every `interval` inside `lookout serve`. It only queues: the
/// ``DeliveryService`` beside it is woken by the outbox and delivers, so a channel that
/// hangs never delays the next pass.
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
                if report.notices > 0 {
                    logger.info("alert pass: \(report.active) active, \(report.notices) new notice(s) queued")
                }
            } catch {
                logger.error("alert pass failed: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

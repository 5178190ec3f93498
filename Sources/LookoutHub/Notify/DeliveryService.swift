import Logging
import LookoutCore
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Delivers the outbox inside `lookout serve`: one task per channel, each running a round
/// when something is queued for it and every `interval` (for retries that came due), so a
/// channel that hangs holds up only itself.
struct DeliveryService: Service {
    let outbox: Outbox
    let channels: [any NotificationChannel]
    let interval: Duration
    let logger: Logger
    let now: @Sendable () -> Date

    func run() async throws {
        guard !channels.isEmpty else {
            // Nothing to deliver; a service that returns early would end the service group.
            try? await gracefulShutdown()
            return
        }
        logger.info("delivering notices via \(channels.map(\.id).joined(separator: ", "))")
        outbox.sweepUnknown(channels: channels)
        let streams = channels.map { outbox.wakeups(for: $0.id) }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { [outbox, interval] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        outbox.wakeAll()
                    }
                }
                for (channel, stream) in zip(channels, streams) {
                    group.addTask { [outbox, now] in
                        _ = await outbox.deliver(channel: channel, now: now())
                        for await _ in stream {
                            _ = await outbox.deliver(channel: channel, now: now())
                        }
                    }
                }
            }
        }
    }
}

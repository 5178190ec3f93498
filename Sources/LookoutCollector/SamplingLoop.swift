import Logging
import LookoutCore

/// The one sampling loop of a long-running agent: `lookout-agent run` and the hub's own
/// local agent both run it, each with its own idea of where a document goes.
///
/// Ticks are aligned to the start time, so the cadence does not drift; a sample that
/// overruns skips the ticks it missed instead of bunching up. Counters stay in memory
/// between samples.
public struct SamplingLoop: Sendable {
    public let collector: Collector
    public let interval: Duration
    let logger: Logger

    public init(collector: Collector, interval: Duration, logger: Logger) {
        self.collector = collector
        self.interval = interval
        self.logger = logger
    }

    /// Waits until a deadline; throwing ends the loop. The default is `Task.sleep`, which
    /// throws when the task is cancelled; the hub also ends it on graceful shutdown.
    public typealias Sleep = @Sendable (ContinuousClock.Instant) async throws -> Void

    /// Samples now, then every ``interval``, until `sleep` throws (the task is cancelled).
    /// - Parameters:
    ///   - state: the counters to start from (a state file's, or none).
    ///   - sleep: how to wait for the next tick.
    ///   - deliver: where each document goes: the data folder and the hub for the agent,
    ///     the ingestor for the hub's local agent. A failed sample is logged and skipped.
    public func run(
        from state: AgentState,
        sleep: Sleep = { try await Task.sleep(until: $0, clock: .continuous) },
        deliver: (MetricsDocument) async -> Void
    ) async {
        var state = state
        let clock = ContinuousClock()
        var deadline = clock.now
        while !Task.isCancelled {
            do {
                let (document, next) = try await collector.collect(state: state)
                state = next
                await deliver(document)
            } catch {
                if Task.isCancelled { break }
                logger.error("sample failed: \(error)")
            }
            deadline = deadline.advanced(by: interval)
            while deadline < clock.now { deadline = deadline.advanced(by: interval) }
            do {
                try await sleep(deadline)
            } catch {
                break
            }
        }
    }
}

import ArgumentParser
import Logging
import LookoutCollector
import LookoutCore
import LookoutHub
import ServiceLifecycle

/// The hub's own agent: samples this machine with the collector's ``SamplingLoop`` (the
/// one `lookout-agent run` uses) and hands each document straight to the ingestor (no
/// file, no HTTP).
struct LocalAgent: Service {
    let ingestor: Ingestor
    let loop: SamplingLoop
    let logger: Logger

    init(ingestor: Ingestor, interval: Duration, environment: [String: String], logger: Logger) throws {
        var options = AgentOptions()
        options.intervalSeconds = Int(interval.components.seconds)
        let settings: AgentSettings
        do {
            settings = try AgentSettings.resolve(options, environment: environment)
        } catch {
            logger.critical("local agent: \(error)")
            throw ExitCode(78)
        }
        var logger = logger
        // Marks the loop's own lines ("sample failed: …") as this machine's, not an agent's.
        logger[metadataKey: "agent"] = "local"
        self.ingestor = ingestor
        self.loop = SamplingLoop(
            collector: Collector(settings: settings, logger: logger), interval: interval, logger: logger)
        self.logger = logger
    }

    func run() async throws {
        // A graceful shutdown ends the wait for the next tick, never a sample being stored.
        await loop.run(
            from: AgentState(),
            sleep: { deadline in
                try await cancelWhenGracefulShutdown { try await Task.sleep(until: deadline, clock: .continuous) }
            },
            deliver: { document in
                switch await ingestor.ingest(document) {
                case .rejected(let reason), .failed(let reason):
                    logger.error("this machine's document was not stored: \(reason)")
                case .stored, .storedOlder, .duplicate:
                    break
                }
            })
    }
}

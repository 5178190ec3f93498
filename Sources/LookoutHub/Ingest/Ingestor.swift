#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LookoutCore
import Logging

/// The one way a document enters the hub, whatever carried it (folder, HTTP, the hub's
/// own agent): stored in history first, then made the VM's latest in memory. A sample
/// is acknowledged only once SQLite has committed it.
public struct Ingestor: Sendable {
    public let store: HistoryStore
    public let fleet: Fleet
    let logger: Logger
    let now: @Sendable () -> Date

    /// How far ahead of the hub's clock a timestamp may be: a VM whose clock runs fast
    /// would otherwise pin its "latest" document in the future.
    public static let maxClockSkew: TimeInterval = 600

    public init(store: HistoryStore, fleet: Fleet, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.fleet = fleet
        self.logger = logger
        self.now = now
    }

    /// Loads every VM's latest document from the store into the fleet (hub start).
    public func restore() async throws(HubError) {
        for document in try await store.latestDocuments() {
            fleet.update(document)
        }
    }

    public func ingest(_ document: MetricsDocument) async -> IngestOutcome {
        let skew = document.timestamp.timeIntervalSince(now())
        guard skew <= Self.maxClockSkew else {
            return .rejected(
                "timestamp: \(Timestamp.format(document.timestamp)) is \(Int(skew)) s ahead of the hub's clock; "
                    + "check the VM's time sync")
        }
        // Encoded once, for the store's latest row and the API's copy in memory.
        let encoded = document.encoded()
        do {
            guard try await store.insert(document, encoded: encoded) else {
                // Another process (a cron `lookout check`) may have stored it first: the
                // fleet must still see it, or this hub would keep judging an older one.
                fleet.update(document, encoded: encoded)
                return .duplicate
            }
        } catch {
            logger.error("could not store the document of \(document.vmID): \(error)")
            return .failed("could not store the document: \(error)")
        }
        return fleet.update(document, encoded: encoded) ? .stored : .storedOlder
    }
}

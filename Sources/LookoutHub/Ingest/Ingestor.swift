import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

    /// The hub's data folder, beside the database.
    var dataFolder: String { AtomicFile.folder(of: store.path) }

    /// Loads every VM's latest document from the store into the fleet (hub start), minus
    /// the VMs forgotten since.
    public func restore() async throws(HubError) {
        for document in try await store.latestDocuments() {
            fleet.update(document)
        }
        await applyForgetRequests(acknowledge: false)
    }

    /// Applies every forget request (`DATA/.forget/`) the fleet does not know yet: drops the
    /// VM and deletes its latest row if one came back since (an older document that raced the
    /// forget). Cheap when nothing is new (one folder listing), so the folder watcher runs it
    /// on every scan.
    /// - Parameter acknowledge: mark the request applied, for a `lookout forget` waiting on a
    ///   running hub; only that hub's watcher may (a cron `check` applying it would not keep
    ///   the running hub's alert pass from seeing the VM).
    public func applyForgetRequests(acknowledge: Bool) async {
        let requests = ForgetRequests(dataFolder: dataFolder)
        let (all, problems) = requests.all()
        for problem in problems { logger.debug("\(problem)") }
        for request in all {
            if fleet.forget(request.vmID, at: request.forgottenAt) {
                do {
                    try await store.forgetLatest(vmID: request.vmID, notAfter: request.forgottenAt)
                } catch {
                    logger.warning("forgetting \(request.vmID): \(error)")
                }
                let until = Timestamp.format(request.forgottenAt)
                // Once per forget; every later start (or cron `check`) only at debug level.
                logger.log(
                    level: request.appliedAt == nil ? .notice : .debug,
                    "forgot \(request.vmID): its documents up to \(until) are ignored, a newer one brings it back")
            }
            guard acknowledge, request.appliedAt == nil else { continue }
            var applied = request
            applied.appliedAt = now()
            do {
                try requests.save(applied)
            } catch {
                logger.warning("\(error)")
            }
        }
    }

    public func ingest(_ document: MetricsDocument) async -> IngestOutcome {
        let skew = document.timestamp.timeIntervalSince(now())
        guard skew <= Self.maxClockSkew else {
            return .rejected(
                "timestamp: \(Timestamp.format(document.timestamp)) is \(Int(skew)) s ahead of the hub's clock; "
                    + "check the VM's time sync")
        }
        let forgotten = fleet.forgottenAt(document.vmID)
        if let forgotten, document.timestamp <= forgotten {
            return .rejected(
                "\(document.vmID) was forgotten at \(Timestamp.format(forgotten)) (lookout forget); its documents "
                    + "up to then are ignored, a newer one brings it back")
        }
        // Encoded once, for the store's latest row and the API's copy in memory.
        let encoded = document.encoded()
        let outcome: IngestOutcome
        do {
            if try await store.insert(document, encoded: encoded) {
                // Equal timestamps: the fleet took this document already while the store was failing.
                let newest =
                    fleet.update(document, encoded: encoded)
                    || fleet.entry(document.vmID)?.document.timestamp == document.timestamp
                outcome = newest ? .stored : .storedOlder
            } else {
                // Another process (a cron `lookout check`) may have stored it first: the
                // fleet must still see it, or this hub would keep judging an older one.
                fleet.update(document, encoded: encoded)
                outcome = .duplicate
            }
        } catch {
            // The store logs its failures (once, then a summary). The fleet still takes the
            // document, so the alert pass judges what the VM says now (its disk filling up,
            // or that it is alive); the 503 makes the sender keep it and send it again.
            fleet.update(document, encoded: encoded)
            return .failed("could not store the document: \(error)")
        }
        if forgotten != nil {
            ForgetRequests(dataFolder: dataFolder).remove(document.vmID)
            logger.notice("\(document.vmID) reports again after it was forgotten: it is back in the fleet")
        }
        return outcome
    }
}

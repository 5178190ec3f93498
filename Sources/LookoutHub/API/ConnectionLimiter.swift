import Logging
import NIOCore
import Synchronization

/// Caps the hub's concurrent HTTP connections so they can never take the descriptors the
/// store, the folder watcher and the notifiers need (`--max-connections`).
///
/// At the cap, a new connection takes the place of the one that has waited longest for a
/// request head (an idle keep-alive connection, one that never sent anything, or a
/// slowloris still trickling its head): those have nothing in progress, and closing them
/// loses nothing the hub promised. Connections with a request in progress are never
/// closed; when every connection is busy, the new one is closed at once (refused).
/// This is what keeps a hub flooded with idle sockets answering normal requests.
final class ConnectionLimiter: Sendable {
    /// What to do with a newly accepted connection.
    enum Admission {
        /// Keep it; close `evicting` (the connection that waited longest) if there is one.
        case admitted(evicting: (any Channel)?)
        /// Close it at once: every connection has a request in progress.
        case refused
    }

    private struct Entry {
        let channel: any Channel
        /// When the connection began waiting for a request head (a sequence number, so
        /// the order is exact); nil while a request is in progress.
        var waitingSince: UInt64?
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var sequence: UInt64 = 0
        var evicted = 0
        var refused = 0
        var lastReport: ContinuousClock.Instant?
    }

    let limit: Int
    let logger: Logger
    private let state = Mutex(State())
    /// How often the limiter says it is at the cap, at most.
    static let reportInterval = Duration.seconds(60)

    init(limit: Int, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    /// Connections open now.
    var count: Int { state.withLock { $0.entries.count } }

    func admit(_ channel: any Channel) -> Admission {
        let (admission, report) = state.withLock { state -> (Admission, String?) in
            state.sequence += 1
            var victim: (any Channel)?
            if state.entries.count >= limit {
                let oldest = state.entries.filter { $0.value.waitingSince != nil }
                    .min { $0.value.waitingSince! < $1.value.waitingSince! }
                guard let oldest else {
                    state.refused += 1
                    return (.refused, Self.report(&state, limit: limit))
                }
                state.entries[oldest.key] = nil
                state.evicted += 1
                victim = oldest.value.channel
            }
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, waitingSince: state.sequence)
            return (.admitted(evicting: victim), victim == nil ? nil : Self.report(&state, limit: limit))
        }
        if let report { logger.warning("\(report)") }
        return admission
    }

    /// A request head arrived: the connection is no longer a candidate to close.
    func markBusy(_ channel: any Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.waitingSince = nil }
    }

    /// The last response was written: the connection waits for its next request.
    func markWaiting(_ channel: any Channel) {
        state.withLock { state in
            state.sequence += 1
            state.entries[ObjectIdentifier(channel)]?.waitingSince = state.sequence
        }
    }

    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// A line for the log the first time the cap is reached and then at most once per
    /// ``reportInterval``, with what happened since: one line, not one per connection.
    private static func report(_ state: inout State, limit: Int) -> String? {
        let now = ContinuousClock.now
        if let last = state.lastReport, now - last < reportInterval { return nil }
        state.lastReport = now
        defer { (state.evicted, state.refused) = (0, 0) }
        return "connection limit \(limit) reached: closed \(state.evicted) connection(s) "
            + "that waited longest for a request, refused \(state.refused) new one(s) while all were busy (--max-connections; see docs/reverse-proxy.md)"
    }
}

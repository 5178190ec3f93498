import Logging
import LookoutCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A failure that comes back on every scan or every write, logged once and then summarised.
///
/// A full disk fails every file of every scan; one line per file per scan buries the cause
/// and fills the journal of the very disk that is full. So: the first failure is an error
/// line with its reason, later ones are counted, a summary ("still failing: N …, last
/// error …") goes out at most every `interval`, and the moment nothing fails any more a
/// notice says so.
final class RepeatedFailureLog: Sendable {
    private struct State {
        /// What fails right now, with its last reason.
        var failing: [String: String] = [:]
        var since: Date?
        var failures = 0
        var failuresSinceSummary = 0
        var lastLine: Date?
        var lastReason = ""
    }

    private let logger: Logger
    private let what: String
    private let interval: TimeInterval
    private let now: @Sendable () -> Date
    private let state = Mutex(State())

    /// - Parameters:
    ///   - what: the activity, for every line ("storing documents from the data folder").
    ///   - interval: the least time between two summaries.
    init(logger: Logger, what: String, interval: TimeInterval = 300, now: @escaping @Sendable () -> Date = { Date() }) {
        self.logger = logger
        self.what = what
        self.interval = interval
        self.now = now
    }

    /// Whether anything is failing.
    var isFailing: Bool { state.withLock { !$0.failing.isEmpty } }

    /// Records that `item` failed with `reason`.
    func failed(_ item: String, _ reason: String) {
        let now = now()
        enum Line { case first, summary(items: [String], count: Int, minutes: Int) }
        let line = state.withLock { state -> Line? in
            let wasFailing = !state.failing.isEmpty
            state.failing[item] = reason
            state.failures += 1
            state.failuresSinceSummary += 1
            state.lastReason = reason
            guard wasFailing else {
                state.since = now
                state.lastLine = now
                state.failuresSinceSummary = 0
                return .first
            }
            guard let last = state.lastLine, now.timeIntervalSince(last) >= interval || now < last else { return nil }
            defer {
                state.lastLine = now
                state.failuresSinceSummary = 0
            }
            return .summary(
                items: state.failing.keys.sorted(), count: state.failuresSinceSummary,
                minutes: max(1, Int(now.timeIntervalSince(last) / 60)))
        }
        switch line {
        case .first:
            let every = "retried; while it keeps failing, a summary every \(Int(interval / 60)) min"
            logger.error("\(what) failed: \(item): \(reason) (\(every))")
        case .summary(let items, let count, let minutes):
            let shown = items.prefix(3).joined(separator: ", ") + (items.count > 3 ? ", …" : "")
            let failures = "\(count) failure(s) in the last \(minutes) min"
            logger.error("\(what) still failing: \(items.count) item(s) (\(shown)), \(failures), last error: \(reason)")
        case nil:
            break
        }
    }

    /// Records that `item` works (or is gone); once nothing fails any more, says so once.
    func succeeded(_ item: String) {
        let recovered = state.withLock { state -> (failures: Int, since: Date)? in
            guard state.failing.removeValue(forKey: item) != nil, state.failing.isEmpty else { return nil }
            defer {
                state.failures = 0
                state.since = nil
                state.lastLine = nil
            }
            return (state.failures, state.since ?? now())
        }
        if let recovered {
            let since = Timestamp.format(recovered.since)
            logger.notice("\(what) works again (\(recovered.failures) failure(s) since \(since))")
        }
    }

    /// Forgets every item that is not in `items` (files that disappeared), as ``succeeded(_:)``.
    func keepOnly(_ items: Set<String>) {
        let gone = state.withLock { $0.failing.keys.filter { !items.contains($0) } }
        for item in gone { succeeded(item) }
    }
}

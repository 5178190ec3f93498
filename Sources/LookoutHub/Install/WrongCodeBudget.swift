import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How many refused enrollment codes the whole hub takes per minute before it stops looking
/// codes up (429) until the minute is over. A code has 40 bits; at this rate a guesser needs
/// tens of thousands of years for an even chance at one code valid for a week, and a flood
/// costs no lock and no file read. Global, not per address: behind a reverse proxy every
/// caller has the proxy's address. The price, a real install refused for up to a minute
/// during a flood, is said in the answer and the log.
public final class WrongCodeBudget: Sendable {
    public static let perMinute = 30
    private let window = Mutex<(start: Date, refused: Int)>((.distantPast, 0))

    public init() {}

    /// Whether a trade may be tried at `now`.
    public func allows(at now: Date) -> Bool {
        window.withLock { state in
            if now.timeIntervalSince(state.start) >= 60 { state = (now, 0) }
            return state.refused < Self.perMinute
        }
    }

    /// Counts one refused code.
    public func refused(at now: Date) {
        window.withLock { state in
            if now.timeIntervalSince(state.start) >= 60 { state = (now, 0) }
            state.refused += 1
        }
    }
}

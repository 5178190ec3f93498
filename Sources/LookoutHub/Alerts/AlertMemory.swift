import LookoutCore
import Synchronization

/// What a pass could not write, kept for the next pass of this process: the alert state
/// when `alerts.json` cannot be saved (the next pass starts from it, so nothing is told
/// twice), and resolved alerts the history store refused (recorded on a later pass; at most
/// the last 10,000, so a store that never recovers cannot grow the hub without bound).
final class AlertMemory: Sendable {
    private let state = Mutex((unsaved: AlertState?.none, unrecorded: [Alert]()))

    func unsavedState() -> AlertState? { state.withLock { $0.unsaved } }
    func setUnsavedState(_ value: AlertState?) { state.withLock { $0.unsaved = value } }
    func takeUnrecorded() -> [Alert] {
        state.withLock { state in
            let alerts = state.unrecorded
            state.unrecorded = []
            return alerts
        }
    }
    func addUnrecorded(_ alerts: [Alert]) {
        state.withLock { $0.unrecorded = Array(($0.unrecorded + alerts).suffix(10_000)) }
    }
}

import GRDB
import Logging
import LookoutCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the history store has learned about its file while running: sound, failing for a
/// while (a full disk, an I/O error: writes are retried and the state clears on the first
/// one that commits), or damaged (SQLite reported corruption: nothing is written any more,
/// so the file stays as it was for a restore or `.recover`).
final class StoreCondition: Sendable {
    private struct State {
        var damage: HubError?
        var failure: String?
        var probing = false
    }

    let path: String
    private let state = Mutex(State())
    private let failures: RepeatedFailureLog
    private let logger: Logger

    init(path: String, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.path = path
        self.logger = logger
        failures = RepeatedFailureLog(logger: logger, what: "writing to the history database \(path)", now: now)
    }

    /// The error every write gets once the file is known to be damaged.
    var damage: HubError? { state.withLock { $0.damage } }

    /// Whether writes fail for a reason that may pass (and the file is not damaged).
    var isFailing: Bool { state.withLock { $0.damage == nil && $0.failure != nil } }

    /// Claims the one probe task; false when one runs already.
    func startProbing() -> Bool {
        state.withLock { state in
            defer { state.probing = true }
            return !state.probing
        }
    }

    func stopProbing() {
        state.withLock { $0.probing = false }
    }

    var health: StoreHealth {
        state.withLock { state in
            if let damage = state.damage { return StoreHealth(status: .degraded, reason: damage.message) }
            if let failure = state.failure { return StoreHealth(status: .degraded, reason: failure) }
            return .ok
        }
    }

    /// Whether `error` is about the database file as a whole (so every other write would fail
    /// the same way), rather than about one document.
    static func isStoreWide(_ error: any Error) -> Bool {
        guard let code = (error as? DatabaseError)?.resultCode else { return false }
        return [
            .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_CANTOPEN, .SQLITE_READONLY,
            .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_NOMEM, .SQLITE_PERM,
        ].contains(code)
    }

    /// Records a failed write (or a read that found corruption); returns the error for the caller.
    @discardableResult
    func failed(_ error: any Error, task: String) -> HubError {
        if let damage { return damage }
        let code = (error as? DatabaseError)?.resultCode
        if code == .SQLITE_CORRUPT || code == .SQLITE_NOTADB {
            let damage = StoreCheck.damaged(path, detail: "\(task): \(error)")
            state.withLock { $0.damage = damage }
            logger.critical("\(damage); writes stopped, ingest answers 503 until it is restored and lookout restarted")
            return damage
        }
        let folder = AtomicFile.folder(of: path)
        let cause: String =
            if code == .SQLITE_FULL || code == .SQLITE_IOERR, let full = DiskSpace.fullMessage(folder: folder) {
                full + "; writes resume by themselves once there is room"
            } else if code == .SQLITE_IOERR {
                "\(error); the disk may be failing (see dmesg)"
            } else {
                "\(error)"
            }
        let reason = "history database \(path): \(task): \(cause)"
        if Self.isStoreWide(error) {
            state.withLock { $0.failure = reason }
            failures.failed("the history database", cause)
        }
        return HubError(reason)
    }

    /// Records a write that committed; true when it ended a failure (the WAL deserves a checkpoint).
    @discardableResult
    func succeeded() -> Bool {
        let wasFailing = state.withLock { state in
            defer { state.failure = nil }
            return state.failure != nil
        }
        if wasFailing { failures.succeeded("the history database") }
        return wasFailing
    }
}

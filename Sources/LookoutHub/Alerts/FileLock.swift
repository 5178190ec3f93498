import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive `flock` on a file, so that `lookout serve` and a cron run of `lookout
/// check` never evaluate at the same time, nor deliver one channel's notices at the same
/// time (either could send a notice twice). The kernel drops the lock when the process
/// dies, so a crash never wedges it.
struct FileLock: Sendable {
    let path: String

    /// Runs `body` holding the lock, waiting up to `timeout` for it.
    func withLock<T: Sendable>(
        timeout: Duration = .seconds(60), _ body: () async throws(HubError) -> T
    ) async throws(HubError) -> T {
        let fd: Int32
        do {
            fd = try await FileLocking.lock(path, permissions: 0o644, wait: timeout)
        } catch {
            switch error {
            case .busy: throw HubError("another alert pass holds \(path) (waited \(timeout))")
            case .unavailable(let problem): throw HubError("could not take the lock file: \(problem)")
            }
        }
        defer { close(fd) }
        return try await body()
    }

    /// What ``ifFree(_:)`` found.
    enum Attempt<T> {
        case ran(T)
        /// Another process holds the lock.
        case busy
    }

    /// Runs `body` if no other process holds the lock, without waiting. A lock file that
    /// cannot be opened (its folder cannot be created: a full disk) runs `body` unlocked:
    /// then there is nothing on disk another process could deliver twice.
    func ifFree<T>(_ body: () async -> T) async -> Attempt<T> {
        let fd: Int32
        do {
            fd = try await FileLocking.lock(path, permissions: 0o644, wait: .zero)
        } catch {
            if case .busy = error { return .busy }
            return .ran(await body())
        }
        defer { close(fd) }
        return .ran(await body())
    }
}

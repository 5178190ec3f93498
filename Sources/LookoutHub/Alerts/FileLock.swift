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
        let fd = try openFile()
        defer { close(fd) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, clock.now < deadline else {
                throw HubError("another alert pass holds \(path) (waited \(timeout))")
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        defer { flock(fd, LOCK_UN) }
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
        guard let fd = try? openFile() else { return .ran(await body()) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return .busy }
        defer { flock(fd, LOCK_UN) }
        return .ran(await body())
    }

    private func openFile() throws(HubError) -> CInt {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw HubError("could not open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }
}

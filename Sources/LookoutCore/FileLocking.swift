#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The one `flock` routine of Lookout: the agent's state lock, the hub's alert and channel
/// locks and the folder watcher's presence lock are all built on it.
///
/// `flock` is advisory and belongs to the open file: closing the descriptor (or the process
/// dying) drops the lock, so a crashed run never wedges the next one.
public enum FileLocking {
    public enum Failure: Error, Sendable {
        /// Another process held the lock for the whole wait.
        case busy(path: String)
        /// The lock file could not be opened or locked (a missing or read-only folder).
        case unavailable(FileError)

        /// In words, for the error of whoever needed the lock: `what` names it (`silences`).
        public func message(lock what: String, wait: Duration) -> String {
            switch self {
            case .busy(let path): "\(path) stayed locked for \(wait) by another process"
            case .unavailable(let error): "\(what) lock: \(error)"
            }
        }
    }

    /// Opens `path` (creating it with `permissions`) and locks it, polling every 50 ms for
    /// up to `wait` while another process holds it (`.zero`: try once).
    ///
    /// - Parameters:
    ///   - shared: a shared lock (many holders) instead of an exclusive one.
    ///   - onWait: called once, when the lock is found held, before waiting.
    /// - Returns: the descriptor; close it to release the lock.
    public static func lock(
        _ path: String, permissions: mode_t = 0o600, shared: Bool = false, wait: Duration,
        onWait: () -> Void = {}
    ) async throws(Failure) -> Int32 {
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, permissions)
        if fd < 0 && errno == EACCES {
            // A lock file another user made (a cron run as root): flock needs no write access.
            fd = open(path, O_RDONLY | O_CLOEXEC)
        }
        guard fd >= 0 else { throw .unavailable(FileError(path: path, operation: "open", errno: errno)) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: wait)
        var waiting = false
        while flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(fd)
                throw .unavailable(FileError(path: path, operation: "lock", errno: code))
            }
            guard clock.now < deadline else {
                close(fd)
                throw .busy(path: path)
            }
            if !waiting {
                waiting = true
                onWait()
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return fd
    }
}

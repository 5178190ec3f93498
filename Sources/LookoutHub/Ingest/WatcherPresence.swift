#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `DATA/.watcher.lock`, held with a shared `flock` by every running folder watcher (`lookout
/// serve`), so that `lookout forget` knows whether a hub will apply its request and is worth
/// waiting for. The kernel drops the lock with the process, so a crashed hub never seems alive.
struct WatcherPresence: Sendable {
    let path: String

    init(dataFolder: String) {
        path = "\(dataFolder)/.watcher.lock"
    }

    /// Takes the shared lock; returns the descriptor to close when the watcher stops, or nil.
    func hold() -> Int32? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_SH) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Whether a running watcher holds the lock.
    func isHeld() -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }
}

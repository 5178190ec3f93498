import LookoutCore

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
    func hold() async -> Int32? {
        // Waits only while a `forget` probes with an exclusive try (an instant).
        try? await FileLocking.lock(path, permissions: 0o644, shared: true, wait: .seconds(5))
    }

    /// Whether a running watcher holds the lock: an exclusive try fails only then.
    func isHeld() async -> Bool {
        do {
            close(try await FileLocking.lock(path, permissions: 0o644, wait: .zero))
            return false
        } catch {
            if case .busy = error { return true }
            return false
        }
    }
}

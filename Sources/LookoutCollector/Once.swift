import Synchronization

/// A flag that is true exactly once, shared by every copy of the struct holding it.
final class Once: Sendable {
    private let done = Mutex(false)

    /// `true` the first time only.
    func claim() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }
}

/// ``Once`` per key: true the first time a given key is claimed, so a warning about one
/// mount point is logged once per process, not at every sample of `run`.
final class OncePerKey: Sendable {
    private let claimed = Mutex(Set<String>())

    /// `true` the first time `key` is claimed only.
    func claim(_ key: String) -> Bool {
        claimed.withLock { $0.insert(key).inserted }
    }
}

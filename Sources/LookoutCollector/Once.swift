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

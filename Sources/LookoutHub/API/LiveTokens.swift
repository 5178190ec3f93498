import LookoutCore
import Synchronization

/// The hub's tokens as the auth middlewares read them on every request: an enrollment adds
/// or rotates a per-VM token while `serve` runs, and the next request sees it without a
/// restart. One lock-protected value, so a request never reads a half-made change.
public final class LiveTokens: Sendable {
    private let value: Mutex<APITokens>

    public init(_ tokens: APITokens) {
        value = Mutex(tokens)
    }

    /// The tokens now.
    public var current: APITokens { value.withLock { $0 } }

    /// Replaces the per-VM tokens with `perVM` (the whole map just written to the tokens
    /// file, so an entry the operator edited in by hand is picked up at the same time).
    public func replacePerVM(_ perVM: [VMID: String]) {
        value.withLock { $0.perVM = perVM }
    }
}

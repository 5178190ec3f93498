import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs blocking network code on a thread of its own and awaits its result.
///
/// The agent's socket code blocks (with `poll` deadlines) instead of running an event
/// loop; on a 1-vCPU VM Swift's cooperative pool has a single thread, so blocking it
/// would run every health check one after another. A short-lived thread per exchange
/// costs far less than an event loop that lives as long as the process, and a sample
/// rarely makes more than a dozen requests (Docker stats are capped at 8 at a time).
enum BlockingCall {
    /// Runs `work` on a new thread. `work` keeps its own deadline; `timeout` is a
    /// backstop for the one step `poll` cannot bound (a host name lookup the resolver
    /// keeps retrying): the caller gets ``NetworkError/timedOut`` then, and the thread
    /// finishes on its own.
    static func run<T: Sendable>(
        timeout: Duration, _ work: @escaping @Sendable () throws(NetworkError) -> T
    ) async throws(NetworkError) -> T {
        let outcome = Outcome<T>()
        let result: Result<T, NetworkError> = await withCheckedContinuation { continuation in
            outcome.install(continuation)
            let backstop = Task {
                try? await Task.sleep(for: timeout + .milliseconds(100))
                outcome.resume(with: .failure(.timedOut))
            }
            outcome.onResume { backstop.cancel() }
            if !startThread({ outcome.resume(with: Result { () throws(NetworkError) in try work() }) }) {
                outcome.resume(with: .failure(.system(errno: EAGAIN)))
            }
        }
        return try result.get()
    }

    /// Starts a detached thread running `body`; `false` when the system refused one.
    private static func startThread(_ body: @escaping @Sendable () -> Void) -> Bool {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        // OpenSSL's handshake is the deepest caller; 512 KiB is ample and keeps many threads cheap.
        pthread_attr_setstacksize(&attributes, 512 << 10)
        var thread = pthread_t()
        let status = pthread_create(
            &thread, &attributes,
            { raw in
                Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, box)
        if status != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            return false
        }
        return true
    }

    /// The first of the thread's result and the backstop wins; the other is dropped.
    private final class Outcome<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Result<T, NetworkError>, Never>?
            var done = false
            var onResume: (@Sendable () -> Void)?
        }
        private let state = Mutex(State())

        func install(_ continuation: CheckedContinuation<Result<T, NetworkError>, Never>) {
            state.withLock { $0.continuation = continuation }
        }

        func onResume(_ action: @escaping @Sendable () -> Void) {
            let runNow = state.withLock { state in
                if state.done { return true }
                state.onResume = action
                return false
            }
            if runNow { action() }
        }

        func resume(with result: Result<T, NetworkError>) {
            let (continuation, action) = state.withLock { state in
                guard !state.done else {
                    return (nil as CheckedContinuation<Result<T, NetworkError>, Never>?, nil as (@Sendable () -> Void)?)
                }
                state.done = true
                defer { state.continuation = nil; state.onResume = nil }
                return (state.continuation, state.onResume)
            }
            continuation?.resume(returning: result)
            action?()
        }
    }
}

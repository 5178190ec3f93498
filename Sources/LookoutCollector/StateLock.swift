import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive `flock` on `<state file>.lock`, held by `collect` from reading the state
/// file to saving it, so two overlapping cron runs never interleave: one would otherwise
/// measure CPU against counters the other is replacing, and both would replay the same
/// spool.
///
/// The lock is on a file of its own because the state file is replaced by a rename: a
/// lock on the old inode would not exclude a run that opens the new one. The kernel drops
/// the lock when the process dies, so a killed run never wedges the next; the file stays
/// (removing it would let two runs lock two different files).
public final class StateLock: Sendable {
    public let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    public typealias Failure = FileLocking.Failure

    /// The lock file of `statePath`.
    public static func path(forState statePath: String) -> String { "\(statePath).lock" }

    /// Takes the lock, polling every 50 ms for up to `wait` while another process holds it.
    /// - Parameter onWait: called once, when the lock is found held, before waiting.
    public static func acquire(
        path: String, wait: Duration, onWait: () -> Void = {}
    ) async throws(Failure) -> StateLock {
        do {
            return StateLock(path: path, fd: try await FileLocking.lock(path, wait: wait, onWait: onWait))
        } catch {
            guard case .unavailable(let problem) = error, problem.code == ENOENT else { throw error }
        }
        // The first run ever: the state folder does not exist yet.
        do {
            try AtomicFile.makeDirectories(AtomicFile.folder(of: path), mode: 0o700)
        } catch {
            throw .unavailable(error)
        }
        return StateLock(path: path, fd: try await FileLocking.lock(path, wait: wait, onWait: onWait))
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import LookoutCore

/// `DATA/alerts.json`: the active alerts (the `/api/monitoring/alerts` body) and what was
/// told about each, written atomically after every pass.
struct AlertStateFile: Sendable {
    let path: String

    init(dataFolder: String) {
        path = "\(dataFolder)/alerts.json"
    }

    /// The saved state; an empty one before the first pass. A damaged file is an error,
    /// not a fresh start: starting over would resend every open alert.
    func load() throws(HubError) -> AlertState {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 64 << 20)
        } catch {
            if error.isNotFound { return AlertState() }
            throw HubError("alert state: \(error)")
        }
        do {
            return try JSONDecoder().decode(AlertState.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw HubError("alert state \(path) is damaged (\(DocumentError(error))); move it aside to start over")
        } catch {
            throw HubError("alert state \(path): \(error)")
        }
    }

    func save(_ state: AlertState) throws(HubError) {
        do {
            try AtomicFile.write(JSONEncoder.lookout(pretty: true).encode(state), to: path)
        } catch let error as FileError {
            throw HubError("could not save the alert state: \(error)")
        } catch {
            throw HubError("could not encode the alert state: \(error)")
        }
    }
}

/// An exclusive `flock` on a file, so that `lookout serve`'s alert pass and a cron run of
/// `lookout check` never evaluate or deliver at the same time (which could send a notice
/// twice). The kernel drops the lock when the process dies, so a crash never wedges it.
struct FileLock: Sendable {
    let path: String

    /// Runs `body` holding the lock, waiting up to `timeout` for it.
    func withLock<T: Sendable>(
        timeout: Duration = .seconds(60), _ body: () async throws(HubError) -> T
    ) async throws(HubError) -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HubError("could not open the lock file \(path): \(String(cString: strerror(errno)))") }
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
}

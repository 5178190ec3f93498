#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Runs `<binary> --version` and returns what it printed: the proof, before a new agent
/// binary replaces the running one, that it starts on this machine (right architecture,
/// its libraries present, not truncated) and is the version the hub announced.
public enum VersionProbe {
    /// A sane binary answers `--version` at once; this is only a bound for a hung one.
    public static let timeout: Duration = .seconds(20)

    /// The first line of standard output, trimmed; throws when the file cannot be run,
    /// is killed, exits non-zero, or prints nothing within ``timeout``.
    public static func version(of path: String) throws(UpgradeError) -> String {
        var pipeFDs: [Int32] = [0, 0]
        // Both ends close-on-exec (the child gets its own copy by dup2), so no other child
        // spawned meanwhile holds the write end open.
        guard pipe(&pipeFDs) == 0, fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC) == 0,
            fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC) == 0
        else {
            throw .failed("could not run \(path) --version: \(String(cString: strerror(errno)))")
        }
        let (readFD, writeFD) = (pipeFDs[0], pipeFDs[1])
        defer { close(readFD) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writeFD, 1)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), strdup("--version"), nil]
        defer { argv.forEach { free($0) } }
        let environ: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer { environ.forEach { free($0) } }
        var pid: pid_t = 0
        var spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        // A child another thread forks in the moment between its fork and exec still holds
        // the descriptor that wrote the file (close-on-exec closes it only at exec): the
        // kernel says "Text file busy" until that child execs. It passes within microseconds.
        var retries = 0
        while spawned == ETXTBSY, retries < 100 {
            retries += 1
            usleep(10_000)
            spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        }
        close(writeFD)
        guard spawned == 0 else {
            throw .failed("\(path) does not run here: \(String(cString: strerror(spawned)))")
        }
        var output: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        while output.count < 4096 {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                timedOut = true
                break
            }
            var poller = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(left.components.seconds * 1000 + 1))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = read(readFD, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            output += buffer[0..<count]
        }
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        if timedOut { throw .failed("\(path) --version did not answer within \(timeout)") }
        let signal = status & 0x7F
        let exitCode = (status >> 8) & 0xFF
        guard signal == 0 else { throw .failed("\(path) --version was killed by signal \(signal)") }
        guard exitCode == 0 else { throw .failed("\(path) --version exited with \(exitCode)") }
        let firstLine = output.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).first ?? []
        let text = String(decoding: firstLine, as: UTF8.self).trimmingWhitespace()
        guard !text.isEmpty else { throw .failed("\(path) --version printed nothing") }
        return text
    }
}

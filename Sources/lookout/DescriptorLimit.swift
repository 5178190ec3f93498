#if canImport(Glibc)
    import Glibc
#endif

/// The process's open-file limit (RLIMIT_NOFILE): every HTTP connection, the database and
/// each file the watcher reads takes a descriptor, and the soft limit of a systemd
/// service is 1,024 by default.
enum DescriptorLimit {
    /// Descriptors kept for files when the connection cap is derived from the limit: the
    /// store (database, WAL, shared memory), the folder watcher, the outbox, SMTP and
    /// webhook sockets, the local agent's /proc reads.
    static let reserve = 256
    /// The default cap never goes above this: a lightweight hub has no use for more
    /// connections at once, and each costs memory (`--max-connections` raises it).
    static let defaultCeiling = 10_000

    /// Raises the soft limit to the hard one, as Go programs do at start: the hard limit is
    /// what the administrator allows, the soft one only an old default for `select(2)`,
    /// which the hub does not use.
    /// - Returns: the soft limit before and after (equal when it could not be raised).
    static func raiseSoftToHard() -> (before: Int, after: Int) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (0, 0) }
        let before = limit.rlim_cur
        // RLIM_INFINITY (all ones): no such descriptor limit exists on Linux (fs.nr_open caps it).
        let target = limit.rlim_max == rlim_t.max ? rlim_t(1 << 20) : limit.rlim_max
        if target > before {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(resource, &raised) == 0 { return (Int(clamping: before), Int(clamping: target)) }
        }
        return (Int(clamping: before), Int(clamping: before))
    }

    /// The connection cap for a soft limit: what is left after ``reserve`` (a quarter of
    /// the limit when it is small), at most ``defaultCeiling``.
    static func defaultMaxConnections(softLimit: Int) -> Int {
        guard softLimit > 0 else { return defaultCeiling }  // the limit could not be read
        let reserve = min(Self.reserve, softLimit / 4)
        return max(1, min(softLimit - reserve, defaultCeiling))
    }

    private static var resource: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}

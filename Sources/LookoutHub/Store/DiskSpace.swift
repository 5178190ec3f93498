#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Free space on the file system of the data folder, for messages that name the real cause:
/// SQLite reports a full disk as "disk I/O error" as often as "database or disk is full".
enum DiskSpace {
    /// Below this many free bytes an I/O error is taken for a full disk.
    static let nearlyFull: Int64 = 1 << 20

    /// `(free, total)` bytes for an unprivileged user (what `df` shows as available), if known.
    static func of(folder: String) -> (free: Int64, total: Int64)? {
        var info = statvfs()
        guard statvfs(folder, &info) == 0 else { return nil }
        let unit = Int64(info.f_frsize)
        return (Int64(info.f_bavail) * unit, Int64(info.f_blocks) * unit)
    }

    /// "the file system of DATA is full (12 KB free of 2.0 MB) …" when it is (nearly) full, else nil.
    static func fullMessage(folder: String) -> String? {
        guard let space = of(folder: folder), space.free < nearlyFull else { return nil }
        return "the file system of \(folder) is full (ENOSPC: \(space.free) bytes free of \(space.total)); "
            + "free some space there (old files, other programs' logs)"
    }
}

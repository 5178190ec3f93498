import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Disk use of the file system holding a path, with the arithmetic of `df`.
public enum DiskProbe {
    /// Measures the file system that holds `path` with `statvfs`.
    /// - Throws: ``CollectorError`` naming `path` and the system's reason.
    public static func read(path: String) throws(CollectorError) -> DiskMetrics {
        var info = statvfs()
        while statvfs(path, &info) != 0 {
            let code = errno
            if code == EINTR { continue }
            throw .unreadable(path, "statvfs: \(String(cString: strerror(code)))")
        }
        return metrics(
            blocks: UInt64(info.f_blocks), bfree: UInt64(info.f_bfree), bavail: UInt64(info.f_bavail),
            frsize: UInt64(info.f_frsize), path: path)
    }

    /// Turns `statvfs` block counts into the document's figures, GiB rounded to 1 decimal.
    ///
    /// used = (blocks − bfree) × frsize; percent = used / (used + bavail × frsize), as `df`
    /// computes it: blocks reserved for root count neither as used nor as available, so a
    /// disk that ordinary users have filled reads 100 %.
    /// - Parameters:
    ///   - blocks: `f_blocks`, the size of the file system in `frsize` units.
    ///   - bfree: `f_bfree`, free blocks including those reserved for root.
    ///   - bavail: `f_bavail`, free blocks an unprivileged user may use.
    ///   - frsize: `f_frsize`, the fragment size the counts are in.
    ///   - path: the mount point measured, reported in the document.
    public static func metrics(
        blocks: UInt64, bfree: UInt64, bavail: UInt64, frsize: UInt64, path: String
    ) -> DiskMetrics {
        let gib = Double(1 << 30)
        let total = Double(blocks) * Double(frsize)
        let used = Double(blocks - min(bfree, blocks)) * Double(frsize)
        let available = Double(bavail) * Double(frsize)
        let percent = used + available > 0 ? used / (used + available) * 100 : 0
        return DiskMetrics(
            totalGB: SystemProbe.oneDecimal(total / gib),
            usedGB: SystemProbe.oneDecimal(used / gib),
            percent: SystemProbe.oneDecimal(percent),
            path: path)
    }
}

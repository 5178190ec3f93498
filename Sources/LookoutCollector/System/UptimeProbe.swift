import LookoutCore

/// Time since boot from `/proc/uptime`, which is right inside containers too (unlike
/// `btime`, it needs no clock of our own).
public enum UptimeProbe {
    static let file = "uptime"

    /// Reads `uptime` under the procfs root.
    public static func read(from procfs: ProcFS) throws(CollectorError) -> UptimeMetrics {
        try parse(procfs.read(file), path: procfs.path(file))
    }

    /// Parses the text of `uptime` (`432000.57 420000.12`): the first number, rounded down
    /// to whole seconds; the second (idle time summed over cores) is not used.
    /// - Parameter path: the file the text came from, named in errors.
    public static func parse(_ text: String, path: String) throws(CollectorError) -> UptimeMetrics {
        let token = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first ?? ""
        guard let seconds = Double(token), seconds.isFinite, seconds >= 0 else {
            throw .malformed(path, "uptime \"\(token.prefix(40))\"")
        }
        return UptimeMetrics(seconds: seconds.rounded(.down))
    }
}

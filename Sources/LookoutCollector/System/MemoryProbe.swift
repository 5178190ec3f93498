import LookoutCore

/// Memory use from `/proc/meminfo`, as `free` and gopsutil report it.
public enum MemoryProbe {
    static let file = "meminfo"

    /// Reads `meminfo` under the procfs root.
    public static func read(from procfs: ProcFS) throws(CollectorError) -> MemoryMetrics {
        try parse(procfs.read(file), path: procfs.path(file))
    }

    /// Parses the text of `meminfo`; sizes are MiB (kB / 1024) rounded to 1 decimal.
    ///
    /// used = MemTotal − MemAvailable, the kernel's own estimate of what can be given to
    /// new work without swapping. Kernels before 3.14 have no MemAvailable; there the
    /// estimate is MemFree + Buffers + Cached + SReclaimable, the same approximation
    /// `free` used before the kernel offered one (it counts some page cache that cannot
    /// really be dropped, so it reads a little low on used).
    /// - Parameter path: the file the text came from, named in errors.
    public static func parse(_ text: String, path: String) throws(CollectorError) -> MemoryMetrics {
        let wanted: Set<Substring> = ["MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached", "SReclaimable"]
        var kB: [Substring: UInt64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            guard wanted.contains(key) else { continue }
            // "MemTotal:       1015808 kB"
            let token = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? ""
            guard let value = UInt64(token) else { throw .malformed(path, "\(key) \"\(token.prefix(40))\"") }
            kB[key] = value
        }
        guard let total = kB["MemTotal"] else { throw .malformed(path, "MemTotal (missing)") }
        guard total > 0 else { throw .malformed(path, "MemTotal \"0\"") }
        let available: UInt64
        if let reported = kB["MemAvailable"] {
            available = reported
        } else {
            guard let free = kB["MemFree"] else { throw .malformed(path, "MemFree (missing, and no MemAvailable)") }
            let parts = [free, kB["Buffers"] ?? 0, kB["Cached"] ?? 0, kB["SReclaimable"] ?? 0]
            available = parts.reduce(0) { sum, part in
                let (next, overflow) = sum.addingReportingOverflow(part)
                return overflow ? .max : next
            }
        }
        let shown = min(available, total)
        let used = total - shown
        return MemoryMetrics(
            totalMB: SystemProbe.oneDecimal(Double(total) / 1024),
            usedMB: SystemProbe.oneDecimal(Double(used) / 1024),
            availableMB: SystemProbe.oneDecimal(Double(shown) / 1024),
            percent: SystemProbe.oneDecimal(Double(used) / Double(total) * 100))
    }
}

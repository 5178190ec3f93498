import LookoutCore

/// Swap use from the SwapTotal and SwapFree lines of `/proc/meminfo`.
public enum SwapProbe {
    /// Parses the swap lines of `meminfo` (the text ``MemoryProbe`` reads too); sizes are
    /// MiB rounded to 1 decimal, used = SwapTotal − SwapFree as `free` shows it.
    ///
    /// - Returns: `nil` when the machine has no swap: SwapTotal is 0, or the kernel was
    ///   built without swap and writes no swap lines at all.
    /// - Throws: ``CollectorError`` when a swap line is garbled, or SwapTotal has no
    ///   SwapFree beside it: the same file feeds `memory`, which fails alike on its lines.
    public static func parse(_ text: String, path: String) throws(CollectorError) -> SwapMetrics? {
        var total: UInt64?
        var free: UInt64?
        for line in text.split(separator: "\n") where line.hasPrefix("Swap") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            guard key == "SwapTotal" || key == "SwapFree" else { continue }
            let token = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? ""
            guard let value = UInt64(token) else { throw .malformed(path, "\(key) \"\(token.prefix(40))\"") }
            if key == "SwapTotal" { total = value } else { free = value }
        }
        guard let total, total > 0 else { return nil }
        guard let free else { throw .malformed(path, "SwapFree (missing beside SwapTotal)") }
        let used = total - min(free, total)
        return SwapMetrics(
            totalMB: SystemProbe.oneDecimal(Double(total) / 1024),
            usedMB: SystemProbe.oneDecimal(Double(used) / 1024),
            percent: SystemProbe.oneDecimal(Double(used) / Double(total) * 100))
    }
}

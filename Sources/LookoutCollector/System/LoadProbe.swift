import LookoutCore

/// The load averages from `/proc/loadavg`.
public enum LoadProbe {
    static let file = "loadavg"

    /// Reads `loadavg` under the procfs root.
    public static func read(from procfs: ProcFS) throws(CollectorError) -> LoadMetrics {
        try parse(procfs.read(file), path: procfs.path(file))
    }

    /// Parses the text of `loadavg` (`0.08 0.05 0.02 1/123 4567`): the first three fields.
    /// - Parameter path: the file the text came from, named in errors.
    public static func parse(_ text: String, path: String) throws(CollectorError) -> LoadMetrics {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard fields.count >= 3 else {
            let line = text.split(separator: "\n").first ?? ""
            throw .malformed(path, "load line \"\(line.prefix(80))\"")
        }
        var loads: [Double] = []
        for field in fields.prefix(3) {
            guard let value = Double(field), value.isFinite, value >= 0 else {
                throw .malformed(path, "load \"\(field.prefix(40))\"")
            }
            loads.append(value)
        }
        return LoadMetrics(one: loads[0], five: loads[1], fifteen: loads[2])
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Load thresholds per core (issue 12): a load of 4 is a busy afternoon for a 4-core VM and
/// an outage for a 1-vCPU one, so by default the 5-minute load is divided by `cpu.cores`
/// before it is compared. A config that sets `load` without `per_core` keeps the absolute
/// meaning it had before, so an upgrade changes no one's alerts behind their back.
extension Thresholds {
    /// Warning at 1.5 and critical at 3 per core: a queue of one and a half runnable tasks
    /// per core is sustained contention, three is a machine that cannot keep up.
    public static let defaultLoad = Threshold(warning: 1.5, critical: 3, perCore: true)
}

extension Threshold {
    /// `load` as the config gives it; `per_core` absent means `false` (the meaning a load
    /// threshold had before per-core thresholds existed).
    static func decodeLoad<Key: CodingKey>(_ c: KeyedDecodingContainer<Key>, _ key: Key) throws -> Threshold? {
        guard var threshold = try c.decodeIfPresent(Threshold.self, forKey: key) else { return nil }
        threshold.perCore = threshold.perCore ?? false
        return threshold
    }

    /// `per_core` means something for `load` only; on any other threshold it is refused by
    /// name rather than silently ignored.
    static func rejectPerCore<Key: CodingKey>(_ c: KeyedDecodingContainer<Key>, except loadKey: String) throws {
        for key in c.allKeys where key.stringValue != loadKey {
            guard let fields = try? c.nestedContainer(keyedBy: CodingKeys.self, forKey: key),
                fields.contains(.perCore)
            else { continue }
            throw DecodingError.dataCorruptedError(
                forKey: .perCore, in: fields,
                debugDescription: "only the load threshold takes per_core; \(key.stringValue) is compared as it is")
        }
    }

    /// The figure a load threshold compares: the load itself, or per core when `per_core`.
    public func loadFigure(_ load: Double, cores: Int) -> Double {
        perCore == true ? load / Double(max(1, cores)) : load
    }
}

extension VMHealth {
    /// The load problem of one document, if its 5-minute load crosses the VM's threshold;
    /// a per-core notice shows the arithmetic ("load 5.2 on 4 cores = 1.3 per core, warning
    /// at 1.5") so no one has to guess which meaning the threshold has.
    static func loadProblem(_ system: SystemMetrics, _ threshold: Threshold) -> Problem? {
        let load = system.load.five
        let cores = max(1, system.cpu.cores)
        let figure = threshold.loadFigure(load, cores: cores)
        let severity = threshold.severity(of: figure)
        guard severity != .ok else { return nil }
        let limit = severity == .critical ? threshold.critical : threshold.warning
        let message =
            threshold.perCore == true
            ? "load \(Notice.format(load)) on \(cores) \(cores == 1 ? "core" : "cores") = \(Notice.format(figure)) per core, "
                + "\(severity.rawValue) at \(Notice.format(limit))"
            : "load (5 min) \(Notice.format(load)), \(severity.rawValue) at \(Notice.format(limit))"
        return Problem(
            kind: "load", subject: "load", severity: severity, value: figure, threshold: limit, message: message)
    }
}

extension AlertEngine {
    /// Recent values of `kind` as its threshold compares them: a per-core load rule divides
    /// the stored loads by the VM's cores, as it does the current one.
    static func comparable(_ values: [Double], kind: String, threshold: Threshold, cores: Int) -> [Double] {
        kind == "load" ? values.map { threshold.loadFigure($0, cores: cores) } : values
    }
}

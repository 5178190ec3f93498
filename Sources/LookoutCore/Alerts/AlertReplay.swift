#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The real ``AlertEngine`` run over a VM's stored history, to say what a config would have
/// sent (`lookout replay`). Pure: it takes the documents, never a store or a clock.
///
/// One pass per document at the document's own time, as the hub judges each new document;
/// where the history has a gap longer than the VM's stale limit, one more pass at the first
/// minute the hub would have seen it stale (so "host down" and its "resolved" are replayed).
/// `sustained_samples` rules see the VM's previous documents, newest first, as the store
/// gives them to the hub. Passes before `from` (the warm-up) only build the state, so an
/// alert already open when the window starts is not told as new.
public enum AlertReplay {
    /// What one config would have done on one VM.
    public struct Outcome: Sendable, Equatable {
        /// Every notice, oldest first.
        public var notices: [Notice] = []
        /// Per alert id, the seconds it was active within the window.
        public var firingSeconds: [String: TimeInterval] = [:]
        /// Alert kind and subject per alert id, for the table.
        public var labels: [String: String] = [:]

        public init() {}
    }

    /// Replays `documents` (one VM's, any order) under `config` and reports what fell in
    /// [from, to].
    /// - Parameters:
    ///   - intervalSeconds: the VM's declared interval (stored documents do not keep it), for
    ///     the stale limit; nil uses `stale_after_minutes`.
    public static func run(
        documents: [MetricsDocument], config: MonitoringConfig, from: Date, to: Date, intervalSeconds: Int? = nil
    ) -> Outcome {
        let documents = documents.sorted { $0.timestamp < $1.timestamp }
        var outcome = Outcome()
        guard let first = documents.first else { return outcome }
        var withInterval = first
        withInterval.intervalSeconds = intervalSeconds
        let staleAfter = TimeInterval(VMHealth.staleAfter(withInterval, config: config))
        var state = AlertState()
        var recent: [String: [Double]] = [:]
        let keep = sustainedDepth(config.thresholds(for: first.vmID))
        var activeSince: [String: Date] = [:]

        func add(_ id: String, from start: Date, to end: Date) {
            let seconds = min(end, to).timeIntervalSince(max(start, from))
            if seconds > 0 { outcome.firingSeconds[id, default: 0] += seconds }
        }
        func pass(_ document: MetricsDocument, at now: Date) {
            let result = AlertEngine.evaluate(
                documents: [document], config: config, previous: state, now: now,
                recent: keep > 1 ? [document.vmID: recent] : [:])
            state = result.state
            let inWindow = now >= from && now <= to
            if inWindow { outcome.notices += result.notices }
            for alert in result.resolved {
                if let since = activeSince.removeValue(forKey: alert.id) {
                    add(alert.id, from: since, to: now)
                }
            }
            for alert in state.alerts where activeSince[alert.id] == nil {
                activeSince[alert.id] = now
                outcome.labels[alert.id] = alert.kind == alert.metric ? alert.kind : "\(alert.kind) \(alert.metric)"
            }
        }

        for (index, var document) in documents.enumerated() {
            if document.timestamp > to { break }
            document.intervalSeconds = intervalSeconds
            if keep > 1 { remember(document, in: &recent, depth: keep) }
            pass(document, at: document.timestamp)
            let next = index + 1 < documents.count ? documents[index + 1].timestamp : to
            // The hub's pass runs each minute: the first one past the stale limit sees it.
            let staleAt = document.timestamp.addingTimeInterval(staleAfter + 60)
            if staleAt < next, staleAt <= to { pass(document, at: staleAt) }
        }
        for (id, since) in activeSince { add(id, from: since, to: to) }
        outcome.notices.sort { ($0.at, $0.alert.id) < ($1.at, $1.alert.id) }
        return outcome
    }

    /// The most samples any `sustained_samples` rule of these thresholds looks back on.
    static func sustainedDepth(_ t: Thresholds) -> Int {
        [t.cpu, t.memory, t.disk, t.load, t.swap, t.diskUtil].map(\.sustainedSamples).max() ?? 1
    }

    /// Pushes the document's figures in front of the recent values, as the store's
    /// `recentValues` returns them (newest first); figures the document lacks push nothing.
    static func remember(_ document: MetricsDocument, in recent: inout [String: [Double]], depth: Int) {
        let system = document.system
        var figures: [(String, Double)] = [
            ("cpu", system.cpu.percent), ("memory", system.memory.percent), ("disk", system.disk.percent),
            ("load", system.load.five),
        ]
        if let swap = system.swap { figures.append(("swap", swap.percent)) }
        if let io = system.diskIO { figures.append(("disk_util", io.utilPercent)) }
        for (kind, value) in figures {
            var values = recent[kind] ?? []
            values.insert(value, at: 0)
            if values.count > depth { values.removeLast(values.count - depth) }
            recent[kind] = values
        }
    }
}

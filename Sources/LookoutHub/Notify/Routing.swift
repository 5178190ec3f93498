import Logging
import LookoutCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Decides which channels a notice is queued for (``NotificationRoute``), and remembers
/// which alert episodes each routed channel was told of, in `DATA/outbox/.routes.json`.
///
/// A channel without a route gets every notice. A routed channel gets an episode's
/// "opened" or "escalated" when the route covers the alert (VM and alert patterns) and the
/// severity reaches `min_severity`; from then on it gets the rest of that episode (its
/// de-escalation back to warning and its "resolved") whatever their severity, and nothing
/// of an episode it was never told of. So a `critical`-only channel hears "escalated to
/// critical", "eased to warning" and "resolved" for a disk that went 85 → 95 → 85 → 70 %,
/// and nothing for one that stayed at 85 %. The record is needed because a notice alone
/// does not say what came before it (a "resolved" carries the last severity only).
///
/// Read and written atomically on every pass that has a routed channel, under the alert
/// pass's lock (the only caller), so a cron `check` beside `serve` sees what the other
/// recorded; when it cannot be written, this process keeps it in memory and uses that
/// until a write succeeds.
final class RouteLedger: Sendable {
    let folder: String
    let path: String
    let logger: Logger
    /// The record that could not be written, newer than the file.
    private let unsaved = Mutex<[String: Set<String>]?>(nil)

    /// Episodes older than this are forgotten (a VM forgotten mid-alert never resolves).
    static let keepDays = 90.0

    init(folder: String, logger: Logger) {
        self.folder = folder
        self.path = "\(folder)/.routes.json"
        self.logger = logger
    }

    /// What ``select(_:channels:now:)`` decided: the channels of each notice, and the
    /// record to ``commit(_:)`` once the entries are written.
    struct Selection {
        var targets: [(Notice, [any NotificationChannel])]
        var record: [String: Set<String>]?
    }

    /// `notices` paired with the channels each one goes to, in order. Nothing is recorded
    /// until ``commit(_:)``: a crash in between repeats the pass, which decides the same.
    func select(_ notices: [Notice], channels: [any NotificationChannel], now: Date) -> Selection {
        guard channels.contains(where: { $0.route != nil }) else {
            return Selection(targets: notices.map { ($0, channels) }, record: nil)
        }
        var heard = unsaved.withLock { $0 } ?? load()
        let before = heard
        // Channels not in this config keep their record: a `check` run with another config
        // than the running `serve` must not make serve's channels miss their resolved notices.
        let oldest = now.addingTimeInterval(-Self.keepDays * 86_400).timeIntervalSince1970
        for (id, episodes) in heard {
            heard[id] = episodes.filter { (Self.since(of: $0) ?? 0) >= oldest }
        }
        var result: [(Notice, [any NotificationChannel])] = []
        for notice in notices {
            var targets: [any NotificationChannel] = []
            for channel in channels {
                guard let route = channel.route else {
                    targets.append(channel)
                    continue
                }
                if Self.decide(notice, route: route, heard: &heard[channel.id, default: []]) { targets.append(channel) }
            }
            result.append((notice, targets))
        }
        heard = heard.filter { !$0.value.isEmpty }
        return Selection(targets: result, record: heard != before || unsaved.withLock({ $0 != nil }) ? heard : nil)
    }

    /// Writes what `selection` decided (after its entries were queued).
    func commit(_ selection: Selection) {
        guard let record = selection.record else { return }
        unsaved.withLock { $0 = save(record) ? nil : record }
    }

    /// The rule of the type's documentation for one channel; updates what it heard.
    static func decide(_ notice: Notice, route: NotificationRoute, heard: inout Set<String>) -> Bool {
        let alert = notice.alert
        guard route.covers(alert) else { return false }
        let episode = "\(Int64(alert.since.timeIntervalSince1970.rounded(.down)))@\(alert.id)"
        switch notice.kind {
        case .opened, .escalated:
            if heard.contains(episode) { return true }
            guard route.pages(at: alert.severity) else { return false }
            // A reboot has no sequel: nothing to remember.
            if alert.kind != AlertEngine.rebootKind { heard.insert(episode) }
            return true
        case .deescalated, .reminder:
            // A reminder repeats what the channel was told: only to the ones that heard it.
            return heard.contains(episode)
        case .resolved:
            return heard.remove(episode) != nil
        }
    }

    static func since(of episode: String) -> Double? {
        episode.split(separator: "@", maxSplits: 1).first.flatMap { Double(String($0)) }
    }

    private func load() -> [String: Set<String>] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        do {
            let bytes = try AtomicFile.read(path, limit: 16 << 20)
            return try JSONDecoder().decode([String: Set<String>].self, from: Data(bytes))
        } catch {
            logger.error(
                .init(
                    stringLiteral: "outbox: \(path) cannot be read (\(error)); routed channels start afresh (an alert "
                        + "open now may end without a resolved notice there)"))
            return [:]
        }
    }

    /// Whether the record was written.
    private func save(_ heard: [String: Set<String>]) -> Bool {
        do {
            try AtomicFile.makeDirectories(folder, mode: 0o700)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try AtomicFile.write(encoder.encode(heard), to: path, mode: 0o600)
            return true
        } catch {
            logger.error("outbox: cannot write \(path) (\(error)); routing kept in memory for this process")
            return false
        }
    }
}

extension MonitoringConfig {
    /// Every enabled channel's id and route, in config order, without reading a secret.
    public var channelRoutes: [(id: String, route: NotificationRoute?)] {
        (notifications.email.enabled ? [(ChannelID.email, notifications.email.route)] : [])
            + notifications.webhooks.map { (ChannelID.webhook($0), $0.route) }
            + notifications.channels.map { (ChannelID.chat($0), $0.route) }
    }

    /// `db-1/disk (warning)`, or `db-1/disk (warning, held until 2026-12-24T08:00:00Z: kernel
    /// upgrade)` for an alert a silence or quiet hours hold (it is not told while held).
    static func explained(_ alert: Alert) -> String {
        guard let hold = alert.silenced else { return "\(alert.id) (\(alert.severity.rawValue))" }
        return
            "\(alert.id) (\(alert.severity.rawValue), held until \(Timestamp.format(hold.until)): \(hold.reason.replacingControlCharacters()))"
    }

    /// What `check --explain` and `serve --check-config` print: per channel, what it
    /// receives, and of the alerts active now (`active`, when given) which it was or
    /// would be told of.
    public func routingExplanation(active: [Alert]? = nil) -> [String] {
        let routes = channelRoutes
        guard !routes.isEmpty else { return ["channels: none (notices are only logged)"] }
        var lines = ["channels (\(routes.count)), and what each receives:"]
        for (id, route) in routes {
            lines.append("  \(id): \(route.map(\.summary) ?? "every notice")")
            guard let active else { continue }
            let taken = active.filter { alert in route.map { $0.covers(alert) && $0.pages(at: alert.severity) } ?? true
            }
            lines.append(
                "    of the \(active.count) active alert(s): "
                    + (taken.isEmpty
                        ? "none" : taken.map(Self.explained).joined(separator: ", ")))
        }
        if routes.contains(where: { $0.route != nil }) {
            lines.append(
                "  (a routed channel gets an episode's de-escalation and resolved notice when it got the episode's "
                    + "opened or escalated one)")
        }
        return lines
    }
}

extension AlertPass {
    /// The alerts active after the last pass (`DATA/alerts.json`), for `check --explain`.
    public static func activeAlerts(dataFolder: String) throws(HubError) -> [Alert] {
        try AlertStateFile(dataFolder: dataFolder).load().alerts
    }
}

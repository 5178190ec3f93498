#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Everything the engine remembers between passes; `alerts.json` holds it, so a restart
/// or a cron run of `lookout check` continues where the last pass stopped.
public struct AlertState: Codable, Sendable, Equatable {
    /// Active alerts, the body of `/api/monitoring/alerts`.
    public var alerts: [Alert]
    /// Per alert id, what the people on the notification list were last told.
    public var notified: [String: Told]
    public var updatedAt: Date?
    /// The boot id each VM's latest document carried (`boot_ids`), so a new one is told as
    /// a reboot; absent in an `alerts.json` written before issue 11 (then nothing is a reboot
    /// until each VM has been seen once).
    public var bootIDs: [VMID: String]

    public struct Told: Codable, Sendable, Equatable {
        /// `true` after an opened / escalated / de-escalated notice, `false` after resolved.
        public var open: Bool
        public var severity: Severity
        public var at: Date

        enum CodingKeys: String, CodingKey { case open, severity, at }

        public init(open: Bool, severity: Severity, at: Date) {
            self.open = open
            self.severity = severity
            self.at = at
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            open = try c.decode(Bool.self, forKey: .open)
            severity = try c.decode(Severity.self, forKey: .severity)
            at = Timestamp.parse(try c.decode(String.self, forKey: .at)) ?? Date(timeIntervalSince1970: 0)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(open, forKey: .open)
            try c.encode(severity, forKey: .severity)
            try c.encode(Timestamp.format(at), forKey: .at)
        }
    }

    public init(
        alerts: [Alert] = [], notified: [String: Told] = [:], updatedAt: Date? = nil, bootIDs: [VMID: String] = [:]
    ) {
        self.alerts = alerts
        self.notified = notified
        self.updatedAt = updatedAt
        self.bootIDs = bootIDs
    }

    enum CodingKeys: String, CodingKey { case alerts, notified, updatedAt = "updated_at", bootIDs = "boot_ids" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        alerts = try c.decodeIfPresent([Alert].self, forKey: .alerts) ?? []
        notified = try c.decodeIfPresent([String: Told].self, forKey: .notified) ?? [:]
        updatedAt = try c.decodeIfPresent(String.self, forKey: .updatedAt).flatMap(Timestamp.parse)
        // A key that is no vm_id cannot belong to any VM: dropped, which at worst makes that
        // entry a first sight (no notice) rather than refusing the whole state.
        let rawBootIDs = try c.decodeIfPresent([String: String].self, forKey: .bootIDs) ?? [:]
        bootIDs = [:]
        for (key, value) in rawBootIDs {
            if let vmID = try? VMID(validating: key) { bootIDs[vmID] = value }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(alerts, forKey: .alerts)
        try c.encode(notified, forKey: .notified)
        try c.encodeIfPresent(updatedAt.map(Timestamp.format), forKey: .updatedAt)
        try c.encode(
            Dictionary(uniqueKeysWithValues: bootIDs.map { ($0.key.rawValue, $0.value) }), forKey: .bootIDs)
    }
}

/// The alert rules of DESIGN §6 as pure logic: given the thresholds, every VM's latest
/// document and the previous state, at a given time, it returns the new state and the
/// notices to send. No I/O and no clock of its own, so tests replay scenarios exactly.
///
/// Rules:
/// - A condition is any problem ``VMHealth`` finds (threshold crossed, service failing,
///   container not running, VM stale). With `sustained_samples` N > 1 a threshold
///   condition counts only when the last N samples all crossed it.
/// - A stale VM keeps its other alerts as they were: its figures are old, so they can
///   neither open nor resolve anything.
/// - Notices: opened when an alert appears, escalated when it gets worse (always sent),
///   de-escalated when it eases, resolved when it clears — but the people on the list are
///   told only what changes their picture: within `cooldown_minutes` of the last notice
///   for an alert, an opened or de-escalated notice is held back; a flapping alert thus
///   sends at most "opened" and "resolved" once per cooldown. A held-back notice is sent
///   on the first pass after the cooldown if it still holds, so nothing is missed.
/// - A reboot (a document whose `boot_id` differs from the one seen last) is an alert of
///   one pass: "opened" is always sent (no cooldown holds it, each reboot is news), and it
///   resolves on the next pass without a notice. The first boot id seen of a VM is no reboot.
/// - Traffic (``TrafficUsage``, one per VM with an allowance): warning at 80 % of the
///   allowance or when the projection runs out before the reset, critical at 100 %.
/// - Forecasts (``DiskForecast``, per filesystem): a warning while the projected time to
///   100 % is under `forecast.warning_days` (``ForecastRule``).
public enum AlertEngine {
    /// The last values of a VM's metrics, newest first, for `sustained_samples`:
    /// `[vm_id: ["cpu": [93, 91, 88]]]`.
    public typealias RecentValues = [VMID: [String: [Double]]]

    public struct Result: Sendable, Equatable {
        public var state: AlertState
        public var notices: [Notice]
        /// Alerts that cleared in this pass, with `resolvedAt` set (for the alert history).
        public var resolved: [Alert]
    }

    public static func evaluate(
        documents: [MetricsDocument], config: MonitoringConfig, previous: AlertState, now: Date,
        recent: RecentValues = [:], traffic: [VMID: TrafficUsage] = [:], forecasts: [DiskForecast]? = nil,
        silences: [Silence] = []
    ) -> Result {
        let previousByID = Dictionary(previous.alerts.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var current: [String: Alert] = [:]
        var bootIDs: [VMID: String] = [:]
        // VMs whose figures are frozen: their other alerts are kept as they were, but not reminded of.
        var staleVMs: Set<VMID> = []
        for document in documents {
            if let reboot = reboot(document, config: config, previous: previous, bootIDs: &bootIDs) {
                current[reboot.id] = reboot
            }
            let health = VMHealth.evaluate(document, config: config, now: now)
            let isStale = health.status == .stale
            if isStale { staleVMs.insert(document.vmID) }
            for problem in health.problems {
                if isStale && problem.kind != "stale" { continue }
                if !isStale, let threshold = threshold(problem.kind, config.thresholds(for: document.vmID)),
                    threshold.sustainedSamples > 1
                {
                    let values = comparable(
                        recent[document.vmID]?[problem.kind] ?? [], kind: problem.kind, threshold: threshold,
                        cores: document.system.cpu.cores)
                    guard values.count >= threshold.sustainedSamples,
                        values.prefix(threshold.sustainedSamples).allSatisfy({ threshold.severity(of: $0) != .ok })
                    else { continue }
                }
                let id = alertID(document.vmID, kind: problem.kind, subject: problem.subject)
                let before = previousByID[id]
                current[id] = Alert(
                    id: id, vmID: document.vmID, kind: problem.kind, metric: problem.subject,
                    severity: problem.severity,
                    value: problem.value, threshold: problem.threshold, since: before?.since ?? now,
                    lastNotified: before?.lastNotified, message: problem.message)
            }
            if isStale {
                for alert in previous.alerts
                where alert.vmID == document.vmID && !Self.independentOfFigures.contains(alert.kind) {
                    current[alert.id] = alert
                }
            }
        }
        for alert in trafficAlerts(traffic, config: config, previous: previous, now: now) {
            current[alert.id] = Alert(
                id: alert.id, vmID: alert.vmID, kind: alert.kind, metric: alert.metric, severity: alert.severity,
                value: alert.value, threshold: alert.threshold, since: previousByID[alert.id]?.since ?? alert.since,
                lastNotified: previousByID[alert.id]?.lastNotified, message: alert.message)
        }

        // nil: the forecasts are unknown in this pass (the store failed), so they stay as they were.
        let forecastAlerts =
            forecasts.map { $0.compactMap { ForecastRule.alert($0, now: now) } }
            ?? previous.alerts.filter { $0.kind == ForecastRule.kind }
        for var alert in forecastAlerts {
            alert.since = previousByID[alert.id]?.since ?? alert.since
            alert.lastNotified = previousByID[alert.id]?.lastNotified
            current[alert.id] = alert
        }

        var holds = SilenceHolds(silences: silences, quietHours: config.quietHours, now: now)
        let cooldown = TimeInterval(config.notifications.cooldownMinutes * 60)
        var notified = previous.notified
        var notices: [Notice] = []
        for id in current.keys.sorted() {
            var alert = current[id]!
            let told = notified[id]
            // Held (silence, quiet hours): shown, not told; what was told stays as it was.
            alert.silenced = holds.hold(for: alert)
            if alert.silenced != nil {
                current[id] = alert
                continue
            }
            var kind: Notice.Kind?
            if alert.kind == Self.rebootKind {
                kind = .opened
            } else if let told, told.open {
                if alert.severity > told.severity {
                    kind = .escalated
                } else if alert.severity < told.severity, cooldownExpired(since: told.at, now: now, cooldown: cooldown)
                {
                    kind = .deescalated
                }
            } else if told == nil || cooldownExpired(since: told!.at, now: now, cooldown: cooldown) {
                kind = .opened
            }
            // A down VM's last disk or cpu figure is not news: only its "stale" is reminded of.
            if kind == nil, let told, alert.kind == "stale" || !staleVMs.contains(alert.vmID),
                Reminder.due(alert, told: told, repeatMinutes: config.notifications.repeatMinutes, now: now)
            {
                kind = .reminder
            }
            if let kind {
                alert.lastNotified = now
                notified[id] = .init(open: true, severity: alert.severity, at: now)
                notices.append(Notice(kind: kind, alert: alert, at: now, after: told?.at))
            }
            current[id] = alert
        }
        var resolved: [Alert] = []
        for alert in previous.alerts where current[alert.id] == nil {
            var cleared = alert
            cleared.resolvedAt = now
            resolved.append(cleared)
            if let told = notified[alert.id], told.open {
                notified[alert.id] = .init(open: false, severity: .ok, at: now)
                // An alert that ends while held sends nothing (issue 12: no notice goes out
                // during a silence or quiet hours); its end is on the dashboard and in history.
                if alert.kind != Self.rebootKind, holds.hold(for: cleared) == nil {
                    notices.append(Notice(kind: .resolved, alert: cleared, at: now, after: told.at))
                }
            }
        }
        // Forget what was told about alerts that are gone and past their cooldown.
        notified = notified.filter { id, told in
            current[id] != nil || !cooldownExpired(since: told.at, now: now, cooldown: cooldown)
        }
        let alerts = current.values.sorted {
            ($0.severity, $1.since, $1.id) > ($1.severity, $0.since, $0.id)
        }
        return Result(
            state: AlertState(alerts: alerts, notified: notified, updatedAt: now, bootIDs: bootIDs),
            notices: notices, resolved: resolved)
    }

    public static let rebootKind = "reboot"

    /// `<vm_id>/<kind>` for a metric, `<vm_id>/<kind>/<subject>` for a service, container or
    /// sensor, and `<vm_id>/fs/srv/backup` for a filesystem (its path's own `/` separates).
    static func alertID(_ vmID: VMID, kind: String, subject: String) -> String {
        if kind == subject { return "\(vmID)/\(kind)" }
        if kind == "fs", subject.hasPrefix("/") { return "\(vmID)/fs\(subject)" }
        return "\(vmID)/\(kind)/\(subject)"
    }

    /// Kinds not judged from a VM's latest figures, so a stale VM does not keep them as
    /// they were: a reboot lasts one pass, traffic comes from the store's sums.
    static let independentOfFigures: Set<String> = ["stale", rebootKind, TrafficRule.kind, ForecastRule.kind]

    /// The reboot alert when `document` carries a boot id other than the one seen last;
    /// records the document's boot id (or keeps the last one) in `bootIDs`. VMs without a
    /// document in this pass (forgotten) drop out of `bootIDs`.
    static func reboot(
        _ document: MetricsDocument, config: MonitoringConfig, previous: AlertState, bootIDs: inout [VMID: String]
    ) -> Alert? {
        let vmID = document.vmID
        let last = previous.bootIDs[vmID]
        guard let boot = document.system.bootID, !boot.isEmpty else {
            bootIDs[vmID] = last
            return nil
        }
        bootIDs[vmID] = boot
        guard let last, last != boot, config.rebootAlerts(for: vmID) else { return nil }
        let uptime = document.system.uptime.seconds
        return Alert(
            id: "\(vmID)/\(rebootKind)", vmID: vmID, kind: rebootKind, metric: rebootKind, severity: .warning,
            value: uptime, threshold: nil, since: document.timestamp.addingTimeInterval(-max(0, uptime)),
            message: "rebooted, up \(UptimeMetrics.humanize(seconds: uptime))")
    }

    /// Whether the cooldown after a notice sent at `told` is over at `now`. A negative
    /// elapsed time (the hub's clock was stepped back, by NTP or by hand, past the last
    /// notice) counts as over: otherwise a clock set back a day would hold every notice for
    /// that day, and holding a notice is the failure an operator cannot see.
    static func cooldownExpired(since told: Date, now: Date, cooldown: TimeInterval) -> Bool {
        let elapsed = now.timeIntervalSince(told)
        return elapsed < 0 || elapsed >= cooldown
    }

    static func threshold(_ kind: String, _ thresholds: Thresholds) -> Threshold? {
        switch kind {
        case "cpu": thresholds.cpu
        case "memory": thresholds.memory
        case "disk": thresholds.disk
        case "load": thresholds.load
        case "swap": thresholds.swap
        case "disk_util": thresholds.diskUtil
        default: nil
        }
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One active alert, as `/api/monitoring/alerts` and `alerts.json` carry it.
public struct Alert: Codable, Sendable, Equatable {
    /// `<vm_id>/<kind>` for a threshold or staleness, `<vm_id>/<kind>/<subject>` for a
    /// service or container: stable across passes, so the same condition is the same alert.
    public var id: String
    public var vmID: VMID
    /// cpu, memory, disk, load, swap, disk_util, fs, temperature, stale, service, container,
    /// reboot or traffic.
    public var kind: String
    /// The metric (the kind again), mount point, sensor, service id or container name.
    public var metric: String
    public var severity: Severity
    /// The figure compared with the threshold: a percent, a load, °C, bytes for traffic, the
    /// uptime in seconds for a reboot.
    public var value: Double?
    public var threshold: Double?
    public var since: Date
    public var lastNotified: Date?
    public var message: String
    /// Set on alerts in the history once they cleared.
    public var resolvedAt: Date?
    /// In the history only: the channels that were told nothing of this alert, because its
    /// "opened" notice was still waiting (the channel failing) when it resolved, so both
    /// notices were dropped there rather than sent late and out of context.
    public var undeliveredVia: [String]?
    /// Set while a silence or quiet hours hold this alert's notices (``AlertHold``).
    public var silenced: AlertHold?

    public init(
        id: String, vmID: VMID, kind: String, metric: String, severity: Severity, value: Double?, threshold: Double?,
        since: Date, lastNotified: Date? = nil, message: String, resolvedAt: Date? = nil
    ) {
        self.id = id
        self.vmID = vmID
        self.kind = kind
        self.metric = metric
        self.severity = severity
        self.value = value
        self.threshold = threshold
        self.since = since
        self.lastNotified = lastNotified
        self.message = message
        self.resolvedAt = resolvedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, vmID = "vm_id", kind, metric, severity, value, threshold, since
        case lastNotified = "last_notified", message, resolvedAt = "resolved_at"
        case undeliveredVia = "undelivered_via", silenced
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        vmID = try c.decode(VMID.self, forKey: .vmID)
        kind = try c.decode(String.self, forKey: .kind)
        metric = try c.decode(String.self, forKey: .metric)
        severity = try c.decode(Severity.self, forKey: .severity)
        value = try c.decodeIfPresent(Double.self, forKey: .value)
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
        since = try Alert.date(c, .since) ?? Date(timeIntervalSince1970: 0)
        lastNotified = try Alert.date(c, .lastNotified)
        message = try c.decode(String.self, forKey: .message)
        resolvedAt = try Alert.date(c, .resolvedAt)
        undeliveredVia = try c.decodeIfPresent([String].self, forKey: .undeliveredVia)
        silenced = try c.decodeIfPresent(AlertHold.self, forKey: .silenced)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(vmID, forKey: .vmID)
        try c.encode(kind, forKey: .kind)
        try c.encode(metric, forKey: .metric)
        try c.encode(severity, forKey: .severity)
        try c.encode(value, forKey: .value)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(Timestamp.format(since), forKey: .since)
        try c.encode(lastNotified.map(Timestamp.format), forKey: .lastNotified)
        try c.encode(message, forKey: .message)
        try c.encodeIfPresent(resolvedAt.map(Timestamp.format), forKey: .resolvedAt)
        try c.encodeIfPresent(undeliveredVia, forKey: .undeliveredVia)
        try c.encodeIfPresent(silenced, forKey: .silenced)
    }

    static func date(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Date? {
        guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "\"\(text.prefix(40))\" is not a timestamp")
        }
        return date
    }
}

/// A message the engine decided to send.
public struct Notice: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case opened, escalated, deescalated, resolved
        /// The alert is still active `notifications.repeat_minutes` after its last notice.
        case reminder
    }

    public var kind: Kind
    public var alert: Alert
    public var at: Date
    /// When the previous notice of this alert was told (`nil` for its first "opened"): the
    /// same when a pass is repeated after a crash, different for each transition, so it
    /// tells apart two escalations of one episode (warning → critical → warning → critical).
    public var after: Date?

    public init(kind: Kind, alert: Alert, at: Date, after: Date? = nil) {
        self.kind = kind
        self.alert = alert
        self.at = at
        self.after = after
    }

    enum CodingKeys: String, CodingKey { case kind, alert, at, after }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        alert = try c.decode(Alert.self, forKey: .alert)
        let text = try c.decode(String.self, forKey: .at)
        at = Timestamp.parse(text) ?? Date(timeIntervalSince1970: 0)
        after = try c.decodeIfPresent(String.self, forKey: .after).flatMap(Timestamp.parse)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(alert, forKey: .alert)
        try c.encode(Timestamp.format(at), forKey: .at)
        try c.encodeIfPresent(after.map(Timestamp.format), forKey: .after)
    }

    /// `[Lookout] CRITICAL web-1: disk 93.1%, critical at 90%` — what, where and how bad.
    public var subject: String {
        switch kind {
        case .resolved:
            return
                "[Lookout] RESOLVED \(alert.vmID): \(alert.kind == alert.metric ? alert.kind : "\(alert.kind) \(alert.metric)")"
        case .opened, .escalated, .deescalated:
            return "[Lookout] \(alert.severity.rawValue.uppercased()) \(alert.vmID): \(alert.message)"
        case .reminder:
            return "[Lookout] STILL \(alert.severity.rawValue.uppercased()) \(alert.vmID): \(alert.message)"
        }
    }

    /// The plain-text body of the email (and the text of chat webhooks).
    public func body(publicURL: String?) -> String {
        var lines: [String] = []
        switch kind {
        case .opened where alert.kind == AlertEngine.rebootKind:
            lines.append("\(alert.vmID) \(alert.message) (a new boot id); no \"resolved\" notice follows.")
        case .opened: lines.append("New \(alert.severity.rawValue) alert on \(alert.vmID): \(alert.message).")
        case .escalated: lines.append("Alert on \(alert.vmID) escalated to critical: \(alert.message).")
        case .deescalated: lines.append("Alert on \(alert.vmID) eased to \(alert.severity.rawValue): \(alert.message).")
        case .reminder:
            lines.append("Alert on \(alert.vmID) \(Reminder.text(alert, at: at)): \(alert.message).")
        case .resolved: lines.append("Resolved on \(alert.vmID): \(alert.kind) \(alert.metric) is back to normal.")
        }
        lines.append("")
        lines.append("VM:        \(alert.vmID)")
        lines.append("What:      \(alert.kind == alert.metric ? alert.kind : "\(alert.kind) \(alert.metric)")")
        lines.append(
            "Severity:  \(kind == .resolved ? "resolved (was \(alert.severity.rawValue))" : alert.severity.rawValue)")
        if alert.kind == AlertEngine.rebootKind {
            if let value = alert.value { lines.append("Uptime:    \(UptimeMetrics.humanize(seconds: value))") }
            lines.append("Booted:    \(Timestamp.format(alert.since))")
        } else {
            let format = alert.kind == TrafficRule.kind ? TrafficRule.humanBytes : Self.format
            if let value = alert.value { lines.append("Value:     \(format(value))") }
            if let threshold = alert.threshold { lines.append("Threshold: \(format(threshold))") }
            lines.append("Since:     \(Timestamp.format(alert.since))")
        }
        if let resolvedAt = alert.resolvedAt { lines.append("Resolved:  \(Timestamp.format(resolvedAt))") }
        if let url = publicURL {
            let base = url.hasSuffix("/") ? String(url.dropLast()) : url
            lines.append("")
            lines.append("Dashboard: \(base)/#vm/\(alert.vmID)")
        }
        lines.append("")
        lines.append("-- Lookout")
        return lines.joined(separator: "\n")
    }

    /// One decimal, without a trailing ".0": the one spelling of a figure in every notice,
    /// health message and check error (`93`, `93.5`).
    public static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        // Whole numbers without ".0"; beyond what an Int holds (a document may carry up to
        // 2^64), or not finite, the Double's own spelling: converting those would trap.
        guard rounded.isFinite, abs(rounded) < 1e15 else { return String(rounded) }
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Which notices one channel receives: `"route": {"vms": ["web-*"], "min_severity":
/// "critical", "alerts": ["stale", "service/*"]}` on the email block, a webhook or a channel.
/// Every key is optional and the keys are ANDed; a channel without a route gets every notice.
///
/// The route decides over an alert's *episode*, not each notice alone: whether the
/// "opened" (or the "escalated", always to critical) of an episode is queued for a channel
/// is judged here, and its de-escalation and "resolved" follow that decision (see
/// `RouteLedger` in the hub), so nobody hears an alert end that they never heard begin.
public struct NotificationRoute: Sendable, Equatable {
    /// VM id patterns (`*` matches any run of characters); `nil`: every VM.
    public var vms: [WildcardPattern]?
    /// The lowest severity that pages this channel; `nil`: warning and critical.
    public var minSeverity: Severity?
    /// Alert selectors, in the language of silences and quiet hours (``AlertSelector``):
    /// `all`, a kind (`disk`, `stale`, `service`) or `<kind>/<subject pattern>` (`service/web`,
    /// `service/*`, `fs//var`); `nil`: every alert.
    public var alerts: [String]?

    public init(vms: [WildcardPattern]? = nil, minSeverity: Severity? = nil, alerts: [String]? = nil) {
        self.vms = vms
        self.minSeverity = minSeverity
        self.alerts = alerts
    }

    /// Whether the alert is this channel's business at all (VM and alert patterns).
    public func covers(_ alert: Alert) -> Bool {
        let vmOK = vms.map { $0.contains { $0.matches(alert.vmID.description) } } ?? true
        let alertOK =
            alerts.map { patterns in
                patterns.contains { AlertSelector.matches(alert: $0, kind: alert.kind, subject: alert.metric) }
            } ?? true
        return vmOK && alertOK
    }

    /// Whether an episode's first notice at `severity` (its "opened", or an "escalated")
    /// starts it on this channel.
    public func pages(at severity: Severity) -> Bool {
        severity >= (minSeverity ?? .warning)
    }

    /// One line for `check --explain`: `VMs web-*; critical only; alerts stale, service/*`.
    public var summary: String {
        let vmText = vms.map { "VMs \($0.map(\.text).joined(separator: ", "))" } ?? "every VM"
        let severityText = minSeverity == .critical ? "critical only" : "warning and critical"
        let alertText = alerts.map { "alerts \($0.joined(separator: ", "))" } ?? "every alert"
        return "\(vmText); \(severityText); \(alertText)"
    }
}

extension NotificationRoute: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case vms, minSeverity = "min_severity", alerts }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vms = try Self.patterns(c, .vms)?.map(WildcardPattern.init)
        alerts = try Self.patterns(c, .alerts)
        for (index, alert) in (alerts ?? []).enumerated() {
            if let problem = AlertSelector.problem(alert) {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [CodingKeys.alerts, AnyCodingKey(intValue: index)],
                        debugDescription: problem))
            }
        }
        if let text = try c.decodeIfPresent(String.self, forKey: .minSeverity) {
            guard let severity = Severity(rawValue: text), severity != .ok else {
                throw DecodingError.dataCorruptedError(
                    forKey: .minSeverity, in: c,
                    debugDescription: "\"\(text.prefix(40))\" is not one of warning, critical")
            }
            minSeverity = severity
        }
    }

    /// A list of patterns; an empty list would route nothing there, which is a mistake
    /// (remove the channel instead), so it is refused.
    static func patterns(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [String]? {
        guard let texts = try c.decodeIfPresent([String].self, forKey: key) else { return nil }
        guard !texts.isEmpty else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c,
                debugDescription: "is empty, so the channel would receive nothing; leave the key out to mean all")
        }
        for (index, text) in texts.enumerated() where text.isEmpty || text.utf8.count > 200 {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: c.codingPath + [key, AnyCodingKey(intValue: index)],
                    debugDescription: "a pattern must be 1 to 200 characters"))
        }
        return texts
    }
}

extension NotificationRoute: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(vms?.map(\.text), forKey: .vms)
        try c.encodeIfPresent(minSeverity, forKey: .minSeverity)
        try c.encodeIfPresent(alerts, forKey: .alerts)
    }
}

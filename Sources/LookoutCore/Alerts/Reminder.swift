#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reminders (`notifications.repeat_minutes`, per severity, default off): an alert still
/// active that long after its last notice is told again ("still critical for 4 h"). A
/// reminder counts as a notice, so the next one comes `repeat_minutes` after it; a held
/// alert (silence, quiet hours) gets none, and is told once when the hold ends.
public enum Reminder {
    /// Whether `alert`, last told as `told`, is due a reminder at `now`.
    static func due(_ alert: Alert, told: AlertState.Told, repeatMinutes: [Severity: Int], now: Date) -> Bool {
        guard told.open, alert.severity == told.severity, alert.kind != AlertEngine.rebootKind,
            let minutes = repeatMinutes[alert.severity], minutes > 0
        else { return false }
        return now.timeIntervalSince(told.at) >= TimeInterval(minutes * 60)
    }

    /// `4 h`, `1 h 30 min`, `45 min`, `2 d 3 h`: how long an alert has been active.
    public static func humanDuration(_ seconds: TimeInterval) -> String {
        let minutes = max(0, Int(seconds / 60))
        let days = minutes / 1440
        let hours = minutes % 1440 / 60
        let rest = minutes % 60
        var parts: [String] = []
        if days > 0 { parts.append("\(days) d") }
        if hours > 0 { parts.append("\(hours) h") }
        if rest > 0 && days == 0 { parts.append("\(rest) min") }
        return parts.isEmpty ? "0 min" : parts.joined(separator: " ")
    }

    /// `still critical for 4 h`, from the alert's start to the reminder's time.
    public static func text(_ alert: Alert, at: Date) -> String {
        "still \(alert.severity.rawValue) for \(humanDuration(at.timeIntervalSince(alert.since)))"
    }

    /// Parses `{"critical": 240, "warning": 1440}`.
    static func decode(_ raw: [String: Int]) throws(ConfigError) -> [Severity: Int] {
        var result: [Severity: Int] = [:]
        for (key, minutes) in raw {
            guard let severity = Severity(rawValue: key), severity != .ok else {
                throw ConfigError("\"\(key.prefix(40))\" is not a severity (warning, critical)")
            }
            guard (1...43_200).contains(minutes) else {
                throw ConfigError("\(key): \(minutes) is not between 1 and 43200 minutes")
            }
            result[severity] = minutes
        }
        return result
    }
}

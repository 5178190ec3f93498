#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The monthly traffic rule: one alert per VM (`<vm_id>/traffic`), so a month that runs
/// hot tells the operator once when it starts to look bad and once more when the
/// allowance is gone, instead of one notice per condition.
///
/// - critical when the used bytes reach the allowance;
/// - warning at 80 % of it, or earlier when the projection at this month's rate runs out
///   before the reset; the projection counts only after the first day of the month, since
///   one backup in the first hour would otherwise project thirty times itself.
enum TrafficRule {
    static let kind = "traffic"
    static let warningShare = 0.8
    /// How far into the month a projection is trusted.
    static let projectionAfter: TimeInterval = 86_400

    static func alert(_ usage: TrafficUsage, now: Date) -> Alert? {
        guard let allowance = usage.allowanceBytes, allowance > 0 else { return nil }
        let used = usage.usedBytes
        let ofAllowance = "\(humanBytes(used)) of \(humanBytes(allowance)) this month (\(percent(used / allowance)))"
        let reset = "resets on the \(dayOfMonth(usage.periodEnd))"
        let exhaustion = usage.projectedExhaustion.flatMap { date in
            date < usage.periodEnd && now.timeIntervalSince(usage.periodStart) >= projectionAfter ? date : nil
        }
        let severity: Severity
        let value: Double
        let threshold: Double
        let message: String
        if used >= allowance {
            (severity, value, threshold) = (.critical, used, allowance)
            message = "traffic \(ofAllowance), critical at 100%; \(reset)"
        } else if used >= allowance * warningShare {
            (severity, value, threshold) = (.warning, used, allowance * warningShare)
            message =
                "traffic \(ofAllowance), warning at 80%"
                + (exhaustion.map { "; at this rate it runs out on the \(dayOfMonth($0))" } ?? "; \(reset)")
        } else if let exhaustion {
            (severity, value, threshold) = (.warning, usage.projectedBytes, allowance)
            message =
                "at this rate \(usage.vmID) uses \(humanBytes(usage.projectedBytes)) of its \(humanBytes(allowance)) "
                + "by the \(dayOfMonth(usage.periodEnd)), running out on the \(dayOfMonth(exhaustion))"
        } else {
            return nil
        }
        return Alert(
            id: "\(usage.vmID)/\(kind)", vmID: usage.vmID, kind: kind, metric: kind, severity: severity, value: value,
            threshold: threshold, since: now, message: message)
    }

    /// `1.3 GB`, `850 MB`, `12 kB`, `512 B`: decimal units, as clouds bill them.
    static func humanBytes(_ bytes: Double) -> String {
        for (size, unit) in [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")] where bytes >= size {
            let scaled = bytes / size
            let rounded = scaled >= 100 ? scaled.rounded() : (scaled * 10).rounded() / 10
            return "\(rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)) \(unit)"
        }
        return "\(Int(max(0, bytes))) B"
    }

    /// Whole percent, rounded down (85 % is not yet 86 %); the nudge keeps 0.85 × 100 from
    /// landing on 84.999….
    static func percent(_ share: Double) -> String { "\(Int((share * 100 + 1e-9).rounded(.down)))%" }

    /// `1st`, `2nd`, `23rd`, `11th`: the UTC day of month of `date`.
    static func dayOfMonth(_ date: Date) -> String {
        let stamp = Timestamp.format(date)  // 2025-12-23T10:30:00Z
        let digits = stamp.dropFirst(8).prefix(2)
        let day = Int(digits) ?? 0
        let suffix =
            (11...13).contains(day % 100)
            ? "th" : day % 10 == 1 ? "st" : day % 10 == 2 ? "nd" : day % 10 == 3 ? "rd" : "th"
        return "\(day)\(suffix)"
    }
}

extension AlertEngine {
    /// The traffic alerts of this pass. A VM that has an allowance in the config but no usage
    /// figure (the store could not say) keeps its traffic alert as it was, so a failing store
    /// neither resolves nor re-opens it; one whose allowance was removed resolves.
    static func trafficAlerts(
        _ traffic: [VMID: TrafficUsage], config: MonitoringConfig, previous: AlertState, now: Date
    ) -> [Alert] {
        var alerts = traffic.keys.sorted().compactMap { TrafficRule.alert(traffic[$0]!, now: now) }
        for alert in previous.alerts
        where alert.kind == TrafficRule.kind && traffic[alert.vmID] == nil && config.traffic[alert.vmID] != nil {
            alerts.append(alert)
        }
        return alerts
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The holds of one pass, prepared once: the silences in force at `now` (by exact vm_id, and
/// the patterns), the quiet-hours windows open at `now` with their end (a time-zone lookup
/// per window, not per alert), and per VM the silences and windows that name it. An alert
/// then costs a dictionary lookup and a few kind comparisons, so 1000 VMs with 100 silences
/// stay within the pass's budget.
struct SilenceHolds {
    let exact: [String: [Silence]]
    let patterns: [(pattern: WildcardPattern, silence: Silence)]
    let windows: [(window: QuietHours, until: Date, reason: String)]
    var perVM: [VMID: (silences: [Silence], windows: [(window: QuietHours, until: Date, reason: String)])] = [:]

    init(silences: [Silence], quietHours: [QuietHours], now: Date) {
        let active = silences.filter { now < $0.endsAt && now >= $0.createdAt }
        exact = Dictionary(grouping: active.filter { !$0.vm.contains("*") }, by: \.vm)
        patterns = active.filter { $0.vm.contains("*") }.map { (WildcardPattern($0.vm), $0) }
        windows = quietHours.compactMap { window in window.end(ifOpenAt: now).map { (window, $0, window.description) } }
    }

    var isEmpty: Bool { exact.isEmpty && patterns.isEmpty && windows.isEmpty }

    /// What holds `alert`: the longest-lasting silence, else an open quiet-hours window.
    mutating func hold(for alert: Alert) -> AlertHold? {
        if isEmpty { return nil }
        let vm = alert.vmID
        let candidates: (silences: [Silence], windows: [(window: QuietHours, until: Date, reason: String)])
        if let cached = perVM[vm] {
            candidates = cached
        } else {
            let name = vm.rawValue
            candidates = (
                (exact[name] ?? []) + patterns.filter { $0.pattern.matches(name) }.map(\.silence),
                windows.filter { $0.window.vms.contains { WildcardPattern.matches($0, name) } }
            )
            perVM[vm] = candidates
        }
        var best: Silence?
        for silence in candidates.silences
        where AlertSelector.matches(alert: silence.alert, kind: alert.kind, subject: alert.metric) {
            if best.map({ silence.endsAt > $0.endsAt }) ?? true { best = silence }
        }
        if let best { return AlertHold(silenceID: best.id, reason: best.reason, until: best.endsAt) }
        for (window, until, reason) in candidates.windows where window.covers(kind: alert.kind, subject: alert.metric) {
            return AlertHold(silenceID: nil, reason: reason, until: until)
        }
        return nil
    }
}

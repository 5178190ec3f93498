import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The byte-delta rule behind monthly traffic: what one sample adds to the sums, judged
/// from its counters and the previous sample's, so that counter resets and gaps neither
/// lose bytes nor count them twice.
public enum TrafficCounter {
    /// A sample's kernel counters (sums over its interfaces) and its boot.
    public struct Reading: Sendable, Equatable {
        public var rx: Double
        public var tx: Double
        /// 32-bit FNV-1a of the boot_id; nil when the agent did not send one.
        public var boot: Int64?

        public init(rx: Double, tx: Double, boot: Int64?) {
            self.rx = rx
            self.tx = tx
            self.boot = boot
        }
    }

    /// Bytes received and sent between `previous` and `current`.
    ///
    /// Per direction: `current − previous` when both samples are of the same boot and the
    /// counter did not go back; `current` (the bytes since the reset) when the boot changed
    /// or the counter went back (an interface recreated, a reboot without boot_id). A boot
    /// counts as changed only when both samples name one and they differ: an agent that
    /// starts sending boot_id has not rebooted.
    public static func delta(from previous: Reading, to current: Reading) -> (rx: Double, tx: Double) {
        let rebooted = previous.boot != nil && current.boot != nil && previous.boot != current.boot
        func one(_ before: Double, _ after: Double) -> Double {
            !rebooted && after >= before ? after - before : after
        }
        return (one(previous.rx, current.rx), one(previous.tx, current.tx))
    }

    /// The boot column's value: the low 32 bits of FNV-1a over the boot_id's bytes (a
    /// collision between two consecutive boots is a 1 in 4 billion chance, and costs a
    /// sample's delta, not the month).
    public static func boot(_ bootID: String?) -> Int64? {
        bootID.map { Int64(FNV1a.hash($0.utf8) & 0xffff_ffff) }
    }

    /// The reading of `document`, nil when it has no network figures.
    static func reading(_ document: MetricsDocument) -> Reading? {
        guard let network = document.system.network else { return nil }
        return Reading(rx: network.rxBytes, tx: network.txBytes, boot: boot(document.system.bootID))
    }
}

/// One allowance month in UTC: from the reset date 00:00 to the next one.
public struct TrafficPeriod: Sendable, Equatable {
    public var start: Date
    /// Exclusive: the next reset.
    public var end: Date

    public init(start: Date, end: Date) {
        self.start = start
        self.end = end
    }

    /// The period holding `date` for allowances reset on `resetDay` (1–31, clamped into that
    /// range). In a month shorter than `resetDay` the reset is on its last day (31 → 28 or 29
    /// February, 30 April), and the month after resets on `resetDay` again.
    public static func containing(_ date: Date, resetDay: Int) -> TrafficPeriod {
        let day = min(31, max(1, resetDay))
        let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
        let (year, month, dayOfMonth) = Timestamp.civilDate(fromDays: Int64(days))
        func reset(_ year: Int, _ month: Int) -> Date {
            // Normalise month 0 and 13 into the neighbouring year.
            let y = month < 1 ? year - 1 : month > 12 ? year + 1 : year
            let m = month < 1 ? 12 : month > 12 ? 1 : month
            let d = min(day, Timestamp.daysIn(month: m, year: y))
            return Date(timeIntervalSince1970: Double(Timestamp.daysFromCivil(year: y, month: m, day: d)) * 86_400)
        }
        let thisMonth = reset(year, month)
        let resetDayOfMonth = min(day, Timestamp.daysIn(month: month, year: year))
        if dayOfMonth >= resetDayOfMonth {
            return TrafficPeriod(start: thisMonth, end: reset(year, month + 1))
        }
        return TrafficPeriod(start: reset(year, month - 1), end: thisMonth)
    }

    public var length: TimeInterval { end.timeIntervalSince(start) }
}

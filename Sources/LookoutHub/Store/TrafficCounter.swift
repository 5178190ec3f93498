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
        /// The sample's own rates (bytes/s), which the agent measured per interface.
        public var rxPerSecond: Double?
        public var txPerSecond: Double?
        /// Per interface name; nil in samples stored before the hub kept them.
        public var interfaces: [String: Interface]?

        public init(
            rx: Double, tx: Double, boot: Int64?, rxPerSecond: Double? = nil, txPerSecond: Double? = nil,
            interfaces: [String: Interface]? = nil
        ) {
            self.rx = rx
            self.tx = tx
            self.boot = boot
            self.rxPerSecond = rxPerSecond
            self.txPerSecond = txPerSecond
            self.interfaces = interfaces
        }
    }

    /// One interface's counters and rates in a sample (stored as `samples.net_interfaces`).
    public struct Interface: Codable, Sendable, Equatable {
        public var rx: Double
        public var tx: Double
        public var rxPerSecond: Double
        public var txPerSecond: Double

        public init(rx: Double, tx: Double, rxPerSecond: Double = 0, txPerSecond: Double = 0) {
            self.rx = rx
            self.tx = tx
            self.rxPerSecond = rxPerSecond
            self.txPerSecond = txPerSecond
        }

        // Short keys: the column is written once per sample and a VM may have a few interfaces.
        enum CodingKeys: String, CodingKey { case rx, tx, rxPerSecond = "rr", txPerSecond = "tr" }
    }

    /// `interfaces` as stored: a JSON object by name; nil without interfaces.
    static func encode(_ interfaces: [String: Interface]?) -> String? {
        guard let interfaces, !interfaces.isEmpty, let data = try? JSONEncoder.lookout().encode(interfaces) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The stored column back; a damaged value reads as absent (the sum rule applies).
    static func decodeInterfaces(_ text: String?) -> [String: Interface]? {
        guard let text else { return nil }
        return try? JSONDecoder().decode([String: Interface].self, from: Data(text.utf8))
    }

    /// Bytes received and sent between `previous` and `current`, `seconds` apart.
    ///
    /// Per direction: `current − previous` when both samples are of the same boot and the
    /// counter did not go back; `current` (the bytes since the reset) when the boot changed
    /// or the counter went back without a boot_id to tell (a reboot looks like that). A boot
    /// counts as changed only when both samples name one and they differ: an agent that
    /// starts sending boot_id has not rebooted.
    ///
    /// A counter that went back within one known boot is not a reboot: an interface went
    /// away or was recreated, and the sum over the others still holds their bytes since the
    /// boot, which must not be counted again. The sample's own rate over the gap (the agent
    /// measured it per interface, restarting the one that reset) is the estimate then,
    /// never more than the counter itself.
    public static func delta(
        from previous: Reading, to current: Reading, seconds: Double? = nil
    ) -> (rx: Double, tx: Double) {
        let bothKnown = previous.boot != nil && current.boot != nil
        let rebooted = bothKnown && previous.boot != current.boot
        func one(_ before: Double, _ after: Double, _ rate: Double?) -> Double {
            if !rebooted && after >= before { return after - before }
            if bothKnown && !rebooted {
                guard let rate, let seconds, seconds > 0 else { return 0 }
                return min(after, rate * seconds)
            }
            return after
        }
        if !rebooted, let before = previous.interfaces, let after = current.interfaces {
            // Per interface: one that went back or is new in this sample (it came up, or the
            // agent had left it out) counts its own rate over the gap, never its whole counter,
            // which may hold bytes already counted before it left; one that is gone counts 0.
            var rx = 0.0
            var tx = 0.0
            for (name, now) in after {
                if let then = before[name], now.rx >= then.rx {
                    rx += now.rx - then.rx
                } else {
                    rx += estimate(now.rx, now.rxPerSecond, seconds)
                }
                if let then = before[name], now.tx >= then.tx {
                    tx += now.tx - then.tx
                } else {
                    tx += estimate(now.tx, now.txPerSecond, seconds)
                }
            }
            return (rx, tx)
        }
        return (
            one(previous.rx, current.rx, current.rxPerSecond), one(previous.tx, current.tx, current.txPerSecond)
        )
    }

    /// The bytes an interface without a usable previous counter moved in the gap: its rate
    /// over the gap, at most its counter.
    private static func estimate(_ counter: Double, _ rate: Double, _ seconds: Double?) -> Double {
        guard let seconds, seconds > 0 else { return 0 }
        return min(counter, rate * seconds)
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
        var interfaces: [String: Interface] = [:]
        for interface in network.interfaces {
            interfaces[interface.name] = Interface(
                rx: interface.rxBytes, tx: interface.txBytes, rxPerSecond: interface.rxBytesPerSecond,
                txPerSecond: interface.txBytesPerSecond)
        }
        return Reading(
            rx: network.rxBytes, tx: network.txBytes, boot: boot(document.system.bootID),
            rxPerSecond: network.rxBytesPerSecond, txPerSecond: network.txBytesPerSecond,
            interfaces: interfaces.isEmpty ? nil : interfaces)
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

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One recurring window of `quiet_hours` in the config: the alerts it names send no notice
/// while it lasts (the same as a silence: evaluated, shown as silenced, told once at its end
/// if still holding). A window whose `to` is earlier than its `from` crosses midnight and
/// belongs to the day it starts on (`"days": ["sat"]`, 23:00-06:00 covers Saturday night).
///
/// Times are wall-clock times in `timezone` (an IANA name, read through Foundation's
/// `TimeZone`), so a window keeps its local hours across daylight-saving changes: on the
/// spring-forward night a 02:00-04:30 window in Europe/Berlin opens at 03:00 (02:xx does
/// not exist) and lasts 1.5 hours; on the fall-back night it lasts 3.5 hours (02:00-03:00
/// happens twice). A window that ends in the hour that does not exist ends when the clock
/// jumps; one that ends in the hour that happens twice ends the second time.
public struct QuietHours: Sendable, Equatable {
    public var vms: [String]
    /// `nil`: every kind but `stale`. A VM that is down is never held unless `stale` is named.
    public var alerts: [String]?
    /// Weekdays the window starts on, 0 = Sunday ... 6 = Saturday.
    public var days: Set<Int>
    /// Minutes after local midnight.
    public var from: Int
    public var to: Int
    public var timezone: TimeZone
    public var timezoneName: String

    public static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public init(
        vms: [String] = ["*"], alerts: [String]? = nil, days: Set<Int> = Set(0..<7), from: Int, to: Int,
        timezone: String
    ) throws(ConfigError) {
        guard let zone = TimeZone(identifier: timezone) else {
            throw ConfigError(
                "timezone: \"\(timezone.prefix(60))\" is not a time zone name (an IANA name such as Europe/Berlin "
                    + "or UTC, as in /usr/share/zoneinfo)")
        }
        self.vms = vms
        self.alerts = alerts
        self.days = days
        self.from = from
        self.to = to
        self.timezone = zone
        self.timezoneName = timezone
    }

    /// `quiet hours 02:00-04:30 Europe/Berlin`, the reason shown on a held alert.
    public var description: String {
        "quiet hours \(Self.clock(from))-\(Self.clock(to)) \(timezoneName)"
    }

    static func clock(_ minutes: Int) -> String {
        let h = minutes / 60
        let m = minutes % 60
        return "\(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m)"
    }

    /// The end of the window when it holds `alert` at `now`, else `nil`.
    public func holds(_ alert: Alert, at now: Date) -> Date? {
        guard vms.contains(where: { WildcardPattern.matches($0, alert.vmID.rawValue) }),
            covers(kind: alert.kind, subject: alert.metric)
        else { return nil }
        return end(ifOpenAt: now)
    }

    /// Whether `alerts` names the kind (a VM that is down only when `stale` is named).
    func covers(kind: String, subject: String) -> Bool {
        if kind == "stale" { return alerts?.contains("stale") ?? false }
        guard let alerts else { return true }
        return alerts.contains { AlertSelector.matches(alert: $0, kind: kind, subject: subject) }
    }

    /// The end of the window when `now` lies inside one, else `nil`.
    ///
    /// Judged on instants, not on the wall clock: a window starts at the first instant whose
    /// local time reaches `from` and ends at the last instant whose local time reaches `to`.
    /// So a time that does not exist (spring forward) is the moment the clock jumps past it,
    /// and in the hour that happens twice (fall back) the window stays open through both.
    public func end(ifOpenAt now: Date) -> Date? {
        let today = ((now.timeIntervalSince1970 + Double(timezone.secondsFromGMT(for: now))) / 86_400).rounded(.down)
        for day in [today - 1, today] {
            let weekday = ((Int(day) + 4) % 7 + 7) % 7  // 1970-01-01 was a Thursday
            guard days.contains(weekday) else { continue }
            let start = instant(ofWall: day * 86_400 + Double(from * 60), last: false)
            let end = instant(ofWall: (from < to ? day : day + 1) * 86_400 + Double(to * 60), last: true)
            if start <= now && now < end { return end }
        }
        return nil
    }

    /// The instant whose local time is `wall` (seconds since the local 1970-01-01 00:00): the
    /// first or `last` one where the clock shows it twice, and the moment of the jump where
    /// it never does.
    func instant(ofWall wall: TimeInterval, last: Bool) -> Date {
        func offset(_ t: TimeInterval) -> TimeInterval {
            Double(timezone.secondsFromGMT(for: Date(timeIntervalSince1970: t)))
        }
        // The offsets half a day either side hold every candidate (zones change at most once a day).
        let candidates = Set([wall - offset(wall - 43_200), wall - offset(wall + 43_200)]).sorted()
        let exact = candidates.filter { wall - $0 == offset($0) }
        if let found = last ? exact.last : exact.first { return Date(timeIntervalSince1970: found) }
        // A gap: the first instant of the new offset, found to the second between the two candidates.
        var low = candidates.first ?? wall
        var high = candidates.last ?? wall
        let before = offset(low)
        while high - low > 1 {
            let middle = ((low + high) / 2).rounded(.down)
            if offset(middle) == before { low = middle } else { high = middle }
        }
        return Date(timeIntervalSince1970: high)
    }
}

extension QuietHours: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case vms, alerts, days, from, to, timezone }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let vms = try c.decodeIfPresent([String].self, forKey: .vms) ?? ["*"]
        for vm in vms {
            if let problem = Silence.problem(vm: vm, alert: "all", reason: "") {
                throw DecodingError.dataCorruptedError(forKey: .vms, in: c, debugDescription: problem)
            }
        }
        let alerts = try c.decodeIfPresent([String].self, forKey: .alerts)
        for alert in alerts ?? [] {
            if let problem = AlertSelector.problem(alert) {
                throw DecodingError.dataCorruptedError(forKey: .alerts, in: c, debugDescription: problem)
            }
        }
        var days = Set(0..<7)
        if let names = try c.decodeIfPresent([String].self, forKey: .days) {
            days = []
            for name in names {
                guard let index = Self.dayNames.firstIndex(of: name.lowercased()) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .days, in: c,
                        debugDescription:
                            "\"\(name.prefix(20))\" is not a day (\(Self.dayNames.joined(separator: ", ")))")
                }
                days.insert(index)
            }
        }
        let from = try Self.minutes(c, .from)
        let to = try Self.minutes(c, .to)
        guard from != to else {
            throw DecodingError.dataCorruptedError(
                forKey: .to, in: c, debugDescription: "the same as from: a window needs a length")
        }
        let zone = try c.decodeIfPresent(String.self, forKey: .timezone) ?? "UTC"
        do {
            try self.init(vms: vms, alerts: alerts, days: days, from: from, to: to, timezone: zone)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .timezone, in: c, debugDescription: error.message)
        }
    }

    static func minutes(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Int {
        let text = try c.decode(String.self, forKey: key)
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
            (0...23).contains(h) || (h == 24 && m == 0), (0...59).contains(m)
        else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "\"\(text.prefix(20))\" is not a time of day HH:MM (00:00-24:00)")
        }
        return h * 60 + m
    }
}

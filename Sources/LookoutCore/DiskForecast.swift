#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `forecast` in the config: how much hourly history the fit reads and how soon "full" must
/// be to warn.
public struct ForecastSettings: Codable, Sendable, Equatable {
    /// Days of hourly usage the fit reads (1-30).
    public var windowDays: Int
    /// A projected time to 100 % under this many days is a warning (1-365).
    public var warningDays: Int

    public init(windowDays: Int = 3, warningDays: Int = 7) {
        self.windowDays = windowDays
        self.warningDays = warningDays
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case windowDays = "window_days", warningDays = "warning_days" }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        windowDays = try c.decodeIfPresent(Int.self, forKey: .windowDays) ?? 3
        warningDays = try c.decodeIfPresent(Int.self, forKey: .warningDays) ?? 7
        guard (1...30).contains(windowDays) else {
            throw DecodingError.dataCorruptedError(
                forKey: .windowDays, in: c, debugDescription: "\(windowDays) is not between 1 and 30 days")
        }
        guard (1...365).contains(warningDays) else {
            throw DecodingError.dataCorruptedError(
                forKey: .warningDays, in: c, debugDescription: "\(warningDays) is not between 1 and 365 days")
        }
    }
}

/// When a filesystem will be full: a least-squares line through its hourly usage.
///
/// Least squares over a few days of hourly averages is what an operator can check by eye
/// on the chart: it follows a steady fill (logs, backups) and averages out daily swings,
/// without the false precision of a seasonal model fed three days of data.
public struct DiskForecast: Codable, Sendable, Equatable {
    /// One hourly average: percent used, and GB used where the store keeps it (the root disk).
    public struct Point: Sendable, Equatable {
        public var time: Date
        public var percent: Double
        public var usedGB: Double?

        public init(time: Date, percent: Double, usedGB: Double? = nil) {
            self.time = time
            self.percent = percent
            self.usedGB = usedGB
        }
    }

    /// Why there is no projection.
    public enum Reason: String, Codable, Sendable {
        /// Fewer than ``minimumPoints`` hourly points in the window.
        case tooFewPoints = "too_few_points"
        /// The trend is flat (under ``flatPercentPerDay``) or the usage shrinks.
        case notGrowing = "not_growing"
    }

    public var vmID: VMID
    /// The mount point, `/` for the root disk.
    public var path: String
    public var points: Int
    /// The fitted growth in percentage points per day (nil with too few points).
    public var percentPerDay: Double?
    /// The fitted growth in GB per day, when the hourly history has used GB.
    public var gbPerDay: Double?
    /// When the line reaches 100 %, nil without a projection.
    public var fullAt: Date?
    public var daysLeft: Double?
    /// True when `daysLeft` is under the warning limit.
    public var warning: Bool
    public var reason: Reason?

    /// Hours of history below which no forecast is made.
    public static let minimumPoints = 12
    /// A growth below this (percentage points per day) is flat: 100 % would be years away.
    public static let flatPercentPerDay = 0.05

    enum CodingKeys: String, CodingKey {
        case vmID = "vm_id", path, points, percentPerDay = "percent_per_day", gbPerDay = "gb_per_day"
        case fullAt = "full_at", daysLeft = "days_left", warning, reason
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vmID, forKey: .vmID)
        try c.encode(path, forKey: .path)
        try c.encode(points, forKey: .points)
        try c.encode(percentPerDay.map(Self.rounded), forKey: .percentPerDay)
        try c.encode(gbPerDay.map(Self.rounded), forKey: .gbPerDay)
        try c.encode(fullAt.map(Timestamp.format), forKey: .fullAt)
        try c.encode(daysLeft.map(Self.rounded), forKey: .daysLeft)
        try c.encode(warning, forKey: .warning)
        try c.encodeIfPresent(reason, forKey: .reason)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vmID = try c.decode(VMID.self, forKey: .vmID)
        path = try c.decode(String.self, forKey: .path)
        points = try c.decode(Int.self, forKey: .points)
        percentPerDay = try c.decodeIfPresent(Double.self, forKey: .percentPerDay)
        gbPerDay = try c.decodeIfPresent(Double.self, forKey: .gbPerDay)
        fullAt = try c.decodeIfPresent(String.self, forKey: .fullAt).flatMap(Timestamp.parse)
        daysLeft = try c.decodeIfPresent(Double.self, forKey: .daysLeft)
        warning = try c.decode(Bool.self, forKey: .warning)
        reason = try c.decodeIfPresent(Reason.self, forKey: .reason)
    }

    init(vmID: VMID, path: String, points: Int, reason: Reason?) {
        self.vmID = vmID
        self.path = path
        self.points = points
        self.warning = false
        self.reason = reason
    }

    /// Fits `points` (any order) and projects from `now`.
    public static func fit(
        vmID: VMID, path: String, points: [Point], now: Date, settings: ForecastSettings = ForecastSettings()
    ) -> DiskForecast {
        let finite = points.filter { $0.percent.isFinite }
        guard finite.count >= minimumPoints else {
            return DiskForecast(vmID: vmID, path: path, points: finite.count, reason: .tooFewPoints)
        }
        let days = finite.map { $0.time.timeIntervalSince(now) / 86_400 }
        guard let line = Line(x: days, y: finite.map(\.percent)) else {
            return DiskForecast(vmID: vmID, path: path, points: finite.count, reason: .notGrowing)
        }
        var forecast = DiskForecast(vmID: vmID, path: path, points: finite.count, reason: nil)
        forecast.percentPerDay = line.slope
        let used = finite.compactMap { point in point.usedGB.map { (point.time.timeIntervalSince(now) / 86_400, $0) } }
        if used.count >= minimumPoints {
            forecast.gbPerDay = Line(x: used.map(\.0), y: used.map(\.1))?.slope
        }
        guard line.slope >= flatPercentPerDay else {
            forecast.reason = .notGrowing
            return forecast
        }
        // x is days from now, so the intercept is the fitted usage now.
        let daysLeft = max(0, (100 - line.intercept) / line.slope)
        forecast.daysLeft = daysLeft
        forecast.fullAt = now.addingTimeInterval(daysLeft * 86_400)
        forecast.warning = daysLeft < Double(settings.warningDays)
        return forecast
    }

    /// "disk / on db-1 full in ~5 days (+2.1 GB/day)", the warning's text.
    public var message: String {
        let what = path == "/" ? "disk /" : "filesystem \(path)"
        let days = daysLeft ?? 0
        let when: String =
            if days < 1 { "within a day" } else {
                "in ~\(Int(days.rounded())) day\(Int(days.rounded()) == 1 ? "" : "s")"
            }
        // The percent trend rises while used GB can fall (a disk grown or shrunk under it).
        func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + Notice.format(value) }
        let rate = gbPerDay.map { "\(signed($0)) GB/day" } ?? "\(signed(percentPerDay ?? 0)) %/day"
        return "\(what) on \(vmID) full \(when) (\(rate))"
    }

    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    /// y = intercept + slope · x by ordinary least squares; nil when all x are equal.
    struct Line {
        let slope: Double
        let intercept: Double

        init?(x: [Double], y: [Double]) {
            let n = Double(x.count)
            let meanX = x.reduce(0, +) / n
            let meanY = y.reduce(0, +) / n
            var sxy = 0.0
            var sxx = 0.0
            for (xi, yi) in zip(x, y) {
                sxy += (xi - meanX) * (yi - meanY)
                sxx += (xi - meanX) * (xi - meanX)
            }
            guard sxx > 0 else { return nil }
            slope = sxy / sxx
            intercept = meanY - slope * meanX
        }
    }
}

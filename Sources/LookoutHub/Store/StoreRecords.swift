import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One bucket of a downsampled series: a chart draws `avg` and shades `min`…`max`.
///
/// Encoded as `{"t": "2025-12-09T10:30:00Z", "min": …, "avg": …, "max": …, "n": count}`, with
/// `avg` rounded to 2 decimals: a chart needs no more, and the body stays small.
public struct SeriesPoint: Codable, Sendable, Equatable {
    /// The start of the bucket.
    public var time: Date
    public var min: Double
    public var avg: Double
    public var max: Double
    /// How many raw samples the bucket summarises.
    public var count: Int

    public init(time: Date, min: Double, avg: Double, max: Double, count: Int) {
        self.time = time
        self.min = min
        self.avg = avg
        self.max = max
        self.count = count
    }

    enum CodingKeys: String, CodingKey {
        case time = "t", min, avg, max, count = "n"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let text = try c.decode(String.self, forKey: .time)
        guard let time = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: .time, in: c, debugDescription: "\"\(text.prefix(40))\" is not a timestamp")
        }
        self.time = time
        min = try c.decode(Double.self, forKey: .min)
        avg = try c.decode(Double.self, forKey: .avg)
        max = try c.decode(Double.self, forKey: .max)
        count = try c.decode(Int.self, forKey: .count)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Timestamp.format(time), forKey: .time)
        try c.encode(min, forKey: .min)
        try c.encode((avg * 100).rounded() / 100, forKey: .avg)
        try c.encode(max, forKey: .max)
        try c.encode(count, forKey: .count)
    }
}

/// What one retention pass did, for a log line.
public struct RetentionReport: Sendable, Equatable {
    /// (VM, hour) pairs written to the hourly table.
    public var hoursRolledUp: Int
    /// Raw samples deleted (service and container rows are pruned alongside, not counted).
    public var rawDeleted: Int
    /// Rows of `hourly` deleted (service rollups are pruned alongside, not counted).
    public var hourlyDeleted: Int

    public init(hoursRolledUp: Int, rawDeleted: Int, hourlyDeleted: Int) {
        self.hoursRolledUp = hoursRolledUp
        self.rawDeleted = rawDeleted
        self.hourlyDeleted = hourlyDeleted
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Why an alert sends no notice right now: a silence or a quiet-hours window. Shown on the
/// alert (`silenced` in `alerts.json` and `/api/monitoring/alerts`) so the dashboard can say
/// why nobody was told, and until when.
public struct AlertHold: Codable, Sendable, Equatable {
    /// The silence's id; `nil` for quiet hours.
    public var silenceID: String?
    /// The silence's reason, or `quiet hours 02:00-04:30 Europe/Berlin`.
    public var reason: String
    public var until: Date

    public init(silenceID: String?, reason: String, until: Date) {
        self.silenceID = silenceID
        self.reason = reason
        self.until = until
    }

    enum CodingKeys: String, CodingKey { case silenceID = "silence_id", reason, until }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        silenceID = try c.decodeIfPresent(String.self, forKey: .silenceID)
        reason = try c.decode(String.self, forKey: .reason)
        until = Timestamp.parse(try c.decode(String.self, forKey: .until)) ?? Date(timeIntervalSince1970: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(silenceID, forKey: .silenceID)
        try c.encode(reason, forKey: .reason)
        try c.encode(Timestamp.format(until), forKey: .until)
    }
}

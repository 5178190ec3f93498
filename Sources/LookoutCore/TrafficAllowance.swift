#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A VM's monthly traffic allowance (config `traffic.<vm_id>`), as free-tier clouds sell it.
public struct TrafficAllowance: Sendable, Equatable {
    public enum Direction: String, Codable, Sendable, CaseIterable {
        /// Sent bytes only (what most clouds bill), received only, or both summed.
        case tx, rx, both
    }

    /// The allowance in GB (10^9 bytes, as clouds count it).
    public var monthlyGB: Double
    public var direction: Direction
    /// The day of month (UTC) a new allowance starts, 1–31; in a shorter month the last day.
    public var resetDay: Int

    public init(monthlyGB: Double, direction: Direction = .tx, resetDay: Int = 1) {
        self.monthlyGB = monthlyGB
        self.direction = direction
        self.resetDay = resetDay
    }

    public var monthlyBytes: Double { monthlyGB * 1e9 }
}

extension TrafficAllowance: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case monthlyGB = "monthly_gb", direction, resetDay = "reset_day"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        monthlyGB = try c.decode(Double.self, forKey: .monthlyGB)
        guard monthlyGB.isFinite, monthlyGB > 0, monthlyGB <= 1e9 else {
            throw DecodingError.dataCorruptedError(
                forKey: .monthlyGB, in: c, debugDescription: "\(monthlyGB) is not a size in GB above 0")
        }
        let directionText = try c.decodeIfPresent(String.self, forKey: .direction) ?? "tx"
        guard let parsed = Direction(rawValue: directionText) else {
            throw DecodingError.dataCorruptedError(
                forKey: .direction, in: c,
                debugDescription: "\"\(directionText.prefix(40))\" is not one of tx, rx, both")
        }
        direction = parsed
        resetDay = try c.decodeIfPresent(Int.self, forKey: .resetDay) ?? 1
        guard (1...31).contains(resetDay) else {
            throw DecodingError.dataCorruptedError(
                forKey: .resetDay, in: c, debugDescription: "\(resetDay) is not a day of month between 1 and 31")
        }
    }
}

/// One VM's traffic in its current allowance month, as the hub computed it from the stored
/// byte deltas: the input of the traffic alerts and the answer of `GET /api/monitoring/traffic`.
public struct TrafficUsage: Codable, Sendable, Equatable {
    public var vmID: VMID
    /// Start (inclusive) and end (exclusive, the next reset) of the month, UTC.
    public var periodStart: Date
    public var periodEnd: Date
    public var rxBytes: Double
    public var txBytes: Double
    /// The bytes that count against the allowance (per its direction; tx when none is set).
    public var usedBytes: Double
    /// Absent for a VM without an allowance.
    public var allowanceBytes: Double?
    public var direction: TrafficAllowance.Direction
    /// `usedBytes` extrapolated at this month's rate so far to `periodEnd`.
    public var projectedBytes: Double
    /// When the projection reaches the allowance, if before `periodEnd`.
    public var projectedExhaustion: Date?

    public init(
        vmID: VMID, periodStart: Date, periodEnd: Date, rxBytes: Double, txBytes: Double, usedBytes: Double,
        allowanceBytes: Double?, direction: TrafficAllowance.Direction, projectedBytes: Double,
        projectedExhaustion: Date?
    ) {
        self.vmID = vmID
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.rxBytes = rxBytes
        self.txBytes = txBytes
        self.usedBytes = usedBytes
        self.allowanceBytes = allowanceBytes
        self.direction = direction
        self.projectedBytes = projectedBytes
        self.projectedExhaustion = projectedExhaustion
    }

    enum CodingKeys: String, CodingKey {
        case vmID = "vm_id", periodStart = "period_start", periodEnd = "period_end"
        case rxBytes = "rx_bytes", txBytes = "tx_bytes", usedBytes = "used_bytes"
        case allowanceBytes = "allowance_bytes", direction, projectedBytes = "projected_bytes"
        case projectedExhaustion = "projected_exhaustion"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vmID, forKey: .vmID)
        try c.encode(Timestamp.format(periodStart), forKey: .periodStart)
        try c.encode(Timestamp.format(periodEnd), forKey: .periodEnd)
        try c.encode(rxBytes, forKey: .rxBytes)
        try c.encode(txBytes, forKey: .txBytes)
        try c.encode(usedBytes, forKey: .usedBytes)
        try c.encode(allowanceBytes, forKey: .allowanceBytes)
        try c.encode(direction, forKey: .direction)
        try c.encode(projectedBytes, forKey: .projectedBytes)
        try c.encode(projectedExhaustion.map { Timestamp.format($0) }, forKey: .projectedExhaustion)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func date(_ key: CodingKeys) throws -> Date? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not a timestamp")
            }
            return date
        }
        vmID = try c.decode(VMID.self, forKey: .vmID)
        guard let start = try date(.periodStart), let end = try date(.periodEnd) else {
            throw DecodingError.dataCorruptedError(forKey: .periodStart, in: c, debugDescription: "missing")
        }
        periodStart = start
        periodEnd = end
        rxBytes = try c.decode(Double.self, forKey: .rxBytes)
        txBytes = try c.decode(Double.self, forKey: .txBytes)
        usedBytes = try c.decode(Double.self, forKey: .usedBytes)
        allowanceBytes = try c.decodeIfPresent(Double.self, forKey: .allowanceBytes)
        direction = try c.decode(TrafficAllowance.Direction.self, forKey: .direction)
        projectedBytes = try c.decode(Double.self, forKey: .projectedBytes)
        projectedExhaustion = try date(.projectedExhaustion)
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One silence (`lookout silence add`, `POST /api/monitoring/silences`): while it lasts, the
/// alerts it covers are still evaluated and shown, marked silenced, but send no notice.
public struct Silence: Codable, Sendable, Equatable {
    /// Short and random (8 hex digits), so `lookout silence remove <id>` is easy to type.
    public var id: String
    /// A vm_id or a pattern with `*` wildcards; it may name a VM that does not exist yet.
    public var vm: String
    /// `all`, an alert kind (`disk`, `cpu`, `stale`, ...) or `<kind>/<subject>` (`service/web`,
    /// `fs//srv`); the subject may hold `*` wildcards.
    public var alert: String
    public var reason: String
    public var createdAt: Date
    public var endsAt: Date

    public init(id: String, vm: String, alert: String, reason: String, createdAt: Date, endsAt: Date) {
        self.id = id
        self.vm = vm
        self.alert = alert
        self.reason = reason
        self.createdAt = createdAt
        self.endsAt = endsAt
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, vm, alert, reason, createdAt = "created_at", endsAt = "ends_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        vm = try c.decode(String.self, forKey: .vm)
        alert = try c.decode(String.self, forKey: .alert)
        reason = try c.decode(String.self, forKey: .reason)
        createdAt = try Self.date(c, .createdAt)
        endsAt = try Self.date(c, .endsAt)
        if let problem = Self.problem(vm: vm, alert: alert, reason: reason) {
            throw DecodingError.dataCorruptedError(forKey: .vm, in: c, debugDescription: problem)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(vm, forKey: .vm)
        try c.encode(alert, forKey: .alert)
        try c.encode(reason, forKey: .reason)
        try c.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try c.encode(Timestamp.format(endsAt), forKey: .endsAt)
    }

    static func date(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Date {
        let text = try c.decode(String.self, forKey: key)
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "\"\(text.prefix(40))\" is not an RFC 3339 time")
        }
        return date
    }

    /// What is wrong with a silence's fields, in words for the CLI and the API; `nil` when valid.
    public static func problem(vm: String, alert: String, reason: String) -> String? {
        if vm.isEmpty { return "vm: empty (a vm_id, or a pattern such as \"backup-*\" or \"*\")" }
        if vm.count > 200 || vm.contains(where: { !($0.isLetter || $0.isNumber || "-_.*".contains($0)) }) {
            return "vm: \"\(vm.prefix(60))\" is not a vm_id or a pattern of one (letters, digits, - _ . and *)"
        }
        if let problem = AlertSelector.problem(alert) { return "alert: \(problem)" }
        if reason.count > 500 { return "reason: longer than 500 characters" }
        if reason.contains(where: { $0.isNewline }) { return "reason: one line only" }
        if let (scalar, _) = ControlCharacters.first(in: reason) {
            return "reason: holds the control character \(ControlCharacters.name(scalar))"
        }
        return nil
    }

    /// `2h`, `30m`, `1d`, `1w`, `90s` as seconds (at most a year); `nil` for anything else.
    public static func duration(_ text: String) -> TimeInterval? {
        DurationText.seconds(text, max: 366 * 86_400)
    }

    /// The end from exactly one of a duration (`for`) and an RFC 3339 time (`until`), for
    /// the CLI and the API alike; `prefix` is how the caller spells its keys (`--` for options).
    public static func end(
        for duration: String?, until: String?, now: Date, prefix: String = ""
    ) throws(SilenceError) -> Date {
        switch (duration, until) {
        case (let text?, nil):
            guard let seconds = Silence.duration(text) else {
                throw SilenceError(
                    "\(prefix)for: \"\(text.prefix(20))\" is not a duration such as 30m, 2h, 1d (at most a year)",
                    isUsage: true)
            }
            return now.addingTimeInterval(seconds)
        case (nil, let text?):
            guard let date = Timestamp.parse(text) else {
                throw SilenceError(
                    "\(prefix)until: \"\(text.prefix(40))\" is not an RFC 3339 time such as 2026-12-24T08:00:00Z",
                    isUsage: true)
            }
            return date
        default:
            throw SilenceError(
                "give exactly one of \(prefix)for (e.g. 2h) and \(prefix)until (RFC 3339)", isUsage: true)
        }
    }

    /// 8 random hex digits.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt32
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}

/// The `vm` / `alert` pair a silence or a quiet-hours window names, matched against alerts.
public enum AlertSelector {
    /// Every kind an alert can have (``Alert/kind``): what `--alert` and `quiet_hours[].alerts` accept.
    public static let kinds: Set<String> = [
        "cpu", "memory", "disk", "load", "swap", "disk_util", "fs", "temperature", "stale", "service", "container",
        AlertEngine.rebootKind, TrafficRule.kind, CertificateRule.kind, ForecastRule.kind,
    ]

    /// `nil` when `alert` is `all`, a known kind, or `<known kind>/<subject pattern>`.
    public static func problem(_ alert: String) -> String? {
        if alert == "all" { return nil }
        let kind = alert.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        guard let kind, kinds.contains(kind) else {
            return "\"\(alert.prefix(60))\" is not all, an alert kind (\(kinds.sorted().joined(separator: ", "))) "
                + "or <kind>/<subject> such as service/web"
        }
        if alert.count > kind.count + 1 || alert == kind { return nil }
        return "\"\(alert)\" names no subject after the /"
    }

    static func matches(alert: String, kind: String, subject: String) -> Bool {
        if alert == "all" || alert == kind { return true }
        guard alert.hasPrefix(kind), alert.utf8.count > kind.utf8.count + 1,
            alert.utf8[alert.utf8.index(alert.utf8.startIndex, offsetBy: kind.utf8.count)] == UInt8(ascii: "/")
        else { return false }
        return WildcardPattern.matches(String(alert.dropFirst(kind.count + 1)), subject)
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// When a TLS certificate's nearing end is worth telling (`thresholds.certificates`,
/// per VM in `overrides.<vm>.certificates`): warning at `warning_days` or fewer left,
/// critical at `critical_days` or fewer, and critical once it has expired.
///
/// Lower is worse here, the opposite of every other threshold, so it is a type of its own
/// rather than a ``Threshold`` read backwards.
public struct CertificateThreshold: Codable, Sendable, Equatable {
    public var warningDays: Double
    public var criticalDays: Double

    /// Two weeks leave time to chase a renewal that failed; three days is the last call.
    public static let defaults = CertificateThreshold(warningDays: 14, criticalDays: 3)

    public init(warningDays: Double, criticalDays: Double) {
        self.warningDays = warningDays
        self.criticalDays = criticalDays
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case warningDays = "warning_days", criticalDays = "critical_days"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        warningDays = try c.decodeIfPresent(Double.self, forKey: .warningDays) ?? Self.defaults.warningDays
        criticalDays = try c.decodeIfPresent(Double.self, forKey: .criticalDays) ?? Self.defaults.criticalDays
        guard warningDays.isFinite, (0...3650).contains(warningDays) else {
            throw DecodingError.dataCorruptedError(
                forKey: .warningDays, in: c, debugDescription: "\(warningDays) is not between 0 and 3650 days")
        }
        guard criticalDays.isFinite, criticalDays >= 0, criticalDays <= warningDays else {
            throw DecodingError.dataCorruptedError(
                forKey: .criticalDays, in: c,
                debugDescription: "\(criticalDays) must be between 0 and warning_days (\(warningDays))")
        }
    }

    /// The severity of a certificate with `daysLeft` days to go (negative: expired).
    public func severity(daysLeft: Double) -> Severity {
        daysLeft <= 0 || daysLeft <= criticalDays ? .critical : daysLeft <= warningDays ? .warning : .ok
    }
}

/// The `cert` problems of one document: one per service whose check saw a certificate
/// (`services[].cert_expires_at`) that is within the VM's ``CertificateThreshold``.
///
/// Days left are counted from the hub's `now`, not taken from `cert_days_left`, so the
/// alert tightens on schedule and a replay at an old time judges as it would have then.
public enum CertificateRule {
    /// The alert kind; the alert id is `<vm>/cert/<check id>`.
    public static let kind = "cert"

    static func problems(_ services: [ServiceStatus], threshold: CertificateThreshold, now: Date)
        -> [VMHealth.Problem]
    {
        var seen: Set<String> = []
        var problems: [VMHealth.Problem] = []
        for service in services where seen.insert(service.id).inserted {
            guard let text = service.certExpiresAt, let expires = Timestamp.parse(text) else { continue }
            let daysLeft = expires.timeIntervalSince(now) / 86_400
            let severity = threshold.severity(daysLeft: daysLeft)
            guard severity != .ok else { continue }
            let limit = severity == .critical ? threshold.criticalDays : threshold.warningDays
            problems.append(
                VMHealth.Problem(
                    kind: kind, subject: service.id, severity: severity, value: (daysLeft * 10).rounded(.down) / 10,
                    threshold: limit,
                    message: message(service, expires: expires, daysLeft: daysLeft, severity: severity, limit: limit)))
        }
        return problems
    }

    /// "certificate of mail.example.com (issuer R11, Let's Encrypt) expires 2026-12-03T12:00:00Z,
    /// in 2 days, critical at 3 days": what to renew, who issued it and by when.
    static func message(
        _ service: ServiceStatus, expires: Date, daysLeft: Double, severity: Severity, limit: Double
    ) -> String {
        let host = service.certHost ?? service.certSubject ?? service.id
        let issuer = service.certIssuer.map { " (issuer \($0))" } ?? ""
        let date = Timestamp.format(expires)
        if daysLeft <= 0 {
            return "certificate of \(host)\(issuer) expired \(date), \(days(-daysLeft)) ago"
        }
        let rule = "\(severity.rawValue) at \(days(limit))"
        return "certificate of \(host)\(issuer) expires \(date), in \(days(daysLeft)), \(rule)"
    }

    /// Whole days, rounded down, or hours under one day: "2 days", "1 day", "5 hours".
    static func days(_ value: Double) -> String {
        if value < 1 {
            let hours = Int((value * 24).rounded(.down))
            return hours == 1 ? "1 hour" : "\(hours) hours"
        }
        let whole = Int(value.rounded(.down))
        return whole == 1 ? "1 day" : "\(whole) days"
    }
}

extension ServiceStatus {
    /// The certificate fields of one `services[]` entry: a real timestamp, a day count in
    /// range, plain names.
    func validateCertificate(
        path: String, text: (String?, String, Int) throws(DocumentError) -> Void
    ) throws(DocumentError) {
        if let expires = certExpiresAt, Timestamp.parse(expires) == nil {
            throw DocumentError(
                path: "\(path).cert_expires_at", reason: "\"\(expires.prefix(40))\" is not an RFC 3339 timestamp")
        }
        if let days = certDaysLeft, !(-36_500...36_500).contains(days) {
            throw DocumentError(path: "\(path).cert_days_left", reason: "\(days) is not between -36500 and 36500")
        }
        try text(certIssuer, "\(path).cert_issuer", 1024)
        try text(certSubject, "\(path).cert_subject", 1024)
        try text(certHost, "\(path).cert_host", 1024)
    }
}

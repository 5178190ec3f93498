import LookoutCore

// The JSON bodies of the monitoring API beyond the documents themselves.

struct StatusBody: Encodable {
    let status: VMHealth.Status
    let generatedAt: String
    let vms: [VMHealth]
    /// Every configured notification channel and how its deliveries went.
    var channels: [ChannelHealth] = []
    enum CodingKeys: String, CodingKey { case status, generatedAt = "generated_at", vms, channels }
}

struct ServiceRow: Encodable {
    let vmID: VMID
    let id: String
    let healthy: Bool
    let responseMS: Double
    let error: String?
    let since: String
    let checkedAt: String
    /// The certificate of an https or tls check, as the agent reported it (absent otherwise).
    var certExpiresAt: String?
    var certDaysLeft: Int?
    var certIssuer: String?
    var certHost: String?
    enum CodingKeys: String, CodingKey {
        case vmID = "vm_id", id, healthy, responseMS = "response_ms", error, since, checkedAt = "checked_at"
        case certExpiresAt = "cert_expires_at", certDaysLeft = "cert_days_left", certIssuer = "cert_issuer"
        case certHost = "cert_host"
    }
}

struct HistoryBody: Encodable {
    let vmID: VMID
    /// The series name as asked: `cpu`, `net_rx`, `fs:/srv/backup`, …
    let metric: String
    let from: String
    let to: String
    let points: [SeriesPoint]
    enum CodingKeys: String, CodingKey { case vmID = "vm_id", metric, from, to, points }
}

/// The `metrics=` form of a history query: every listed series, by the name as asked, in
/// the point shape of ``HistoryBody``.
struct HistoryManyBody: Encodable {
    let vmID: VMID
    let from: String
    let to: String
    let series: [String: [SeriesPoint]]
    enum CodingKeys: String, CodingKey { case vmID = "vm_id", from, to, series }
}

/// `GET /api/monitoring/sparklines`: per VM of the fleet, per metric, exactly `points`
/// bucket averages (1 decimal) oldest first, null for a bucket without a sample.
struct SparklinesBody: Encodable {
    let from: String
    let to: String
    let stepSeconds: Int64
    let points: Int
    let vms: [String: [String: [Double?]]]
    enum CodingKeys: String, CodingKey { case from, to, stepSeconds = "step_seconds", points, vms }
}

struct SeriesListBody: Encodable {
    let vmID: VMID
    let series: [String]
    enum CodingKeys: String, CodingKey { case vmID = "vm_id", series }
}

struct PublicConfigBody: Encodable {
    let thresholds: Thresholds
    /// Per VM, the full thresholds after its overrides.
    let overrides: [String: VMThresholds]
    let staleAfterMinutes: Int
    let publicURL: String?
    let version: String
    enum CodingKeys: String, CodingKey {
        case thresholds, overrides, staleAfterMinutes = "stale_after_minutes", publicURL = "public_url", version
    }
}

/// One VM's thresholds as the dashboard draws them: the keys of ``Thresholds`` plus one
/// `"fs:<path>"` key per filesystem override, as the config spells them.
struct VMThresholds: Encodable {
    let thresholds: Thresholds
    let filesystems: [String: Threshold]

    func encode(to encoder: any Encoder) throws {
        try thresholds.encode(to: encoder)
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for (path, threshold) in filesystems {
            try c.encode(threshold, forKey: AnyCodingKey(stringValue: "fs:\(path)"))
        }
    }
}

import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The public status page's JSON (`GET /api/status`). Only display names from the config,
/// states, daily uptime and the start of open incidents: no vm_id, host name, URL, figure or
/// error text, so the body can be shown to anyone.
struct StatusPageBody: Encodable, Equatable {
    enum State: String, Encodable, Comparable, CaseIterable {
        case operational, unknown, degraded, outage

        static func < (lhs: State, rhs: State) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    struct Day: Encodable, Equatable {
        let day: String
        /// Percent, or null (encoded as such) for "no data".
        let uptime: Double?
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(day, forKey: .day)
            try c.encode(uptime, forKey: .uptime)
        }
        enum CodingKeys: String, CodingKey { case day, uptime }
    }

    struct Entry: Encodable, Equatable {
        let name: String
        let kind: String
        let state: State
        let uptime: [Day]
        let uptime90d: Double?
        enum CodingKeys: String, CodingKey { case name, kind, state, uptime, uptime90d = "uptime_90d" }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(kind, forKey: .kind)
            try c.encode(state, forKey: .state)
            try c.encode(uptime, forKey: .uptime)
            try c.encode(uptime90d, forKey: .uptime90d)
        }
    }

    struct Incident: Encodable, Equatable {
        let name: String
        let severity: Severity
        let since: String
    }

    let title: String
    /// The banner: `operational`, `degraded` or `outage` (an entry in `unknown` state counts
    /// as degraded: the page cannot vouch for it).
    let status: State
    let updatedAt: String
    let entries: [Entry]
    let incidents: [Incident]
    enum CodingKeys: String, CodingKey { case title, status, updatedAt = "updated_at", entries, incidents }
}

/// What the current state of the listed entries is, judged from the fleet and the active
/// alerts: the part of the page that changes without a new sample (a VM going stale).
struct StatusPageJudgement: Equatable {
    struct Verdict: Equatable {
        var state: StatusPageBody.State
        /// The open incident of the entry, when its state is degraded or outage.
        var incident: (severity: Severity, since: Date)?

        static func == (lhs: Verdict, rhs: Verdict) -> Bool {
            lhs.state == rhs.state && lhs.incident?.severity == rhs.incident?.severity
                && lhs.incident?.since == rhs.incident?.since
        }
    }

    var vms: [VMID: Verdict] = [:]
    var services: [StatusPageConfig.ServiceKey: Verdict] = [:]

    /// Judges every entry of `page`.
    ///
    /// A VM is `outage` while stale, `degraded` while any alert of it is open (warning or
    /// critical: it still reports, so its service is running, just not well), `unknown`
    /// before its first document. A service is `outage` after two failed checks in a row,
    /// `degraded` after one (or while a certificate or service alert of it is open), and
    /// `unknown` when its VM never reported it or is stale (nothing checks it then).
    static func judge(
        _ page: StatusPageConfig, fleet: (VMID) -> Fleet.Entry?, alerts: [Alert], config: MonitoringConfig, now: Date
    ) -> StatusPageJudgement {
        var judgement = StatusPageJudgement()
        let byVM = Dictionary(grouping: alerts, by: \.vmID)
        var stale: [VMID: Date] = [:]
        for vm in Set(page.vms.keys).union(page.services.keys.map(\.vmID)) {
            guard let entry = fleet(vm) else { continue }
            let staleAfter = VMHealth.staleAfter(entry.document, config: config)
            if now.timeIntervalSince(entry.document.timestamp) > Double(staleAfter) {
                let alertSince = byVM[vm]?.first { $0.kind == "stale" }?.since
                stale[vm] = alertSince ?? entry.document.timestamp.addingTimeInterval(Double(staleAfter))
            }
        }
        for vm in page.vms.keys {
            guard fleet(vm) != nil else {
                judgement.vms[vm] = Verdict(state: .unknown)
                continue
            }
            if let since = stale[vm] {
                judgement.vms[vm] = Verdict(state: .outage, incident: (.critical, since))
                continue
            }
            let open = (byVM[vm] ?? []).filter { $0.kind != "stale" && $0.severity > .ok }
            if let worst = open.map(\.severity).max(), let since = open.map(\.since).min() {
                judgement.vms[vm] = Verdict(state: .degraded, incident: (worst, since))
            } else {
                judgement.vms[vm] = Verdict(state: .operational)
            }
        }
        for key in page.services.keys {
            guard let entry = fleet(key.vmID), stale[key.vmID] == nil,
                let service = entry.document.services.first(where: { $0.id == key.serviceID })
            else {
                judgement.services[key] = Verdict(state: .unknown)
                continue
            }
            let since = entry.serviceSince[key.serviceID] ?? entry.document.timestamp
            if !service.healthy {
                // Failing since before this document: at least two checks in a row.
                let repeated = since < entry.document.timestamp
                judgement.services[key] = Verdict(
                    state: repeated ? .outage : .degraded, incident: (repeated ? .critical : .warning, since))
                continue
            }
            let open = (byVM[key.vmID] ?? []).filter { alert in
                (alert.kind == "service" || alert.kind == CertificateRule.kind) && alert.metric == key.serviceID
                    && alert.severity > .ok
            }
            if let worst = open.map(\.severity).max(), let since = open.map(\.since).min() {
                judgement.services[key] = Verdict(state: .degraded, incident: (worst, since))
            } else {
                judgement.services[key] = Verdict(state: .operational)
            }
        }
        return judgement
    }

    /// The body: entries sorted by display name (then VMs before services, then by the
    /// config key, so two entries of one name keep one order in every process), incidents
    /// oldest first.
    func body(
        _ page: StatusPageConfig,
        uptime: (vms: [VMID: DailyUptime], services: [StatusPageConfig.ServiceKey: DailyUptime]),
        days: [String], updatedAt: Date
    ) -> StatusPageBody {
        var rows: [(entry: StatusPageBody.Entry, incident: StatusPageBody.Incident?, since: Date?, key: String)] = []
        func add(name: String, kind: String, key: String, verdict: Verdict?, uptime: DailyUptime?) {
            let verdict = verdict ?? Verdict(state: .unknown)
            let perDay = uptime?.days ?? Array(repeating: nil, count: days.count)
            let entry = StatusPageBody.Entry(
                name: name, kind: kind, state: verdict.state,
                uptime: zip(days, perDay).map { StatusPageBody.Day(day: $0.0, uptime: $0.1) },
                uptime90d: uptime?.total)
            let incident = verdict.incident.map {
                StatusPageBody.Incident(name: name, severity: $0.severity, since: Timestamp.format($0.since))
            }
            rows.append((entry, incident, verdict.incident?.since, key))
        }
        for (vm, name) in page.vms {
            add(name: name, kind: "vm", key: vm.rawValue, verdict: vms[vm], uptime: uptime.vms[vm])
        }
        for (key, name) in page.services {
            add(
                name: name, kind: "service", key: "\(key.vmID.rawValue)/\(key.serviceID)", verdict: services[key],
                uptime: uptime.services[key])
        }
        rows.sort {
            ($0.entry.name, $0.entry.kind == "vm" ? 0 : 1, $0.key) < (
                $1.entry.name, $1.entry.kind == "vm" ? 0 : 1, $1.key
            )
        }
        let worst = rows.map(\.entry.state).max() ?? .operational
        // Rows are in one order already, so incidents of one start keep one order too.
        let incidents = rows.compactMap { row in row.incident.map { (row.since ?? updatedAt, $0) } }
            .sorted { ($0.0, $0.1.name) < ($1.0, $1.1.name) }
        return StatusPageBody(
            title: page.title, status: worst == .unknown ? .degraded : worst, updatedAt: Timestamp.format(updatedAt),
            entries: rows.map(\.entry), incidents: incidents.compactMap(\.1))
    }
}

import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What `lookout replay` found: per config the notices it would have sent, and per VM and
/// alert the notices and minutes firing of the current config beside the proposed one.
public struct ReplayReport: Sendable, Equatable {
    public var from: Date
    public var to: Date
    public var vms: Int
    public var samples: Int
    /// The oldest raw sample, to say when `from` reaches back before it.
    public var oldestSample: Date?
    public var current: [Notice]
    /// nil without a proposed config.
    public var proposed: [Notice]?
    public var rows: [Row]

    /// One VM and alert, in either config's outcome.
    public struct Row: Sendable, Equatable {
        public var vmID: VMID
        public var alertID: String
        /// `cpu`, `fs /srv`, `service api`.
        public var alert: String
        public var current: Figures
        public var proposed: Figures?
    }

    public struct Figures: Sendable, Equatable {
        public var notices = 0
        public var firingMinutes = 0
    }

    /// How the two configs are named in the output (file names).
    public struct Labels: Sendable {
        public var current: String
        public var proposed: String?

        public init(current: String, proposed: String?) {
            self.current = current
            self.proposed = proposed
        }
    }

    /// How long before the window the engine runs without reporting, so an alert already
    /// open when the window starts is not told as new (the hub had told it before).
    public static let warmUp: TimeInterval = 3600

    /// Replays each of `vms` (one at a time: memory stays one VM's history) under both configs.
    public static func build(
        history: ReplayHistory, vms: [VMID], current: MonitoringConfig, proposed: MonitoringConfig?, from: Date,
        to: Date
    ) throws(HubError) -> ReplayReport {
        var report = ReplayReport(
            from: from, to: to, vms: vms.count, samples: 0, oldestSample: try history.oldestSample(), current: [],
            proposed: proposed.map { _ in [] }, rows: [])
        for vm in vms {
            let documents = try history.documents(vm, from: from.addingTimeInterval(-warmUp), to: to)
            report.samples += documents.count(where: { $0.timestamp >= from })
            let interval = try history.latestDocument(vm)?.intervalSeconds
            let mine = AlertReplay.run(
                documents: documents, config: current, from: from, to: to, intervalSeconds: interval)
            let theirs = proposed.map {
                AlertReplay.run(documents: documents, config: $0, from: from, to: to, intervalSeconds: interval)
            }
            report.add(vm, current: mine, proposed: theirs)
        }
        return report
    }

    mutating func add(_ vm: VMID, current mine: AlertReplay.Outcome, proposed theirs: AlertReplay.Outcome?) {
        current += mine.notices
        if let theirs { proposed? += theirs.notices }
        let ids = Set(mine.firingSeconds.keys).union(mine.notices.map(\.alert.id))
            .union(theirs.map { Set($0.firingSeconds.keys).union($0.notices.map(\.alert.id)) } ?? [])
        func figures(_ outcome: AlertReplay.Outcome, _ id: String) -> Figures {
            Figures(
                notices: outcome.notices.count(where: { $0.alert.id == id }),
                firingMinutes: Int(((outcome.firingSeconds[id] ?? 0) / 60).rounded()))
        }
        for id in ids.sorted() {
            let label = mine.labels[id] ?? theirs?.labels[id] ?? id
            rows.append(
                Row(
                    vmID: vm, alertID: id, alert: label, current: figures(mine, id),
                    proposed: theirs.map { figures($0, id) }))
        }
    }

    /// The notices that are sent (the proposed config's when there is one), then the table.
    public func text(labels: Labels) -> String {
        var lines = [
            "replay \(Timestamp.format(from)) .. \(Timestamp.format(to)): \(vms) VM(s), \(samples) sample(s); "
                + "nothing was sent or written"
        ]
        if let oldestSample, oldestSample > from.addingTimeInterval(60) {
            lines.append(
                "note: raw samples start at \(Timestamp.format(oldestSample)); older history is rolled up "
                    + "(retention.raw_days) and not replayed")
        }
        let shown = proposed ?? current
        lines.append("")
        lines.append("notices with \(proposed == nil ? labels.current : labels.proposed ?? "proposed"): \(shown.count)")
        for notice in shown {
            let value = notice.alert.value.map(Notice.format) ?? "-"
            lines.append(
                [
                    Timestamp.format(notice.at), notice.alert.vmID.rawValue, notice.alert.id,
                    notice.kind.rawValue, notice.alert.severity.rawValue, value, notice.alert.message,
                ].joined(separator: "  "))
        }
        lines.append("")
        var header = ["vm", "alert", "notices", "firing"]
        if let name = labels.proposed {
            header = ["vm", "alert", "notices (\(labels.current))", "firing", "notices (\(name))", "firing"]
        }
        var table = [header]
        for row in rows {
            var cells = [row.vmID.rawValue, row.alert, "\(row.current.notices)", "\(row.current.firingMinutes) min"]
            if let other = row.proposed { cells += ["\(other.notices)", "\(other.firingMinutes) min"] }
            table.append(cells)
        }
        if rows.isEmpty { table.append(["(no alert)"] + Array(repeating: "", count: header.count - 1)) }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for cells in table {
            lines.append(
                zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
                    .trimmingSuffixSpaces())
        }
        return lines.joined(separator: "\n")
    }

    /// The report as JSON for scripts: both notice lists and the table.
    public func json(labels: Labels) throws -> String {
        var text = ""
        try writeJSON(labels: labels) { text += $0 }
        return text
    }

    /// The JSON of ``json(labels:)`` in pieces, one notice or row at a time, so a week of a
    /// large fleet (hundreds of thousands of notices) never sits in memory as one document.
    public func writeJSON(labels: Labels, _ write: (String) -> Void) throws {
        struct NoticeBody: Encodable {
            let at: String
            let vm_id: String
            let alert: String
            let transition: String
            let severity: String
            let value: Double?
            let threshold: Double?
            let message: String
        }
        struct FiguresBody: Encodable {
            let notices: Int
            let firing_minutes: Int
        }
        struct RowBody: Encodable {
            let vm_id: String
            let alert: String
            let alert_id: String
            let current: FiguresBody
            let proposed: FiguresBody?
        }
        struct Head: Encodable {
            let from: String
            let to: String
            let vms: Int
            let samples: Int
            let oldest_sample: String?
            let current_config: String
            let proposed_config: String?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func encoded(_ value: some Encodable) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        func list<T>(_ items: [T], _ body: (T) -> some Encodable) throws {
            write("[")
            for (index, item) in items.enumerated() { write((index == 0 ? "\n" : ",\n") + (try encoded(body(item)))) }
            write("\n]")
        }
        func body(_ n: Notice) -> NoticeBody {
            NoticeBody(
                at: Timestamp.format(n.at), vm_id: n.alert.vmID.rawValue, alert: n.alert.id,
                transition: n.kind.rawValue, severity: n.alert.severity.rawValue, value: n.alert.value,
                threshold: n.alert.threshold, message: n.alert.message)
        }
        func figures(_ f: Figures) -> FiguresBody { FiguresBody(notices: f.notices, firing_minutes: f.firingMinutes) }
        let head = try encoded(
            Head(
                from: Timestamp.format(from), to: Timestamp.format(to), vms: vms, samples: samples,
                oldest_sample: oldestSample.map(Timestamp.format), current_config: labels.current,
                proposed_config: labels.proposed))
        // The head's object, left open for the lists.
        write(String(head.dropLast()) + ",\n\"current\": ")
        try list(current, body)
        write(",\n\"proposed\": ")
        if let proposed { try list(proposed, body) } else { write("null") }
        write(",\n\"table\": ")
        try list(rows) { row in
            RowBody(
                vm_id: row.vmID.rawValue, alert: row.alert, alert_id: row.alertID, current: figures(row.current),
                proposed: row.proposed.map(figures))
        }
        write("\n}")
    }
}

extension String {
    fileprivate func trimmingSuffixSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}

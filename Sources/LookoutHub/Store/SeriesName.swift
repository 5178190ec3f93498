import LookoutCore

/// The name of a per-path or per-sensor history series, a row key of `series_samples` and of
/// `hourly`: `fs:<path>` (percent used of that filesystem) or `temp:<sensor>` (°C).
///
/// The one place such a name is checked, whether it comes from a stored document or from a
/// URL: plain text (no control characters), a path that is absolute and has no `.` or `..`
/// component, and the document's own length limits (4096 bytes of path, 128 of sensor).
public struct SeriesName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case filesystem = "fs", temperature = "temp"
    }

    public let kind: Kind
    /// The filesystem's mount point or the sensor's name.
    public let key: String

    /// `fs:/srv/backup`, `temp:coretemp package_id_0`.
    public var rawValue: String { "\(kind.rawValue):\(key)" }
    public var description: String { rawValue }

    /// What the names may look like, for error messages.
    public static let forms = "fs:<path>, temp:<sensor>"

    public init(filesystem path: String) throws(SeriesNameError) {
        try self.init(kind: .filesystem, key: path)
    }

    public init(temperature sensor: String) throws(SeriesNameError) {
        try self.init(kind: .temperature, key: sensor)
    }

    /// Parses `fs:<path>` or `temp:<sensor>`; nil when the text has neither prefix (it is
    /// then no dynamic series at all); throws when it has one but the rest breaks a rule.
    public init?(parsing text: String) throws(SeriesNameError) {
        guard let colon = text.firstIndex(of: ":"), let kind = Kind(rawValue: String(text[..<colon])) else {
            return nil
        }
        try self.init(kind: kind, key: String(text[text.index(after: colon)...]))
    }

    init(kind: Kind, key: String) throws(SeriesNameError) {
        let limit = kind == .filesystem ? 4096 : 128
        guard !key.isEmpty else { throw SeriesNameError("\(kind.rawValue): needs a name after the colon") }
        guard key.utf8.count <= limit else {
            throw SeriesNameError("\(kind.rawValue): the name is \(key.utf8.count) bytes, more than \(limit)")
        }
        guard !key.containsControlCharacter else {
            throw SeriesNameError("\(kind.rawValue): the name contains a control character")
        }
        if kind == .filesystem {
            guard key.hasPrefix("/") else { throw SeriesNameError("fs: the path must start with /") }
            guard !key.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
                throw SeriesNameError("fs: the path must not contain . or .. components")
            }
        }
        self.kind = kind
        self.key = key
    }

    public static func < (a: SeriesName, b: SeriesName) -> Bool { a.rawValue < b.rawValue }

    /// The dynamic series `document` carries: its filesystems' percent used and its sensors'
    /// temperatures. A name the rules refuse is left out; the first of two equal names wins.
    static func values(in document: MetricsDocument) -> [(SeriesName, Double)] {
        var result: [(SeriesName, Double)] = []
        var seen: Set<SeriesName> = []
        for fs in document.system.filesystems ?? [] {
            if let name = try? SeriesName(filesystem: fs.path), seen.insert(name).inserted {
                result.append((name, fs.percent))
            }
        }
        for reading in document.system.temperatures ?? [] {
            if let name = try? SeriesName(temperature: reading.sensor), seen.insert(name).inserted {
                result.append((name, reading.celsius))
            }
        }
        return result
    }
}

/// Why a series name was refused; the text names the rule, and quotes the name (40
/// characters at most) only when it is plain text.
public struct SeriesNameError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Any history series: a fixed ``Metric`` column or a ``SeriesName`` of `series_samples`.
public enum HistorySeries: Hashable, Sendable, CustomStringConvertible {
    case metric(Metric)
    case named(SeriesName)

    /// `cpu`, `net_rx`, `fs:/srv/backup`, … as the API and the `hourly` table spell it.
    public var rawValue: String {
        switch self {
        case .metric(let metric): metric.rawValue
        case .named(let name): name.rawValue
        }
    }

    public var description: String { rawValue }

    /// Parses an API name. Throws naming the choices when it is neither a metric nor a valid
    /// `fs:`/`temp:` name.
    public init(parsing text: String) throws(SeriesNameError) {
        if let metric = Metric(rawValue: text) {
            self = .metric(metric)
        } else if let name = try SeriesName(parsing: text) {
            self = .named(name)
        } else {
            let names = Metric.allCases.map(\.rawValue).joined(separator: ", ")
            let shown = text.containsControlCharacter ? "the name" : "\"\(text.prefix(40))\""
            throw SeriesNameError("\(shown) is not one of \(names), \(SeriesName.forms)")
        }
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A document that cannot be accepted, with the field path that is wrong.
public struct DocumentError: Error, CustomStringConvertible, Equatable {
    /// Dotted path of the offending field, e.g. `system.memory.total_mb` or `containers[2].name`.
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        path.isEmpty ? reason : "\(path): \(reason)"
    }
}

extension MetricsDocument {
    /// The largest document the hub and the agent accept. A real one is 1–20 KB.
    public static let maxEncodedSize = 1 << 20

    /// Decodes and validates a document; every failure names the field.
    public static func decode(_ data: some DataProtocol) throws(DocumentError) -> MetricsDocument {
        guard data.count <= maxEncodedSize else {
            throw DocumentError(
                path: "", reason: "document is \(data.count) bytes, more than the \(maxEncodedSize) allowed")
        }
        let document: MetricsDocument
        do {
            document = try JSONDecoder().decode(MetricsDocument.self, from: Data(data))
        } catch let error as DecodingError {
            throw DocumentError(error)
        } catch {
            throw DocumentError(path: "", reason: "not valid JSON (\(error))")
        }
        try document.validate()
        return document
    }

    /// Checks the values that decoding alone lets through: ranges, lengths and counts.
    public func validate() throws(DocumentError) {
        // The ceiling is 2^64, a kernel counter's: no real figure is larger, and sums and
        // integer conversions of bounded figures cannot overflow downstream.
        func nonNegative(_ value: Double, _ path: String) throws(DocumentError) {
            guard value.isFinite, value >= 0 else {
                throw DocumentError(path: path, reason: "\(value) is negative or not a number")
            }
            guard value <= 18_446_744_073_709_551_616 else {
                throw DocumentError(path: path, reason: "\(value) is larger than 2^64")
            }
        }
        func percent(_ value: Double, _ path: String) throws(DocumentError) {
            guard value.isFinite, value >= 0, value <= 100 else {
                throw DocumentError(path: path, reason: "\(value) is not a percentage between 0 and 100")
            }
        }
        func text(_ value: String, _ path: String, max: Int) throws(DocumentError) {
            guard !value.isEmpty, value.utf8.count <= max else {
                throw DocumentError(path: path, reason: "must be 1 to \(max) bytes long")
            }
            try plain(value, path)
        }
        func optionalText(_ value: String?, _ path: String, max: Int) throws(DocumentError) {
            guard let value else { return }
            guard value.utf8.count <= max else {
                throw DocumentError(path: path, reason: "is longer than \(max) bytes")
            }
            try plain(value, path)
        }
        // Every string of the document ends up in a log line, a mail header, a label of
        // /metrics or the dashboard: none may hold a control character (DESIGN §2a).
        func plain(_ value: String, _ path: String) throws(DocumentError) {
            if let (scalar, offset) = ControlCharacters.first(in: value) {
                throw DocumentError(
                    path: path,
                    reason: "contains the control character \(ControlCharacters.name(scalar)) at position \(offset)")
            }
        }
        try plain(system.uptime.human, "system.uptime.human")
        try optionalText(system.disk.path, "system.disk.path", max: 4096)
        try optionalText(agent, "agent", max: 256)
        try optionalText(system.bootID, "system.boot_id", max: 64)
        try percent(system.cpu.percent, "system.cpu.percent")
        guard system.cpu.cores >= 1, system.cpu.cores <= 4096 else {
            throw DocumentError(path: "system.cpu.cores", reason: "\(system.cpu.cores) is not between 1 and 4096")
        }
        try nonNegative(system.memory.totalMB, "system.memory.total_mb")
        try nonNegative(system.memory.usedMB, "system.memory.used_mb")
        try nonNegative(system.memory.availableMB, "system.memory.available_mb")
        try percent(system.memory.percent, "system.memory.percent")
        try nonNegative(system.disk.totalGB, "system.disk.total_gb")
        try nonNegative(system.disk.usedGB, "system.disk.used_gb")
        try percent(system.disk.percent, "system.disk.percent")
        try nonNegative(system.uptime.seconds, "system.uptime.seconds")
        guard system.uptime.seconds <= 1e10 else {
            throw DocumentError(
                path: "system.uptime.seconds", reason: "\(system.uptime.seconds) is more than 300 years")
        }
        try nonNegative(system.load.one, "system.load.1m")
        try nonNegative(system.load.five, "system.load.5m")
        try nonNegative(system.load.fifteen, "system.load.15m")
        try validateExtras(nonNegative: nonNegative, percent: percent, text: text)
        guard containers.count <= 1000 else {
            throw DocumentError(path: "containers", reason: "\(containers.count) entries, more than 1000")
        }
        for (i, container) in containers.enumerated() {
            try text(container.name, "containers[\(i)].name", max: 256)
            try text(container.status, "containers[\(i)].status", max: 64)
            try nonNegative(container.cpuPercent, "containers[\(i)].cpu_percent")
            try nonNegative(container.memoryMB, "containers[\(i)].memory_mb")
        }
        guard services.count <= 1000 else {
            throw DocumentError(path: "services", reason: "\(services.count) entries, more than 1000")
        }
        for (i, service) in services.enumerated() {
            try text(service.id, "services[\(i)].id", max: 128)
            try optionalText(service.error, "services[\(i)].error", max: ServiceStatus.errorMaxBytes)
            try nonNegative(service.responseMS, "services[\(i)].response_ms")
            try service.validateCertificate(path: "services[\(i)]", text: optionalText)
            if let loss = service.lossPercent { try percent(loss, "services[\(i)].loss_percent") }
        }
        if let interval = intervalSeconds, !(1...86_400).contains(interval) {
            throw DocumentError(path: "interval_seconds", reason: "\(interval) is not between 1 and 86400")
        }
    }

    /// The issue-11 fields of `system`: counts bounded, every name plain, every figure in range.
    private func validateExtras(
        nonNegative: (Double, String) throws(DocumentError) -> Void,
        percent: (Double, String) throws(DocumentError) -> Void,
        text: (String, String, Int) throws(DocumentError) -> Void
    ) throws(DocumentError) {
        // One series per name in the store and in /metrics (a repeated label set makes
        // Prometheus refuse the whole scrape): a name may appear once per list.
        func unique(_ name: String, in seen: inout Set<String>, _ path: String) throws(DocumentError) {
            guard seen.insert(name).inserted else {
                throw DocumentError(path: path, reason: "\"\(name.prefix(80))\" appears twice in the list")
            }
        }
        if let swap = system.swap {
            try nonNegative(swap.totalMB, "system.swap.total_mb")
            try nonNegative(swap.usedMB, "system.swap.used_mb")
            try percent(swap.percent, "system.swap.percent")
        }
        if let network = system.network {
            try nonNegative(network.rxBytesPerSecond, "system.network.rx_bytes_per_s")
            try nonNegative(network.txBytesPerSecond, "system.network.tx_bytes_per_s")
            try nonNegative(network.rxBytes, "system.network.rx_bytes")
            try nonNegative(network.txBytes, "system.network.tx_bytes")
            guard network.interfaces.count <= 256 else {
                throw DocumentError(
                    path: "system.network.interfaces", reason: "\(network.interfaces.count) entries, more than 256")
            }
            var names = Set<String>()
            for (i, interface) in network.interfaces.enumerated() {
                let path = "system.network.interfaces[\(i)]"
                try text(interface.name, "\(path).name", 64)
                try unique(interface.name, in: &names, "\(path).name")
                try nonNegative(interface.rxBytesPerSecond, "\(path).rx_bytes_per_s")
                try nonNegative(interface.txBytesPerSecond, "\(path).tx_bytes_per_s")
                try nonNegative(interface.rxBytes, "\(path).rx_bytes")
                try nonNegative(interface.txBytes, "\(path).tx_bytes")
            }
        }
        if let io = system.diskIO {
            try text(io.device, "system.disk_io.device", 128)
            try nonNegative(io.readBytesPerSecond, "system.disk_io.read_bytes_per_s")
            try nonNegative(io.writeBytesPerSecond, "system.disk_io.write_bytes_per_s")
            try percent(io.utilPercent, "system.disk_io.util_percent")
        }
        if let filesystems = system.filesystems {
            guard filesystems.count <= 256 else {
                throw DocumentError(path: "system.filesystems", reason: "\(filesystems.count) entries, more than 256")
            }
            var paths = Set<String>()
            for (i, fs) in filesystems.enumerated() {
                let path = "system.filesystems[\(i)]"
                try text(fs.path, "\(path).path", 4096)
                try unique(fs.path, in: &paths, "\(path).path")
                guard fs.path.hasPrefix("/") else {
                    throw DocumentError(path: "\(path).path", reason: "must be an absolute path starting with /")
                }
                try text(fs.device, "\(path).device", 4096)
                try text(fs.fstype, "\(path).fstype", 64)
                try nonNegative(fs.totalGB, "\(path).total_gb")
                try nonNegative(fs.usedGB, "\(path).used_gb")
                try percent(fs.percent, "\(path).percent")
            }
        }
        if let temperatures = system.temperatures {
            guard temperatures.count <= 256 else {
                throw DocumentError(path: "system.temperatures", reason: "\(temperatures.count) entries, more than 256")
            }
            var sensors = Set<String>()
            for (i, reading) in temperatures.enumerated() {
                let path = "system.temperatures[\(i)]"
                try text(reading.sensor, "\(path).sensor", 128)
                try unique(reading.sensor, in: &sensors, "\(path).sensor")
                guard reading.celsius.isFinite, (-100...300).contains(reading.celsius) else {
                    throw DocumentError(
                        path: "\(path).celsius", reason: "\(reading.celsius) is not a temperature between -100 and 300")
                }
            }
        }
    }

    /// The document as Lookout writes it: sorted keys, no escaped slashes.
    public func encoded(pretty: Bool = false) -> Data {
        // Encoding plain structs of strings and finite numbers cannot fail.
        // swiftlint:disable:next force_try
        try! JSONEncoder.lookout(pretty: pretty).encode(self)
    }
}

extension JSONEncoder {
    /// The encoder every Lookout file and API answer uses.
    public static func lookout(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension DocumentError {
    /// Turns a `DecodingError` into a message that names the field path, e.g.
    /// `system.memory.total_mb: expected a number`.
    public init(_ error: DecodingError) {
        func path(_ codingPath: [any CodingKey]) -> String {
            var result = ""
            for key in codingPath {
                if let index = key.intValue {
                    result += "[\(index)]"
                } else {
                    result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return result
        }
        switch error {
        case .typeMismatch(let type, let context):
            self.init(path: path(context.codingPath), reason: "expected \(DocumentError.describe(type))")
        case .valueNotFound(let type, let context):
            self.init(path: path(context.codingPath), reason: "expected \(DocumentError.describe(type)), found null")
        case .keyNotFound(let key, let context):
            self.init(path: path(context.codingPath + [key]), reason: "missing")
        case .dataCorrupted(let context):
            let reason =
                context.debugDescription.contains("JSON") || context.codingPath.isEmpty
                ? "not valid JSON (\(context.underlyingError.map { "\($0)" } ?? context.debugDescription))"
                : context.debugDescription
            self.init(path: path(context.codingPath), reason: reason)
        @unknown default:
            self.init(path: "", reason: "\(error)")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type, is Float.Type: "a number"
        case is Int.Type, is Int64.Type, is UInt.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "a list"
        default:
            String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }
}

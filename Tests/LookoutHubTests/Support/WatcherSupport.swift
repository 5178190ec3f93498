import Foundation
import Logging
import LookoutCore
import LookoutHub
import Synchronization
import Testing

// What the folder watcher's tests (FolderWatcherTests, JournalTests) share.

extension ScanEntry.Result {
    var skippedReason: String? {
        if case .skipped(let reason) = self { reason } else { nil }
    }
}

/// A DATA folder and a sibling folder outside it, both removed at the end of the test.
struct TempTree {
    let base: String
    var data: String { base + "/DATA" }
    var outside: String { base + "/outside" }

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-watch-\(UUID())").path
        try FileManager.default.createDirectory(atPath: base + "/DATA", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/outside", withIntermediateDirectories: true)
    }

    /// Writes `bytes` at `relative` (to DATA) atomically, as the agent and sync tools do.
    func write(_ bytes: [UInt8], at relative: String) throws {
        let path = "\(data)/\(relative)"
        try AtomicFile.makeDirectories(AtomicFile.folder(of: path))
        try AtomicFile.write(bytes, to: path, durable: false)
    }

    func makeFolder(_ relative: String) throws {
        try AtomicFile.makeDirectories("\(data)/\(relative)")
    }

    func symlink(_ relative: String, to destination: String) throws {
        let path = "\(data)/\(relative)"
        try AtomicFile.makeDirectories(AtomicFile.folder(of: path))
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: destination)
    }

    /// Results keyed by path relative to DATA; fails the test on a path listed twice.
    func byPath(_ entries: [ScanEntry]) -> [String: ScanEntry.Result] {
        var result: [String: ScanEntry.Result] = [:]
        for entry in entries {
            #expect(entry.path.hasPrefix(data + "/"), "\(entry.path)")
            let key = String(entry.path.dropFirst(data.count + 1))
            #expect(result[key] == nil, "\(key) listed twice")
            result[key] = entry.result
        }
        return result
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: base)
    }

    /// A small valid document of `vm` at `timestamp`, encoded as the agent writes it.
    static func sample(_ vm: String, _ timestamp: Date) throws -> [UInt8] {
        let system = SystemMetrics(
            cpu: CPUMetrics(percent: 12.5, cores: 1),
            memory: MemoryMetrics(totalMB: 1024, usedMB: 512, availableMB: 512, percent: 50),
            disk: DiskMetrics(totalGB: 47, usedGB: 12, percent: 25.5),
            uptime: UptimeMetrics(seconds: 3600),
            load: LoadMetrics(one: 0.08, five: 0.05, fifteen: 0.02))
        let document = MetricsDocument(vmID: try VMID(validating: vm), timestamp: timestamp, system: system)
        return Array(document.encoded(pretty: true))
    }
}

struct Sample: Hashable, CustomStringConvertible {
    let vm: String
    let timestamp: Date
    init(_ vm: String, _ timestamp: Date) {
        self.vm = vm
        self.timestamp = timestamp
    }
    var description: String { "\(vm)@\(Timestamp.format(timestamp))" }
}

/// Answers like the history store: duplicate on a repeated (vm_id, timestamp), storedOlder
/// when older than the VM's latest.
actor FakeStore {
    private(set) var samples: Set<Sample> = []
    private var latest: [String: Date] = [:]

    var count: Int { samples.count }
    /// Documents handed over, duplicates included: what a scan read and ingested.
    private(set) var calls = 0

    func ingest(_ document: MetricsDocument) -> IngestOutcome {
        calls += 1
        let sample = Sample(document.vmID.rawValue, document.timestamp)
        guard samples.insert(sample).inserted else { return .duplicate }
        if let newest = latest[sample.vm], newest > sample.timestamp { return .storedOlder }
        latest[sample.vm] = sample.timestamp
        return .stored
    }
}

final class CapturedLogs: Sendable {
    private let entries = Mutex<[(level: Logger.Level, message: String)]>([])

    var logger: Logger {
        Logger(label: "lookout.test.watcher") { _ in Handler(logs: self) }
    }

    func messages(at level: Logger.Level) -> [String] {
        entries.withLock { $0.filter { $0.level == level }.map(\.message) }
    }

    private struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            logs.entries.withLock { $0.append((event.level, "\(event.message)")) }
        }
    }
}

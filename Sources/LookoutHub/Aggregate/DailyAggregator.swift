#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LookoutCore
import Logging
import ServiceLifecycle

/// Writes `DATA/history/YYYY-MM-DD.json` (DESIGN §3) from the history database and
/// `alerts.json`; the maths is ``DailyAggregate`` in LookoutCore.
public struct DailyAggregator: Sendable {
    public let dataFolder: String
    public let store: HistoryStore

    public init(dataFolder: String, store: HistoryStore) {
        self.dataFolder = dataFolder
        self.store = store
    }

    /// `DATA/history`, also read by the API's `/daily` routes.
    public static func folder(dataFolder: String) -> String { "\(dataFolder)/history" }

    /// Aggregates `day` and writes its file atomically; returns the path and the report.
    /// Alerts counted: resolved ones from `alert_history` (keyed by resolved_at, so every
    /// alert resolved from the day's start on is read and filtered on `since`) plus the
    /// active ones in `alerts.json`.
    @discardableResult
    public func run(day: DailyAggregate.Day) async throws(HubError) -> (path: String, report: DailyAggregate.Report) {
        var inputs: [DailyAggregate.VMInput] = []
        for vmID in try await store.vmIDsWithSamples(from: day.start, to: day.end) {
            inputs.append(try await store.dailyInput(vmID: vmID, from: day.start, to: day.end))
        }
        var alerts = try await store.alertHistory(limit: 1_000_000, from: day.start)
        alerts += try AlertStateFile(dataFolder: dataFolder).load().alerts
        let report = DailyAggregate.report(day: day, vms: inputs, alerts: alerts)
        let folder = Self.folder(dataFolder: dataFolder)
        let path = "\(folder)/\(day).json"
        do {
            let bytes = try JSONEncoder.lookout(pretty: true).encode(report)
            try AtomicFile.makeDirectories(folder)
            try AtomicFile.write(bytes, to: path)
        } catch let error as FileError {
            throw HubError("could not write the daily aggregate: \(error)")
        } catch {
            throw HubError("could not encode the daily aggregate: \(error)")
        }
        return (path, report)
    }
}

/// Runs the daily aggregate inside `lookout serve` once a day at `at` (UTC minutes after
/// midnight, default 23:55), for ``DailyAggregate/defaultDay(now:)`` — today at 23:55.
/// A failure is logged and retried the next day; cron users run `lookout aggregate` instead.
public struct DailyAggregateService: Service {
    let aggregator: DailyAggregator
    let minuteOfDay: Int
    let logger: Logger
    let now: @Sendable () -> Date

    public init(aggregator: DailyAggregator, minuteOfDay: Int = 23 * 60 + 55, logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.aggregator = aggregator
        self.minuteOfDay = minuteOfDay
        self.logger = logger
        self.now = now
    }

    /// `HH:MM` (UTC, 00:00-23:59) as minutes after midnight; nil when malformed.
    public static func minuteOfDay(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
            (0...23).contains(h), (0...59).contains(m)
        else { return nil }
        return h * 60 + m
    }

    /// The next run strictly after `now`.
    static func nextRun(after now: Date, minuteOfDay: Int) -> Date {
        let today = DailyAggregate.Day(containing: now)
        let candidate = today.start.addingTimeInterval(Double(minuteOfDay * 60))
        return candidate > now ? candidate : candidate.addingTimeInterval(86_400)
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let wait = Self.nextRun(after: now(), minuteOfDay: minuteOfDay).timeIntervalSince(now())
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(max(1, wait))) }
            guard !Task.isCancelled && !Task.isShuttingDownGracefully else { return }
            let day = DailyAggregate.defaultDay(now: now())
            do {
                let (path, _) = try await aggregator.run(day: day)
                logger.info("daily aggregate written: \(path)")
            } catch {
                logger.error("daily aggregate for \(day) failed: \(error)")
            }
        }
    }
}

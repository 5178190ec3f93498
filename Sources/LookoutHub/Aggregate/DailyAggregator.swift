import Logging
import LookoutCore
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

/// Runs the daily aggregate inside `lookout serve`, so each day's file ends up covering the
/// whole day:
/// - at `minuteOfDay` (UTC, default 23:55) it writes ``DailyAggregate/defaultDay(now:)``: at
///   23:55 the day so far, for whoever reads it before midnight;
/// - at 00:05 UTC it rewrites the day that just ended, with its last minutes;
/// - shortly after start (`catchUpDelay`, so it does not compete with the start itself) it
///   writes every day still fully within `raw_days` whose file is missing or was written
///   before that day ended (the hub was down at 00:05), skipping days with no sample.
///
/// A failure is logged and retried at the next run; cron users run `lookout aggregate` instead.
public struct DailyAggregateService: Service {
    let aggregator: DailyAggregator
    let minuteOfDay: Int
    let rawDays: Int
    var catchUpDelay: Duration = .seconds(30)
    let logger: Logger
    let now: @Sendable () -> Date

    /// Minutes after midnight UTC of the run that rewrites the previous day complete.
    public static let completeMinute = 5

    public init(
        aggregator: DailyAggregator, minuteOfDay: Int = 23 * 60 + 55, rawDays: Int = Retention().rawDays,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.aggregator = aggregator
        self.minuteOfDay = minuteOfDay
        self.rawDays = rawDays
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

    /// The next run strictly after `now`, and the day it writes.
    static func nextRun(after now: Date, minuteOfDay: Int) -> (at: Date, day: DailyAggregate.Day) {
        let today = DailyAggregate.Day(containing: now)
        var runs: [(at: Date, day: DailyAggregate.Day)] = []
        for day in [today, DailyAggregate.Day(index: today.index + 1)] {
            let daily = day.start.addingTimeInterval(Double(minuteOfDay * 60))
            runs.append((daily, DailyAggregate.defaultDay(now: daily)))
            runs.append((day.start.addingTimeInterval(Double(completeMinute * 60)), day.previous))
        }
        return runs.filter { $0.at > now }.min { $0.at < $1.at }!
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown { [catchUpDelay] in try await Task.sleep(for: catchUpDelay) }
        guard !Task.isCancelled && !Task.isShuttingDownGracefully else { return }
        await catchUp(now: now())
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let next = Self.nextRun(after: now(), minuteOfDay: minuteOfDay)
            let wait = next.at.timeIntervalSince(now())
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(max(1, wait))) }
            guard !Task.isCancelled && !Task.isShuttingDownGracefully else { return }
            await write(next.day)
        }
    }

    /// Writes every day still fully within `raw_days` before `now`'s day whose file is missing
    /// or incomplete (written before the day ended); returns the days written.
    @discardableResult
    func catchUp(now: Date) async -> [DailyAggregate.Day] {
        let today = DailyAggregate.Day(containing: now)
        let oldestKept = now.addingTimeInterval(-Double(rawDays) * 86_400)
        var written: [DailyAggregate.Day] = []
        for index in max(0, today.index - rawDays)..<today.index {
            let day = DailyAggregate.Day(index: index)
            // Its first hours may already be pruned: a file from those samples would be partial.
            guard day.start >= oldestKept else { continue }
            let path = "\(DailyAggregator.folder(dataFolder: aggregator.dataFolder))/\(day).json"
            if let stamp = FileProbe.info(Array(path.utf8), followSymlinks: true)?.stamp,
                Double(stamp.modified) / 1e9 >= day.end.timeIntervalSince1970
            {
                continue
            }
            do {
                let vms = try await aggregator.store.vmIDsWithSamples(from: day.start, to: day.end)
                guard !vms.isEmpty else { continue }
            } catch {
                logger.error("daily aggregate catch-up: \(error)")
                return written
            }
            if await write(day) { written.append(day) }
        }
        return written
    }

    @discardableResult
    func write(_ day: DailyAggregate.Day) async -> Bool {
        do {
            let (path, _) = try await aggregator.run(day: day)
            logger.info("daily aggregate written: \(path)")
            return true
        } catch {
            logger.error("daily aggregate for \(day) failed: \(error)")
            return false
        }
    }
}

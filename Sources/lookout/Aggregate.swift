import ArgumentParser
import Logging
import LookoutCore
import LookoutHub

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Aggregate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the daily aggregate DATA/history/YYYY-MM-DD.json (for cron at 23:55 and 00:05).",
        discussion: """
            Per VM and metric: min / avg / max / nearest-rank p95, samples and minutes with data; per service the \
            healthy share and average response time; per container the minutes running; alerts opened that day \
            by severity. Days are UTC. Without --date: today from 23:50 UTC on (the 23:55 cron line writes the day \
            so far), yesterday before (a run shortly after midnight, the 00:05 cron line, rewrites the day that just \
            ended with its last minutes, so each file ends up covering the whole day). Running it twice on the \
            same data gives the same file. Raw samples are kept retention.raw_days (default 14), so older days \
            cannot be aggregated. Exit 78 when the history database is damaged (nothing is changed in it).
            """)

    @OptionGroup var options: HubOptions

    @Option(help: ArgumentHelp("The UTC day to aggregate (default: see above).", valueName: "YYYY-MM-DD"))
    var date: String?

    func run() async throws {
        let logger = HubCommandSupport.bootstrapLogging(level: options.logLevel, label: "lookout")
        let (monitoring, _) = try options.load(logger: logger, environment: HubCommandSupport.environment())
        let now = Date()
        let day: DailyAggregate.Day
        if let date {
            guard let parsed = DailyAggregate.Day(date) else {
                throw ValidationError("--date: \"\(date.prefix(40))\" is not a date like 2025-12-09")
            }
            day = parsed
        } else {
            day = DailyAggregate.defaultDay(now: now)
        }
        let today = DailyAggregate.Day(containing: now)
        let rawDays = monitoring.retention.rawDays
        guard day.index <= today.index else {
            throw ValidationError("--date \(day) is in the future (today is \(today) UTC)")
        }
        guard day.index > today.index - rawDays else {
            throw ValidationError(
                "--date \(day) is older than retention.raw_days (\(rawDays)): its raw samples are already deleted, "
                    + "so it cannot be aggregated any more")
        }
        do {
            try AtomicFile.makeDirectories(options.data)
            let store = try HistoryStore(path: "\(options.data)/lookout.sqlite", logger: logger)
            let (path, report) = try await DailyAggregator(dataFolder: options.data, store: store).run(day: day)
            print("\(path): \(report.vms.count) VM(s), \(report.alertsOpened.values.reduce(0, +)) alert(s) opened")
        } catch let error as HubError {
            logger.critical("\(error)")
            throw error.exitCode
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }
}

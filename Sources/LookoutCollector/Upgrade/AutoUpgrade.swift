import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `"auto_upgrade": true`: at most one check a day, after a sample was delivered, never in
/// its way. The time of the last check is kept in `upgrade-check.json` beside the state file
/// (`{"checked_at": <unix seconds>}`), so cron runs of `collect` share it with `run`.
public struct AutoUpgrade: Sendable {
    /// `upgrade-check.json` beside the state file.
    public let recordPath: String
    public let upgrader: Upgrader
    let now: @Sendable () -> Date

    /// A day: a fleet of agents asks its hub once a day each, whatever their interval.
    public static let period: TimeInterval = 86_400

    public init(recordPath: String, upgrader: Upgrader, now: @escaping @Sendable () -> Date = { Date() }) {
        self.recordPath = recordPath
        self.upgrader = upgrader
        self.now = now
    }

    /// `upgrade-check.json` in the folder of `statePath`.
    public static func recordPath(forState statePath: String) -> String {
        "\(AtomicFile.folder(of: statePath))/upgrade-check.json"
    }

    struct Record: Codable {
        var checkedAt: Int64
        enum CodingKeys: String, CodingKey { case checkedAt = "checked_at" }
    }

    /// True when a check is due (none recorded, a day has passed, or the record lies more
    /// than a day in the future: the clock was set back), and then records `now` first, so
    /// a failing check waits a day too instead of asking the hub at every sample.
    public func claim(logger: Logger) -> Bool {
        let time = now().timeIntervalSince1970
        if let bytes = try? AtomicFile.read(recordPath, limit: 4096),
            let record = try? JSONDecoder().decode(Record.self, from: Data(bytes))
        {
            let age = time - TimeInterval(record.checkedAt)
            if age < Self.period, age > -Self.period { return false }
        }
        do {
            try AtomicFile.makeDirectories(AtomicFile.folder(of: recordPath), mode: 0o700)
            let bytes = try JSONEncoder.lookout().encode(Record(checkedAt: Int64(time.rounded(.down))))
            try AtomicFile.write(bytes, to: recordPath, mode: 0o600, durable: false)
        } catch {
            // Without the record every sample would ask the hub: skip until it can be written.
            logger.warning("auto_upgrade: not checking, could not record the check: \(error)")
            return false
        }
        return true
    }

    /// Runs the check; logs what happened. Returns the installed binary's path when it was replaced.
    public func perform(logger: Logger) async -> String? {
        do {
            let outcome = try await upgrader.run()
            switch outcome {
            case .upgraded:
                logger.notice("auto_upgrade: \(outcome.message)")
                return upgrader.replacer.path
            default:
                logger.info("auto_upgrade: \(outcome.message); next check in a day")
                return nil
            }
        } catch {
            logger.warning("auto_upgrade: \(error); the installed agent is unchanged, next check in a day")
            return nil
        }
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Logging

/// Notices waiting to be delivered, one file per notice and channel in `DATA/outbox/`.
///
/// A notice is written here before anything is sent, and its file is removed only once
/// the channel accepted it: an SMTP server that is down, or a webhook answering 5xx,
/// delays the notice (retried with backoff: 30 s, 1, 2, 4 … up to 60 min) but never
/// loses it, and a restart picks up where the last process stopped. One file per channel
/// means a notice that reached Slack is not sent there again while email is retried.
public struct Outbox: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var channel: String
        public var notice: Notice
        public var attempts: Int
        public var nextAttempt: Date
        public var lastError: String?

        enum CodingKeys: String, CodingKey {
            case channel, notice, attempts, nextAttempt = "next_attempt", lastError = "last_error"
        }

        public init(channel: String, notice: Notice, attempts: Int = 0, nextAttempt: Date, lastError: String? = nil) {
            self.channel = channel
            self.notice = notice
            self.attempts = attempts
            self.nextAttempt = nextAttempt
            self.lastError = lastError
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            channel = try c.decode(String.self, forKey: .channel)
            notice = try c.decode(Notice.self, forKey: .notice)
            attempts = try c.decode(Int.self, forKey: .attempts)
            nextAttempt = Timestamp.parse(try c.decode(String.self, forKey: .nextAttempt)) ?? Date(timeIntervalSince1970: 0)
            lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(channel, forKey: .channel)
            try c.encode(notice, forKey: .notice)
            try c.encode(attempts, forKey: .attempts)
            try c.encode(Timestamp.format(nextAttempt), forKey: .nextAttempt)
            try c.encodeIfPresent(lastError, forKey: .lastError)
        }
    }

    /// What one delivery round did.
    public struct Report: Sendable, Equatable {
        public var delivered = 0
        public var failed = 0
        public var waiting = 0
    }

    public let folder: String
    let logger: Logger

    public init(dataFolder: String, logger: Logger) {
        self.folder = "\(dataFolder)/outbox"
        self.logger = logger
    }

    /// Queues `notice` for every channel. File names sort in queueing order.
    public func enqueue(_ notices: [Notice], channels: [any NotificationChannel], now: Date) throws(HubError) {
        guard !notices.isEmpty, !channels.isEmpty else { return }
        do {
            try AtomicFile.makeDirectories(folder, mode: 0o700)
        } catch {
            throw HubError("outbox: \(error)")
        }
        var sequence = 0
        for notice in notices {
            for channel in channels {
                sequence += 1
                let entry = Entry(channel: channel.name, notice: notice, nextAttempt: now)
                let stamp = String(Int64(now.timeIntervalSince1970 * 1000))
                let name = "\(stamp)-\(String(format6(sequence)))-\(String(UInt32.random(in: 0...UInt32.max), radix: 16)).json"
                do {
                    try AtomicFile.write(JSONEncoder.lookout().encode(entry), to: "\(folder)/\(name)", mode: 0o600)
                } catch {
                    throw HubError("outbox: could not queue a notice: \(error)")
                }
            }
        }
    }

    /// Sends every entry that is due, oldest first; failures are rescheduled with backoff.
    public func deliver(channels: [any NotificationChannel], now: Date) async -> Report {
        var report = Report()
        let byName = Dictionary(channels.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for path in pending() {
            guard let bytes = try? AtomicFile.read(path, limit: 1 << 20),
                var entry = try? JSONDecoder().decode(Entry.self, from: Data(bytes))
            else {
                logger.error("outbox: \(path) is unreadable; moving it aside")
                rename(path, path + ".bad")
                continue
            }
            guard entry.nextAttempt <= now else {
                report.waiting += 1
                continue
            }
            guard let channel = byName[entry.channel] else {
                logger.warning("outbox: channel \(entry.channel) is no longer configured; dropping \(entry.notice.subject)")
                unlink(path)
                continue
            }
            do {
                try await channel.send(entry.notice)
                unlink(path)
                report.delivered += 1
                logger.info("sent \(entry.notice.kind.rawValue) notice for \(entry.notice.alert.id) via \(channel.name)")
            } catch {
                entry.attempts += 1
                entry.lastError = error.message
                let backoff = min(3600, 30 * pow(2, Double(entry.attempts - 1)))
                entry.nextAttempt = now.addingTimeInterval(backoff)
                report.failed += 1
                logger.warning(
                    "could not send via \(channel.name) (attempt \(entry.attempts)): \(error.message); retrying in \(Int(backoff)) s")
                try? AtomicFile.write(JSONEncoder.lookout().encode(entry), to: path, mode: 0o600)
            }
        }
        return report
    }

    /// Queued files, oldest first.
    public func pending() -> [String] {
        AtomicFile.fileNames(in: folder).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
            .map { "\(folder)/\($0)" }
    }

    private func format6(_ n: Int) -> String {
        let text = String(n)
        return String(repeating: "0", count: max(0, 6 - text.count)) + text
    }
}

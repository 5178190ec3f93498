import LookoutCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How a channel's deliveries went lately, for `/api/monitoring/status` and the dashboard.
/// Kept in `DATA/outbox/.channels.json`, so the hub shows what a cron `lookout check` saw too.
public struct ChannelHealth: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// The last attempt delivered, or nothing was tried yet.
        case ok
        /// The last attempt failed in a way that may pass (relay down, timeout, 5xx, 429).
        case failing
        /// The target refused a notice for good (SMTP 5xx on MAIL/RCPT, webhook 4xx): the
        /// config needs fixing.
        case refused
    }

    public var id: String
    public var status: Status
    /// When the current run of failures began.
    public var failingSince: Date?
    public var lastAttempt: Date?
    /// The last failure's text, with the server's reply.
    public var lastError: String?
    /// Notices waiting for this channel.
    public var queued: Int

    public init(
        id: String, status: Status = .ok, failingSince: Date? = nil, lastAttempt: Date? = nil,
        lastError: String? = nil, queued: Int = 0
    ) {
        self.id = id
        self.status = status
        self.failingSince = failingSince
        self.lastAttempt = lastAttempt
        self.lastError = lastError
        self.queued = queued
    }

    enum CodingKeys: String, CodingKey {
        case id, status, failingSince = "failing_since", lastAttempt = "last_attempt", lastError = "last_error", queued
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        status = try c.decode(Status.self, forKey: .status)
        failingSince = try c.decodeIfPresent(String.self, forKey: .failingSince).flatMap(Timestamp.parse)
        lastAttempt = try c.decodeIfPresent(String.self, forKey: .lastAttempt).flatMap(Timestamp.parse)
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
        queued = try c.decodeIfPresent(Int.self, forKey: .queued) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(failingSince.map(Timestamp.format), forKey: .failingSince)
        try c.encode(lastAttempt.map(Timestamp.format), forKey: .lastAttempt)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(queued, forKey: .queued)
    }

    /// The health file of the outbox in `dataFolder`.
    static func path(dataFolder: String) -> String { "\(dataFolder)/outbox/.channels.json" }

    /// Every configured channel's health, in config order; a channel never tried is `ok`.
    /// - Parameter dataFolder: the folder holding `outbox/` (and `lookout.sqlite`).
    public static func report(dataFolder: String, channelIDs: [String]) -> [ChannelHealth] {
        let known = load(dataFolder: dataFolder)
        return channelIDs.map { known[$0] ?? ChannelHealth(id: $0) }
    }

    /// The same, for the data folder that holds the store at `storePath`.
    public static func report(storePath: String, channelIDs: [String]) -> [ChannelHealth] {
        let folder = storePath.contains("/") ? String(storePath[..<storePath.lastIndex(of: "/")!]) : "."
        return report(dataFolder: folder.isEmpty ? "/" : folder, channelIDs: channelIDs)
    }

    static func load(dataFolder: String) -> [String: ChannelHealth] {
        guard let bytes = try? AtomicFile.read(path(dataFolder: dataFolder), limit: 1 << 20),
            let list = try? JSONDecoder().decode([ChannelHealth].self, from: Data(bytes))
        else { return [:] }
        return Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// Replaces `health`'s entry in the file, keeping the other channels' (which another
    /// process may have written). Best effort: a full disk leaves the old figures.
    static func save(_ health: ChannelHealth, dataFolder: String) {
        // Channels finish their rounds concurrently: one read-modify-write at a time here.
        saving.withLock { _ in
            var all = load(dataFolder: dataFolder)
            all[health.id] = health
            let list = all.values.sorted { $0.id < $1.id }
            guard let bytes = try? JSONEncoder.lookout().encode(list) else { return }
            try? AtomicFile.write(bytes, to: path(dataFolder: dataFolder), mode: 0o600, durable: false)
        }
    }

    private static let saving = Mutex(())
}

import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Outbox {
    /// One notice for one channel, as `DATA/outbox/<name>.json` holds it.
    public struct Entry: Codable, Sendable, Equatable {
        public var channel: String
        public var notice: Notice
        public var attempts: Int
        public var nextAttempt: Date
        public var lastError: String?
        /// The same on every attempt: the email's `Message-ID` (`<delivery_id@domain>`), the
        /// webhook's `X-Lookout-Delivery`. Derived from the file name, so a pass repeated after
        /// a crash queues the notice with the id it had.
        public var deliveryID: String
        /// The last failure was a refusal that a retry will not change.
        public var permanent: Bool

        enum CodingKeys: String, CodingKey {
            case channel, notice, attempts, nextAttempt = "next_attempt", lastError = "last_error"
            case deliveryID = "delivery_id", permanent
        }

        public init(
            channel: String, notice: Notice, attempts: Int = 0, nextAttempt: Date, lastError: String? = nil,
            deliveryID: String, permanent: Bool = false
        ) {
            self.channel = channel
            self.notice = notice
            self.attempts = attempts
            self.nextAttempt = nextAttempt
            self.lastError = lastError
            self.deliveryID = deliveryID
            self.permanent = permanent
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            channel = try c.decode(String.self, forKey: .channel)
            notice = try c.decode(Notice.self, forKey: .notice)
            attempts = try c.decode(Int.self, forKey: .attempts)
            nextAttempt =
                Timestamp.parse(try c.decode(String.self, forKey: .nextAttempt)) ?? Date(timeIntervalSince1970: 0)
            lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
            // Entries queued by an earlier version have none: one is made from the notice.
            deliveryID =
                try c.decodeIfPresent(String.self, forKey: .deliveryID)
                ?? Outbox.key(notice, channel: channel).deliveryID
            permanent = try c.decodeIfPresent(Bool.self, forKey: .permanent) ?? false
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(channel, forKey: .channel)
            try c.encode(notice, forKey: .notice)
            try c.encode(attempts, forKey: .attempts)
            try c.encode(Timestamp.format(nextAttempt), forKey: .nextAttempt)
            try c.encodeIfPresent(lastError, forKey: .lastError)
            try c.encode(deliveryID, forKey: .deliveryID)
            try c.encode(permanent, forKey: .permanent)
        }
    }

    /// What names an entry: (alert id, transition, since, when the alert was last told,
    /// channel id), nothing that changes when a pass is repeated, and different for two
    /// transitions of the same kind within one episode.
    struct Key: Sendable, Equatable {
        /// `<channel hash>-<alert id, sanitised>-<transition>-<hash of the four>.json`: readable
        /// in `ls`, one channel's files found by prefix.
        var fileName: String
        var deliveryID: String
    }

    static func key(_ notice: Notice, channel: String) -> Key {
        // Whole seconds, as alerts.json and the outbox files store times: the same notice must
        // get the same name whether it comes from memory or from disk.
        func seconds(_ date: Date?) -> String {
            date.map { String(Int64($0.timeIntervalSince1970.rounded(.down))) } ?? "-"
        }
        let since = seconds(notice.alert.since)
        let whole = ChannelID.hash(
            [notice.alert.id, notice.kind.rawValue, since, seconds(notice.after), channel].joined(separator: "\u{0}"))
        let readable = String(
            String.UnicodeScalarView(
                notice.alert.id.unicodeScalars.map { c in
                    ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "."
                        || c == "-"
                        ? c : "_"
                }
            ).prefix(80))
        return Key(
            fileName: "\(channelPrefix(channel))\(readable)-\(notice.kind.rawValue)-\(whole).json",
            deliveryID: "lookout.\(whole).\(since)")
    }

    /// The start of every file name of `channel`'s entries.
    static func channelPrefix(_ channel: String) -> String { "\(ChannelID.hash(channel, digits: 8))-" }
}

extension Notice.Kind {
    /// Within one alert the order notices are told in, for entries queued at the same time.
    var rank: Int {
        switch self {
        case .opened: 0
        case .escalated: 1
        case .deescalated: 2
        case .resolved: 3
        case .reminder: 4
        }
    }
}

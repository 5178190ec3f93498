import Logging
import LookoutCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Notices waiting to be delivered, one file per notice and channel in `DATA/outbox/`.
///
/// A notice is written here before anything is sent, and its file is removed only once
/// the channel accepted it: an SMTP server that is down, or a webhook answering 5xx,
/// delays the notice (retried with backoff: 30 s, 1, 2, 4 … up to 60 min) but never
/// loses it, and a restart picks up where the last process stopped.
///
/// Delivery is per channel and independent: each channel's round takes that channel's
/// lock (so `serve` and a cron `check` never send one file twice), sends its due notices
/// oldest first, and stops at its first failure, so a relay that never answers costs one
/// timeout per round and holds up no other channel. Within an alert the order is kept: a
/// notice waits while an earlier one of the same alert waits. An "opened" still waiting
/// when its "resolved" arrives is dropped with it (nobody heard of the alert there), and
/// the alert's history says so (``Alert/undeliveredVia``).
///
/// A file name is derived from (alert id, transition, since, channel id), so a pass that
/// is repeated after a crash or a full disk overwrites what it queued before instead of
/// queueing it twice. When the folder cannot be written (ENOSPC, EIO), entries are kept in
/// memory for this process, delivered from there, and written out once writing works.
public final class Outbox: Sendable {
    /// What one delivery round did.
    public struct Report: Sendable, Equatable {
        public var delivered = 0
        public var failed = 0
        /// Not due yet, behind an earlier notice of the same alert, or after the channel's
        /// failure in this round.
        public var waiting = 0
        /// Opened/resolved pairs dropped (counted per notice).
        public var dropped = 0
        /// Refused for good after ``Outbox/maxPermanentAttempts`` tries; moved to `outbox/failed/`.
        public var gaveUp = 0
        /// Per channel id, the failure of this round.
        public var errors: [String: String] = [:]

        static func + (a: Report, b: Report) -> Report {
            Report(
                delivered: a.delivered + b.delivered, failed: a.failed + b.failed, waiting: a.waiting + b.waiting,
                dropped: a.dropped + b.dropped, gaveUp: a.gaveUp + b.gaveUp,
                errors: a.errors.merging(b.errors) { first, _ in first })
        }
    }

    /// Tries of a notice that the target refused for good before it is set aside: a
    /// refusal can be a passing misconfiguration on the other side, but not for hours.
    public static let maxPermanentAttempts = 3

    public let folder: String
    let dataFolder: String
    let logger: Logger
    /// Told about every alert whose opened/resolved pair was dropped on a channel.
    let undelivered: @Sendable (_ alert: Alert, _ channelID: String) async -> Void
    private let state = Mutex(State())
    let routes: RouteLedger

    struct State {
        /// Entries that could not be written, by file name (newer than any copy on disk).
        var memory: [String: Entry] = [:]
        /// Delivered, but the file could not be removed: never sent again by this process.
        var gone: Set<String> = []
        /// Channels with a round running in this process.
        var busy: Set<String> = []
        /// Per channel, the streams of ``wakeups(for:)``.
        var wakeups: [String: [AsyncStream<Void>.Continuation]] = [:]
        /// Files whose read failed, logged once until they read again.
        var unreadable: Set<String> = []
    }

    public init(
        dataFolder: String, logger: Logger,
        undelivered: @escaping @Sendable (_ alert: Alert, _ channelID: String) async -> Void = { _, _ in }
    ) {
        self.dataFolder = dataFolder
        self.folder = "\(dataFolder)/outbox"
        self.logger = logger
        self.undelivered = undelivered
        self.routes = RouteLedger(folder: "\(dataFolder)/outbox", logger: logger)
    }

    // MARK: - Queueing

    /// Queues every notice for every channel whose route takes it (see ``RouteLedger``)
    /// and wakes those channels' delivery.
    /// - Parameter routed: `false` queues for every channel whatever its route (the test
    ///   notice of `notify-test`, which checks every channel).
    /// - Returns: how many entries are held in memory only, because the folder cannot be
    ///   written (they are delivered from memory, and written once writing works).
    @discardableResult
    public func enqueue(_ notices: [Notice], channels: [any NotificationChannel], now: Date, routed: Bool = true)
        -> Int
    {
        guard !notices.isEmpty, !channels.isEmpty else { return 0 }
        var entries: [(String, Entry)] = []
        let selection =
            routed
            ? routes.select(notices, channels: channels, now: now)
            : RouteLedger.Selection(targets: notices.map { ($0, channels) }, record: nil)
        for (notice, channels) in selection.targets {
            for channel in channels {
                let key = Self.key(notice, channel: channel.id)
                entries.append(
                    (
                        key.fileName,
                        Entry(channel: channel.id, notice: notice, nextAttempt: now, deliveryID: key.deliveryID)
                    ))
            }
        }
        var failure: FileError?
        for (name, entry) in entries {
            do {
                try write(entry, name: name)
                state.withLock { _ = $0.memory.removeValue(forKey: name) }
            } catch {
                failure = failure ?? error
                state.withLock { $0.memory[name] = entry }
            }
        }
        // After the entries: a crash before this repeats the pass, which then decides the same.
        routes.commit(selection)
        let inMemory = state.withLock { $0.memory.count }
        if let failure {
            logger.error(
                .init(
                    stringLiteral:
                        "outbox: cannot write (\(failure)); \(inMemory) notice(s) kept in memory, delivered from there, "
                        + "and written out when the disk works again (a restart before that loses them)"))
        }
        wake(channels.map(\.id))
        return inMemory
    }

    /// The file names of `notice` per channel: where ``enqueue(_:channels:now:)`` puts it.
    public static func fileName(of notice: Notice, channelID: String) -> String {
        key(notice, channel: channelID).fileName
    }

    /// Whether `name` still waits (on disk or in memory).
    public func isQueued(_ name: String) -> Bool {
        state.withLock { $0.memory[name] != nil } || access("\(folder)/\(name)", F_OK) == 0
    }

    /// Removes a queued entry (a test notice that failed is not retried).
    public func discard(_ name: String) {
        state.withLock { _ = $0.memory.removeValue(forKey: name) }
        unlink("\(folder)/\(name)")
    }

    /// Queued files on disk, oldest name first.
    public func pending() -> [String] {
        entryNames().sorted().map { "\(folder)/\($0)" }
    }

    /// Entries held in memory because they could not be written.
    public var inMemoryCount: Int { state.withLock { $0.memory.count } }

    // MARK: - Waking

    /// A stream that yields when something was queued for `channelID` (or ``wakeAll()``).
    public func wakeups(for channelID: String) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.wakeups[channelID, default: []].append(continuation) }
        return stream
    }

    public func wakeAll() { wake(state.withLock { Array($0.wakeups.keys) }) }

    private func wake(_ ids: [String]) {
        let continuations = state.withLock { state in ids.flatMap { state.wakeups[$0] ?? [] } }
        for continuation in continuations { continuation.yield() }
    }

    // MARK: - Delivering

    /// One round for every channel, all channels at once; entries of channels that are no
    /// longer configured are dropped (or, queued by an earlier version, renamed to their
    /// channel's id).
    public func deliver(channels: [any NotificationChannel], now: Date) async -> Report {
        sweepUnknown(channels: channels)
        return await withTaskGroup(of: Report.self) { group in
            for channel in channels {
                group.addTask { await self.deliver(channel: channel, now: now) }
            }
            var total = Report()
            for await report in group { total = total + report }
            return total
        }
    }

    /// One round for one channel: its due entries, in order, until the first failure.
    /// A round already running for this channel (in this process or another) makes this
    /// one return at once.
    public func deliver(channel: any NotificationChannel, now: Date) async -> Report {
        let id = channel.id
        guard state.withLock({ $0.busy.insert(id).inserted }) else { return Report() }
        defer { state.withLock { _ = $0.busy.remove(id) } }
        // The folder first: a round that found none would run unlocked, and another process
        // could queue (and deliver) in it meanwhile.
        try? AtomicFile.makeDirectories(folder, mode: 0o700)
        let lock = FileLock(path: "\(folder)/.\(ChannelID.hash(id, digits: 8)).lock")
        switch await lock.ifFree({ await round(channel, now: now) }) {
        case .ran(let report): return report
        case .busy:
            logger.debug("outbox: another process is delivering via \(id)")
            return Report()
        }
    }

    private func round(_ channel: any NotificationChannel, now: Date) async -> Report {
        let id = channel.id
        persistMemory(channel: id)
        var report = Report()
        var (entries, unreadable) = load(channel: id)
        report.dropped = await dropUnheardPairs(&entries, channel: id)
        // Alert ids (their file-name form) whose earlier notice waits: their later ones wait too.
        var blocked = Set(unreadable)
        var failure: DeliveryError?
        let before = ChannelHealth.load(dataFolder: dataFolder)[id] ?? ChannelHealth(id: id)
        var health = before
        for (name, entry) in entries {
            let alert = Self.alertPart(of: name)
            if failure != nil || blocked.contains(alert) || entry.nextAttempt > now {
                report.waiting += 1
                blocked.insert(alert)
                continue
            }
            health.lastAttempt = now
            do {
                try await channel.send(entry.notice, deliveryID: entry.deliveryID)
                remove(name)
                report.delivered += 1
                health.status = .ok
                health.failingSince = nil
                logger.info("sent \(entry.notice.kind.rawValue) notice for \(entry.notice.alert.id) via \(id)")
            } catch {
                failure = error
                report.errors[id] = error.message
                blocked.insert(alert)
                if health.status == .ok { health.failingSince = now }
                health.lastError = error.message
                if failed(entry, name: name, error: error, now: now) {
                    report.gaveUp += 1
                    health.status = .refused
                } else {
                    report.failed += 1
                    health.status = error.permanent ? .refused : .failing
                }
            }
        }
        health.queued = report.waiting + report.failed
        if health != before { ChannelHealth.save(health, dataFolder: dataFolder) }
        return report
    }

    /// Records a failed attempt with backoff; a permanent refusal after
    /// ``maxPermanentAttempts`` tries goes to `outbox/failed/` instead. Returns whether it gave up.
    private func failed(_ entry: Entry, name: String, error: DeliveryError, now: Date) -> Bool {
        var entry = entry
        entry.attempts += 1
        entry.lastError = error.message
        entry.permanent = error.permanent
        if error.permanent && entry.attempts >= Self.maxPermanentAttempts {
            logger.error(
                .init(
                    stringLiteral:
                        "giving up on the \(entry.notice.kind.rawValue) notice for \(entry.notice.alert.id) via \(entry.channel) "
                        + "after \(entry.attempts) refusals: \(error.message); kept in \(folder)/failed/\(name)"))
            do {
                try AtomicFile.makeDirectories("\(folder)/failed", mode: 0o700)
                try AtomicFile.write(JSONEncoder.lookout().encode(entry), to: "\(folder)/failed/\(name)", mode: 0o600)
            } catch {
                logger.error("outbox: could not keep the refused notice in \(folder)/failed: \(error)")
            }
            remove(name)
            return true
        }
        let backoff = min(3600, 30 * pow(2, Double(entry.attempts - 1)))
        entry.nextAttempt = now.addingTimeInterval(backoff)
        logger.warning(
            .init(
                stringLiteral:
                    "could not send via \(entry.channel) (attempt \(entry.attempts)\(error.permanent ? ", refused" : "")): "
                    + "\(error.message); retrying in \(Int(backoff)) s"))
        do {
            try write(entry, name: name)
            state.withLock { _ = $0.memory.removeValue(forKey: name) }
        } catch {
            state.withLock { $0.memory[name] = entry }
        }
        return false
    }

    /// Drops each "opened" that still waits when the "resolved" of the same alert (same
    /// `since`) is queued behind it, together with everything of that alert up to the
    /// resolved: the people on this channel never heard of it, and a late pair would only
    /// page them for something over. Returns the number of entries dropped.
    private func dropUnheardPairs(_ entries: inout [(String, Entry)], channel: String) async -> Int {
        var dropped: Set<String> = []
        var alerts: [Alert] = []
        for (_, resolved) in entries where resolved.notice.kind == .resolved {
            let alert = resolved.notice.alert
            let same = entries.filter {
                $0.1.notice.alert.id == alert.id
                    && Int64($0.1.notice.alert.since.timeIntervalSince1970) == Int64(alert.since.timeIntervalSince1970)
            }
            guard same.contains(where: { $0.1.notice.kind == .opened }) else { continue }
            dropped.formUnion(same.filter { $0.1.notice.at <= resolved.notice.at }.map(\.0))
            alerts.append(alert)
        }
        guard !dropped.isEmpty else { return 0 }
        for name in dropped { remove(name) }
        entries.removeAll { dropped.contains($0.0) }
        for alert in alerts {
            logger.notice(
                .init(
                    stringLiteral:
                        "\(alert.id) resolved while its opened notice still waited for \(channel): dropped both there; "
                        + "the alert history records it"))
            await undelivered(alert, channel)
        }
        return dropped.count
    }

    // MARK: - Files

    /// `channel`'s entries, oldest first (by the time of the notice, then opened before
    /// resolved), memory over disk; and the alert parts of files that could not be read.
    private func load(channel: String) -> (entries: [(String, Entry)], unreadable: [String]) {
        let prefix = Self.channelPrefix(channel)
        let (memory, gone) = state.withLock { ($0.memory, $0.gone) }
        var found: [String: Entry] = memory.filter { $0.key.hasPrefix(prefix) }
        var unreadable: [String] = []
        for name in entryNames() where name.hasPrefix(prefix) && found[name] == nil {
            if gone.contains(name) {
                remove(name)
                continue
            }
            switch read(name) {
            case .entry(let entry): found[name] = entry
            case .unreadable: unreadable.append(Self.alertPart(of: name))
            case .damaged: break
            }
        }
        let sorted = found.sorted { a, b in
            (a.value.notice.at, a.value.notice.kind.rank, a.key) < (b.value.notice.at, b.value.notice.kind.rank, b.key)
        }
        return (sorted.map { ($0.key, $0.value) }, unreadable)
    }

    enum ReadResult {
        case entry(Entry)
        /// A read error (EMFILE, EIO): tried again next round.
        case unreadable
        /// Not an entry: moved aside as `<name>.bad`.
        case damaged
    }

    func read(_ name: String) -> ReadResult {
        let path = "\(folder)/\(name)"
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 1 << 20)
            state.withLock { _ = $0.unreadable.remove(name) }
        } catch {
            if state.withLock({ $0.unreadable.insert(name).inserted }) {
                logger.warning("outbox: cannot read \(path) (\(error)); trying again next round")
            }
            return .unreadable
        }
        do {
            return .entry(try JSONDecoder().decode(Entry.self, from: Data(bytes)))
        } catch {
            logger.error("outbox: \(path) is not an outbox entry (\(error)); moving it aside")
            rename(path, path + ".bad")
            return .damaged
        }
    }

    private func write(_ entry: Entry, name: String) throws(FileError) {
        try AtomicFile.makeDirectories(folder, mode: 0o700)
        let bytes: Data
        do {
            bytes = try JSONEncoder.lookout().encode(entry)
        } catch {
            // An entry is plain strings, numbers and dates: encoding cannot fail.
            preconditionFailure("outbox entry did not encode: \(error)")
        }
        try AtomicFile.write(bytes, to: "\(folder)/\(name)", mode: 0o600)
    }

    /// Writes out what only memory holds of `channel`, now that writing may work again.
    /// Only its own entries, inside its own round and lock: another channel's round,
    /// running at the same time, may be delivering (and removing) those.
    private func persistMemory(channel: String) {
        let prefix = Self.channelPrefix(channel)
        let memory = state.withLock { $0.memory.filter { $0.key.hasPrefix(prefix) } }
        guard !memory.isEmpty else { return }
        var written = 0
        for (name, entry) in memory {
            guard (try? write(entry, name: name)) != nil else { break }
            state.withLock { state in
                if state.memory[name] == entry { state.memory.removeValue(forKey: name) }
            }
            written += 1
        }
        if written == memory.count { logger.notice("outbox: wrote the \(written) notice(s) held in memory") }
    }

    /// Removes a delivered (or dropped) entry; one that cannot be removed is remembered, so
    /// this process does not send it again.
    private func remove(_ name: String) {
        state.withLock { _ = $0.memory.removeValue(forKey: name) }
        if unlink("\(folder)/\(name)") == 0 || errno == ENOENT {
            state.withLock { _ = $0.gone.remove(name) }
        } else {
            state.withLock { _ = $0.gone.insert(name) }
        }
    }

    private func entryNames() -> [String] {
        AtomicFile.fileNames(in: folder).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
    }

    /// The sanitised alert id inside a file name (between the channel prefix and the
    /// transition); for a name of another form, the whole name.
    static func alertPart(of name: String) -> String {
        let body = name.dropFirst(9)
        guard let dash = body.dropLast(5).lastIndex(of: "-"),
            let second = body[..<dash].lastIndex(of: "-")
        else { return name }
        return String(body[..<second])
    }

    /// Entries whose channel is not configured: those an earlier version queued under
    /// `webhook:<kind>:<host>` are renamed to the one channel that name means now; the
    /// rest are moved to `outbox/failed/` with a warning.
    func sweepUnknown(channels: [any NotificationChannel]) {
        let prefixes = Set(channels.map { Self.channelPrefix($0.id) })
        for name in entryNames() where !prefixes.contains(String(name.prefix(9))) {
            guard case .entry(var entry) = read(name) else { continue }
            let matches = channels.filter { Self.legacyID(of: $0.id) == entry.channel || $0.id == entry.channel }
            guard matches.count == 1, let channel = matches.first else {
                // Kept, not deleted: a `check` run with another config than the running `serve`
                // must not destroy serve's queue. `mv outbox/failed/NAME outbox/` requeues it.
                let kept =
                    (try? AtomicFile.makeDirectories("\(folder)/failed", mode: 0o700)).map {
                        rename("\(folder)/\(name)", "\(folder)/failed/\(name)") == 0
                    } ?? false
                logger.warning(
                    """
                    outbox: channel \(entry.channel) is not in this config; \(entry.notice.subject) \
                    \(kept ? "moved to \(folder)/failed/\(name)" : "left in place (could not move it aside)")
                    """)
                continue
            }
            unlink("\(folder)/\(name)")
            entry.channel = channel.id
            let key = Self.key(entry.notice, channel: channel.id)
            if (try? write(entry, name: key.fileName)) == nil { state.withLock { $0.memory[key.fileName] = entry } }
        }
    }

    /// `webhook:ntfy:ntfy.sh:3f9a1c2b` → `webhook:ntfy:ntfy.sh`, the name before ids had a hash.
    static func legacyID(of id: String) -> String {
        id.hasPrefix("webhook:") ? id.split(separator: ":").dropLast().joined(separator: ":") : id
    }
}

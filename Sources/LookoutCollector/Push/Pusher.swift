import Logging
import LookoutCore

/// Sends documents to the hub's ingest endpoint, spooling what cannot be delivered.
///
/// Each delivery first replays the spool oldest first, at most ``replayLimit`` documents,
/// then sends the new document, so the hub receives samples in order and an outage loses
/// none (the hub is idempotent on vm_id and timestamp, so a replay after a lost answer
/// does no harm). A long outage drains over several runs instead of one run that sends
/// thousands of documents and outlives its cron slot.
public struct Pusher: Sendable {
    public let url: String
    let token: String?
    public let spool: Spool
    /// Spooled documents sent per delivery at most; the rest wait for the next one.
    public let replayLimit: Int
    /// How long one delivery may spend replaying; the rest waits for the next run.
    let replayBudget: Duration
    let timeout: Duration
    let httpClient: AgentHTTPClient
    let logger: Logger

    /// A day of 5-minute samples per run: a week's spool drains in a week of runs at most.
    public static let defaultReplayLimit = 288
    /// Against a slow hub 288 documents could take far longer than a cron slot (each up to
    /// the timeout) while the run holds the state lock; two minutes keep the next 5-minute
    /// run free to sample.
    public static let defaultReplayBudget = Duration.seconds(120)

    public init(
        url: String, token: String?, spool: Spool, replayLimit: Int = defaultReplayLimit,
        replayBudget: Duration = defaultReplayBudget, timeout: Duration = .seconds(10),
        httpClient: AgentHTTPClient = .init(), logger: Logger
    ) {
        self.url = url
        self.token = token
        self.spool = spool
        self.replayLimit = replayLimit
        self.replayBudget = replayBudget
        self.timeout = timeout
        self.httpClient = httpClient
        self.logger = logger
    }

    /// What became of one delivery.
    public enum Outcome: Equatable, Sendable {
        /// The document (and `replayed` spooled ones before it) reached the hub.
        case delivered(replayed: Int)
        /// The hub was unreachable or refused for now; the document is on disk in the spool.
        case spooled(pending: Int, reason: String)
        /// The hub rejected the document as invalid; sending it again would not help.
        case rejected(reason: String)
        /// The hub could not be reached and the document could not be spooled either (a
        /// full disk): this sample is lost, and the reason says why.
        case lost(reason: String)
    }

    enum Attempt {
        case accepted
        /// 403: the token is refused, or refused for this document's VM.
        case forbidden(String)
        case retryLater(String)
        case rejected(String)
    }

    /// Replays the spool, then sends `document`.
    ///
    /// A spooled document the hub refuses with 403 may belong to a VM this token may not
    /// push (the VM was renamed, or its token replaced by a per-VM one), or the token
    /// itself may be wrong. The new document tells which: if the hub takes it, the token
    /// is good and the refused document can never be delivered with it, so it is dropped
    /// with a log line; if the hub refuses it too, everything waits for a fixed token.
    public func deliver(_ document: [UInt8], timestamp: Int64) async -> Outcome {
        var replayed = 0
        var tokenAccepted = false
        var documentSent = false
        let pending = spool.pending()
        let clock = ContinuousClock()
        let started = clock.now
        for path in pending.prefix(replayLimit) {
            if replayed > 0, started.duration(to: clock.now) > replayBudget {
                logger.info("replay took longer than \(replayBudget); the rest of the spool waits for the next run")
                break
            }
            guard let bytes = try? AtomicFile.read(path, limit: MetricsDocument.maxEncodedSize) else {
                logger.warning("dropping unreadable spooled document \(path)")
                spool.remove(path)
                continue
            }
            switch await send(bytes) {
            case .accepted:
                spool.remove(path)
                replayed += 1
                tokenAccepted = true
            case .rejected(let reason):
                logger.error("hub rejected spooled document \(path), dropping it: \(reason)")
                spool.remove(path)
            case .forbidden(let reason):
                if !tokenAccepted {
                    switch await send(document) {
                    case .accepted:
                        tokenAccepted = true
                        documentSent = true
                    case .forbidden(let current), .retryLater(let current):
                        return keep(document, timestamp: timestamp, reason: current)
                    case .rejected(let current):
                        logger.error("hub rejected the document: \(current)")
                        return .rejected(reason: current)
                    }
                }
                logger.error(
                    """
                    hub refused spooled document \(path) (\(reason)) but accepts this token: it may not push \
                    that VM's documents; dropping it
                    """)
                spool.remove(path)
            case .retryLater(let reason):
                // The hub already has this run's document: the rest waits in the spool.
                if documentSent {
                    logger.warning("replay stopped (\(reason)); the rest of the spool waits for the next run")
                    return .delivered(replayed: replayed)
                }
                return keep(document, timestamp: timestamp, reason: reason)
            }
        }
        if !documentSent {
            switch await send(document) {
            case .accepted:
                break
            case .rejected(let reason):
                logger.error("hub rejected the document: \(reason)")
                return .rejected(reason: reason)
            case .forbidden(let reason), .retryLater(let reason):
                return keep(document, timestamp: timestamp, reason: reason)
            }
        }
        if replayed > 0 { logger.info("delivered \(replayed) spooled document(s) to \(url)") }
        if pending.count > replayLimit {
            let left = pending.count - replayLimit
            logger.info("\(left) spooled document(s) left for the next run (at most \(replayLimit) a run)")
        }
        return .delivered(replayed: replayed)
    }

    private func keep(_ document: [UInt8], timestamp: Int64, reason: String) -> Outcome {
        do {
            let dropped = try spool.add(document, timestamp: timestamp)
            if !dropped.isEmpty {
                logger.warning("spool is full (\(spool.limit) documents): dropped the \(dropped.count) oldest")
            }
        } catch {
            logger.error("could not push to \(url) (\(reason)) and could not spool the document: \(error); sample lost")
            return .lost(reason: "\(reason); could not spool the document: \(error)")
        }
        let pending = spool.pending().count
        logger.warning("could not push to \(url): \(reason); kept in \(spool.folder) (\(pending) waiting)")
        return .spooled(pending: pending, reason: reason)
    }

    private func send(_ body: [UInt8]) async -> Attempt {
        var headers = [("Content-Type", "application/json"), ("User-Agent", "lookout-agent/\(LookoutVersion.current)")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        do {
            let response = try await httpClient.post(
                url, headers: headers, body: body, timeout: timeout, limit: .truncate(64 << 10))
            let message = String(decoding: response.body, as: UTF8.self).prefix(300)
            switch response.status {
            case 200..<300:
                return .accepted
            case 400, 413, 422:
                return .rejected("HTTP \(response.status): \(message)")
            case 403:
                return .forbidden("HTTP 403: \(message)")
            default:
                // 401 (a token to fix), 429 and 5xx: keep the sample until it is fixed.
                return .retryLater("HTTP \(response.status): \(message)")
            }
        } catch {
            return .retryLater(FailureText.describe(error, timeout: timeout))
        }
    }
}

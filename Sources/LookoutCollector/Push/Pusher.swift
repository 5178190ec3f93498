import LookoutCore
import Logging

/// Sends documents to the hub's ingest endpoint, spooling what cannot be delivered.
///
/// Each delivery first replays the spool oldest first, then sends the new document, so
/// the hub receives samples in order and an outage loses none (the hub is idempotent on
/// vm_id and timestamp, so a replay after a lost answer does no harm).
public struct Pusher: Sendable {
    public let url: String
    let token: String?
    public let spool: Spool
    let timeout: Duration
    let httpClient: AgentHTTPClient
    let logger: Logger

    public init(
        url: String, token: String?, spool: Spool, timeout: Duration = .seconds(10),
        httpClient: AgentHTTPClient = .init(), logger: Logger
    ) {
        self.url = url
        self.token = token
        self.spool = spool
        self.timeout = timeout
        self.httpClient = httpClient
        self.logger = logger
    }

    /// What became of one delivery.
    public enum Outcome: Equatable, Sendable {
        /// The document (and `replayed` spooled ones before it) reached the hub.
        case delivered(replayed: Int)
        /// The hub was unreachable or refused for now; the document waits in the spool.
        case spooled(pending: Int, reason: String)
        /// The hub rejected the document as invalid; sending it again would not help.
        case rejected(reason: String)
    }

    enum Attempt {
        case accepted
        case retryLater(String)
        case rejected(String)
    }

    /// Replays the spool, then sends `document`.
    public func deliver(_ document: [UInt8], timestamp: Int64) async -> Outcome {
        var replayed = 0
        for path in spool.pending() {
            guard let bytes = try? AtomicFile.read(path, limit: MetricsDocument.maxEncodedSize) else {
                logger.warning("dropping unreadable spooled document \(path)")
                spool.remove(path)
                continue
            }
            switch await send(bytes) {
            case .accepted:
                spool.remove(path)
                replayed += 1
            case .rejected(let reason):
                logger.error("hub rejected spooled document \(path), dropping it: \(reason)")
                spool.remove(path)
            case .retryLater(let reason):
                return keep(document, timestamp: timestamp, reason: reason)
            }
        }
        switch await send(document) {
        case .accepted:
            if replayed > 0 { logger.info("delivered \(replayed) spooled document(s) to \(url)") }
            return .delivered(replayed: replayed)
        case .rejected(let reason):
            logger.error("hub rejected the document: \(reason)")
            return .rejected(reason: reason)
        case .retryLater(let reason):
            return keep(document, timestamp: timestamp, reason: reason)
        }
    }

    private func keep(_ document: [UInt8], timestamp: Int64, reason: String) -> Outcome {
        do {
            let dropped = try spool.add(document, timestamp: timestamp)
            if !dropped.isEmpty {
                logger.warning("spool is full (\(spool.limit) documents): dropped the \(dropped.count) oldest")
            }
        } catch {
            logger.error("could not push to \(url) (\(reason)) and could not spool the document: \(error)")
            return .spooled(pending: spool.pending().count, reason: "\(reason); spooling failed: \(error)")
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
            default:
                // 401/403 (a token to fix), 429 and 5xx: keep the sample until it is fixed.
                return .retryLater("HTTP \(response.status): \(message)")
            }
        } catch {
            return .retryLater(FailureText.describe(error, timeout: timeout))
        }
    }
}

import AsyncHTTPClient
import LookoutCore
import Logging
import NIOCore
import NIOHTTP1

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
    /// `nil` means `HTTPClient.lookoutAgent`, created only when a request is made, so a
    /// sample with no Docker, checks or push never starts an event loop.
    let configuredHTTPClient: HTTPClient?
    var httpClient: HTTPClient { configuredHTTPClient ?? .lookoutAgent }
    let logger: Logger

    public init(
        url: String, token: String?, spool: Spool, timeout: Duration = .seconds(10),
        httpClient: HTTPClient? = nil, logger: Logger
    ) {
        self.url = url
        self.token = token
        self.spool = spool
        self.timeout = timeout
        self.configuredHTTPClient = httpClient
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
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "lookout-agent/\(LookoutVersion.current)")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await httpClient.execute(request, timeout: .init(timeout))
            let text = try await response.body.collect(upTo: 64 * 1024)
            let message = String(buffer: text).prefix(300)
            switch response.status.code {
            case 200..<300:
                return .accepted
            case 400, 413, 422:
                return .rejected("HTTP \(response.status.code): \(message)")
            default:
                // 401/403 (a token to fix), 429 and 5xx: keep the sample until it is fixed.
                return .retryLater("HTTP \(response.status.code): \(message)")
            }
        } catch {
            return .retryLater(FailureText.describe(error, timeout: timeout))
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

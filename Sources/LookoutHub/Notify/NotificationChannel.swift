import LookoutCore

/// Somewhere a notice can be sent: email or a webhook.
///
/// Implementation requirements:
/// - ``id`` is unique among the channels of one config and stable across restarts for the
///   same target: the outbox files a notice under it (one file per notice and channel), so
///   two channels sharing an id would receive each other's notices, and an id that changed
///   on restart would orphan what was queued. It names the target without revealing it
///   (kind, host, a hash of the whole target; never a path, token or password), because it
///   appears in logs, file names and `/api/monitoring/status`.
/// - `send` either delivers the notice once or throws; it must not retry on its own (the
///   outbox retries with backoff and keeps the notice on disk meanwhile), and it must end
///   within a bounded time: a target that accepts a connection and never answers fails
///   with a timeout, it does not hold the channel forever.
/// - A refusal that cannot succeed on retry (an address the relay rejects, a webhook that
///   answers 404) is a ``DeliveryError`` with `permanent` set, carrying the reply.
/// - Error texts never contain a secret.
public protocol NotificationChannel: Sendable {
    /// See the implementation requirements: e.g. `email` or `webhook:ntfy:ntfy.sh:3f9a1c2b`.
    var id: String { get }

    /// Delivers `notice` once.
    /// - Parameter deliveryID: the same for every attempt at this notice on this channel (the
    ///   outbox keeps it), so a receiver can recognise a repeat: email uses it as the
    ///   `Message-ID`, webhooks send it as `X-Lookout-Delivery`.
    func send(_ notice: Notice, deliveryID: String) async throws(DeliveryError)

    /// Which notices this channel receives (see ``RouteLedger``); `nil`: every notice.
    var route: NotificationRoute? { get }
}

extension NotificationChannel {
    public var route: NotificationRoute? { nil }
}

/// A channel that could not deliver, and why.
public struct DeliveryError: Error, CustomStringConvertible, Equatable {
    public let message: String
    /// The target refused in a way a retry will not change (SMTP 5xx on MAIL FROM or RCPT
    /// TO, a webhook's 4xx other than 408 and 429): the outbox stops after a few tries.
    public let permanent: Bool

    public init(_ message: String, permanent: Bool = false) {
        self.message = message
        self.permanent = permanent
    }

    public var description: String { message }
}

import LookoutCore

/// Somewhere a notice can be sent: email or a webhook.
///
/// Implementation requirements: `send` either delivers the notice once or throws; it
/// must not retry on its own (the outbox retries with backoff and keeps the notice on
/// disk meanwhile), and its error text must never contain a secret.
public protocol NotificationChannel: Sendable {
    /// A stable name for the outbox and logs, e.g. `email` or `webhook:slack:hooks.slack.com`.
    var name: String { get }
    func send(_ notice: Notice) async throws(DeliveryError)
}

/// A channel that could not deliver, and why.
public struct DeliveryError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

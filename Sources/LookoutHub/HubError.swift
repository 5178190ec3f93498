/// Why the hub could not do something, with the file, key or value involved.
public struct HubError: Error, CustomStringConvertible, Equatable {
    /// Whether trying again can help; the commands turn ``Kind/needsOperator`` into exit 78.
    public enum Kind: Sendable, Equatable {
        /// Something that may pass (a full disk, a lock held a moment): exit 1, a restart may succeed.
        case failure
        /// Data the hub must not touch until someone acts (a damaged or 0-byte database, a file
        /// it may not open): restarting would fail the same way, so the unit does not retry.
        case needsOperator
    }

    public let message: String
    public let kind: Kind

    public init(_ message: String, kind: Kind = .failure) {
        self.message = message
        self.kind = kind
    }

    public var description: String { message }
}

/// Why the hub could not do something, with the file, key or value involved.
public struct HubError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

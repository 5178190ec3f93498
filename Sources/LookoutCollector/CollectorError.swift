/// Why a collection step failed, naming the file, key or address involved.
public struct CollectorError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// A file under the procfs root could not be read.
    public static func unreadable(_ path: String, _ reason: String) -> CollectorError {
        CollectorError("could not read \(path): \(reason)")
    }

    /// A file was read but did not hold what was expected, e.g.
    /// `could not parse load "abc" in /proc/loadavg`.
    public static func malformed(_ path: String, _ detail: String) -> CollectorError {
        CollectorError("could not parse \(detail) in \(path)")
    }
}

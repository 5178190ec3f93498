#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Short, human reasons for network failures, as they appear in `services[].error` and logs.
enum FailureText {
    static func describe(_ error: any Error, timeout: Duration) -> String {
        let timedOut = "timed out after \(timeout.wholeMilliseconds) ms"
        switch error {
        case NetworkError.timedOut:
            return timedOut
        case is CancellationError:
            return "cancelled"
        case let error as NetworkError:
            return error.description
        case let error as CollectorError:
            return error.message
        default:
            return "\(error)"
        }
    }

    static func describe(errno code: Int32) -> String {
        switch code {
        case ECONNREFUSED: "connection refused"
        case ECONNRESET: "connection reset"
        case ENOENT: "no such socket"
        case EACCES: "permission denied"
        case EHOSTUNREACH: "host unreachable"
        case ENETUNREACH: "network unreachable"
        case ETIMEDOUT: "timed out"
        default: String(cString: strerror(code)).lowercased()
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds, for messages.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

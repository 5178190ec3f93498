import AsyncHTTPClient
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// One short reason for a failed connection, from the errors NIO and AsyncHTTPClient throw
/// (which otherwise list every attempt, or read "connection reset (error set): Connection
/// refused) (errno: 111)" for a refusal). The reason is the errno's meaning, said of the
/// target: `connection refused by 127.0.0.1:9`.
enum NetworkErrorText {
    static func reason(_ error: any Error, target: String) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return reason(first.error, target: target) }
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return "cannot resolve the host name of \(target) (\(dns))"
            }
            return "the host name of \(target) has no address"
        }
        if let error = error as? IOError { return reason(errno: error.errnoCode, target: target) }
        if case ChannelError.connectTimeout(let amount) = error {
            return "no connection to \(target) within \(Duration(amount))"
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "no connection to \(target) within the connect timeout"
            case .deadlineExceeded: return "no answer from \(target) within the timeout"
            case .readTimeout: return "\(target) stopped sending within the read timeout"
            case .remoteConnectionClosed: return "\(target) closed the connection before answering"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    static func reason(errno code: CInt, target: String) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused by \(target)"
        case ECONNRESET: return "connection reset by \(target)"
        case ETIMEDOUT: return "connection to \(target) timed out"
        case EHOSTUNREACH: return "no route to \(target) (host unreachable)"
        case ENETUNREACH: return "no route to \(target) (network unreachable)"
        default: return "\(target): \(String(cString: strerror(code)))"
        }
    }
}

import AsyncHTTPClient
import Logging
import LookoutCore
import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the configured health checks, all at once, each within its own timeout.
///
/// A check never throws: whatever goes wrong becomes `healthy: false` with a short,
/// human `error` ("status 500, expected 200-399", "timed out after 2000 ms"), because
/// that text ends up in the document, on the dashboard and in alert mails.
public struct ServiceChecker: Sendable {
    /// `nil` means `HTTPClient.lookoutAgent`, created only when a request is made, so a
    /// sample with no Docker, checks or push never starts an event loop.
    let configuredHTTPClient: HTTPClient?
    var httpClient: HTTPClient { configuredHTTPClient ?? .lookoutAgent }
    let logger: Logger

    /// How much of a body is searched for the keyword: health pages are small, and a
    /// check must not pull a large download every few minutes.
    static let bodyLimit = 1 << 20
    /// Checks in flight at once; a config rarely has more than a dozen.
    static let maxConcurrentChecks = 64

    /// - Parameters:
    ///   - httpClient: the client for URL checks; the default, `.lookoutAgent`, follows
    ///     redirects (a 3xx counts only when it is the final answer) and reports a refused
    ///     port at once.
    ///   - logger: receives a debug line per failed check.
    public init(httpClient: HTTPClient? = nil, logger: Logger) {
        self.configuredHTTPClient = httpClient
        self.logger = logger
    }

    /// Runs every check concurrently; the result is in the order of `checks`.
    public func run(_ checks: [ServiceCheckConfig]) async -> [ServiceStatus] {
        await withTaskGroup(of: (Int, ServiceStatus).self) { group in
            var pending = checks.enumerated().makeIterator()
            for _ in 0..<Self.maxConcurrentChecks {
                guard let (index, check) = pending.next() else { break }
                group.addTask { (index, await self.check(check)) }
            }
            var results = [ServiceStatus?](repeating: nil, count: checks.count)
            for await (index, status) in group {
                results[index] = status
                if let (index, check) = pending.next() {
                    group.addTask { (index, await self.check(check)) }
                }
            }
            return results.compactMap { $0 }
        }
    }

    /// Runs one check; `responseMS` is the time to the answer (to the keyword when one is set).
    public func check(_ check: ServiceCheckConfig) async -> ServiceStatus {
        let clock = ContinuousClock()
        let start = clock.now
        var problem: String?
        do {
            switch check.target {
            case .http(let url):
                problem = try await withTimeout(check.timeout) { [self] in
                    try await httpProblem(url: url, check: check)
                }
            case .tcp(let host, let port):
                // connectTimeout bounds the whole attempt (resolution included); racing it
                // with a timer could leave a late connection open.
                problem = try await tcpProblem(host: host, port: port, timeout: check.timeout)
            }
        } catch {
            problem = FailureText.describe(error, timeout: check.timeout)
        }
        let elapsed = start.duration(to: clock.now)
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        if let problem {
            logger.debug("service check failed", metadata: ["check": "\(check.id)", "error": "\(problem)"])
        }
        return ServiceStatus(
            id: check.id, healthy: problem == nil, responseMS: SystemProbe.oneDecimal(max(0, milliseconds)),
            error: problem)
    }

    /// GETs `url`; `nil` when the status is in range and the keyword (if any) is in the body.
    private func httpProblem(url: String, check: ServiceCheckConfig) async throws -> String? {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "lookout-agent")
        let response = try await httpClient.execute(request, timeout: TimeAmount(check.timeout), logger: logger)
        let code = Int(response.status.code)
        guard check.expectStatus.contains(code) else {
            let range = check.expectStatus
            let expected = range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
            return "status \(code), expected \(expected)"
        }
        guard let keyword = check.keyword else { return nil }
        let needle = Array(keyword.utf8)
        var body: [UInt8] = []
        for try await chunk in response.body {
            let searchFrom = max(0, body.count - needle.count + 1)
            body.append(contentsOf: chunk.readableBytesView.prefix(Self.bodyLimit - body.count))
            if body[searchFrom...].firstRange(of: needle) != nil { return nil }
            if body.count >= Self.bodyLimit { break }
        }
        return "keyword \"\(keyword.prefix(60))\" not found"
    }

    /// Opens a TCP connection and closes it at once; `nil` when it connected.
    private func tcpProblem(host: String, port: Int, timeout: Duration) async throws -> String? {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
            .connect(host: host, port: port)
            .get()
        try? await channel.close()
        return nil
    }
}

// MARK: Shared by the Docker collector and the checks

/// The operation did not finish within its time.
struct TimeoutError: Error, CustomStringConvertible {
    let timeout: Duration
    var description: String { "timed out after \(timeout.wholeMilliseconds) ms" }
}

/// Runs `operation`, cancelling it and throwing ``TimeoutError`` once `timeout` has passed.
///
/// AsyncHTTPClient's own deadline stops at the response head; this also bounds reading
/// the body, so a server that stalls mid-answer cannot hold a sample.
func withTimeout<T: Sendable>(
    _ timeout: Duration, operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimeoutError(timeout: timeout)
        }
        defer { group.cancelAll() }
        guard let result = try await group.next() else { throw TimeoutError(timeout: timeout) }
        return result
    }
}

/// Short, human reasons for network failures, as they appear in `services[].error` and logs.
enum FailureText {
    static func describe(_ error: any Error, timeout: Duration) -> String {
        let timedOut = "timed out after \(timeout.wholeMilliseconds) ms"
        switch error {
        case is TimeoutError:
            return timedOut
        case is CancellationError:
            return Task.isCancelled ? "cancelled" : timedOut
        case let error as HTTPClientError:
            switch error {
            case .deadlineExceeded, .connectTimeout, .readTimeout, .writeTimeout, .getConnectionFromPoolTimeout,
                .tlsHandshakeTimeout:
                return timedOut
            case .remoteConnectionClosed:
                return "connection closed by the server"
            case .invalidURL, .emptyHost, .emptyScheme:
                return "invalid URL"
            default:
                return "\(error)"
            }
        case let error as ChannelError:
            if case .connectTimeout = error { return timedOut }
            return "\(error)"
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first {
                return describe(first.error, timeout: timeout)
            }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return "could not resolve \(error.host)"
            }
            return "could not connect to \(error.host):\(error.port)"
        case let error as IOError:
            return describe(errno: error.errnoCode)
        case is NIOTooManyBytesError:
            return "answer too large"
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

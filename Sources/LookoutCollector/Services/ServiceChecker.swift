import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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
    let httpClient: AgentHTTPClient
    let logger: Logger

    /// How much of a body is searched for the keyword: health pages are small, and a
    /// check must not pull a large download every few minutes.
    static let bodyLimit = 1 << 20
    /// Checks in flight at once; a config rarely has more than a dozen.
    static let maxConcurrentChecks = 64

    /// - Parameters:
    ///   - httpClient: the client for URL checks; it follows redirects (a 3xx counts only
    ///     when it is the final answer) and reports a refused port at once.
    ///   - logger: receives a debug line per failed check.
    public init(httpClient: AgentHTTPClient = .init(), logger: Logger) {
        self.httpClient = httpClient
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

    /// Runs one check; `responseMS` is the time to the answer (to the keyword when one is set,
    /// to the end of the handshake for a `tls` check). An https or tls check also reports the
    /// server's certificate (`cert_*`), judged at `now`.
    public func check(_ check: ServiceCheckConfig, now: @Sendable () -> Date = { Date() }) async -> ServiceStatus {
        let clock = ContinuousClock()
        let start = clock.now
        var problem: String?
        let certificates = CertificateRecorder()
        do {
            switch check.target {
            case .http(let url):
                problem = try await httpProblem(url: url, check: check, certificates: certificates)
            case .tcp(let host, let port):
                try await AgentHTTPClient.connect(host: host, port: port, timeout: check.timeout)
            case .tls(let host, let port, let starttls):
                try await TLSCheck.run(
                    host: host, port: port, starttls: starttls, caFile: httpClient.caFile, timeout: check.timeout,
                    certificates: certificates)
            case .ping(let host, let count, let maxLossPercent):
                return await ping(check, host: host, count: count, maxLossPercent: maxLossPercent)
            case .dns(let name, let type, let expect, let server):
                problem = try await dnsProblem(check, name: name, type: type, expect: expect, server: server)
            }
        } catch {
            problem = FailureText.describe(error, timeout: check.timeout)
        }
        let elapsed = start.duration(to: clock.now)
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        if let problem {
            logger.debug("service check failed", metadata: ["check": "\(check.id)", "error": "\(problem)"])
        }
        var status = ServiceStatus(
            id: check.id, healthy: problem == nil, responseMS: SystemProbe.oneDecimal(max(0, milliseconds)),
            error: problem.map(ServiceStatus.errorText))
        if let certificate = certificates.certificate {
            status.certExpiresAt = Timestamp.format(certificate.notAfter)
            status.certDaysLeft = certificate.daysLeft(at: now())
            status.certIssuer = certificate.issuer
            status.certSubject = certificate.subject
            status.certHost = certificate.host
        }
        return status
    }

    /// GETs `url`; `nil` when the status is in range and the keyword (if any) is in the body.
    private func httpProblem(
        url: String, check: ServiceCheckConfig, certificates: CertificateRecorder
    ) async throws(NetworkError) -> String? {
        let response = try await httpClient.get(
            url, headers: [("User-Agent", "lookout-agent/\(LookoutVersion.current)")], timeout: check.timeout,
            limit: check.keyword == nil ? .truncate(0) : .truncate(Self.bodyLimit), certificates: certificates)
        guard check.expectStatus.contains(response.status) else {
            let range = check.expectStatus
            let expected = range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
            return "status \(response.status), expected \(expected)"
        }
        guard let keyword = check.keyword else { return nil }
        if response.body.firstRange(of: Array(keyword.utf8)) != nil { return nil }
        return "keyword \"\(keyword.prefix(60))\" not found"
    }
}

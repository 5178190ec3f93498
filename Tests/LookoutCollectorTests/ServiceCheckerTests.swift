import Foundation
import Logging
import LookoutCore
import NIOHTTP1
import Testing

@testable import LookoutCollector

@Suite struct ServiceCheckerTests {
    let checker = ServiceChecker(logger: Logger(label: "lookout.test"))

    static func site() -> FixtureHTTPServer {
        FixtureHTTPServer(routes: [
            "/health": .text("status: ok, all good"),
            "/fail": .json(#"{"error":"database down"}"#, status: .internalServerError),
            "/slow": .text("ok", delay: .seconds(30)),
        ])
    }

    func http(
        _ id: String, _ url: String, keyword: String? = nil, expect: ClosedRange<Int> = 200...399,
        timeoutMS: Int = 10_000
    ) -> ServiceCheckConfig {
        ServiceCheckConfig(
            id: id, target: .http(url: url), expectStatus: expect, keyword: keyword, timeoutMS: timeoutMS)
    }

    @Test func aStatusInRangeIsHealthy() async throws {
        let status = try await Self.site().run { server in
            await checker.check(http("site", server.url("/health")))
        }
        #expect(status.id == "site")
        #expect(status.healthy)
        #expect(status.error == nil)
        #expect(status.responseMS >= 0)
    }

    @Test func aStatusOutOfRangeIsUnhealthyWithTheStatus() async throws {
        let (failing, accepted) = try await Self.site().run { server in
            (
                await checker.check(http("api", server.url("/fail"))),
                await checker.check(http("api", server.url("/fail"), expect: 500...500))
            )
        }
        #expect(!failing.healthy)
        #expect(failing.error == "status 500, expected 200-399")
        #expect(accepted.healthy)
    }

    @Test func aSlowAnswerIsUnhealthyAfterTheTimeout() async throws {
        let status = try await Self.site().run { server in
            await checker.check(http("slow", server.url("/slow"), timeoutMS: 300))
        }
        #expect(!status.healthy)
        #expect(status.error == "timed out after 300 ms")
        #expect(status.responseMS >= 300)
    }

    @Test func theKeywordMustBeInTheBody() async throws {
        let (found, missing) = try await Self.site().run { server in
            (
                await checker.check(http("kw", server.url("/health"), keyword: "all good")),
                await checker.check(http("kw", server.url("/health"), keyword: "degraded"))
            )
        }
        #expect(found.healthy)
        #expect(found.error == nil)
        #expect(!missing.healthy)
        #expect(missing.error == #"keyword "degraded" not found"#)
    }

    @Test func aKeywordAfterTheFirstMebibyteIsNotFound() async throws {
        let body = String(repeating: "x", count: ServiceChecker.bodyLimit) + "needle"
        let server = FixtureHTTPServer(routes: ["/big": .text(body)])
        let status = try await server.run { server in
            await checker.check(http("big", server.url("/big"), keyword: "needle"))
        }
        #expect(status.error == #"keyword "needle" not found"#)
    }

    @Test func checksSendAGetWithAUserAgent() async throws {
        let server = Self.site()
        _ = try await server.run { server in
            await checker.check(http("site", server.url("/health?probe=1")))
        }
        let request = try #require(server.requests.first)
        #expect(request.method == .GET)
        #expect(request.uri == "/health?probe=1")
        #expect(request.headers.first(name: "User-Agent")?.hasPrefix("lookout-agent/") == true)
    }

    @Test func runKeepsTheConfigOrder() async throws {
        let statuses = try await Self.site().run { server in
            await checker.run([
                http("slow", server.url("/slow"), timeoutMS: 200),
                http("fail", server.url("/fail")),
                http("ok", server.url("/health")),
            ])
        }
        #expect(statuses.map(\.id) == ["slow", "fail", "ok"])
        #expect(statuses.map(\.healthy) == [false, false, true])
    }

    @Test func anOpenTCPPortIsHealthy() async throws {
        let status = try await Self.site().run { server in
            await checker.check(ServiceCheckConfig(id: "tcp", target: .tcp(host: "127.0.0.1", port: server.port)))
        }
        #expect(status.healthy)
        #expect(status.error == nil)
    }

    @Test func aClosedTCPPortIsUnhealthy() async throws {
        let status = try await withRefusingPort { port in
            await checker.check(
                ServiceCheckConfig(id: "db", target: .tcp(host: "127.0.0.1", port: port), timeoutMS: 5000))
        }
        #expect(!status.healthy)
        #expect(status.error == "connection refused")
    }

    @Test func aRefusedHTTPConnectionIsUnhealthy() async throws {
        let status = try await withRefusingPort { port in
            await checker.check(http("gone", "http://127.0.0.1:\(port)/", timeoutMS: 1000))
        }
        // The agent's client does not retry a refused connection until the deadline.
        #expect(!status.healthy)
        #expect(status.error == "connection refused")
    }

    /// Runs `body` with a local port that refuses connections: bound but not listening, so
    /// no other test's server can take it meanwhile.
    func withRefusingPort<T>(_ body: (Int) async throws -> T) async throws -> T {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound)
        return try await body(Int(UInt16(bigEndian: address.sin_port)))
    }

    // MARK: Config decoding

    struct GoodConfig: Sendable, CustomTestStringConvertible {
        var json: String
        var expected: ServiceCheckConfig
        var testDescription: String { json }
    }

    @Test(arguments: [
        GoodConfig(
            json: #"{"id": "site", "url": "https://example.com/health"}"#,
            expected: ServiceCheckConfig(id: "site", target: .http(url: "https://example.com/health"))),
        GoodConfig(
            json: #"{"id": "api", "url": "HTTP://127.0.0.1:8080/", "expect_status": [200, 204], "keyword": "ok", "#
                + #""timeout_ms": 60000}"#,
            expected: ServiceCheckConfig(
                id: "api", target: .http(url: "HTTP://127.0.0.1:8080/"), expectStatus: 200...204, keyword: "ok",
                timeoutMS: 60_000)),
        GoodConfig(
            json: #"{"id": "db", "tcp": "db.internal:5432", "timeout_ms": 1}"#,
            expected: ServiceCheckConfig(id: "db", target: .tcp(host: "db.internal", port: 5432), timeoutMS: 1)),
        GoodConfig(
            json: #"{"id": "cache", "tcp": "[::1]:6379"}"#,
            expected: ServiceCheckConfig(id: "cache", target: .tcp(host: "::1", port: 6379))),
    ])
    func goodConfigsDecodeAndRoundTrip(_ config: GoodConfig) throws {
        let decoded = try JSONDecoder().decode(ServiceCheckConfig.self, from: Data(config.json.utf8))
        #expect(decoded == config.expected)
        let again = try JSONDecoder().decode(ServiceCheckConfig.self, from: JSONEncoder().encode(decoded))
        #expect(again == decoded)
    }

    struct BadConfig: Sendable, CustomTestStringConvertible {
        var json: String
        /// The key the message must point at, as `DocumentError` prints the path.
        var path: String
        /// Text the reason must contain: the bad value or what was expected.
        var mentions: [String]
        var testDescription: String { json }
    }

    @Test(arguments: [
        BadConfig(json: #"{"url": "https://example.com"}"#, path: "id", mentions: ["missing"]),
        BadConfig(json: #"{"id": "", "url": "https://example.com"}"#, path: "id", mentions: ["1 to 128"]),
        BadConfig(json: #"{"id": "si\r\nte", "url": "https://example.com"}"#, path: "id", mentions: ["U+000D"]),
        BadConfig(
            json: #"{"id": "a", "url": "ftp://example.com/x"}"#, path: "url", mentions: ["ftp", "http:// or https://"]),
        BadConfig(json: #"{"id": "a", "url": "not a url at all"}"#, path: "url", mentions: ["not a url at all"]),
        BadConfig(json: #"{"id": "a", "url": "https:///path"}"#, path: "url", mentions: ["no host"]),
        BadConfig(
            json: #"{"id": "a", "url": "https://example.com", "tcp": "example.com:443"}"#, path: "tcp",
            mentions: ["both", "url", "tcp"]),
        BadConfig(json: #"{"id": "a"}"#, path: "", mentions: ["neither", "url", "tcp", "tls", "ping", "dns"]),
        BadConfig(json: #"{"id": "a", "tls": "mail.example.com"}"#, path: "tls", mentions: ["no port"]),
        BadConfig(
            json: #"{"id": "a", "tls": "m.example.com:993", "starttls": "pop3"}"#, path: "starttls",
            mentions: ["pop3", "smtp, imap"]),
        BadConfig(
            json: #"{"id": "a", "tcp": "m.example.com:25", "starttls": "smtp"}"#, path: "starttls",
            mentions: [#"needs a "tls" check"#]),
        BadConfig(json: #"{"id": "a", "tls": "m:993", "keyword": "OK"}"#, path: "keyword", mentions: ["url"]),
        BadConfig(
            json: #"{"id": "a", "tls": "m:993", "expect_status": [200, 299]}"#, path: "expect_status",
            mentions: ["handshake"]),
        BadConfig(json: #"{"id": "a", "tcp": "m:1", "tls": "m:2"}"#, path: "tls", mentions: ["both", "tcp", "tls"]),
        BadConfig(json: #"{"id": "a", "tcp": "db.local"}"#, path: "tcp", mentions: ["db.local", "no port"]),
        BadConfig(json: #"{"id": "a", "tcp": "db.local:70000"}"#, path: "tcp", mentions: ["70000", "1 and 65535"]),
        BadConfig(json: #"{"id": "a", "tcp": "db.local:0"}"#, path: "tcp", mentions: ["\"0\"", "1 and 65535"]),
        BadConfig(json: #"{"id": "a", "tcp": ":5432"}"#, path: "tcp", mentions: ["no host"]),
        BadConfig(json: #"{"id": "a", "tcp": "::1:5432"}"#, path: "tcp", mentions: ["[::1]:5432"]),
        BadConfig(
            json: #"{"id": "a", "url": "http://x", "expect_status": [399, 200]}"#, path: "expect_status",
            mentions: ["399", "greater than", "200"]),
        BadConfig(
            json: #"{"id": "a", "url": "http://x", "expect_status": [200]}"#, path: "expect_status",
            mentions: ["[200]", "[min, max]"]),
        BadConfig(
            json: #"{"id": "a", "url": "http://x", "expect_status": [200, 700]}"#, path: "expect_status",
            mentions: ["700", "100...599"]),
        BadConfig(
            json: #"{"id": "a", "url": "http://x", "timeout_ms": 0}"#, path: "timeout_ms",
            mentions: ["0 is not", "1 and 60000"]),
        BadConfig(
            json: #"{"id": "a", "url": "http://x", "timeout_ms": 60001}"#, path: "timeout_ms",
            mentions: ["60001", "1 and 60000"]),
        BadConfig(json: #"{"id": "a", "url": "http://x", "keyword": ""}"#, path: "keyword", mentions: ["empty"]),
        BadConfig(json: #"{"id": "a", "tcp": "x:1", "keyword": "ok"}"#, path: "keyword", mentions: ["url"]),
        BadConfig(
            json: #"{"id": "a", "url": "http://x", "timout_ms": 100}"#, path: "timout_ms",
            mentions: ["unknown key", "timeout_ms"]),
    ])
    func badConfigsNameTheKeyAndTheValue(_ config: BadConfig) throws {
        let error = try #require(throws: DecodingError.self) {
            try JSONDecoder().decode(ServiceCheckConfig.self, from: Data(config.json.utf8))
        }
        let message = DocumentError(error)
        #expect(message.path == config.path)
        for text in config.mentions {
            #expect(message.reason.contains(text), "\(message) should mention \(text)")
        }
    }

    @Test func aTLSCheckDecodesAndEncodesItsTargetAndProtocol() throws {
        for (json, expected) in [
            (
                #"{"id": "mail", "tls": "mail.example.com:587", "starttls": "smtp"}"#,
                ServiceCheckConfig.Target.tls(host: "mail.example.com", port: 587, starttls: .smtp)
            ),
            (#"{"id": "mail", "tls": "[::1]:993"}"#, .tls(host: "::1", port: 993, starttls: nil)),
        ] {
            let check = try JSONDecoder().decode(ServiceCheckConfig.self, from: Data(json.utf8))
            #expect(check.target == expected)
            let again = try JSONDecoder().decode(ServiceCheckConfig.self, from: JSONEncoder().encode(check))
            #expect(again == check)
        }
    }
}

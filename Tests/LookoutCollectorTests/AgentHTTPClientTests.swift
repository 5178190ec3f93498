import Foundation
import Logging
import LookoutCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing

@testable import LookoutCollector

/// The agent's own HTTP/1.1 client against real servers: https through the system's
/// OpenSSL with the test CA, redirects, and servers that answer badly.
@Suite struct AgentHTTPClientTests {
    static let tlsFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tls")
    static var caFile: String { tlsFixtures.appendingPathComponent("ca.pem").path }

    /// A server whose certificate (signed by the test CA) is for `localhost` only.
    static func tlsSite() throws -> FixtureHTTPServer {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(tlsFixtures.appendingPathComponent("server.pem").path)
                .map { .certificate($0) },
            privateKey: .privateKey(
                try NIOSSLPrivateKey(file: tlsFixtures.appendingPathComponent("server.key").path, format: .pem)))
        return FixtureHTTPServer(
            tls: try NIOSSLContext(configuration: configuration),
            routes: [
                "/health": .text("status: ok over tls"),
                "POST /api/monitoring/ingest": .json(#"{"stored":true}"#, status: .accepted),
            ])
    }

    func checker(caFile: String? = Self.caFile) -> ServiceChecker {
        ServiceChecker(httpClient: AgentHTTPClient(caFile: caFile), logger: Logger(label: "lookout.test"))
    }

    /// A generous timeout: a TLS handshake of a debug build on a loaded machine took 16 s once.
    func check(_ url: String, keyword: String? = nil) -> ServiceCheckConfig {
        ServiceCheckConfig(id: "site", target: .http(url: url), keyword: keyword, timeoutMS: 60_000)
    }

    // MARK: https

    @Test func anHTTPSCheckTrustsTheConfiguredCA() async throws {
        let status = try await Self.tlsSite().run { server in
            // `localhost` may resolve to ::1 first, where nothing listens: the next address is tried.
            await checker().check(check(server.url("/health", host: "localhost"), keyword: "over tls"))
        }
        #expect(status.error == nil)
        #expect(status.healthy)
    }

    @Test func anUnknownCAIsRejected() async throws {
        let status = try await Self.tlsSite().run { server in
            await checker(caFile: nil).check(check(server.url("/health", host: "localhost")))
        }
        #expect(!status.healthy)
        #expect(status.error?.hasPrefix("TLS: certificate rejected: unable to get local issuer certificate") == true)
    }

    @Test func aCertificateForAnotherNameIsRejected() async throws {
        let status = try await Self.tlsSite().run { server in
            await checker().check(check(server.url("/health", host: "127.0.0.1")))
        }
        #expect(!status.healthy)
        #expect(status.error?.hasPrefix("TLS: certificate rejected:") == true)
        #expect(status.error?.contains("mismatch") == true)
    }

    @Test func httpsToAPlainServerIsATLSError() async throws {
        let status = try await FixtureHTTPServer(routes: ["/health": .text("ok")]).run { server in
            await checker().check(check(server.url("/health").replacingOccurrences(of: "http:", with: "https:")))
        }
        #expect(!status.healthy)
        #expect(status.error?.hasPrefix("TLS: ") == true)
    }

    @Test func pushOverHTTPSCarriesTheToken() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-spool-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try Self.tlsSite()
        let outcome = try await server.run { server in
            await Pusher(
                url: server.url("/api/monitoring/ingest", host: "localhost"), token: "s3cret",
                spool: Spool(folder: folder, limit: 10), httpClient: AgentHTTPClient(caFile: Self.caFile),
                logger: Logger(label: "lookout.test")
            ).deliver(Array(#"{"vm_id":"a"}"#.utf8), timestamp: 1)
        }
        #expect(outcome == .delivered(replayed: 0))
        #expect(server.requests.map(\.bearerToken) == ["s3cret"])
        #expect(server.requests.map(\.bodyText) == [#"{"vm_id":"a"}"#])
    }

    // MARK: Redirects

    @Test func redirectsAreFollowedToTheFinalAnswer() async throws {
        let server = FixtureHTTPServer(routes: [
            "/old": .init(status: .movedPermanently, headers: ["Location": "/health"]),
            "/loop": .init(status: .found, headers: ["Location": "/loop"]),
            "/health": .text("ok"),
        ])
        let (moved, looping) = try await server.run { server in
            (
                await checker().check(check(server.url("/old"), keyword: "ok")),
                await checker().check(check(server.url("/loop")))
            )
        }
        #expect(moved.healthy)
        #expect(!looping.healthy)
        #expect(looping.error == "more than 5 redirects")
    }

    // MARK: Answers on the wire

    struct WireCase: Sendable, CustomTestStringConvertible {
        var name: String
        var reply: String
        var limit: AgentHTTPClient.BodyLimit = .reject(1 << 20)
        /// The body, or the error text.
        var expected: Result<String, NetworkError>
        var testDescription: String { name }
    }

    @Test(arguments: [
        WireCase(
            name: "chunked body with extension and trailer",
            reply:
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
            expected: .success("hello world")),
        WireCase(
            name: "body until the connection closes",
            reply: "HTTP/1.0 200 OK\r\n\r\nno length", expected: .success("no length")),
        WireCase(
            name: "bare LF line ends, 100 Continue first",
            reply: "HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok", expected: .success("ok")),
        WireCase(
            name: "not HTTP", reply: "SSH-2.0-OpenSSH_9.2\r\n\r\n",
            expected: .failure(.malformed("status line \"SSH-2.0-OpenSSH_9.2\""))),
        WireCase(
            name: "declared length above the limit", reply: "HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\nxx",
            limit: .reject(1000), expected: .failure(.tooLarge(limit: 1000))),
        WireCase(
            name: "chunks above the limit",
            reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
            limit: .reject(8), expected: .failure(.tooLarge(limit: 8))),
        WireCase(
            name: "truncated on request", reply: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
            limit: .truncate(4), expected: .success("0123")),
        WireCase(
            name: "closed mid-body", reply: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            expected: .failure(.closedEarly)),
        WireCase(
            name: "bad chunk size", reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            expected: .failure(.malformed("chunk size \"zz\""))),
        WireCase(
            name: "bad content length", reply: "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n",
            expected: .failure(.malformed("Content-Length \"-3\""))),
        WireCase(name: "nothing at all", reply: "", expected: .failure(.closedEarly)),
    ])
    func answersOnTheWire(_ wire: WireCase) async throws {
        let result = try await withCannedServer(reply: Array(wire.reply.utf8)) { port in
            do throws(NetworkError) {
                let response = try await AgentHTTPClient().get(
                    "http://127.0.0.1:\(port)/x", timeout: .seconds(10), limit: wire.limit)
                return Result<String, NetworkError>.success(String(decoding: response.body, as: UTF8.self))
            } catch {
                return .failure(error)
            }
        }
        #expect(result == wire.expected)
    }

    @Test func aLineBreakInAHeaderIsRefusedBeforeSending() throws {
        #expect(throws: NetworkError.invalidRequest("header Authorization holds a line break")) {
            try AgentHTTPClient.requestBytes(
                "POST", target: try AgentHTTPClient.Target(url: "http://127.0.0.1/"),
                headers: [("Authorization", "Bearer x\r\nX-Evil: 1")], body: [])
        }
    }

    @Test func aSilentServerTimesOut() async throws {
        let result = try await withCannedServer(reply: nil) { port in
            do throws(NetworkError) {
                _ = try await AgentHTTPClient().get(
                    "http://127.0.0.1:\(port)/", timeout: .milliseconds(300), limit: .reject(10))
                return NetworkError?.none
            } catch {
                return error
            }
        }
        #expect(result == .timedOut)
    }

    /// Runs `body` with a TCP server on 127.0.0.1 that writes `reply` to every connection
    /// and closes it (`nil`: never answers, never closes).
    func withCannedServer<T>(reply: [UInt8]?, _ body: (Int) async throws -> T) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CannedReply(reply: reply))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let result = try await body(server.localAddress?.port ?? 0)
            try? await server.close()
            return result
        } catch {
            try? await server.close()
            throw error
        }
    }
}

/// Waits for the request head, then writes fixed bytes and closes.
private final class CannedReply: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let reply: [UInt8]?
    private var replied = false

    init(reply: [UInt8]?) {
        self.reply = reply
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let reply, !replied else { return }
        replied = true
        let buffer = context.channel.allocator.buffer(bytes: reply)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        context.close(promise: nil)
    }
}

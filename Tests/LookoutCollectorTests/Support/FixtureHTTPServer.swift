import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A real HTTP/1.1 server for tests, on `127.0.0.1:<free port>` or on a unix socket, so the
/// code under test goes through its real client, sockets and timeouts.
///
/// Every request is recorded (``requests``) before it is answered; answers come from a
/// closure (``Handler``) or a route table, and each may carry a delay to test timeouts.
///
/// ```swift
/// let server = FixtureHTTPServer { request in
///     request.bearerToken == "s3cret" ? .json(#"{"ok":true}"#) : .init(status: .unauthorized)
/// }
/// try await server.run { server in      // start(), body, shutdown() even when body throws
///     try await push(to: server.url("/api/monitoring/ingest"))
/// }
/// #expect(server.requests.map(\.bearerToken) == ["s3cret"])
/// ```
final class FixtureHTTPServer: Sendable {
    /// One request as the server received it.
    struct Request: Sendable {
        var method: HTTPMethod
        /// Path and query, as sent: `/containers/json?all=1`.
        var uri: String
        var headers: HTTPHeaders
        var body: [UInt8]

        /// The URI without its query.
        var path: String { String(uri.prefix(while: { $0 != "?" })) }
        /// The query without `?`, `nil` when there is none.
        var query: String? { uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) } }
        var bodyText: String { String(decoding: body, as: UTF8.self) }
        /// The token of an `Authorization: Bearer <token>` header.
        var bearerToken: String? {
            guard let value = headers.first(name: "authorization"), value.lowercased().hasPrefix("bearer ") else {
                return nil
            }
            return String(value.dropFirst("bearer ".count))
        }
    }

    /// What to answer, and how long to wait before answering.
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: [UInt8]
        /// Slept before the response head is written (a shutdown cuts it short).
        var delay: Duration

        init(
            status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], body: [UInt8] = [], delay: Duration = .zero
        ) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
        }

        static func json(_ text: String, status: HTTPResponseStatus = .ok, delay: Duration = .zero) -> Response {
            json(Array(text.utf8), status: status, delay: delay)
        }

        static func json(_ bytes: [UInt8], status: HTTPResponseStatus = .ok, delay: Duration = .zero) -> Response {
            Response(status: status, headers: ["Content-Type": "application/json"], body: bytes, delay: delay)
        }

        static func text(_ text: String, status: HTTPResponseStatus = .ok, delay: Duration = .zero) -> Response {
            Response(
                status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8),
                delay: delay)
        }

        static let notFound = Response.json(#"{"message":"page not found"}"#, status: .notFound)
    }

    typealias Handler = @Sendable (Request) async -> Response

    enum Address: Sendable {
        /// Port 0 picks a free port; ``start()`` returns it.
        case tcp(host: String, port: Int)
        case unix(path: String)

        static let localhost = Address.tcp(host: "127.0.0.1", port: 0)
    }

    let address: Address
    /// When set, the server speaks https with this context.
    let tls: NIOSSLContext?
    fileprivate let handler: Handler
    private let state = Mutex(State())

    private struct State: Sendable {
        var requests: [Request] = []
        var port = 0
        var server: (any Channel)?
        /// Open connections, so shutdown can close the ones clients keep idle.
        var connections: [ObjectIdentifier: any Channel] = [:]
        var isShutDown = false
    }

    init(_ address: Address = .localhost, tls: NIOSSLContext? = nil, handler: @escaping Handler) {
        self.address = address
        self.tls = tls
        self.handler = handler
    }

    /// Answers from a table keyed by `"METHOD /path"` or `"/path"` (the query is ignored);
    /// anything else gets a 404.
    convenience init(_ address: Address = .localhost, tls: NIOSSLContext? = nil, routes: [String: Response]) {
        self.init(address, tls: tls) { request in
            routes["\(request.method.rawValue) \(request.path)"] ?? routes[request.path] ?? .notFound
        }
    }

    /// A fresh socket path, short enough for `sun_path` (108 bytes).
    static func temporarySocketPath() -> String {
        "/tmp/lk-\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).sock"
    }

    /// The bound port (0 for a unix socket, or before ``start()``).
    var port: Int { state.withLock { $0.port } }

    /// `http://127.0.0.1:<port><path>` for a TCP server (`https://` with TLS; `host`
    /// replaces the bound address, e.g. with a name the certificate holds).
    func url(_ path: String = "/", host: String? = nil) -> String {
        guard case .tcp(let bound, _) = address else { preconditionFailure("url(_:) needs a TCP server") }
        return "\(tls == nil ? "http" : "https")://\(host ?? bound):\(port)\(path)"
    }

    /// Every request received so far, in arrival order.
    var requests: [Request] { state.withLock { $0.requests } }

    /// Binds and starts accepting; returns the bound port (0 for a unix socket).
    @discardableResult
    func start() async throws -> Int {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = self.tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: self))
                    self.track(channel)
                }
            }
        let server: any Channel
        switch address {
        case .tcp(let host, let port):
            server = try await bootstrap.bind(host: host, port: port).get()
        case .unix(let path):
            server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        }
        let port = server.localAddress?.port ?? 0
        state.withLock {
            $0.port = port
            $0.server = server
        }
        return port
    }

    /// Stops accepting, closes open connections (which cuts pending delays short) and
    /// removes the socket file.
    func shutdown() async {
        let server = state.withLock {
            $0.isShutDown = true
            return $0.server
        }
        try? await server?.close()
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections {
            try? await connection.close()
        }
        if case .unix(let path) = address {
            unlink(path)
        }
    }

    /// Starts the server, runs `body`, and shuts the server down whatever happens.
    func run<T>(_ body: (FixtureHTTPServer) async throws -> T) async throws -> T {
        try await start()
        do {
            let result = try await body(self)
            await shutdown()
            return result
        } catch {
            await shutdown()
            throw error
        }
    }

    // MARK: Connections

    /// Remembers a new connection until it closes; closes it at once after shutdown.
    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let accepted = state.withLock {
            guard !$0.isShutDown else { return false }
            $0.connections[id] = channel
            return true
        }
        guard accepted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { _ in
            _ = self.state.withLock { $0.connections.removeValue(forKey: id) }
        }
    }

    fileprivate func record(_ request: Request) {
        state.withLock { $0.requests.append(request) }
    }
}

/// Collects one request, asks the server's handler, waits the delay, writes the answer.
/// `HTTPServerPipelineHandler` (from `configureHTTPServerPipeline`) holds back pipelined
/// requests until the answer's end is written, so one request is in flight at a time.
private final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: FixtureHTTPServer
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var answering: Task<Void, Never>?

    init(server: FixtureHTTPServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            let request = FixtureHTTPServer.Request(
                method: head.method, uri: head.uri, headers: head.headers, body: body)
            server.record(request)
            let handler = server.handler
            let eventLoop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
            answering = Task {
                let response = await handler(request)
                if response.delay > .zero {
                    do {
                        try await Task.sleep(for: response.delay)
                    } catch {
                        return  // the connection closed while waiting
                    }
                }
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.write(response, for: head, context: context)
                }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answering?.cancel()
        context.fireChannelInactive()
    }

    private func write(
        _ response: FixtureHTTPServer.Response, for request: HTTPRequestHead, context: ChannelHandlerContext
    ) {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
        if !request.isKeepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        }
        let responseHead = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !request.isKeepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

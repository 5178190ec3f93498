import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import LookoutHub

/// The connection cap and the body deadline on embedded channels, whose time the test
/// advances by hand (the system test floods a real `serve`).
@Suite struct ConnectionLimiterTests {
    let logger = Logger(label: "test")

    /// A connected channel with the guard handler, as `HTTP1Channel` sets one up.
    func connection(_ limiter: ConnectionLimiter, bodyTimeout: TimeAmount = .seconds(30)) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ConnectionGuardHandler(limiter: limiter, bodyTimeout: bodyTimeout, logger: logger))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.embeddedEventLoop.run()
        return channel
    }

    static let head = HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/"))

    @Test func atTheCapTheConnectionWaitingLongestMakesRoom() throws {
        let limiter = ConnectionLimiter(limit: 2, logger: logger)
        let first = try connection(limiter)
        let second = try connection(limiter)
        #expect(limiter.count == 2)
        let third = try connection(limiter)
        #expect(!first.isActive, "the connection waiting longest is closed")
        #expect(second.isActive && third.isActive)
        #expect(limiter.count == 2)
    }

    @Test func aConnectionWithARequestInProgressIsNeverClosedForANewcomer() throws {
        let limiter = ConnectionLimiter(limit: 2, logger: logger)
        let busy = try connection(limiter)
        let idle = try connection(limiter)
        try busy.writeInbound(Self.head)
        let newcomer = try connection(limiter)
        #expect(busy.isActive, "busy: its request head arrived, its answer has not been written")
        #expect(!idle.isActive)
        // Both remaining connections busy: the next one is refused, the busy ones stay.
        try newcomer.writeInbound(Self.head)
        let refused = try connection(limiter)
        #expect(!refused.isActive, "refused at once")
        #expect(busy.isActive && newcomer.isActive)
        // The answer is written: busy waits for its next request and may make room again.
        try busy.writeInbound(HTTPRequestPart.end(nil))
        try busy.writeOutbound(HTTPResponsePart.end(nil))
        let later = try connection(limiter)
        #expect(later.isActive && !busy.isActive && newcomer.isActive)
    }

    @Test func aBodyThatDoesNotFinishInTimeClosesTheConnection() throws {
        let limiter = ConnectionLimiter(limit: 10, logger: logger)
        let slow = try connection(limiter, bodyTimeout: .seconds(5))
        let quick = try connection(limiter, bodyTimeout: .seconds(5))
        try slow.writeInbound(Self.head)
        try slow.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "{")))
        try quick.writeInbound(Self.head)
        try quick.writeInbound(HTTPRequestPart.end(nil))
        slow.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(slow.isActive)
        slow.embeddedEventLoop.advanceTime(by: .seconds(1))
        quick.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(!slow.isActive, "the body deadline passed")
        #expect(quick.isActive, "a complete request has no body deadline")
        #expect(limiter.count == 1)
    }
}

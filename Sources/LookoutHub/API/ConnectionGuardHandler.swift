import Logging
import NIOCore
import NIOHTTPTypes

/// One per HTTP/1 connection, after the HTTP decoder: tells the ``ConnectionLimiter``
/// when the connection is admitted, busy (a request head arrived) and waiting again (the
/// response ended), and enforces the request body deadline.
///
/// The head deadline and the idle timeout are Hummingbird's `HTTP1Channel` idle timeout:
/// it counts from the moment the connection waits for a request and is reset only by a
/// whole request part, so a client that trickles header bytes is closed like an idle
/// one. A body, though, arrives in parts, each of which would reset it; hence this
/// handler's own deadline from the head to the end of the body.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let limiter: ConnectionLimiter?
    let bodyTimeout: TimeAmount
    let logger: Logger
    private var admitted = false
    private var requestsInProgress = 0
    private var readingBody = false
    private var bodyDeadline: Scheduled<Void>?

    init(limiter: ConnectionLimiter?, bodyTimeout: TimeAmount, logger: Logger) {
        self.limiter = limiter
        self.bodyTimeout = bodyTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let limiter else { return }
        let channel = context.channel
        switch limiter.admit(channel) {
        case .admitted(let victim):
            admitted = true
            victim?.close(promise: nil)
        case .refused:
            // After the pipeline is set up and the channel registered: closing in the
            // middle of the initializer would fail it.
            context.eventLoop.execute { channel.close(promise: nil) }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        bodyDeadline?.cancel()
        bodyDeadline = nil
        if admitted { limiter?.remove(context.channel) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsInProgress += 1
            readingBody = true
            if requestsInProgress == 1 { limiter?.markBusy(context.channel) }
        case .body:
            break
        case .end:
            readingBody = false
            bodyDeadline?.cancel()
            bodyDeadline = nil
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Armed only when a body is still coming after a read: a GET (head and end in one
        // read) costs no timer.
        if readingBody, bodyDeadline == nil {
            let channel = context.channel
            let logger = logger
            let seconds = bodyTimeout.nanoseconds / 1_000_000_000
            bodyDeadline = context.eventLoop.scheduleTask(in: bodyTimeout) {
                let peer = channel.remoteAddress?.description ?? "?"
                logger.info("closed a connection from \(peer): request body not complete after \(seconds) s")
                channel.close(promise: nil)
            }
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            requestsInProgress = max(0, requestsInProgress - 1)
            if requestsInProgress == 0 { limiter?.markWaiting(context.channel) }
        }
        context.write(data, promise: promise)
    }
}

import Logging
import NIOCore
import NIOSSL

/// One reply: the code and the text of each line (`250-...` continuations, then `250 ...`).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    var text: String { lines.joined(separator: " / ") }

    /// The EHLO keywords and their parameters, upper-cased: `[["AUTH", "PLAIN", "LOGIN"], ...]`
    /// (`AUTH=PLAIN`, the pre-RFC form some servers still send, reads the same).
    var extensions: [[String]] {
        lines.dropFirst().map { line in
            line.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).map(String.init)
        }
    }
}

/// An open connection, from the async side: sends a line, waits for the reply with a
/// timeout, and turns anything that went wrong into an `SMTPError` naming the stage.
struct SMTPSession: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<SMTPReplyHandler>
    let host: String
    let port: Int
    let stepTimeout: TimeAmount
    let deadline: NIODeadline
    let logger: Logger

    var target: String { "\(host):\(port)" }

    /// Whether the connection goes to this machine (127.0.0.0/8 or ::1), judged by the
    /// address actually connected to, not by the name in the config.
    var peerIsLoopback: Bool {
        guard let address = channel.remoteAddress?.ipAddress else { return false }
        return address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }

    @discardableResult
    func exchange(
        _ line: String?, stage: String, expect: Int, startTLS: (NIOSSLContext, String?)? = nil, secrets: [String] = []
    ) async throws(SMTPError) -> SMTPReply {
        let bytes = line.map { ByteBuffer(string: $0.hasSuffix("\r\n") ? $0 : $0 + "\r\n") }
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        let remaining = deadline - .now()
        let overall = remaining < stepTimeout
        let timer = channel.eventLoop.scheduleTask(in: min(stepTimeout, remaining)) {
            promise.fail(SMTPTimeout(overall: overall))
        }
        channel.eventLoop.execute { [handler] in handler.value.send(bytes, startTLS: startTLS, promise: promise) }
        logger.trace("SMTP \(stage)", metadata: ["smtp.server": "\(target)"])
        let reply: SMTPReply
        do {
            // A cancelled delivery (the hub shutting down) ends the wait now, not at the timeout.
            reply = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(CancellationError())
            }
            timer.cancel()
        } catch {
            timer.cancel()
            throw describe(error, stage: stage)
        }
        guard reply.code / 100 == expect else { throw SMTPError(stage: stage, reply: reply, secrets: secrets) }
        return reply
    }

    func close() async {
        try? await channel.close()
    }

    private func describe(_ error: any Error, stage: String) -> SMTPError {
        if let error = error as? SMTPTimeout {
            let limit = Duration(error.overall ? stepTimeout * 3 : stepTimeout)
            return SMTPError(
                stage: stage,
                description: error.overall
                    ? "\(stage): delivery to \(target) took longer than \(limit)"
                    : "\(stage): no reply from \(target) within \(limit)")
        }
        if error is NIOSSLError || error is NIOSSLExtraError {
            let text = "\(error)"
            let why =
                text.contains("CERTIFICATE_VERIFY_FAILED")
                ? "the server's certificate is not trusted (no ca_file given, or not the CA that signed it)"
                : text.contains("failedToValidateHostname")
                    ? "the server's certificate is not valid for \(host)"
                    : text
            return SMTPError(stage: "TLS", description: "TLS with \(target) failed: \(why)")
        }
        if let error = error as? SMTPProtocolViolation {
            return SMTPError(stage: stage, description: "\(stage): \(target) \(error.what)")
        }
        return SMTPError(stage: stage, description: "\(stage): connection to \(target) lost (\(error))")
    }
}

struct SMTPTimeout: Error { var overall: Bool }
struct SMTPProtocolViolation: Error { var what: String }

/// Splits the server's bytes into lines, assembles replies and hands each to the command
/// waiting for it. Lives on the channel's event loop (reached through `NIOLoopBound`).
///
/// STARTTLS is switched here, in the same read that brings the 220: the TLS handler goes to
/// the front of the pipeline before any further byte is read, and plain bytes after the 220
/// are refused (they could only be injected, as in CVE-2011-0411). The TLS handler holds the
/// next command until the handshake is done, and a failed handshake fails that command's wait.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var buffer = ByteBuffer()
    private var lines: [String] = []
    private var replies: [SMTPReply] = []
    private var waiter: EventLoopPromise<SMTPReply>?
    private var failure: (any Error)?
    private var context: ChannelHandlerContext?
    private var pendingTLS: (NIOSSLContext, String?)?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func send(_ bytes: ByteBuffer?, startTLS: (NIOSSLContext, String?)?, promise: EventLoopPromise<SMTPReply>) {
        waiter = promise
        pendingTLS = startTLS
        if let bytes, let context, failure == nil { context.writeAndFlush(wrapOutboundOut(bytes), promise: nil) }
        deliver()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        while let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            var line = buffer.readString(length: end - buffer.readerIndex + 1) ?? ""
            while line.last?.isNewline == true { line.removeLast() }
            let code = Int(line.prefix(3)).flatMap { (200...599).contains($0) ? $0 : nil }
            let separator = line.dropFirst(3).first
            guard let code, separator == nil || separator == " " || separator == "-" else {
                return fail(SMTPProtocolViolation(what: "sent a line that is not an SMTP reply: \(line.prefix(80))"))
            }
            lines.append(String(line.dropFirst(4)))
            guard separator != "-" else { continue }
            let reply = SMTPReply(code: code, lines: lines)
            lines = []
            if let (tls, hostname) = pendingTLS.take(), code == 220 {
                guard buffer.readableBytes == 0 else {
                    return fail(SMTPProtocolViolation(what: "sent plain data after its 220 to STARTTLS"))
                }
                do {
                    let handler = try NIOSSLClientHandler(context: tls, serverHostname: hostname)
                    try context.pipeline.syncOperations.addHandler(handler, position: .first)
                } catch {
                    return fail(error)
                }
            }
            replies.append(reply)
        }
        buffer.discardReadBytes()
        guard buffer.readableBytes <= 4096, lines.count <= 200 else {
            return fail(SMTPProtocolViolation(what: "sent a reply longer than SMTP allows"))
        }
        deliver()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { fail(error) }

    func channelInactive(context: ChannelHandlerContext) {
        fail(SMTPProtocolViolation(what: "closed the connection"))
        context.fireChannelInactive()
    }

    /// Keeps the first error (a TLS failure, not the close that follows it) for every later wait.
    private func fail(_ error: any Error) {
        if failure == nil { failure = error }
        deliver()
        context?.close(promise: nil)
    }

    private func deliver() {
        guard let waiter else { return }
        if !replies.isEmpty {
            self.waiter = nil
            waiter.succeed(replies.removeFirst())
        } else if let failure {
            self.waiter = nil
            waiter.fail(failure)
        }
    }
}

import Logging
import LookoutCore
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The SMTP login. Secrets stay out of the JSON config (DESIGN section 5), and out of
/// logs: `description` shows the user only.
public struct SMTPCredentials: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    public var description: String { "SMTPCredentials(user: \(user), password: <redacted>)" }

    /// `$LOOKOUT_SMTP_USER` and `$LOOKOUT_SMTP_PASSWORD` (both, non-empty), else the file
    /// named by `credentials_file`: two lines (user, then password), or `user=...` and
    /// `password=...` lines. Blank lines are ignored; values are taken as written.
    /// - Returns: nil when neither is set (send without AUTH, e.g. to a local relay).
    /// - Throws: `HubError` naming the variable or file, never its content.
    public static func load(settings: EmailSettings, environment: [String: String]) throws(HubError)
        -> SMTPCredentials?
    {
        let fromUser = environment["LOOKOUT_SMTP_USER"].flatMap { $0.isEmpty ? nil : $0 }
        let fromPassword = environment["LOOKOUT_SMTP_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        switch (fromUser, fromPassword) {
        case (let user?, let password?): return SMTPCredentials(user: user, password: password)
        case (_?, nil): throw HubError("LOOKOUT_SMTP_USER is set but LOOKOUT_SMTP_PASSWORD is not")
        case (nil, _?): throw HubError("LOOKOUT_SMTP_PASSWORD is set but LOOKOUT_SMTP_USER is not")
        case (nil, nil): break
        }
        guard let path = settings.credentialsFile else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HubError("SMTP credentials_file \(path) does not exist or cannot be read")
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        var user: String?
        var password: String?
        if let first = lines.first, first.hasPrefix("user=") || first.hasPrefix("password=") {
            for line in lines {
                if line.hasPrefix("user=") { user = String(line.dropFirst(5)) }
                if line.hasPrefix("password=") { password = String(line.dropFirst(9)) }
            }
        } else if lines.count == 2 {
            (user, password) = (lines[0], lines[1])
        }
        guard let user, let password, !user.isEmpty, !password.isEmpty else {
            throw HubError(
                "SMTP credentials_file \(path) must hold two lines (user, password) or user=... and password=...")
        }
        return SMTPCredentials(user: user, password: password)
    }
}

/// Why a message was not delivered: the stage (`connect`, `TLS`, `EHLO`, `AUTH`, `RCPT TO`,
/// ...), and when the server refused, its reply code and text.
public struct SMTPError: Error, CustomStringConvertible, Equatable {
    public var stage: String
    public var code: Int?
    public var serverText: String?
    public var description: String

    public init(stage: String, code: Int? = nil, serverText: String? = nil, description: String) {
        self.stage = stage
        self.code = code
        self.serverText = serverText
        self.description = description
    }

    /// `AUTH failed: 535 5.7.8 Authentication credentials invalid`; `secrets` are cut out
    /// of the server's text in case it echoes what we sent.
    init(stage: String, reply: SMTPReply, secrets: [String] = []) {
        var text = reply.text
        for secret in secrets where !secret.isEmpty { text = text.replacing(secret, with: "<redacted>") }
        self.init(
            stage: stage, code: reply.code, serverText: text, description: "\(stage) failed: \(reply.code) \(text)")
    }
}

/// Delivers email over SMTP, written on SwiftNIO and NIOSSL (there is no Swift SMTP package
/// we could use). One connection per message: alerts are rare, and a fresh session cannot
/// inherit a broken state. Certificates are always verified; `ca_file` adds a trusted root.
public struct SMTPClient: Sendable {
    let settings: EmailSettings
    let credentials: SMTPCredentials?
    let heloName: String
    let timeout: Duration
    let logger: Logger
    /// Built once: loading the system trust store costs more than the rest of a delivery.
    let tls: Result<NIOSSLContext, SMTPError>

    /// - Parameters:
    ///   - settings: host, port, `security` (`starttls`, `tls`, or `none`, which is plain
    ///     text and meant only for a relay on localhost) and `ca_file`.
    ///   - credentials: AUTH PLAIN (or LOGIN) after TLS; nil sends without AUTH.
    ///   - heloName: the name given in EHLO (this machine's host name).
    ///   - timeout: the longest wait for the connection and for each reply; the whole
    ///     delivery is bounded by three times this, so a trickling server cannot hold it.
    public init(
        settings: EmailSettings, credentials: SMTPCredentials?, heloName: String = SMTPClient.defaultHeloName,
        timeout: Duration = .seconds(30), logger: Logger
    ) {
        self.settings = settings
        self.credentials = credentials
        self.heloName = heloName
        self.timeout = timeout
        self.logger = logger
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile { configuration.additionalTrustRoots = [.file(caFile)] }
        tls = Result { try NIOSSLContext(configuration: configuration) }.mapError { error in
            SMTPError(stage: "TLS", description: "cannot set up TLS (ca_file \(settings.caFile ?? "none")): \(error)")
        }
    }

    /// This machine's host name, or `localhost` when it is not a usable EHLO argument.
    public static var defaultHeloName: String {
        let name = ProcessInfo.processInfo.hostName
        let valid =
            !name.isEmpty
            && name.unicodeScalars.allSatisfy { c in
                ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "."
            }
        return valid ? name : "localhost"
    }

    var target: String { "\(settings.smtpHost):\(settings.port)" }

    /// Delivers one message: connect (TLS first for `tls`), greeting, EHLO, STARTTLS and
    /// EHLO again (required for `starttls`: no STARTTLS offered means nothing is sent),
    /// AUTH, MAIL FROM, RCPT TO for each recipient, DATA (dot-stuffed), QUIT.
    /// - Parameter messageID: the `Message-ID` header (`local@domain`); a retry passes the one
    ///   of the first attempt, so a message delivered twice (a crash during DATA) is
    ///   recognisably one. `nil` makes a fresh one.
    /// - Throws: `SMTPError` with the stage and, when the server refused, its code and text.
    public func send(_ message: EmailMessage, messageID: String? = nil) async throws(SMTPError) {
        for address in [message.from] + message.to where !Self.isPlainAddress(address) {
            throw SMTPError(stage: "address", description: "\"\(address.prefix(200))\" is not a usable email address")
        }
        guard !message.to.isEmpty else {
            throw SMTPError(stage: "address", description: "the message has no recipients")
        }
        if settings.security != .none { _ = try tls.get() }
        let started = ContinuousClock.now
        let session = try await connect()
        do {
            try await converse(message, messageID: messageID ?? EmailMessage.makeMessageID(from: message.from), session)
            await session.close()
        } catch {
            await session.close()
            throw error
        }
        logger.debug(
            "SMTP delivered",
            metadata: [
                "smtp.server": "\(target)", "smtp.recipients": "\(message.to.count)",
                "smtp.duration": "\(ContinuousClock.now - started)",
            ])
    }

    private func converse(_ message: EmailMessage, messageID: String, _ session: SMTPSession) async throws(SMTPError) {
        try await session.exchange(nil, stage: "greeting", expect: 2)
        var ehlo = try await session.exchange("EHLO \(heloName)", stage: "EHLO", expect: 2)
        if settings.security == .starttls {
            guard ehlo.extensions.contains(where: { $0.first == "STARTTLS" }) else {
                throw SMTPError(
                    stage: "STARTTLS",
                    description: "\(target) does not offer STARTTLS and security is "
                        + "starttls: nothing was sent (\"tls\" is for implicit TLS; \"none\" only for a local relay)")
            }
            try await session.exchange("STARTTLS", stage: "STARTTLS", expect: 2, startTLS: (try tls.get(), sniName))
            ehlo = try await session.exchange("EHLO \(heloName)", stage: "EHLO", expect: 2)
        }
        if let credentials {
            // The password in clear text may only travel to this machine itself.
            guard settings.security != .none || session.peerIsLoopback else {
                throw SMTPError(
                    stage: "AUTH",
                    description: "refusing to send the SMTP password to \(target) over an unencrypted connection "
                        + "(security is \"none\", which is for a relay on a loopback address only): "
                        + "use security \"starttls\" or \"tls\"")
            }
            try await authenticate(credentials, ehlo: ehlo, session)
        }
        try await session.exchange("MAIL FROM:<\(message.from)>", stage: "MAIL FROM", expect: 2)
        for recipient in message.to {
            try await session.exchange("RCPT TO:<\(recipient)>", stage: "RCPT TO <\(recipient)>", expect: 2)
        }
        try await session.exchange("DATA", stage: "DATA", expect: 3)
        let text = message.rendered(date: Date(), messageID: messageID)
        try await session.exchange(Self.dataPayload(text), stage: "message", expect: 2)
        // The message is accepted; a server that hangs up instead of answering QUIT is fine.
        _ = try? await session.exchange("QUIT", stage: "QUIT", expect: 2)
    }

    /// AUTH PLAIN with the initial response (one round trip), else LOGIN when that is all
    /// the server offers. The AUTH lines are never logged, nor echoed in errors.
    private func authenticate(_ credentials: SMTPCredentials, ehlo: SMTPReply, _ session: SMTPSession)
        async throws(SMTPError)
    {
        let mechanisms = ehlo.extensions.filter { $0.first == "AUTH" }.flatMap { $0.dropFirst() }
        let encode = { (text: String) in Data(text.utf8).base64EncodedString() }
        let plain = encode("\0\(credentials.user)\0\(credentials.password)")
        let secrets = [plain, encode(credentials.password), credentials.password]
        if mechanisms.contains("PLAIN") {
            try await session.exchange("AUTH PLAIN \(plain)", stage: "AUTH", expect: 2, secrets: secrets)
        } else if mechanisms.contains("LOGIN") {
            try await session.exchange("AUTH LOGIN", stage: "AUTH", expect: 3)
            try await session.exchange(encode(credentials.user), stage: "AUTH", expect: 3, secrets: secrets)
            try await session.exchange(encode(credentials.password), stage: "AUTH", expect: 2, secrets: secrets)
        } else {
            let offered = mechanisms.isEmpty ? "offers no AUTH" : "offers AUTH \(mechanisms.joined(separator: " "))"
            throw SMTPError(
                stage: "AUTH",
                description: "\(target) \(offered) but credentials are set; "
                    + "Lookout logs in with PLAIN or LOGIN only, after TLS")
        }
    }

    /// The DATA payload: every line starting with "." gets another (RFC 5321 4.5.2), and
    /// CRLF.CRLF ends it. `text` already uses CRLF only (see `EmailMessage.rendered`).
    static func dataPayload(_ text: String) -> String {
        var payload: [UInt8] = []
        payload.reserveCapacity(text.utf8.count + 64)
        var lineStart = true
        for byte in text.utf8 {
            if lineStart, byte == UInt8(ascii: ".") { payload.append(byte) }
            payload.append(byte)
            lineStart = byte == UInt8(ascii: "\n")
        }
        if !lineStart { payload += Array("\r\n".utf8) }
        return String(decoding: payload + Array(".\r\n".utf8), as: UTF8.self)
    }

    /// No spaces, angle brackets or control characters, so an address cannot smuggle a
    /// second command into MAIL FROM or RCPT TO.
    static func isPlainAddress(_ address: String) -> Bool {
        address.contains("@") && address.utf8.count <= 254
            && !address.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7F || $0 == "<" || $0 == ">" }
    }

    /// The name to send in SNI and check the certificate against; nil for an IP address,
    /// which NIOSSL then checks against the certificate's IP SANs.
    private var sniName: String? {
        (try? SocketAddress(ipAddress: settings.smtpHost, port: 0)) == nil ? settings.smtpHost : nil
    }

    private func connect() async throws(SMTPError) -> SMTPSession {
        let deadline = NIODeadline.now() + TimeAmount(timeout * 3)
        let implicitTLS: NIOSSLContext? = settings.security == .tls ? try tls.get() : nil
        let sni = sniName
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
        do {
            let (channel, handler) = try await bootstrap.connect(host: settings.smtpHost, port: settings.port) {
                channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: implicitTLS, serverHostname: sni))
                    }
                    let handler = SMTPReplyHandler()
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return (channel, NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
            return SMTPSession(
                channel: channel, handler: handler, host: settings.smtpHost, port: settings.port,
                stepTimeout: TimeAmount(timeout), deadline: deadline, logger: logger)
        } catch {
            throw SMTPError(
                stage: "connect", description: "cannot connect: \(NetworkErrorText.reason(error, target: target))")
        }
    }
}

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

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
            && !address.unicodeScalars.contains {
                $0 == " " || $0 == "<" || $0 == ">" || ControlCharacters.contains($0)
            }
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

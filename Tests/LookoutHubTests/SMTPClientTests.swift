import Foundation
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// The SMTP client against a real server (aiosmtpd, see `tests/smtp_server.py`): STARTTLS,
/// implicit TLS, plain relay, AUTH PLAIN and LOGIN, refusals, certificate checks, timeouts.
@Suite struct SMTPClientTests {
    static let password = "s3cret-Pa55word"
    static let logger = Logger(label: "test.smtp")

    static func settings(
        _ server: SMTPTestServer?, host: String = "localhost", port: Int? = nil, security: EmailSettings.Security,
        trust: Bool = true
    ) -> EmailSettings {
        var settings = EmailSettings()
        settings.enabled = true
        settings.smtpHost = host
        settings.smtpPort = port ?? server?.port
        settings.security = security
        settings.recipients = ["ops@example.com", "oncall@example.net"]
        settings.caFile = trust ? server?.certificate : nil
        return settings
    }

    static let body = """
        Disk on web-1 is at 93 % (critical from 90 %).
        .hidden: this line starts with a dot
        .
        Ünïcödé, and a tab\tinside, and a trailing space\u{20}
        \(String(repeating: "0123456789", count: 150))
        last line
        """

    static let message = EmailMessage(
        from: "lookout@example.org", to: ["ops@example.com", "oncall@example.net"],
        subject: "CRITICAL: disk ≥ 90 % on web-1 — Ünïcödé ✓", body: body)

    /// Sends `message` and returns the error, if any.
    static func attempt(
        _ settings: EmailSettings, _ credentials: SMTPCredentials? = nil, timeout: Duration = .seconds(10),
        message: EmailMessage = message
    ) async -> SMTPError? {
        let client = SMTPClient(settings: settings, credentials: credentials, timeout: timeout, logger: logger)
        do {
            try await client.send(message)
            return nil
        } catch {
            return error
        }
    }

    /// The header fields of a raw message, unfolded, by name.
    static func headers(_ raw: String) -> [String: String] {
        let head = raw.components(separatedBy: "\r\n\r\n")[0].replacingOccurrences(of: "\r\n ", with: " ")
        var fields: [String: String] = [:]
        for line in head.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...].dropFirst())
        }
        return fields
    }

    @Test func starttlsWithAuthDelivers() async throws {
        try await SMTPTestServer.with(.init(requireStartTLS: true, auth: ("alert-bot", Self.password))) { server in
            let before = Date()
            let error = await Self.attempt(
                Self.settings(server, security: .starttls), SMTPCredentials(user: "alert-bot", password: Self.password))
            #expect(error == nil)

            let received = try server.messages()
            try #require(received.count == 1)
            let envelope = received[0].envelope
            #expect(envelope.mailFrom == "lookout@example.org")
            #expect(envelope.recipients == ["ops@example.com", "oncall@example.net"])
            #expect(envelope.login == "alert-bot")
            #expect(envelope.tls)
            #expect(envelope.defects.isEmpty)
            #expect(envelope.subject == Self.message.subject)
            // Every line survived: the dot lines (dot-stuffing), the tab and trailing space,
            // the non-ASCII, and the 1500-octet line (quoted-printable soft breaks).
            #expect(envelope.body?.replacingOccurrences(of: "\r\n", with: "\n") == Self.body + "\n")

            let raw = received[0].raw
            let fields = Self.headers(raw)
            let date = try #require(fields["Date"])
            #expect(date.wholeMatch(of: /[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000/) != nil)
            let parser = DateFormatter()
            parser.locale = Locale(identifier: "en_US_POSIX")
            parser.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
            let sent = try #require(parser.date(from: date))
            #expect(abs(sent.timeIntervalSince(before)) < 60)
            #expect(fields["Message-ID"]?.wholeMatch(of: /<[0-9a-f-]{36}@example\.org>/) != nil)
            #expect(fields["From"] == "lookout@example.org")
            #expect(fields["To"] == "ops@example.com, oncall@example.net")
            #expect(fields["Subject"]?.hasPrefix("=?UTF-8?B?") == true)
            #expect(fields["MIME-Version"] == "1.0")
            #expect(fields["Content-Type"] == "text/plain; charset=UTF-8")
            #expect(fields["Content-Transfer-Encoding"] == "quoted-printable")
            #expect(raw.utf8.allSatisfy { $0 < 0x80 })
            #expect(raw.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 && !$0.contains("\n") })
        }
    }

    @Test func wrongPasswordIsRefusedWithTheServersText() async throws {
        try await SMTPTestServer.with(.init(requireStartTLS: true, auth: ("alert-bot", Self.password))) { server in
            let wrong = "not-" + Self.password
            let error = try #require(
                await Self.attempt(
                    Self.settings(server, security: .starttls), SMTPCredentials(user: "alert-bot", password: wrong)))
            #expect(error.stage == "AUTH")
            #expect(error.code == 535)
            #expect(error.description == "AUTH failed: 535 5.7.8 Authentication credentials invalid")
            #expect(!"\(error)".contains(wrong) && !(error.serverText ?? "").contains(wrong))
            #expect(try server.messages().isEmpty)
        }
    }

    @Test func authLoginWhenPlainIsNotOffered() async throws {
        let options = SMTPTestServer.Options(requireStartTLS: true, auth: ("alert-bot", Self.password), loginOnly: true)
        try await SMTPTestServer.with(options) { server in
            let error = await Self.attempt(
                Self.settings(server, security: .starttls), SMTPCredentials(user: "alert-bot", password: Self.password))
            #expect(error == nil)
            let logins = try server.messages().map(\.envelope.login)
            #expect(logins == ["alert-bot"])
        }
    }

    @Test func starttlsIsRequiredWhenConfigured() async throws {
        try await SMTPTestServer.with(.init(plain: true)) { server in
            let error = try #require(await Self.attempt(Self.settings(server, security: .starttls)))
            #expect(error.stage == "STARTTLS")
            #expect(error.description.contains("localhost:\(server.port) does not offer STARTTLS"))
            #expect(error.description.contains("nothing was sent"))
            #expect(try server.messages().isEmpty)
        }
    }

    @Test func plainRelayDeliversWithSecurityNone() async throws {
        try await SMTPTestServer.with(.init(plain: true)) { server in
            let ascii = EmailMessage(
                from: "lookout@example.org", to: ["ops@example.com"],
                subject: "Resolved: disk on web-1", body: "Back to 71 %.\n.\n")
            let error = await Self.attempt(Self.settings(server, security: .none), message: ascii)
            #expect(error == nil)
            let received = try server.messages()
            try #require(received.count == 1)
            #expect(!received[0].envelope.tls)
            #expect(received[0].envelope.recipients == ["ops@example.com"])
            #expect(received[0].envelope.body == "Back to 71 %.\r\n.\r\n")
            #expect(Self.headers(received[0].raw)["Subject"] == "Resolved: disk on web-1")
            #expect(Self.headers(received[0].raw)["Content-Transfer-Encoding"] == "7bit")
        }
    }

    @Test func credentialsNeedAServerThatOffersAuth() async throws {
        try await SMTPTestServer.with(.init(plain: true)) { server in
            let error = try #require(
                await Self.attempt(
                    Self.settings(server, security: .none), SMTPCredentials(user: "u", password: Self.password)))
            #expect(error.stage == "AUTH")
            #expect(error.description.contains("offers no AUTH but credentials are set"))
            #expect(try server.messages().isEmpty)
        }
    }

    /// Implicit TLS (port 465 style), to an IP address: checked against the IP SAN.
    @Test func implicitTLSDelivers() async throws {
        try await SMTPTestServer.with(.init(implicitTLS: true, auth: ("alert-bot", Self.password))) { server in
            let error = await Self.attempt(
                Self.settings(server, host: "127.0.0.1", security: .tls),
                SMTPCredentials(user: "alert-bot", password: Self.password))
            #expect(error == nil)
            let received = try server.messages()
            #expect(received.map(\.envelope.tls) == [true])
            #expect(received.map(\.envelope.login) == ["alert-bot"])
        }
    }

    @Test(arguments: [EmailSettings.Security.starttls, .tls])
    func untrustedCertificateIsRefused(security: EmailSettings.Security) async throws {
        let options = SMTPTestServer.Options(requireStartTLS: true, implicitTLS: security == .tls)
        try await SMTPTestServer.with(options) { server in
            let error = try #require(await Self.attempt(Self.settings(server, security: security, trust: false)))
            #expect(error.stage == "TLS")
            #expect(error.description.contains("TLS with localhost:\(server.port) failed"))
            #expect(error.description.contains("certificate is not trusted (no ca_file given"))
            #expect(try server.messages().isEmpty)
        }
    }

    /// The certificate names localhost and 127.0.0.1; 127.0.0.2 reaches the same server
    /// but is not in the certificate.
    @Test func certificateForAnotherHostIsRefused() async throws {
        try await SMTPTestServer.with(.init(implicitTLS: true, host: "0.0.0.0")) { server in
            let error = try #require(await Self.attempt(Self.settings(server, host: "127.0.0.2", security: .tls)))
            #expect(error.stage == "TLS")
            #expect(error.description.hasSuffix("certificate is not valid for 127.0.0.2"))
            #expect(try server.messages().isEmpty)
        }
    }

    @Test func unreadableCAFileIsNamedBeforeConnecting() async throws {
        var settings = Self.settings(nil, host: "127.0.0.1", port: 1, security: .starttls)
        settings.caFile = "/nonexistent/private-ca.pem"
        let error = try #require(await Self.attempt(settings))
        #expect(error.stage == "TLS")
        #expect(error.description.hasPrefix("cannot set up TLS (ca_file /nonexistent/private-ca.pem): "))
    }

    @Test func nothingListeningNamesHostAndPort() async throws {
        let port = try TCPPort(listening: false).port
        let error = try #require(await Self.attempt(Self.settings(nil, host: "127.0.0.1", port: port, security: .tls)))
        #expect(error.stage == "connect")
        #expect(error.description == "cannot connect: connection refused by 127.0.0.1:\(port)")
    }

    /// The per-reply limit applies (1 s), unless the test task itself was held up for long
    /// while the machine is busy; then the overall limit (3 s) is what ends it.
    @Test func silentServerTimesOut() async throws {
        let listener = try TCPPort(listening: true)
        defer { listener.stop() }
        let started = ContinuousClock.now
        let settings = Self.settings(nil, host: "127.0.0.1", port: listener.port, security: .none)
        let error = try #require(await Self.attempt(settings, timeout: .seconds(1)))
        #expect(error.stage == "greeting")
        #expect(
            error.description == "greeting: no reply from 127.0.0.1:\(listener.port) within 1.0 seconds"
                || error.description == "greeting: delivery to 127.0.0.1:\(listener.port) took longer than 3.0 seconds")
        // A failure bound only (the limits above end it in seconds; a hang would never end): wide
        // enough for a debug build on two cores shared with other builds.
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    // MARK: - What only a broken or hostile server does

    /// Bytes after the 220 to STARTTLS arrive in clear text, so only a man in the middle
    /// could have put them there (CVE-2011-0411); they must not be read as replies.
    @Test func plainBytesAfterStartTLSAreRefused() async throws {
        let peer = try ScriptedSMTPPeer(
            greeting: "220 fake ESMTP\r\n",
            answers: [
                "250-fake\r\n250 STARTTLS\r\n",
                "220 2.0.0 Ready to start TLS\r\n250-injected\r\n250 AUTH PLAIN\r\n",
            ])
        defer { peer.stop() }
        let error = try #require(
            await Self.attempt(
                Self.settings(nil, host: "127.0.0.1", port: peer.port, security: .starttls),
                SMTPCredentials(user: "u", password: Self.password)))
        #expect(error.stage == "STARTTLS")
        #expect(error.description == "STARTTLS: 127.0.0.1:\(peer.port) sent plain data after its 220 to STARTTLS")
    }

    @Test func multiLineRepliesAreAssembled() async throws {
        let peer = try ScriptedSMTPPeer(
            greeting: "220-first line\r\n220-second\r\n220 third\r\n",
            answers: [
                "250-fake greets you\r\n250-SIZE 1000\r\n250 8BITMIME\r\n",
                "550-5.1.0 Sender rejected\r\n550 5.1.0 Ask your admin\r\n",
            ])
        defer { peer.stop() }
        let error = try #require(
            await Self.attempt(
                Self.settings(nil, host: "127.0.0.1", port: peer.port, security: .none)))
        #expect(
            error
                == SMTPError(
                    stage: "MAIL FROM", code: 550, serverText: "5.1.0 Sender rejected / 5.1.0 Ask your admin",
                    description: "MAIL FROM failed: 550 5.1.0 Sender rejected / 5.1.0 Ask your admin"))
    }

    @Test func somethingThatIsNotSMTPIsNamed() async throws {
        let peer = try ScriptedSMTPPeer(greeting: "SSH-2.0-OpenSSH_9.6\r\n", answers: [])
        defer { peer.stop() }
        let error = try #require(
            await Self.attempt(
                Self.settings(nil, host: "127.0.0.1", port: peer.port, security: .none)))
        #expect(error.stage == "greeting")
        #expect(error.description.hasSuffix("sent a line that is not an SMTP reply: SSH-2.0-OpenSSH_9.6"))
    }

    // MARK: - Credentials

    @Test func credentialsFromTheEnvironment() throws {
        var settings = EmailSettings()
        settings.credentialsFile = "/nonexistent/used-only-without-env"
        let env = ["LOOKOUT_SMTP_USER": "bot", "LOOKOUT_SMTP_PASSWORD": Self.password]
        #expect(
            try SMTPCredentials.load(settings: settings, environment: env)
                == SMTPCredentials(user: "bot", password: Self.password))
        #expect(throws: HubError("LOOKOUT_SMTP_USER is set but LOOKOUT_SMTP_PASSWORD is not")) {
            try SMTPCredentials.load(settings: settings, environment: ["LOOKOUT_SMTP_USER": "bot"])
        }
        #expect(try SMTPCredentials.load(settings: EmailSettings(), environment: [:]) == nil)
        let credentials = SMTPCredentials(user: "bot", password: Self.password)
        #expect(!"\(credentials)".contains(Self.password) && !String(reflecting: credentials).contains(Self.password))
    }

    @Test(arguments: [
        "bot\n\(SMTPClientTests.password)\n",
        "user=bot\r\npassword=\(SMTPClientTests.password)\r\n",
        "\npassword=\(SMTPClientTests.password)\nuser=bot",
    ])
    func credentialsFromAFile(content: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString)")
        try content.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var settings = EmailSettings()
        settings.credentialsFile = file.path
        #expect(
            try SMTPCredentials.load(settings: settings, environment: [:])
                == SMTPCredentials(user: "bot", password: Self.password))
    }

    @Test func badCredentialsFilesAreNamedNotQuoted() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString)")
        try "\(Self.password)\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var settings = EmailSettings()
        settings.credentialsFile = file.path
        do {
            _ = try SMTPCredentials.load(settings: settings, environment: [:])
            Issue.record("a one-line file was accepted")
        } catch {
            #expect(error.description.contains(file.path))
            #expect(!error.description.contains(Self.password))
        }
        settings.credentialsFile = "/nonexistent/smtp-credentials"
        let missing = HubError("SMTP credentials_file /nonexistent/smtp-credentials does not exist or cannot be read")
        #expect(throws: missing) {
            try SMTPCredentials.load(settings: settings, environment: [:])
        }
    }

    // MARK: - Message text (no server)

    @Test(arguments: [
        (0.0, "Thu, 01 Jan 1970 00:00:00 +0000"),
        (1_709_210_096.9, "Thu, 29 Feb 2024 12:34:56 +0000"),
        (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 +0000"),
        (-1, "Wed, 31 Dec 1969 23:59:59 +0000"),
    ])
    func dates(seconds: Double, expected: String) {
        #expect(EmailMessage.rfc5322Date(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test func renderedASCIIMessageIsReadableAs7Bit() {
        let message = EmailMessage(
            from: "a@example.org", to: ["b@example.com"], subject: "Hi\r\nBcc: evil@x", body: "one\ntwo")
        let text = message.rendered(date: Date(timeIntervalSince1970: 0), messageID: "id@example.org")
        #expect(
            text == """
                Date: Thu, 01 Jan 1970 00:00:00 +0000\r
                Message-ID: <id@example.org>\r
                From: a@example.org\r
                To: b@example.com\r
                Subject: Hi  Bcc: evil@x\r
                MIME-Version: 1.0\r
                Content-Type: text/plain; charset=UTF-8\r
                Content-Transfer-Encoding: 7bit\r
                Auto-Submitted: auto-generated\r
                \r
                one\r
                two\r

                """)
    }

    @Test func longSubjectsAreFoldedAndEncodedWordsStaySmall() {
        let ascii = EmailMessage.subjectHeader(String(repeating: "word ", count: 40))
        #expect(ascii.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        let utf8 = EmailMessage.subjectHeader(String(repeating: "é✓", count: 60))
        let words = utf8.split(whereSeparator: { $0 == " " || $0 == "\r\n" }).dropFirst()
        #expect(words.count > 3 && words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.utf8.count <= 75 })
    }

    @Test func quotedPrintableWrapsAndEscapes() {
        let encoded = EmailMessage.quotedPrintable(String(repeating: "a=é", count: 40) + " ")
        let lines = encoded.components(separatedBy: "\r\n").dropLast()
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") })
        #expect(encoded.hasPrefix("a=3D=C3=A9") && encoded.hasSuffix("=20\r\n"))
    }

    @Test func dataIsDotStuffedAndTerminated() {
        #expect(SMTPClient.dataPayload(".a\r\nb\r\n.\r\n..c\r\n") == "..a\r\nb\r\n..\r\n...c\r\n.\r\n")
        #expect(SMTPClient.dataPayload("no newline") == "no newline\r\n.\r\n")
    }

    @Test func addressesThatCouldInjectCommandsAreRefused() async {
        let message = EmailMessage(from: "a@b.c", to: ["x@y.z>\r\nRCPT TO:<evil@e.f"], subject: "s", body: "b")
        let settings = Self.settings(nil, host: "127.0.0.1", port: 1, security: .none)
        let error = await Self.attempt(settings, message: message)
        #expect(error?.stage == "address")
    }
}

import Foundation
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// Email as relays accept it: a real sender domain, no password in clear text across the
/// network, one Message-ID per notice, and refusals told apart from outages (real aiosmtpd).
@Suite struct EmailChannelTests {
    static let logger = Logger(label: "test.email")

    static func notice() throws -> Notice {
        let alert = Alert(
            id: "web-1/disk", vmID: try VMID(validating: "web-1"), kind: "disk", metric: "disk", severity: .critical,
            value: 93, threshold: 90, since: Date(timeIntervalSince1970: 1_765_276_200),
            message: "disk 93%, critical at 90%")
        return Notice(kind: .opened, alert: alert, at: alert.since)
    }

    static func settings(
        _ server: SMTPTestServer, host: String = "127.0.0.1", recipients: [String] = ["ops@example.com"]
    )
        -> EmailSettings
    {
        var settings = EmailSettings()
        settings.enabled = true
        settings.smtpHost = host
        settings.smtpPort = server.port
        settings.security = .none
        settings.recipients = recipients
        return settings
    }

    @Test func aRetriedEmailKeepsTheMessageIDOfItsFirstAttempt() async throws {
        try await SMTPTestServer.with(.init(plain: true)) { server in
            let channel = EmailChannel(
                settings: Self.settings(server), credentials: nil, publicURL: nil, from: "lookout@hub.example.com",
                logger: Self.logger)
            try await channel.send(try Self.notice(), deliveryID: "lookout.0123456789abcdef.1765276200000")
            try await channel.send(try Self.notice(), deliveryID: "lookout.0123456789abcdef.1765276200000")
            let ids = try server.messages().map { SMTPClientTests.headers($0.raw)["Message-ID"] }
            #expect(
                ids == [
                    "<lookout.0123456789abcdef.1765276200000@hub.example.com>",
                    "<lookout.0123456789abcdef.1765276200000@hub.example.com>",
                ])
        }
    }

    @Test func aRefusedRecipientIsPermanentAndCarriesTheReply() async throws {
        try await SMTPTestServer.with(.init(plain: true, rejectRecipient: "gone@example.com")) { server in
            let channel = EmailChannel(
                settings: Self.settings(server, recipients: ["gone@example.com"]), credentials: nil, publicURL: nil,
                from: "lookout@hub.example.com", logger: Self.logger)
            let error = try #require(
                await #expect(throws: DeliveryError.self) {
                    try await channel.send(try Self.notice(), deliveryID: "d")
                })
            #expect(error.permanent)
            #expect(
                error.message.contains("550 5.1.1 <gone@example.com>: Recipient address rejected"), "\(error.message)")
        }
    }

    @Test func aRelayThatIsDownIsNotPermanent() async throws {
        let port = try TCPPort(listening: false).port
        var settings = EmailSettings()
        settings.enabled = true
        settings.smtpHost = "127.0.0.1"
        settings.smtpPort = port
        settings.security = .none
        settings.recipients = ["ops@example.com"]
        let channel = EmailChannel(
            settings: settings, credentials: nil, publicURL: nil, from: "lookout@hub.example.com", logger: Self.logger)
        let error = try #require(
            await #expect(throws: DeliveryError.self) {
                try await channel.send(try Self.notice(), deliveryID: "d")
            })
        #expect(!error.permanent)
        #expect(error.message.hasSuffix("cannot connect: connection refused by 127.0.0.1:\(port)"), "\(error.message)")
    }

    /// 192.0.2.2 is this machine's own non-loopback address in the test VM; any address of
    /// the machine that is not 127/8 stands for a relay across the network.
    static var nonLoopbackAddress: String? {
        var addresses: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&addresses) == 0, let first = addresses else { return nil }
        defer { freeifaddrs(addresses) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else {
                continue
            }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard
                getnameinfo(
                    address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0,
                    NI_NUMERICHOST) == 0
            else { continue }
            let text = String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !text.hasPrefix("127.") { return text }
        }
        return nil
    }

    @Test func thePasswordNeverCrossesTheNetworkInClearText() async throws {
        let address = try #require(Self.nonLoopbackAddress, "the test needs a non-loopback IPv4 address")
        try await SMTPTestServer.with(.init(plain: true, auth: ("bot", "pw-123"), host: address)) { server in
            let error = try #require(
                await SMTPClientTests.attempt(
                    Self.settings(server, host: address), SMTPCredentials(user: "bot", password: "pw-123")))
            #expect(error.stage == "AUTH")
            #expect(
                error.description.contains(
                    "refusing to send the SMTP password to \(address):\(server.port) over an unencrypted connection"))
            #expect(try server.messages().isEmpty)
        }
    }

    @Test func aLoopbackRelayMayTakeThePasswordInClearText() async throws {
        try await SMTPTestServer.with(.init(plain: true, auth: ("bot", "pw-123"))) { server in
            let error = await SMTPClientTests.attempt(
                Self.settings(server), SMTPCredentials(user: "bot", password: "pw-123"))
            #expect(error == nil)
            let login = try server.messages().first?.envelope.login
            #expect(login == "bot")
        }
    }

    @Test func theConfigCheckRefusesAPasswordInClearTextToAnotherMachine() throws {
        var config = MonitoringConfig()
        config.notifications.email.enabled = true
        config.notifications.email.smtpHost = "smtp.example.com"
        config.notifications.email.security = .none
        config.notifications.email.recipients = ["ops@example.com"]
        config.notifications.email.from = "lookout@example.com"
        let environment = ["LOOKOUT_SMTP_USER": "bot", "LOOKOUT_SMTP_PASSWORD": "pw"]
        let error = try #require(throws: HubError.self) {
            try config.notificationChannels(environment: environment, hostName: "hub", logger: Self.logger)
        }
        #expect(error.message.hasPrefix("notifications.email.security: \"none\" sends the SMTP password in clear text"))
        config.notifications.email.smtpHost = "127.0.0.1"
        #expect(
            try config.notificationChannels(environment: environment, hostName: "hub", logger: Self.logger).count == 1)
    }

    @Test func theDefaultFromIsTheFullyQualifiedHostNameOrTheCheckAsksForFrom() throws {
        var config = MonitoringConfig()
        config.notifications.email.enabled = true
        config.notifications.email.smtpHost = "smtp.example.com"
        config.notifications.email.recipients = ["ops@example.com"]
        let channels = try config.notificationChannels(
            environment: [:], hostName: "hub", logger: Self.logger, domainName: "hub.example.com")
        #expect((channels.first as? EmailChannel)?.from == "lookout@hub.example.com")
        let error = try #require(throws: HubError.self) {
            try config.notificationChannels(
                environment: [:], hostName: "hub", logger: Self.logger, domainName: .some(nil))
        }
        #expect(
            error.message.hasPrefix("notifications.email.from: not set, and this host (hub) has no fully qualified"))
    }

    @Test func theDomainComesFromTheNameTheResolverOrResolvConf() throws {
        let resolv = NSTemporaryDirectory() + "resolv-\(UUID().uuidString).conf"
        try Data("nameserver 10.0.0.1\nsearch corp.example.com example.com\n".utf8).write(
            to: URL(fileURLWithPath: resolv))
        #expect(HostDomain.fullyQualifiedName(hostName: "hub.example.org", resolvConf: resolv) == "hub.example.org")
        #expect(
            HostDomain.fullyQualifiedName(hostName: "no-such-host-x1", resolvConf: resolv)
                == "no-such-host-x1.corp.example.com")
        #expect(HostDomain.fullyQualifiedName(hostName: "localhost", resolvConf: "/nonexistent") == nil)
        #expect(HostDomain.fullyQualifiedName(hostName: "no-such-host-x1", resolvConf: "/nonexistent") == nil)
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Synchronization
import Testing

@testable import LookoutHub

/// Each webhook kind against a real HTTP server on 127.0.0.1 (HummingbirdTesting's live
/// framework), checking the payload its service expects.
@Suite struct WebhookChannelTests {
    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: String
    }

    static func notice(_ kind: Notice.Kind = .opened) throws -> Notice {
        let alert = Alert(
            id: "web-1/disk", vmID: try VMID(validating: "web-1"), kind: "disk", metric: "disk", severity: .critical,
            value: 93.4, threshold: 90, since: Date(timeIntervalSince1970: 1_765_276_200),
            message: "disk 93.4%, critical at 90%")
        return Notice(kind: kind, alert: alert, at: Date(timeIntervalSince1970: 1_765_276_200))
    }

    /// Runs `body` with a live server that records every request and answers `status`.
    func withReceiver(
        status: HTTPResponse.Status = .ok, _ body: @Sendable (Int, @Sendable () -> [Received]) async throws -> Void
    ) async throws {
        let received = Mutex<[Received]>([])
        let router = Router()
        router.post("**") { request, _ -> Response in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            received.withLock {
                $0.append(Received(path: request.uri.path, headers: headers, body: String(buffer: bytes)))
            }
            return Response(status: status)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body(port, { received.withLock { $0 } })
        }
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func everyKindSendsThePayloadItsServiceAccepts() async throws {
        try await withReceiver { port, received in
            for kind in Webhook.Kind.allCases {
                let channel = WebhookChannel(
                    webhook: Webhook(kind: kind, url: "http://127.0.0.1:\(port)/\(kind.rawValue)"),
                    publicURL: "https://lookout.example.com")
                try await channel.send(try Self.notice(), deliveryID: "d-1")
            }
            let byPath = Dictionary(uniqueKeysWithValues: received().map { ($0.path, $0) })
            let generic = try json(try #require(byPath["/generic"]).body)
            #expect(generic["event"] as? String == "opened")
            #expect(generic["subject"] as? String == "[Lookout] CRITICAL web-1: disk 93.4%, critical at 90%")
            #expect((generic["alert"] as? [String: Any])?["threshold"] as? Double == 90)
            #expect((generic["text"] as? String)?.contains("Dashboard: https://lookout.example.com/#vm/web-1") == true)

            let ntfy = try #require(byPath["/ntfy"])
            #expect(ntfy.headers["title"] == "[Lookout] CRITICAL web-1: disk 93.4%, critical at 90%")
            #expect(ntfy.headers["priority"] == "5")
            #expect(ntfy.body.hasPrefix("New critical alert on web-1"))

            let slack = try json(try #require(byPath["/slack"]).body)
            #expect((slack["text"] as? String)?.hasPrefix("*[Lookout] CRITICAL web-1") == true)

            let discord = try json(try #require(byPath["/discord"]).body)
            let content = try #require(discord["content"] as? String)
            #expect(content.hasPrefix("**[Lookout] CRITICAL web-1") && content.count <= 2000)
        }
    }

    @Test func aResolvedNoticeIsLowPriorityOnNtfy() async throws {
        try await withReceiver { port, received in
            let channel = WebhookChannel(
                webhook: Webhook(kind: .ntfy, url: "http://127.0.0.1:\(port)/t"), publicURL: nil)
            try await channel.send(try Self.notice(.resolved), deliveryID: "d-1")
            #expect(received().first?.headers["priority"] == "2")
            #expect(received().first?.headers["title"] == "[Lookout] RESOLVED web-1: disk")
        }
    }

    @Test func aServerErrorIsADeliveryErrorWithTheStatus() async throws {
        try await withReceiver(status: .serviceUnavailable) { port, _ in
            let channel = WebhookChannel(
                webhook: Webhook(kind: .generic, url: "http://127.0.0.1:\(port)/x"), publicURL: nil)
            let error = await #expect(throws: DeliveryError.self) {
                try await channel.send(try Self.notice(), deliveryID: "d-1")
            }
            #expect(error?.message.contains("HTTP 503") == true)
            #expect(error?.permanent == false)
        }
    }

    @Test(arguments: [
        (HTTPResponse.Status.notFound, true), (.forbidden, true), (.movedPermanently, true), (.tooManyRequests, false),
        (.requestTimeout, false), (.badGateway, false),
    ])
    func a4xxOtherThan408And429OrARedirectIsPermanent(_ status: HTTPResponse.Status, permanent: Bool) async throws {
        try await withReceiver(status: status) { port, _ in
            let channel = WebhookChannel(
                webhook: Webhook(kind: .generic, url: "http://127.0.0.1:\(port)/x"), publicURL: nil)
            let error = await #expect(throws: DeliveryError.self) {
                try await channel.send(try Self.notice(), deliveryID: "d")
            }
            #expect(error?.permanent == permanent)
            #expect(error?.message.hasPrefix("\(channel.id): HTTP \(status.code)") == true)
        }
    }

    /// Slack reads `&`, `<` and `>` as mrkdwn control characters (`<!channel>` pages everyone);
    /// Discord parses `@everyone` unless `allowed_mentions` says not to.
    @Test func chatPayloadsCannotMentionOrLinkByAccident() async throws {
        var mentioning = try Self.notice()
        mentioning.alert.message = "container <!channel> & @everyone <https://evil.example|click> stopped"
        let notice = mentioning
        try await withReceiver { port, received in
            for kind in [Webhook.Kind.slack, .discord] {
                let channel = WebhookChannel(
                    webhook: Webhook(kind: kind, url: "http://127.0.0.1:\(port)/\(kind.rawValue)"), publicURL: nil)
                try await channel.send(notice, deliveryID: "lookout.abc.1")
            }
            let byPath = Dictionary(uniqueKeysWithValues: received().map { ($0.path, $0) })
            let slackPost = try #require(byPath["/slack"])
            let slack = try #require(try json(slackPost.body)["text"] as? String)
            #expect(
                slack.contains("container &lt;!channel&gt; &amp; @everyone &lt;https://evil.example|click&gt; stopped"))
            #expect(!slack.contains("<") && !slack.contains(">"))
            let discord = try json(try #require(byPath["/discord"]).body)
            #expect((discord["allowed_mentions"] as? [String: Any])?["parse"] as? [String] == [])
            #expect((discord["content"] as? String)?.contains("@everyone") == true)
            #expect(byPath["/slack"]?.headers["x-lookout-delivery"] == "lookout.abc.1")
        }
    }

    /// A closed port: refused at once with a reason that says so (not 15 s of retries
    /// inside the HTTP client's pool, reported as "connection reset").
    @Test func aRefusedConnectionFailsAtOnceWithACleanReason() async throws {
        let port = try TCPPort(listening: false).port
        let channel = WebhookChannel(
            webhook: Webhook(kind: .generic, url: "http://127.0.0.1:\(port)/hook"), publicURL: nil,
            timeout: .seconds(60))
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: DeliveryError.self) {
            try await channel.send(try Self.notice(), deliveryID: "d")
        }
        #expect(error?.message == "\(channel.id): connection refused by 127.0.0.1:\(port)")
        // Far below the 60 s request timeout that the old pool retries ran into (a bound, not a speed test).
        #expect(clock.now - started < .seconds(30))
    }

    @Test func twoWebhooksOnOneHostAreTwoChannelsEachHearingItsNoticesOnce() async throws {
        try await withReceiver { port, received in
            let config = try MonitoringConfig.parse(
                Array(
                    """
                    {"notifications": {"webhooks": [{"kind": "ntfy", "url": "http://127.0.0.1:\(port)/topic-a"},
                                                    {"kind": "ntfy", "url": "http://127.0.0.1:\(port)/topic-b"}]}}
                    """.utf8))
            let channels = try config.notificationChannels(environment: [:], hostName: "hub", logger: .init(label: "t"))
            #expect(Set(channels.map(\.id)).count == 2)
            #expect(channels.allSatisfy { $0.id.hasPrefix("webhook:ntfy:127.0.0.1:") })
            let folder = NSTemporaryDirectory() + "lookout-webhooks-\(UUID().uuidString)"
            let outbox = Outbox(dataFolder: folder, logger: .init(label: "t"))
            let opened = try Self.notice()
            var resolved = try Self.notice(.resolved)
            resolved.at = opened.at.addingTimeInterval(60)
            outbox.enqueue([opened], channels: channels, now: opened.at)
            _ = await outbox.deliver(channels: channels, now: opened.at)
            outbox.enqueue([resolved], channels: channels, now: resolved.at)
            let report = await outbox.deliver(channels: channels, now: resolved.at)
            #expect(report.delivered == 2)
            let paths = received().map { "\($0.path) \($0.headers["priority"] ?? "")" }.sorted()
            #expect(paths == ["/topic-a 2", "/topic-a 5", "/topic-b 2", "/topic-b 5"])
        }
    }
}

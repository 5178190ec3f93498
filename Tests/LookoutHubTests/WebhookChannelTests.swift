import Foundation
import Hummingbird
import HummingbirdTesting
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
    func withReceiver(status: HTTPResponse.Status = .ok, _ body: @Sendable (Int, @Sendable () -> [Received]) async throws -> Void) async throws {
        let received = Mutex<[Received]>([])
        let router = Router()
        router.post("**") { request, _ -> Response in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            received.withLock { $0.append(Received(path: request.uri.path, headers: headers, body: String(buffer: bytes))) }
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
                try await channel.send(try Self.notice())
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
            let channel = WebhookChannel(webhook: Webhook(kind: .ntfy, url: "http://127.0.0.1:\(port)/t"), publicURL: nil)
            try await channel.send(try Self.notice(.resolved))
            #expect(received().first?.headers["priority"] == "2")
            #expect(received().first?.headers["title"] == "[Lookout] RESOLVED web-1: disk")
        }
    }

    @Test func aServerErrorIsADeliveryErrorWithTheStatus() async throws {
        try await withReceiver(status: .serviceUnavailable) { port, _ in
            let channel = WebhookChannel(webhook: Webhook(kind: .generic, url: "http://127.0.0.1:\(port)/x"), publicURL: nil)
            let error = await #expect(throws: DeliveryError.self) { try await channel.send(try Self.notice()) }
            #expect(error?.message.contains("HTTP 503") == true)
        }
    }
}

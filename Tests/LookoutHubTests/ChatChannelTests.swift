import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Synchronization
import Testing

@testable import LookoutHub

/// Telegram, Gotify, Pushover, Matrix and Teams against a real HTTP server on 127.0.0.1
/// that checks what each API documents: path, method, headers, body, and the escaping of
/// VM-supplied text in the format each one renders.
@Suite struct ChatChannelTests {
    struct Received: Sendable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: String
    }

    /// A service whose name carries markup and mentions: it must arrive as text.
    static let hostile = "<b>api</b> & <a href=\"https://evil.example\">*click*</a> [x](y) @room _u_"

    static func notice(_ kind: Notice.Kind = .opened, severity: Severity = .critical) throws -> Notice {
        let alert = Alert(
            id: "web-1/service/x", vmID: try VMID(validating: "web-1"), kind: "service", metric: "x",
            severity: severity, value: nil, threshold: nil, since: Date(timeIntervalSince1970: 1_765_276_200),
            message: "service \(hostile) is down")
        return Notice(kind: kind, alert: alert, at: Date(timeIntervalSince1970: 1_765_276_200))
    }

    /// Runs `body` with a live server that records every request and answers `status`;
    /// with `echo`, the answer's body quotes the request line, headers and body back, as
    /// some reverse proxies' and servers' error pages do.
    func withReceiver(
        status: HTTPResponse.Status = .ok, failFirst: Int = 0, echo: Bool = false,
        _ body: @Sendable (String, @Sendable () -> [Received]) async throws -> Void
    ) async throws {
        let received = Mutex<[Received]>([])
        let router = Router()
        let record: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let count = received.withLock {
                $0.append(
                    Received(
                        method: request.method.rawValue, path: request.uri.path, headers: headers,
                        body: String(buffer: bytes)))
                return $0.count
            }
            let answer = count <= failFirst ? HTTPResponse.Status.badGateway : status
            guard echo else { return Response(status: answer) }
            let quoted =
                "Cannot \(request.method) \(request.uri)\n"
                + headers.map { "\($0): \($1)" }.sorted().joined(separator: "\n")
                + "\n" + String(buffer: bytes)
            return Response(status: answer, body: .init(byteBuffer: ByteBuffer(string: quoted)))
        }
        router.post("**", use: record)
        router.put("**", use: record)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)", { received.withLock { $0 } })
        }
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func channel(_ kind: ChatChannelSettings.Kind, _ base: String, recipient: String? = nil, secret: String)
        -> ChatChannel
    {
        ChatChannel(
            settings: ChatChannelSettings(
                kind: kind, apiURL: kind == .teams ? nil : base, recipient: recipient, tokenEnv: "T"),
            secret: secret, publicURL: "https://lookout.example.com")
    }

    @Test func telegramSendsEscapedHTMLToSendMessage() async throws {
        try await withReceiver { base, received in
            let telegram = channel(.telegram, base, recipient: "-100123", secret: "123456:ABC-def")
            try await telegram.send(try Self.notice(), deliveryID: "lookout.abc.1")
            let request = try #require(received().first)
            #expect(request.method == "POST")
            #expect(request.path == "/bot123456:ABC-def/sendMessage")
            #expect(request.headers["content-type"] == "application/json")
            let body = try json(request.body)
            #expect(body["chat_id"] as? String == "-100123")
            #expect(body["parse_mode"] as? String == "HTML")
            let text = try #require(body["text"] as? String)
            #expect(
                text.hasPrefix(
                    "<b>[Lookout] CRITICAL web-1: service &lt;b&gt;api&lt;/b&gt; &amp; &lt;a href=\"https://evil.example\"&gt;"
                ), "\(text)")
            // The only tags are ours: <b> and </b> around the subject.
            #expect(text.components(separatedBy: "<").count == 3, "\(text)")
            #expect(text.contains("Dashboard: https://lookout.example.com/#vm/web-1"))
            #expect(telegram.id.hasPrefix("telegram:127.0.0.1:") && !telegram.id.contains("ABC"))
        }
    }

    @Test func gotifyPostsMessageWithTheTokenInAHeader() async throws {
        try await withReceiver { base, received in
            let gotify = channel(.gotify, base + "/", secret: "AppToken.1")
            try await gotify.send(try Self.notice(), deliveryID: "d")
            try await gotify.send(try Self.notice(.opened, severity: .warning), deliveryID: "d2")
            try await gotify.send(try Self.notice(.resolved), deliveryID: "d3")
            let requests = received()
            #expect(requests.map(\.path) == ["/message", "/message", "/message"])
            #expect(requests.allSatisfy { $0.method == "POST" && $0.headers["x-gotify-key"] == "AppToken.1" })
            let bodies = try requests.map { try json($0.body) }
            #expect(bodies.map { $0["priority"] as? Int } == [8, 5, 2])
            // Plain text: shown as written.
            #expect((bodies[0]["title"] as? String)?.contains(Self.hostile) == true)
            #expect(
                (bodies[0]["message"] as? String)?.contains("Dashboard: https://lookout.example.com/#vm/web-1") == true)
        }
    }

    @Test func pushoverPostsAFormWithPriorityFromSeverity() async throws {
        try await withReceiver { base, received in
            let pushover = channel(.pushover, base, recipient: "uUserKey", secret: "aAppToken")
            try await pushover.send(try Self.notice(), deliveryID: "d")
            try await pushover.send(try Self.notice(.opened, severity: .warning), deliveryID: "d2")
            try await pushover.send(try Self.notice(.resolved), deliveryID: "d3")
            var long = try Self.notice()
            long.alert.message = String(repeating: "é&", count: 2000)
            try await pushover.send(long, deliveryID: "d4")
            let requests = received()
            #expect(requests.allSatisfy { $0.method == "POST" && $0.path == "/1/messages.json" })
            #expect(requests.allSatisfy { $0.headers["content-type"] == "application/x-www-form-urlencoded" })
            let forms = requests.map { request in
                Dictionary(
                    uniqueKeysWithValues: request.body.split(separator: "&").map { pair in
                        let parts = pair.split(separator: "=", maxSplits: 1).map {
                            String($0).removingPercentEncoding ?? "?"
                        }
                        return (parts[0], parts.count > 1 ? parts[1] : "")
                    })
            }
            #expect(forms.map { $0["priority"] } == ["1", "0", "-1", "1"])
            #expect(forms[3]["title"]?.count == 250 && forms[3]["message"]?.count == 1024)
            #expect(forms[3]["message"]?.hasSuffix("…") == true)
            #expect(forms[0]["token"] == "aAppToken" && forms[0]["user"] == "uUserKey")
            #expect(forms[0]["title"]?.contains(Self.hostile) == true)
            #expect(forms[0]["url"] == "https://lookout.example.com/#vm/web-1")
        }
    }

    @Test func matrixPutsAnEventWhoseTransactionIdIsTheSameOnARetry() async throws {
        try await withReceiver { base, received in
            let matrix = channel(.matrix, base, recipient: "!room:example.org", secret: "syt_secret")
            try await matrix.send(try Self.notice(), deliveryID: "lookout.0123456789abcdef.1765276200")
            try await matrix.send(try Self.notice(), deliveryID: "lookout.0123456789abcdef.1765276200")
            let requests = received()
            #expect(requests.count == 2)
            #expect(requests[0].path == requests[1].path)
            let request = requests[0]
            #expect(request.method == "PUT")
            // The room id percent-encoded as one path segment (`!` and `:` are not left to chance).
            #expect(
                request.path
                    == "/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/lookout.0123456789abcdef.1765276200",
                "\(request.path)")
            #expect(request.headers["authorization"] == "Bearer syt_secret")
            let body = try json(request.body)
            #expect(body["msgtype"] as? String == "m.text")
            #expect(body["format"] as? String == "org.matrix.custom.html")
            #expect((body["body"] as? String)?.contains(Self.hostile) == true)
            let html = try #require(body["formatted_body"] as? String)
            #expect(
                html.hasPrefix("<strong>[Lookout] CRITICAL web-1: service &lt;b&gt;api&lt;/b&gt; &amp; "), "\(html)")
            #expect(!html.contains("<a ") && !html.contains("<b>"), "\(html)")
        }
    }

    /// Through the real outbox: the first attempt fails (a 502 after the homeserver may have
    /// taken the event), the retry after the backoff carries the same transaction id.
    @Test func aMatrixRetryThroughTheOutboxReusesTheTransactionID() async throws {
        try await withReceiver(failFirst: 1) { base, received in
            let matrix = channel(.matrix, base, recipient: "!room:example.org", secret: "syt_secret")
            let folder = NSTemporaryDirectory() + "lookout-matrix-\(UUID().uuidString)"
            let outbox = Outbox(dataFolder: folder, logger: Logger(label: "t"))
            let notice = try Self.notice()
            outbox.enqueue([notice], channels: [matrix], now: notice.at)
            let first = await outbox.deliver(channels: [matrix], now: notice.at)
            #expect(first.failed == 1 && first.delivered == 0, "\(first)")
            let retry = await outbox.deliver(channels: [matrix], now: notice.at.addingTimeInterval(31))
            #expect(retry.delivered == 1, "\(retry)")
            let paths = received().map(\.path)
            #expect(paths.count == 2)
            #expect(paths[0] == paths[1] && paths[0].contains("/send/m.room.message/lookout."), "\(paths)")
        }
    }

    @Test func teamsPostsAnAdaptiveCardWithEscapedMarkdown() async throws {
        try await withReceiver { base, received in
            let teams = channel(.teams, base, secret: base + "/workflows/abc/triggers/manual/paths/invoke?sig=S1")
            try await teams.send(try Self.notice(), deliveryID: "d")
            let request = try #require(received().first)
            #expect(request.method == "POST")
            #expect(request.path == "/workflows/abc/triggers/manual/paths/invoke")
            let body = try json(request.body)
            #expect(body["type"] as? String == "message")
            let attachment = try #require((body["attachments"] as? [[String: Any]])?.first)
            #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
            let card = try #require(attachment["content"] as? [String: Any])
            #expect(card["type"] as? String == "AdaptiveCard")
            #expect(card["$schema"] as? String == "http://adaptivecards.io/schemas/adaptive-card.json")
            let blocks = try #require(card["body"] as? [[String: Any]])
            let title = try #require(blocks.first?["text"] as? String)
            #expect(
                title.contains(
                    #"\<b\>api\</b\> & \<a href="https://evil.example"\>\*click\*\</a\> \[x\]\(y\) @room \_u\_"#),
                "\(title)")
            #expect(blocks.first?["color"] as? String == "Attention")
            // Each line of the notice is its own paragraph: a TextBlock runs lines joined by a
            // single "\n" into one.
            let text = try #require(blocks.last?["text"] as? String)
            let paragraphs = text.components(separatedBy: "\n\n")
            let lines = try Self.notice().body(publicURL: nil).split(separator: "\n")
            #expect(paragraphs.count == lines.count, "\(text)")
            #expect(paragraphs.allSatisfy { !$0.isEmpty && !$0.contains("\n") }, "\(text)")
            #expect(paragraphs.dropFirst().first?.hasPrefix("VM:") == true, "\(text)")
            let action = try #require((card["actions"] as? [[String: Any]])?.first)
            #expect(action["type"] as? String == "Action.OpenUrl")
            #expect(action["url"] as? String == "https://lookout.example.com/#vm/web-1")
            #expect(teams.id.hasPrefix("teams:workflow:") && !teams.id.contains("sig"))
        }
    }

    /// A channel of each kind to `base` with the secret `secret(kind)`, and the error of
    /// one notice it failed to send.
    func refusals(
        _ base: String, _ secret: (ChatChannelSettings.Kind) -> String
    ) async throws -> [(ChatChannelSettings.Kind, ChatChannel, DeliveryError)] {
        var result: [(ChatChannelSettings.Kind, ChatChannel, DeliveryError)] = []
        for kind in ChatChannelSettings.Kind.allCases {
            let channel = channel(kind, base, recipient: kind == .gotify ? nil : "r", secret: secret(kind))
            let error = try #require(
                await #expect(throws: DeliveryError.self) { try await channel.send(try Self.notice(), deliveryID: "d") }
            )
            result.append((kind, channel, error))
        }
        return result
    }

    @Test(arguments: [
        (HTTPResponse.Status.unauthorized, true), (.notFound, true), (.badRequest, true), (.tooManyRequests, false),
        (.internalServerError, false), (.badGateway, false),
    ])
    func aRefusalIsPermanentAndNeverShowsTheSecret(_ status: HTTPResponse.Status, _ permanent: Bool) async throws {
        try await withReceiver(status: status) { base, _ in
            for (kind, channel, error) in try await refusals(
                base, { $0 == .teams ? base + "/hook?sig=TOPSECRET" : "TOPSECRET" })
            {
                #expect(error.permanent == permanent, "\(kind) \(error.message)")
                #expect(error.message.hasPrefix("\(channel.id): HTTP \(status.code)"), "\(error.message)")
                #expect(!error.message.contains("TOPSECRET"), "\(error.message)")
            }
        }
    }

    /// A receiver that quotes the request back (the Telegram token in the path, the Gotify
    /// and Matrix secrets in headers, Pushover's in the form, the whole Teams URL) has the
    /// secret replaced in the error, which reaches logs, the outbox and the status page.
    @Test func aSecretEchoedInTheErrorBodyIsRedacted() async throws {
        try await withReceiver(status: .notFound, echo: true) { base, received in
            let secret = { (kind: ChatChannelSettings.Kind) in
                kind == .teams ? base + "/w/TOPSECRET?sig=TOP:SECRET" : "12345:TOP/SECRET"
            }
            for (kind, channel, error) in try await refusals(base, secret) {
                #expect(error.message.hasPrefix("\(channel.id): HTTP 404 Cannot P"), "\(error.message)")
                #expect(error.message.contains("<secret>"), "\(kind): \(error.message)")
                #expect(!error.message.contains("TOP"), "\(kind): \(error.message)")
            }
            // The receiver did get the secrets, so the echo held them.
            #expect(received().contains { $0.path.contains("TOP") })
        }
    }

    @Test func aRefusedConnectionNamesHostAndPortNotTheURL() async throws {
        let port = try TCPPort(listening: false).port
        let telegram = channel(.telegram, "http://127.0.0.1:\(port)", recipient: "1", secret: "123:SECRET")
        let error = try #require(
            await #expect(throws: DeliveryError.self) { try await telegram.send(try Self.notice(), deliveryID: "d") })
        #expect(error.message == "\(telegram.id): connection refused by 127.0.0.1:\(port)")
        #expect(!error.permanent)
    }

    @Test func secretsComeFromTheFileOrTheEnvironmentAndAMissingOneIsNamed() throws {
        let folder = NSTemporaryDirectory() + "lookout-secrets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("  123456:ABC\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/telegram"))
        try Data("two\nlines\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/bad"))
        func config(_ channel: String) throws -> MonitoringConfig {
            try MonitoringConfig.parse(Array(#"{"notifications": {"channels": [\#(channel)]}}"#.utf8))
        }
        func build(_ channel: String, _ environment: [String: String] = [:]) throws -> [any NotificationChannel] {
            try config(channel).notificationChannels(
                environment: environment, hostName: "hub", logger: .init(label: "t"))
        }
        let fromFile = try build(#"{"kind": "telegram", "chat_id": "1", "token_file": "\#(folder)/telegram"}"#)
        #expect((fromFile.first as? ChatChannel)?.secret == "123456:ABC")
        let fromEnv = try build(
            #"{"kind": "gotify", "api_url": "https://g.example", "token_env": "GOTIFY_TOKEN"}"#, ["GOTIFY_TOKEN": "tok"]
        )
        #expect((fromEnv.first as? ChatChannel)?.secret == "tok")
        for (channel, expected) in [
            (
                #"{"kind": "gotify", "api_url": "https://g.example", "token_env": "GOTIFY_TOKEN"}"#,
                "notifications.channels[0].token_env: the environment variable GOTIFY_TOKEN is not set or empty"
            ),
            (
                #"{"kind": "telegram", "chat_id": "1", "token_file": "\#(folder)/missing"}"#,
                "notifications.channels[0].token_file: \(folder)/missing does not exist or cannot be read"
            ),
            (
                #"{"kind": "telegram", "chat_id": "1", "token_file": "\#(folder)/bad"}"#,
                "token_file: \(folder)/bad must hold the secret on one line, without control characters"
            ),
            (
                #"{"kind": "teams", "token_file": "\#(folder)/telegram"}"#,
                "token_file: \(folder)/telegram must hold the workflow's https:// URL"
            ),
        ] {
            let error = try #require(throws: HubError.self) { try build(channel) }
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(error.description.hasPrefix("notifications.channels[0].token_"))
            #expect(!error.description.contains("ABC"))
        }
        // A secret from the environment gets the same checks as one from a file: one line,
        // no control character (it goes into a header), an https URL for Teams.
        for (channel, value, expected) in [
            (
                #"{"kind": "gotify", "api_url": "https://g.example", "token_env": "SECRET"}"#, "tok\r\nX-Evil: ABC",
                "token_env: the environment variable SECRET must hold the secret on one line, without control characters"
            ),
            (
                #"{"kind": "matrix", "api_url": "https://m.example", "room_id": "!r", "token_env": "SECRET"}"#,
                "ABC\u{1B}[31m", "token_env: the environment variable SECRET must hold the secret on one line"
            ),
            (
                #"{"kind": "teams", "token_env": "SECRET"}"#, "not-a-url-ABC",
                "token_env: the environment variable SECRET must hold the workflow's https:// URL"
            ),
            (
                #"{"kind": "teams", "token_env": "SECRET"}"#, "http://prod.example/workflows/ABC?sig=1",
                "token_env: the environment variable SECRET must hold the workflow's https:// URL"
            ),
            (
                #"{"kind": "teams", "token_file": "\#(folder)/teams-http"}"#, "",
                "token_file: \(folder)/teams-http must hold the workflow's https:// URL"
            ),
        ] {
            try Data("http://prod.example/workflows/ABC?sig=1\n".utf8).write(
                to: URL(fileURLWithPath: "\(folder)/teams-http"))
            let error = try #require(throws: HubError.self) { try build(channel, ["SECRET": value]) }
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(error.description.hasPrefix("notifications.channels[0].token_"))
            #expect(!error.description.contains("ABC"))
        }
        // On this machine, plain http stays allowed (a relay or a test server).
        let local = try build(#"{"kind": "teams", "token_env": "SECRET"}"#, ["SECRET": "http://127.0.0.1:9/w?sig=ABC"])
        #expect((local.first as? ChatChannel)?.secret == "http://127.0.0.1:9/w?sig=ABC")
    }

    /// A huge VM-supplied text (a service's error) is cut to each API's limit, before
    /// escaping, so no entity is split and the subject's tags stay closed.
    @Test func longTextIsCutToEachAPIsLimit() throws {
        var notice = try Self.notice()
        notice.alert.message = String(repeating: "<&>", count: 3000)
        let telegram = ChatChannel.telegramText(notice, publicURL: nil)
        #expect(telegram.count <= 4096 * 5, "escaped, each character at most 5")
        let unescaped = telegram.replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&amp;", with: "&")
        #expect(unescaped.count <= 4096, "\(unescaped.count)")
        #expect(telegram.hasPrefix("<b>") && telegram.contains("…</b>\n"))
        #expect(!telegram.contains("&a…") && !telegram.contains("&l…") && !telegram.contains("&g…"))
    }

    @Test(arguments: [
        ("a<b>&c", "a&lt;b&gt;&amp;c"), ("&amp;", "&amp;amp;"), ("plain", "plain"),
    ])
    func htmlEscaping(_ text: String, _ escaped: String) {
        #expect(MarkupEscaping.html(text) == escaped)
    }

    @Test(arguments: [
        ("*b* _i_", #"\*b\* \_i\_"#), (#"a\b"#, #"a\\b"#), ("[l](u)", #"\[l\]\(u\)"#), ("93.4%", "93.4%"),
        // A leading list marker is escaped, and only a leading one; lines become paragraphs.
        ("- a - b", #"\- a - b"#), ("+ a", #"\+ a"#), ("* a", #"\* a"#), ("12. a 3. b", #"12\. a 3. b"#),
        ("  - a", #"  \- a"#), ("12.5 GB", "12.5 GB"), ("7.", #"7\."#), ("a\n- b\n\n1. c", "a\n\n\\- b\n\n1\\. c"),
    ])
    func markdownEscaping(_ text: String, _ escaped: String) {
        #expect(MarkupEscaping.markdown(text) == escaped)
    }
}

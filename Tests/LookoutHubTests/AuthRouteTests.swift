import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Testing

@testable import LookoutHub

/// The token rules through the router (HummingbirdTesting, no socket): protection comes
/// from the router group a route is in, so every route the router lists is checked, and
/// path spellings the router folds onto a route get that route's answer.
@Suite struct AuthRouteTests {
    static let now = Date(timeIntervalSince1970: 1_765_276_200)  // 2025-12-09T10:30:00Z
    static let main = "main-token-0123456789"
    static let web1 = "web-1-token-0123456789"
    let folder = NSTemporaryDirectory() + "lookout-auth-\(UUID().uuidString)"

    static func tokens(main: String? = Self.main) throws -> APITokens {
        APITokens(main: main, perVM: [try VMID(validating: "web-1"): web1])
    }

    func withHub(
        tokens: APITokens, _ body: @escaping @Sendable (Hub, any TestClientProtocol) async throws -> Void
    ) async throws {
        let hub = try await Hub.open(
            Hub.Settings(dataFolder: folder, tokens: tokens), logger: Logger(label: "test"), now: { Self.now })
        let app = Application(router: hub.router())
        try await app.test(.router) { client in try await body(hub, client) }
    }

    /// A concrete path for a route path: parameters get values that exist or parse.
    static func concrete(_ path: String) -> String {
        path.replacingOccurrences(of: "{vm_id}", with: "web-1").replacingOccurrences(of: "{date}", with: "2025-12-09")
            .replacingOccurrences(of: "{id}", with: "0000abcd").replacingOccurrences(of: "{arch}", with: "x86_64")
    }

    /// Routes open without a token, by design (DESIGN §4). Everything else the router
    /// lists must refuse a request without one.
    static let openRoutes: Set<String> = [
        "GET /healthz", "GET /install/agent.sh", "GET /install/SHA256SUMS", "GET /install/agents.json",
        "GET /install/lookout-agent/{arch}", "POST /install/enroll",
        "GET /api/status", "GET /status", "GET /status.html",
    ]

    static func headers(_ token: String?) -> HTTPFields {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        fields[.contentType] = "application/json"
        return fields
    }

    static func body(_ vm: String, offset: TimeInterval = 0) -> ByteBuffer {
        ByteBuffer(bytes: makeDocument(vm, at: now.addingTimeInterval(offset)).encoded())
    }

    @Test func everyRouteOfTheRouterAnswersByItsTokenRule() async throws {
        try await withHub(tokens: try Self.tokens()) { hub, client in
            let routes = hub.routeList()
            #expect(routes.count >= 12, "\(routes)")
            for route in routes {
                let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
                let method = HTTPRequest.Method(rawValue: parts[0])!
                let path = Self.concrete(parts[1])
                let isIngest = route == "POST /api/monitoring/ingest"
                let body = method == .post ? Self.body("web-1") : nil
                func status(_ token: String?) async throws -> HTTPResponse.Status {
                    try await client.execute(uri: path, method: method, headers: Self.headers(token), body: body) {
                        $0.status
                    }
                }
                if Self.openRoutes.contains(route) {
                    // The handler ran without a token: this hub has no dashboard folder or agent
                    // binaries (404), and a metrics document is no enrollment code (400).
                    let open = try await status(nil)
                    #expect([.ok, .notFound, .badRequest].contains(open), "\(route): \(open)")
                    continue
                }
                #expect(try await status(nil) == .unauthorized, "\(route) without a token")
                #expect(try await status("wrong-token-0123456789") == .unauthorized, "\(route) with a wrong token")
                let asVM = try await status(Self.web1)
                #expect(isIngest ? asVM == .created : asVM == .forbidden, "\(route) with web-1's token: \(asVM)")
                let asMain = try await status(Self.main)
                // The handler ran: 200, 404 for a daily file or silence that does not exist, 400 for a
                // metrics document posted as a silence.
                let reached: Set<HTTPResponse.Status> = [.ok, .created, .notFound, .badRequest]
                #expect(reached.contains(asMain), "\(route) with the main token: \(asMain)")
            }
        }
    }

    @Test(arguments: [
        "//api/monitoring/summary", "/api/monitoring/summary/", "//api//monitoring//summary",
        "/api/monitoring/summary?x=1",
        "//metrics", "/metrics/", "/metrics?x=1",
    ])
    func spellingsThatReachAReadRouteNeedTheMainToken(_ path: String) async throws {
        try await withHub(tokens: try Self.tokens()) { _, client in
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .unauthorized, "\(path)")
            }
            try await client.execute(uri: path, method: .get, headers: Self.headers(Self.main)) { response in
                #expect(response.status == .ok, "\(path) with the main token")
            }
        }
    }

    @Test(arguments: [true, false])
    func ingestWithoutAnIdentifiedTokenIsRefusedWhateverThePath(_ withMainToken: Bool) async throws {
        let tokens = try Self.tokens(main: withMainToken ? Self.main : nil)
        try await withHub(tokens: tokens) { hub, client in
            let spellings = [
                "/api/monitoring/ingest", "//api/monitoring/ingest", "/api/monitoring/ingest/",
                "/api//monitoring/ingest", "/api/monitoring/ingest?x=1",
            ]
            for (n, path) in spellings.enumerated() {
                for token in [nil, "wrong-token-0123456789"] {
                    try await client.execute(
                        uri: path, method: .post, headers: Self.headers(token),
                        body: Self.body("web-1", offset: Double(n))
                    ) { response in
                        #expect(response.status == .unauthorized, "\(path), token \(token ?? "none")")
                        #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                    }
                }
            }
            #expect(try await hub.ingestor.store.sampleCount(vmID: VMID(validating: "web-1")) == 0)
            #expect(hub.ingestor.fleet.count == 0)
        }
    }

    @Test func aVMTokenPushesOnlyItsOwnVMAndReadsNothing() async throws {
        try await withHub(tokens: try Self.tokens()) { hub, client in
            try await client.execute(
                uri: "/api/monitoring/ingest/", method: .post, headers: Self.headers(Self.web1), body: Self.body("db-1")
            ) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("only push documents of web-1"))
            }
            try await client.execute(
                uri: "/api/monitoring/ingest", method: .post, headers: Self.headers(Self.web1), body: Self.body("web-1")
            ) { response in
                #expect(response.status == .created)
            }
            try await client.execute(
                uri: "/api/monitoring/ingest", method: .post, headers: Self.headers(Self.main), body: Self.body("db-1")
            ) { response in
                #expect(response.status == .created)
            }
            #expect(try await hub.ingestor.store.sampleCount(vmID: VMID(validating: "db-1")) == 1)
            try await client.execute(uri: "/api/monitoring/vm/web-1", method: .get, headers: Self.headers(Self.web1)) {
                #expect($0.status == .forbidden)
            }
        }
    }

    @Test func withPerVMTokensOnlyReadsAreOpenAndIngestIsNot() async throws {
        // The --insecure-listen case: serve refuses this configuration without it.
        try await withHub(tokens: try Self.tokens(main: nil)) { _, client in
            try await client.execute(uri: "/api/monitoring/summary", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
            try await client.execute(
                uri: "/api/monitoring/ingest", method: .post, headers: Self.headers(Self.web1), body: Self.body("web-1")
            ) { response in
                #expect(response.status == .created)
            }
        }
    }

    @Test func headWorksWhereGetDoesAndAWrongMethodIs405WithAllow() async throws {
        try await withHub(tokens: try Self.tokens()) { _, client in
            try await client.execute(uri: "/api/monitoring/summary", method: .head, headers: Self.headers(Self.main)) {
                #expect($0.status == .ok)
                #expect($0.body.readableBytes == 0)
            }
            try await client.execute(uri: "/api/monitoring/summary", method: .head) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/healthz", method: .head) { #expect($0.status == .ok) }
            for (path, method, allow) in [
                ("/api/monitoring/summary", HTTPRequest.Method.post, "GET, HEAD"),
                ("/api/monitoring/vm/web-1", .delete, "GET, HEAD"),
                ("/api/monitoring/ingest", .get, "POST"),
                ("//api/monitoring/ingest/", .put, "POST"),
                ("/healthz", .post, "GET, HEAD"),
                ("/metrics", .patch, "GET, HEAD"),
            ] {
                try await client.execute(uri: path, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path)")
                    #expect(String(buffer: response.body).hasPrefix(#"{"error":"#))
                }
            }
            try await client.execute(uri: "/api/monitoring/nothing", method: .post) { #expect($0.status == .notFound) }
        }
    }

    @Test func tokensCompareInConstantTimeAndExactly() {
        #expect(APITokens.constantTimeEquals("abcdefghijklmnop", "abcdefghijklmnop"))
        #expect(!APITokens.constantTimeEquals("abcdefghijklmnop", "abcdefghijklmnoq"))
        #expect(!APITokens.constantTimeEquals("abcdefghijklmnop", "abcdefghijklmno"))
        #expect(!APITokens.constantTimeEquals("abcdefghijklmno", "abcdefghijklmnop"))
        #expect(!APITokens.constantTimeEquals("", "abcdefghijklmnop"))
        #expect(!APITokens.constantTimeEquals("abcdefghijklmnop\u{0}", "abcdefghijklmnop"))
        let tokens = APITokens(main: Self.main, perVM: [try! VMID(validating: "web-1"): Self.web1])
        #expect(tokens.holder(of: Self.main) == .main)
        #expect(tokens.holder(of: Self.web1) == .vm(try! VMID(validating: "web-1")))
        #expect(tokens.holder(of: String(Self.main.dropLast())) == nil)
        #expect(APITokens.bearerToken(in: [.authorization: "bearer  \(Self.main) "]) == Self.main)
        #expect(APITokens.bearerToken(in: [.authorization: "Bearer "]) == nil)
        #expect(APITokens.bearerToken(in: [.authorization: "Basic \(Self.main)"]) == nil)
    }

    @Test func shortTokensAreRefusedWhenLoaded() throws {
        #expect(throws: HubError.self) {
            try APITokens.load(config: MonitoringConfig(), environment: ["LOOKOUT_TOKEN": "short"])
        }
        let file = folder + "-token"
        try "fifteen-chars-x\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var config = MonitoringConfig()
        config.tokenFile = file
        do {
            _ = try APITokens.load(config: config, environment: [:])
            Issue.record("a 15-character token_file was accepted")
        } catch {
            #expect(error.description.contains("shorter than 16 characters"))
            #expect(!error.description.contains("fifteen-chars-x"), "the message must not show the token")
        }
        let loaded = try APITokens.load(config: MonitoringConfig(), environment: ["LOOKOUT_TOKEN": Self.main])
        #expect(loaded.main == Self.main)
    }
}

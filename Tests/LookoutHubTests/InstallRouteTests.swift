import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Testing

@testable import LookoutHub

/// The installer routes and enrollment through the router (no socket): a code made over the
/// API is traded once for a per-VM token that the hub accepts at once, for that VM only.
@Suite struct InstallRouteTests {
    static let now = Date(timeIntervalSince1970: 1_765_276_200)  // 2025-12-09T10:30:00Z
    static let main = "main-token-0123456789"
    let folder = NSTemporaryDirectory() + "lookout-install-\(UUID().uuidString)"

    var agents: String { "\(folder)/agents" }
    var publicFolder: String { "\(folder)/public" }

    /// A fake agent binary of `arch` holding a version stamp.
    func addAgent(_ arch: String, version: String = "0.1.0", size: Int = 200_000) throws -> [UInt8] {
        try AtomicFile.makeDirectories("\(agents)/\(arch)")
        var bytes = [UInt8](repeating: 0x7f, count: size)
        bytes.replaceSubrange(1000..<(1000 + 16 + version.utf8.count), with: Array("LOOKOUT_VERSION=\(version)".utf8))
        try AtomicFile.write(bytes, to: "\(agents)/\(arch)/lookout-agent", mode: 0o755)
        return bytes
    }

    func withHub(
        main: String? = Self.main, _ body: @escaping @Sendable (Hub, any TestClientProtocol) async throws -> Void
    ) async throws {
        try AtomicFile.makeDirectories("\(publicFolder)/install")
        try AtomicFile.write(Array("#!/bin/sh\necho installer\n".utf8), to: "\(publicFolder)/install/agent.sh")
        try AtomicFile.write(Array("<html></html>".utf8), to: "\(publicFolder)/monitoring.html")
        let settings = Hub.Settings(
            dataFolder: "\(folder)/data", tokens: APITokens(main: main), publicFolder: publicFolder,
            agentBinaries: agents)
        let hub = try await Hub.open(settings, logger: Logger(label: "test"), now: { Self.now })
        let app = Application(router: hub.router())
        try await app.test(.router) { client in try await body(hub, client) }
    }

    static func headers(_ token: String?) -> HTTPFields {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        fields[.contentType] = "application/json"
        return fields
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]) ?? [:]
    }

    static func enroll(_ client: any TestClientProtocol, _ vm: String) async throws -> String {
        try await client.execute(
            uri: "/api/monitoring/enrollments", method: .post, headers: headers(main),
            body: ByteBuffer(string: #"{"vm_id": "\#(vm)", "hub": "https://hub.example.com/"}"#)
        ) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            let body = json(response.body)
            let code = body["code"] as? String ?? ""
            #expect(body["vm_id"] as? String == vm)
            #expect(
                body["command"] as? String
                    == "curl --proto '=https' -fsSL https://hub.example.com/install/agent.sh | sudo sh -s -- --hub https://hub.example.com --code \(code)"
            )
            #expect(body["expires_at"] as? String == "2025-12-09T11:30:00Z")
            return code
        }
    }

    static func trade(_ client: any TestClientProtocol, _ code: String) async throws -> (
        HTTPResponse.Status, [String: Any]
    ) {
        try await client.execute(
            uri: "/install/enroll", method: .post, headers: headers(nil),
            body: ByteBuffer(string: #"{"code": "\#(code)"}"#)
        ) { ($0.status, json($0.body)) }
    }

    static func push(_ client: any TestClientProtocol, _ vm: String, token: String, offset: Double = 0) async throws
        -> HTTPResponse.Status
    {
        try await client.execute(
            uri: "/api/monitoring/ingest", method: .post, headers: headers(token),
            body: ByteBuffer(bytes: makeDocument(vm, at: now.addingTimeInterval(offset)).encoded())
        ) { $0.status }
    }

    @Test func aTradedCodeGivesATokenThatPushesOnlyItsOwnVMWithoutARestart() async throws {
        try await withHub { hub, client in
            let code = try await Self.enroll(client, "web-1")
            let (status, answer) = try await Self.trade(client, code)
            #expect(status == .ok)
            let token = try #require(answer["token"] as? String)
            #expect(answer["vm_id"] as? String == "web-1")
            #expect(answer["push_url"] as? String != nil)
            #expect(try await Self.push(client, "web-1", token: token) == .created)
            #expect(try await Self.push(client, "db-1", token: token) == .forbidden)
            // The token is on file for the next start, and the code is spent.
            #expect(try APITokens.readVMTokens("\(folder)/data/vm-tokens.json")[try VMID(validating: "web-1")] == token)
            let (again, body) = try await Self.trade(client, code)
            #expect(again == .forbidden && (body["error"] as? String ?? "").contains("already used"))
            // Enrolling web-1 again rotates its token: the old one stops working.
            let (_, second) = try await Self.trade(client, try await Self.enroll(client, "web-1"))
            let rotated = try #require(second["token"] as? String)
            #expect(rotated != token)
            #expect(try await Self.push(client, "web-1", token: token, offset: 1) == .unauthorized)
            #expect(try await Self.push(client, "web-1", token: rotated, offset: 2) == .created)
            _ = hub
        }
    }

    @Test func aWrongCodeIsForbiddenAndAMalformedOneABadRequest() async throws {
        try await withHub { _, client in
            let (wrong, body) = try await Self.trade(client, "2222-2222")
            #expect(wrong == .forbidden && (body["error"] as? String ?? "").contains("lookout enroll"))
            let (control, _) = try await Self.trade(client, "7F3K\\u0007Q9PX")
            #expect(control == .badRequest)
            let unknownKey = try await client.execute(
                uri: "/install/enroll", method: .post, body: ByteBuffer(string: #"{"code": "2222-2222", "vm_id": "x"}"#)
            ) { $0.status }
            #expect(unknownKey == .badRequest)
        }
    }

    /// https: curl may speak only https; plain http to another machine: the line carries
    /// `--insecure-http`, without which agent.sh refuses; loopback needs neither.
    @Test func theCommandSaysHowTheAgentTravels() {
        #expect(
            InstallCommand.line(hub: "https://hub.example.com", code: "7F3K-Q9PX")
                == "curl --proto '=https' -fsSL https://hub.example.com/install/agent.sh | sudo sh -s -- "
                + "--hub https://hub.example.com --code 7F3K-Q9PX")
        #expect(
            InstallCommand.line(hub: "http://10.0.0.5:8080", code: "7F3K-Q9PX")
                == "curl -fsSL http://10.0.0.5:8080/install/agent.sh | sudo sh -s -- --hub http://10.0.0.5:8080 "
                + "--code 7F3K-Q9PX --insecure-http")
        #expect(
            InstallCommand.line(hub: "http://127.0.0.1:8080", code: "7F3K-Q9PX")
                == "curl -fsSL http://127.0.0.1:8080/install/agent.sh | sudo sh -s -- --hub http://127.0.0.1:8080 "
                + "--code 7F3K-Q9PX")
    }

    @Test func aHugeEnrollBodyIsRefusedUnread() async throws {
        try await withHub { _, client in
            let huge = ByteBuffer(string: #"{"code": ""# + String(repeating: "A", count: 1 << 20) + #""}"#)
            let status = try await client.execute(uri: "/install/enroll", method: .post, body: huge) { $0.status }
            #expect(status == .contentTooLarge)
        }
    }

    @Test func aHubWithoutAMainTokenEnrollsNothing() async throws {
        try await withHub(main: nil) { _, client in
            let status = try await client.execute(
                uri: "/api/monitoring/enrollments", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"vm_id": "web-1", "hub": "http://h"}"#)
            ) { ($0.status, Self.json($0.body)["error"] as? String ?? "") }
            // Refused by the change guard (no loopback Host here) or by the route itself: both say why.
            #expect(status.0 == .forbidden && status.1.contains("main token"), "\(status)")
            let file = EnrollmentFile(dataFolder: "\(folder)/data")
            let (code, _) = try await file.create(vm: try VMID(validating: "web-1"), validity: 3600, now: Self.now)
            let (traded, _) = try await Self.trade(client, code)
            #expect(traded == .forbidden)
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/data/vm-tokens.json"))
        }
    }

    @Test(arguments: ["..", "a/b", "", "outbox", String(repeating: "x", count: 65)])
    func anEnrollmentForABadVMIDIsABadRequest(_ vm: String) async throws {
        try await withHub { _, client in
            let status = try await client.execute(
                uri: "/api/monitoring/enrollments", method: .post, headers: Self.headers(Self.main),
                body: ByteBuffer(string: #"{"vm_id": "\#(vm)", "hub": "http://h"}"#)
            ) { $0.status }
            #expect(status == .badRequest)
        }
    }

    @Test func theBinariesTheirChecksumsAndVersionsAreServed() async throws {
        let x86 = try addAgent("x86_64", version: "0.1.0")
        let arm = try addAgent("aarch64", version: "0.1.9", size: 100_000)
        try await withHub { _, client in
            try await client.execute(uri: "/install/SHA256SUMS", method: .get) { response in
                #expect(response.status == .ok)
                #expect(
                    String(buffer: response.body)
                        == "\(SHA256.hex(arm))  aarch64/lookout-agent\n\(SHA256.hex(x86))  x86_64/lookout-agent\n")
            }
            try await client.execute(uri: "/install/agents.json", method: .get) { response in
                let body = Self.json(response.body)
                #expect(body["hub_version"] as? String == LookoutVersion.current)
                let list = body["agents"] as? [[String: Any]] ?? []
                #expect(list.map { $0["arch"] as? String } == ["aarch64", "x86_64"])
                #expect(list.first?["version"] as? String == "0.1.9")
                #expect(list.first?["size"] as? Int == 100_000)
                #expect(list.first?["path"] as? String == "/install/lookout-agent/aarch64")
                #expect(list.first?["sha256"] as? String == SHA256.hex(arm))
            }
            try await client.execute(uri: "/install/lookout-agent/x86_64", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/octet-stream")
                #expect(Array(response.body.readableBytesView) == x86)
            }
        }
    }

    @Test(arguments: ["riscv64", "..%2Fx", "%2E%2E", "x86_64%00"])
    func anArchitectureWithoutABinaryIsA404NamingTheOnesThereAre(_ arch: String) async throws {
        _ = try addAgent("x86_64")
        try await withHub { _, client in
            try await client.execute(uri: "/install/lookout-agent/\(arch)", method: .get) { response in
                #expect(response.status == .notFound, "\(arch)")
                if arch == "riscv64" {
                    let error = Self.json(response.body)["error"] as? String ?? ""
                    #expect(error.contains("this hub has: x86_64"), "\(error)")
                }
            }
        }
    }

    @Test func theChecksumIsComputedOncePerFileVersion() async throws {
        _ = try addAgent("x86_64", version: "0.1.0")
        let binaries = AgentBinaries(folder: agents)
        let first = try #require(try binaries.agent("x86_64"))
        #expect(try binaries.agent("x86_64") == first)
        // A new file (another inode) is checksummed again.
        let newer = try addAgent("x86_64", version: "0.1.9")
        let second = try #require(try binaries.agent("x86_64"))
        #expect(second.sha256 == SHA256.hex(newer) && second.version == "0.1.9")
    }

    @Test func theInstallerIsServedFromTheDashboardFolderWithoutAToken() async throws {
        try await withHub { _, client in
            try await client.execute(uri: "/install/agent.sh", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).hasPrefix("#!/bin/sh"))
            }
        }
    }
}

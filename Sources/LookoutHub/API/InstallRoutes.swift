import HTTPTypes
import Hummingbird
import Logging
import LookoutCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The open installer routes under `/install` (DESIGN §4; no token, they hold no secret):
/// the `agent.sh` script, the agent binaries with their checksums and versions, and the
/// trade of a one-time enrollment code for a VM's push token. Registered in their own router
/// group in ``Hub/router()``, with no auth middleware: the code is the credential.
struct InstallRoutes: Sendable {
    typealias Context = HubRequestContext
    let binaries: AgentBinaries?
    /// The dashboard folder, which holds `install/agent.sh`.
    let publicFolder: String?
    let enroller: Enroller
    let publicURL: String?
    let logger: Logger

    func add(to group: RouterGroup<Context>) {
        group.get("agent.sh") { _, _ in try script() }
        group.get("SHA256SUMS") { _, _ in try sums() }
        group.get("agents.json") { _, _ in try listing() }
        group.get("lookout-agent/:arch") { _, context in try await binary(context) }
        group.post("enroll") { request, _ in try await enroll(request) }
    }

    func script() throws -> Response {
        guard let publicFolder else {
            throw HTTPError(
                .notFound,
                message: "this hub serves no dashboard folder, so it has no install/agent.sh; see --dashboard")
        }
        let path = "\(publicFolder)/install/agent.sh"
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 1 << 20)
        } catch {
            if error.isNotFound { throw HTTPError(.notFound, message: "\(path) is missing from the dashboard folder") }
            throw HTTPError(.internalServerError, message: "the installer cannot be read: \(error.reason)")
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The binaries folder's agents, or a 404 saying how to give the hub some.
    func agents() throws -> [AgentBinaries.Agent] {
        guard let binaries else {
            throw HTTPError(
                .notFound,
                message: "this hub has no agent binaries folder: build them with scripts/build-release (dist/<arch>/"
                    + "lookout-agent) or start serve with --agent-binaries DIR")
        }
        let (agents, problems) = binaries.agents()
        for problem in problems { logger.warning("agent binary left out of /install: \(problem)") }
        return agents
    }

    func sums() throws -> Response {
        let agents = try agents()
        guard !agents.isEmpty else {
            throw HTTPError(
                .notFound, message: "no agent binaries in \(binaries?.folder ?? ""): expected <arch>/lookout-agent")
        }
        let text = agents.map { "\($0.sha256)  \($0.arch)/lookout-agent\n" }.joined()
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    struct Listing: Encodable {
        struct Entry: Encodable {
            let arch: String
            let version: String?
            let sha256: String
            let size: Int
            let path: String
        }
        let hubVersion: String
        let agents: [Entry]
        enum CodingKeys: String, CodingKey { case hubVersion = "hub_version", agents }
    }

    func listing() throws -> Response {
        let entries = try agents().map {
            Listing.Entry(
                arch: $0.arch, version: $0.version, sha256: $0.sha256, size: $0.size,
                path: "/install/lookout-agent/\($0.arch)")
        }
        let body = try JSONEncoder.lookout().encode(Listing(hubVersion: LookoutVersion.current, agents: entries))
        return .json(ByteBuffer(bytes: body))
    }

    func binary(_ context: Context) async throws -> Response {
        let arch = context.parameters.get("arch") ?? ""
        let agent: AgentBinaries.Agent?
        let known = try agents().map(\.arch)
        do {
            agent = try binaries?.agent(arch)
        } catch {
            throw HTTPError(.internalServerError, message: "the agent binary cannot be read: \(error.reason)")
        }
        guard let agent else {
            let shown = AgentBinaries.isArchitecture(arch) ? arch : "(not an architecture name)"
            throw HTTPError(
                .notFound,
                message: "no agent binary for \(shown); this hub has: "
                    + (known.isEmpty ? "none" : known.joined(separator: ", ")))
        }
        let body = try await FileIO().loadFile(path: agent.path, context: context)
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: body)
    }

    struct EnrollRequest: Decodable {
        var code: String
        enum CodingKeys: String, CodingKey, CaseIterable { case code }
        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            code = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .code)
        }
    }

    struct EnrollAnswer: Encodable {
        let vmID: VMID
        let token: String
        /// Absent when the hub has no `public_url` and the request's address breaks the rule
        /// of a hub address (``InstallCommand/hubAddress(_:)``): it is the caller's `Host`.
        let pushURL: String?
        enum CodingKeys: String, CodingKey { case vmID = "vm_id", token, pushURL = "push_url" }
    }

    func enroll(_ request: Request) async throws -> Response {
        var request = request
        let ask = try await request.decodeJSONBody(
            EnrollRequest.self, limit: 1024, what: "enroll", hint: "; send {\"code\": \"7F3K-Q9PX\"}")
        let trade: Enroller.Trade
        do {
            trade = try await enroller.trade(code: ask.code)
        } catch {
            switch error.kind {
            case .usage: throw HTTPError(.badRequest, message: error.message)
            case .refused:
                logger.notice("refused an enrollment: \(error.message)")
                throw HTTPError(.forbidden, message: error.message)
            case .file:
                logger.error("enrollment failed: \(error.message)")
                throw HTTPError(.internalServerError, message: error.message)
            case .tooMany:
                logger.warning("refused an enrollment unread: \(error.message)")
                throw HTTPError(.tooManyRequests, headers: [.retryAfter: "60"], message: error.message)
            }
        }
        let hub = publicURL ?? Self.origin(of: request)
        let address = try? InstallCommand.hubAddress(hub).get()
        let answer = EnrollAnswer(
            vmID: trade.vmID, token: trade.token, pushURL: address.map { "\($0)/api/monitoring/ingest" })
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(answer)))
    }

    /// The address the caller reached the hub at: `X-Forwarded-Proto` (a reverse proxy) or
    /// http, and the `Host` header.
    static func origin(of request: Request) -> String {
        let proto = request.headers[HTTPTypes.HTTPField.Name("X-Forwarded-Proto")!] == "https" ? "https" : "http"
        let host = request.head.authority ?? "127.0.0.1"
        return "\(proto)://\(host)"
    }
}

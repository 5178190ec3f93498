#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import LookoutCore

/// The hub's API tokens: one that opens everything, and optional per-VM tokens that may
/// only push their own VM's documents.
public struct APITokens: Sendable, Equatable {
    public var main: String?
    public var perVM: [VMID: String]

    public init(main: String? = nil, perVM: [VMID: String] = [:]) {
        self.main = main
        self.perVM = perVM
    }

    public var isEmpty: Bool { main == nil && perVM.isEmpty }

    /// Who a bearer token identifies.
    enum Holder: Equatable {
        case anyone
        case vm(VMID)
    }

    func holder(of token: String) -> Holder? {
        if let main, constantTimeEquals(token, main) { return .anyone }
        for (vm, expected) in perVM where constantTimeEquals(token, expected) { return .vm(vm) }
        return nil
    }

    /// Compares without returning early, so response time does not leak how much of a guess was right.
    func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }
}

/// With a main token configured, every `/api/` route and `/metrics` needs
/// `Authorization: Bearer <token>`; `/healthz` and the dashboard's static files stay open
/// (the page asks for the token once). Ingest also accepts a VM's own token; the
/// controller checks that the document is that VM's.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: APITokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let isIngest = path == "/api/monitoring/ingest"
        let protected = path.hasPrefix("/api/") || path == "/metrics"
        guard protected, tokens.main != nil || isIngest, !tokens.isEmpty else {
            return try await next(request, context)
        }
        guard let token = Self.bearerToken(request) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "Missing bearer token")
        }
        guard let holder = tokens.holder(of: token) else {
            throw HTTPError(.forbidden, message: "Invalid token")
        }
        if case .vm = holder, !isIngest {
            throw HTTPError(.forbidden, message: "A VM token may only push documents")
        }
        return try await next(request, context)
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let value = request.headers[.authorization], value.count > 7,
            value.prefix(7).lowercased() == "bearer "
        else { return nil }
        let token = value.dropFirst(7).drop(while: { $0 == " " })
        return String(token.reversed().drop(while: { $0 == " " }).reversed())
    }
}

extension APITokens {
    /// The main token from `$LOOKOUT_TOKEN`, else the config's `token_file`; per-VM tokens
    /// from the config's `vm_tokens_file` (`{"<vm_id>": "<token>"}`).
    public static func load(config: MonitoringConfig, environment: [String: String]) throws(HubError) -> APITokens {
        var tokens = APITokens()
        if let token = environment["LOOKOUT_TOKEN"], !token.isEmpty {
            tokens.main = token
        } else if let file = config.tokenFile {
            tokens.main = try readSecret(file, key: "token_file")
        }
        if let file = config.vmTokensFile {
            let bytes: [UInt8]
            do {
                bytes = try AtomicFile.read(file, limit: 1 << 20)
            } catch {
                throw HubError("vm_tokens_file: \(error)")
            }
            guard let map = try? JSONDecoder().decode([String: String].self, from: Data(bytes)) else {
                throw HubError("vm_tokens_file \(file): expected a JSON object {\"<vm_id>\": \"<token>\"}")
            }
            for (key, token) in map {
                guard let vm = try? VMID(validating: key) else {
                    throw HubError("vm_tokens_file \(file): invalid vm_id \"\(key.prefix(80))\": \(VMID.problem(with: key) ?? "")")
                }
                guard token.utf8.count >= 16 else {
                    throw HubError("vm_tokens_file \(file): the token of \(key) is shorter than 16 characters")
                }
                tokens.perVM[vm] = token
            }
        }
        return tokens
    }

    static func readSecret(_ path: String, key: String) throws(HubError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 4096)
        } catch {
            throw HubError("\(key): \(error)")
        }
        let text = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !text.isEmpty else { throw HubError("\(key) \(path) is empty") }
        return text
    }
}

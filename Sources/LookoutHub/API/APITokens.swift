import HTTPTypes
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The hub's API tokens: one main token that opens everything, and optional per-VM tokens
/// that may only push their own VM's documents (README "Tokens").
public struct APITokens: Sendable, Equatable {
    public var main: String?
    public var perVM: [VMID: String]

    /// Shortest token accepted, main or per-VM: 16 characters leave no room for guessing
    /// over the network even without rate limiting.
    public static let minimumLength = 16

    public init(main: String? = nil, perVM: [VMID: String] = [:]) {
        self.main = main
        self.perVM = perVM
    }

    /// No token at all: the API is open (only allowed on loopback or with `--insecure-listen`).
    public var isEmpty: Bool { main == nil && perVM.isEmpty }

    /// Who a bearer token identifies.
    public enum Holder: Sendable, Equatable {
        /// The main token: every route.
        case main
        /// A per-VM token: ingest of that VM's documents only.
        case vm(VMID)
    }

    /// The holder of `token`, or nil when it is no configured token. Every configured
    /// token is compared, whatever matches first, so the time taken does not tell which
    /// one (or how much of one) a guess got right.
    public func holder(of token: String) -> Holder? {
        var found: Holder?
        if let main, Self.constantTimeEquals(token, main) { found = .main }
        for (vm, expected) in perVM where Self.constantTimeEquals(token, expected) && found == nil {
            found = .vm(vm)
        }
        return found
    }

    /// Compares without returning early, so response time does not leak how much of a
    /// guess was right (the length only shows in the loop count, which leaks nothing of
    /// the content).
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }

    /// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive,
    /// surrounding blanks ignored), or nil when there is none.
    public static func bearerToken(in headers: HTTPFields) -> String? {
        guard let value = headers[.authorization], value.count > 7, value.prefix(7).lowercased() == "bearer " else {
            return nil
        }
        let token = value.dropFirst(7).drop(while: { $0 == " " })
        let trimmed = String(token.reversed().drop(while: { $0 == " " }).reversed())
        return trimmed.isEmpty ? nil : trimmed
    }
}

extension APITokens {
    /// The main token from `$LOOKOUT_TOKEN`, else the config's `token_file`; per-VM tokens
    /// from the config's `vm_tokens_file` (`{"<vm_id>": "<token>"}`), else from
    /// `DATA/vm-tokens.json` when `dataFolder` is given and enrollment has written one.
    /// - Throws: `HubError` naming the file or variable (never a token) when a file cannot
    ///   be read or parsed, or a token is shorter than ``minimumLength``.
    public static func load(
        config: MonitoringConfig, environment: [String: String], dataFolder: String? = nil
    ) throws(HubError) -> APITokens {
        var tokens = APITokens()
        if let token = environment["LOOKOUT_TOKEN"], !token.isEmpty {
            tokens.main = token
            try requireLength(token, what: "LOOKOUT_TOKEN")
        } else if let file = config.tokenFile {
            let token = try readSecret(file, key: "token_file")
            try requireLength(token, what: "the token in token_file \(file)")
            tokens.main = token
        }
        if let file = config.vmTokensFile {
            tokens.perVM = try readVMTokens(file)
        } else if let dataFolder, access(vmTokensPath(config: config, dataFolder: dataFolder), F_OK) == 0 {
            tokens.perVM = try readVMTokens(vmTokensPath(config: config, dataFolder: dataFolder))
        }
        return tokens
    }

    /// Where per-VM tokens live and enrollment writes them: the config's `vm_tokens_file`,
    /// else `DATA/vm-tokens.json` (so `lookout enroll` works on a hub configured with a main
    /// token only).
    public static func vmTokensPath(config: MonitoringConfig, dataFolder: String) -> String {
        config.vmTokensFile ?? "\(dataFolder)/vm-tokens.json"
    }

    static func requireLength(_ token: String, what: String) throws(HubError) {
        guard token.count >= minimumLength else {
            throw HubError(
                "\(what) is shorter than \(minimumLength) characters; "
                    + "use a long random one, e.g. `openssl rand -hex 32`")
        }
    }

    static func readVMTokens(_ file: String) throws(HubError) -> [VMID: String] {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(file, limit: 1 << 20)
        } catch {
            throw HubError("vm_tokens_file: \(error)")
        }
        guard let map = try? JSONDecoder().decode([String: String].self, from: Data(bytes)) else {
            throw HubError("vm_tokens_file \(file): expected a JSON object {\"<vm_id>\": \"<token>\"}")
        }
        var perVM: [VMID: String] = [:]
        for (key, token) in map {
            guard let vm = try? VMID(validating: key) else {
                throw HubError(
                    "vm_tokens_file \(file): invalid vm_id \"\(key.prefix(80))\": \(VMID.problem(with: key) ?? "")")
            }
            try requireLength(token, what: "vm_tokens_file \(file): the token of \(key)")
            perVM[vm] = token
        }
        return perVM
    }

    static func readSecret(_ path: String, key: String) throws(HubError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 4096)
        } catch {
            throw HubError("\(key): \(error)")
        }
        let text =
            String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !text.isEmpty else { throw HubError("\(key) \(path) is empty") }
        return text
    }
}

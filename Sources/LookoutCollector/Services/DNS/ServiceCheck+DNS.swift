import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The record types a DNS check may ask for.
public enum DNSRecordType: String, CaseIterable, Sendable, Equatable {
    case a = "A", aaaa = "AAAA", cname = "CNAME", mx = "MX", txt = "TXT", ns = "NS"

    var code: UInt16 {
        switch self {
        case .a: 1
        case .ns: 2
        case .cname: 5
        case .mx: 15
        case .txt: 16
        case .aaaa: 28
        }
    }

    /// A record's text as compared with `expect`: names without the final dot and in lower
    /// case (DNS names are case-blind), addresses in their canonical spelling, texts as they are.
    func normalised(_ text: String) -> String {
        switch self {
        case .txt: text
        case .a, .aaaa: text.lowercased()
        case .cname, .ns, .mx: (text.hasSuffix(".") ? String(text.dropLast()) : text).lowercased()
        }
    }
}

extension ServiceCheckConfig {
    /// The `dns` target when the entry has a `dns` key, `nil` when it has none; `type`,
    /// `expect` and `server` belong to DNS checks only.
    static func decodeDNS(
        _ c: KeyedDecodingContainer<CodingKeys>, others: [(CodingKeys, Bool)]
    ) throws -> Target? {
        func invalid(_ key: CodingKeys, _ message: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: message)
        }
        guard let name = try c.decodeIfPresent(String.self, forKey: .dns) else {
            for key in [CodingKeys.type, .expect, .server] where c.contains(key) {
                throw invalid(key, "only a \"dns\" check takes \"\(key.rawValue)\"")
            }
            return nil
        }
        if let (other, _) = others.first(where: \.1) {
            throw invalid(.dns, "\"dns\" and \"\(other.rawValue)\" are both set; a check has exactly one")
        }
        if let problem = DNSMessage.nameProblem(name) { throw invalid(.dns, problem) }
        let typeText = try c.decodeIfPresent(String.self, forKey: .type) ?? "A"
        guard let type = DNSRecordType(rawValue: typeText.uppercased()) else {
            let known = DNSRecordType.allCases.map(\.rawValue).joined(separator: ", ")
            throw invalid(.type, "\"\(typeText.prefix(40))\" is not one of \(known)")
        }
        let rawExpect = try c.decodeIfPresent([String].self, forKey: .expect) ?? []
        guard rawExpect.count <= 64 else { throw invalid(.expect, "\(rawExpect.count) values, more than 64") }
        var expect: [String] = []
        for value in rawExpect {
            guard !value.isEmpty else { throw invalid(.expect, "holds an empty value") }
            expect.append(try canonical(value, type: type, invalid: { invalid(.expect, $0) }))
        }
        var server: DNSServer?
        if let text = try c.decodeIfPresent(String.self, forKey: .server) {
            server = try parseServer(text, invalid: { invalid(.server, $0) })
        }
        return .dns(
            name: name.hasSuffix(".") ? String(name.dropLast()) : name, type: type, expect: expect, server: server)
    }

    /// An expected value in the spelling answers are compared in; an address that is not
    /// one is refused here rather than never matching.
    static func canonical(_ value: String, type: DNSRecordType, invalid: (String) -> DecodingError) throws -> String {
        switch type {
        case .a:
            var address = in_addr()
            guard inet_pton(AF_INET, value, &address) == 1 else {
                throw invalid("\"\(value.prefix(60))\" is not an IPv4 address (an A record is one)")
            }
            return withUnsafeBytes(of: &address) { $0.map { String($0) }.joined(separator: ".") }
        case .aaaa:
            var address = in6_addr()
            guard inet_pton(AF_INET6, value, &address) == 1 else {
                throw invalid("\"\(value.prefix(60))\" is not an IPv6 address (an AAAA record is one)")
            }
            return withUnsafeBytes(of: &address) { DNSMessage.ipv6Text(Array($0)) }
        default:
            return type.normalised(value)
        }
    }

    /// `host`, `host:port`, `[v6]:port` or a bare IPv6 address; port 53 unless given.
    static func parseServer(_ text: String, invalid: (String) -> DecodingError) throws -> DNSServer {
        if text.isEmpty { throw invalid("\"\" is empty; leave the key out to ask the system's resolver") }
        if text.filter({ $0 == ":" }).count > 1, !text.hasPrefix("[") { return DNSServer(host: text) }
        if !text.contains(":") || (text.hasPrefix("[") && text.hasSuffix("]")) {
            return DNSServer(host: text.hasPrefix("[") ? String(text.dropFirst().dropLast()) : text)
        }
        switch parseHostPort(text) {
        case .success(let (host, port)): return DNSServer(host: host, port: port)
        case .failure(let problem): throw invalid(problem.message)
        }
    }

    /// `host:port` for the config file.
    static func serverText(_ server: DNSServer) -> String {
        server.host.contains(":") ? "[\(server.host)]:\(server.port)" : "\(server.host):\(server.port)"
    }
}

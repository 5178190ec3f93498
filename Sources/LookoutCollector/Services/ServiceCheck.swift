import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One health check of the agent's config file (`services[]`).
///
/// ```json
/// { "id": "site", "url": "https://example.com/health", "expect_status": [200, 299], "keyword": "ok" }
/// { "id": "db", "tcp": "127.0.0.1:5432", "timeout_ms": 2000 }
/// { "id": "mail-imaps", "tls": "mail.example.com:993" }
/// { "id": "mail-submission", "tls": "mail.example.com:587", "starttls": "smtp" }
/// { "id": "gw", "ping": "10.0.0.1", "count": 3, "max_loss_percent": 50 }
/// { "id": "name", "dns": "example.com", "type": "A", "expect": ["93.184.216.34"], "server": "10.0.0.53" }
/// ```
///
/// Decoding validates every value and rejects unknown keys, so a typo in the file stops
/// the agent with the key named instead of silently checking something else.
public struct ServiceCheckConfig: Codable, Sendable, Equatable {
    /// What a check connects to.
    public enum Target: Sendable, Equatable {
        /// GET this http or https URL.
        case http(url: String)
        /// Open a TCP connection and close it.
        case tcp(host: String, port: Int)
        /// Send `count` ICMP echoes; healthy while the share lost is below `maxLossPercent`.
        case ping(host: String, count: Int, maxLossPercent: Double)
        /// Ask `server` (the system's resolver when `nil`) for `name`; healthy when it answers
        /// with records of `type` that include every `expect` value.
        case dns(name: String, type: DNSRecordType, expect: [String], server: DNSServer?)
        /// Complete a verified TLS handshake, at once or after the protocol's STARTTLS.
        case tls(host: String, port: Int, starttls: StartTLS?)
    }

    /// The plain-text protocols whose STARTTLS the agent speaks before the handshake.
    public enum StartTLS: String, Sendable, Equatable, CaseIterable {
        /// `EHLO`, `STARTTLS`, `220` (ports 25 and 587).
        case smtp
        /// `a STARTTLS`, `a OK` (port 143).
        case imap
    }

    /// The check's name in the document's `services[].id`.
    public var id: String
    public var target: Target
    /// Status codes that count as healthy (HTTP only).
    public var expectStatus: ClosedRange<Int>
    /// Text the first MiB of the body must contain (HTTP only).
    public var keyword: String?
    /// How long the whole check may take, 1...60000.
    public var timeoutMS: Int

    public static let defaultExpectStatus = 200...399
    public static let defaultTimeoutMS = 5000
    /// The ids the document accepts (`services[].id` is 1 to 128 bytes).
    static let maxIDLength = 128

    public init(
        id: String, target: Target, expectStatus: ClosedRange<Int> = defaultExpectStatus, keyword: String? = nil,
        timeoutMS: Int = defaultTimeoutMS
    ) {
        self.id = id
        self.target = target
        self.expectStatus = expectStatus
        self.keyword = keyword
        self.timeoutMS = timeoutMS
    }

    /// The timeout as a `Duration`.
    public var timeout: Duration { .milliseconds(timeoutMS) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, url, tcp, tls, starttls, expectStatus = "expect_status", keyword, timeoutMS = "timeout_ms"
        case ping, count, maxLossPercent = "max_loss_percent"
        case dns, type, expect, server
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func invalid(_ key: CodingKeys, _ message: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: message)
        }

        id = try c.decode(String.self, forKey: .id)
        guard !id.isEmpty, id.utf8.count <= Self.maxIDLength else {
            throw invalid(.id, "\"\(id.prefix(40))\" must be 1 to \(Self.maxIDLength) bytes long")
        }
        if let (scalar, offset) = ControlCharacters.first(in: id) {
            throw invalid(.id, "holds the control character \(ControlCharacters.name(scalar)) at position \(offset)")
        }

        target = try Self.decodeTarget(c, id: id, codingPath: decoder.codingPath)

        if let pair = try c.decodeIfPresent([Int].self, forKey: .expectStatus) {
            guard pair.count == 2 else {
                throw invalid(.expectStatus, "\(pair) must be two status codes, [min, max], e.g. [200, 399]")
            }
            guard pair.allSatisfy({ (100...599).contains($0) }) else {
                throw invalid(.expectStatus, "\(pair) holds a status code outside 100...599")
            }
            guard pair[0] <= pair[1] else {
                throw invalid(.expectStatus, "\(pair): min \(pair[0]) is greater than max \(pair[1])")
            }
            expectStatus = pair[0]...pair[1]
        } else {
            expectStatus = Self.defaultExpectStatus
        }

        keyword = try c.decodeIfPresent(String.self, forKey: .keyword)
        if keyword?.isEmpty == true {
            throw invalid(.keyword, "\"\" is empty; leave the key out to skip the body check")
        }
        if keyword != nil, !target.isHTTP {
            throw invalid(.keyword, "a keyword needs a \"url\" check; a \"tcp\" or \"tls\" check reads no body")
        }
        if c.contains(.expectStatus), case .tls = target {
            throw invalid(.expectStatus, "a \"tls\" check has no status; it is healthy when the handshake verifies")
        }
        if keyword != nil, case .ping = target {
            throw invalid(.keyword, "a keyword needs a \"url\" check; a \"ping\" check reads no body")
        }
        if keyword != nil, case .dns = target {
            throw invalid(.keyword, "a keyword needs a \"url\" check; a \"dns\" check compares \"expect\"")
        }

        timeoutMS = try c.decodeIfPresent(Int.self, forKey: .timeoutMS) ?? Self.defaultTimeoutMS
        guard (1...60_000).contains(timeoutMS) else {
            throw invalid(.timeoutMS, "\(timeoutMS) is not between 1 and 60000 milliseconds")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        switch target {
        case .http(let url):
            try c.encode(url, forKey: .url)
        case .tcp(let host, let port):
            try c.encode(Self.hostPort(host, port), forKey: .tcp)
        case .ping(let host, let count, let maxLossPercent):
            try c.encode(host, forKey: .ping)
            try c.encode(count, forKey: .count)
            try c.encode(maxLossPercent, forKey: .maxLossPercent)
        case .dns(let name, let type, let expect, let server):
            try c.encode(name, forKey: .dns)
            try c.encode(type.rawValue, forKey: .type)
            try c.encode(expect, forKey: .expect)
            try c.encodeIfPresent(server.map(Self.serverText), forKey: .server)
        case .tls(let host, let port, let starttls):
            try c.encode(Self.hostPort(host, port), forKey: .tls)
            try c.encodeIfPresent(starttls?.rawValue, forKey: .starttls)
        }
        switch target {
        case .http, .tcp:
            try c.encode([expectStatus.lowerBound, expectStatus.upperBound], forKey: .expectStatus)
        default: break
        }
        try c.encodeIfPresent(keyword, forKey: .keyword)
        try c.encode(timeoutMS, forKey: .timeoutMS)
    }

    static func hostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Exactly one of `url`, `tcp` and `tls`; `starttls` only beside `tls`.
    private static func decodeTarget(
        _ c: KeyedDecodingContainer<CodingKeys>, id: String, codingPath: [any CodingKey]
    ) throws -> Target {
        func invalid(_ key: CodingKeys, _ message: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: "check \"\(id)\": \(message)")
        }
        func hostPort(_ key: CodingKeys) throws -> (String, Int)? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            switch parseHostPort(text) {
            case .success(let pair): return pair
            case .failure(let problem): throw invalid(key, problem.message)
            }
        }
        let url = try c.decodeIfPresent(String.self, forKey: .url)
        let tcp = try hostPort(.tcp)
        let tls = try hostPort(.tls)
        let starttlsText = try c.decodeIfPresent(String.self, forKey: .starttls)
        let ping = try decodePing(c, url: url, tcp: tcp.map { "\($0.0):\($0.1)" })
        if ping != nil, tls != nil {
            throw invalid(.tls, "\"ping\" and \"tls\" are both set; a check has exactly one")
        }
        let dns = try decodeDNS(
            c, others: [(.url, url != nil), (.tcp, tcp != nil), (.tls, tls != nil), (.ping, ping != nil)])
        if let target = ping ?? dns {
            if let starttlsText {
                throw invalid(.starttls, "\"\(starttlsText.prefix(40))\" needs a \"tls\" check")
            }
            return target
        }
        let given = [url != nil ? "url" : nil, tcp != nil ? "tcp" : nil, tls != nil ? "tls" : nil].compactMap { $0 }
        guard given.count == 1 else {
            if given.isEmpty {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: codingPath,
                        debugDescription:
                            "check \"\(id)\" has neither \"url\", \"tcp\", \"tls\", \"ping\" nor \"dns\"; "
                            + "it needs exactly one of them"))
            }
            let key = CodingKeys(rawValue: given[1])!
            let both = given.count == 2 ? "both " : "all of "
            let list = given.map { "\"\($0)\"" }.joined(separator: " and ")
            throw invalid(key, "\(both)\(list) are set; a check has exactly one of them")
        }
        if let starttlsText, tls == nil {
            throw invalid(.starttls, "\"\(starttlsText.prefix(40))\" needs a \"tls\" check")
        }
        if let url {
            if let problem = HTTPURL.problem(with: url) { throw invalid(.url, problem) }
            return .http(url: url)
        }
        if let (host, port) = tcp { return .tcp(host: host, port: port) }
        let (host, port) = tls!
        var starttls: StartTLS?
        if let starttlsText {
            guard let parsed = StartTLS(rawValue: starttlsText) else {
                let known = StartTLS.allCases.map(\.rawValue).joined(separator: ", ")
                throw invalid(.starttls, "\"\(starttlsText.prefix(40))\" is not one of \(known)")
            }
            starttls = parsed
        }
        return .tls(host: host, port: port, starttls: starttls)
    }

    struct HostPortProblem: Error {
        let message: String
    }

    /// Splits `host:port` (`[v6-address]:port` for IPv6).
    static func parseHostPort(_ text: String) -> Result<(String, Int), HostPortProblem> {
        let shown = "\"\(text.prefix(200))\""
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                return .failure(.init(message: "\(shown) has no port; expected \"[address]:port\""))
            }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                return .failure(.init(message: "\(shown): write an IPv6 address in brackets, as \"[::1]:5432\""))
            }
        } else {
            return .failure(.init(message: "\(shown) has no port; expected \"host:port\""))
        }
        guard !host.isEmpty else {
            return .failure(.init(message: "\(shown) has no host; expected \"host:port\""))
        }
        guard let port = Int(portText), (1...65_535).contains(port) else {
            return .failure(.init(message: "\(shown): port \"\(portText)\" is not a number between 1 and 65535"))
        }
        return .success((String(host), port))
    }
}

extension ServiceCheckConfig.Target {
    var isHTTP: Bool {
        if case .http = self { return true }
        return false
    }
}

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
        case id, url, tcp, expectStatus = "expect_status", keyword, timeoutMS = "timeout_ms"
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

        let url = try c.decodeIfPresent(String.self, forKey: .url)
        let tcp = try c.decodeIfPresent(String.self, forKey: .tcp)
        let ping = try Self.decodePing(c, url: url, tcp: tcp)
        let dns = try Self.decodeDNS(c, others: [(.url, url != nil), (.tcp, tcp != nil), (.ping, ping != nil)])
        switch (url, tcp) {
        case (nil, nil) where ping != nil || dns != nil:
            target = (ping ?? dns)!
        case (let url?, nil):
            if let problem = HTTPURL.problem(with: url) { throw invalid(.url, problem) }
            target = .http(url: url)
        case (nil, let tcp?):
            switch Self.parseHostPort(tcp) {
            case .success(let (host, port)): target = .tcp(host: host, port: port)
            case .failure(let problem): throw invalid(.tcp, problem.message)
            }
        case (.some, .some):
            throw invalid(.tcp, "both \"url\" and \"tcp\" are set; a check has exactly one of them")
        case (nil, nil):
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription:
                        "check \"\(id)\" has neither \"url\" nor \"tcp\" nor \"ping\" nor \"dns\"; it needs exactly one"
                ))
        }

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
        if keyword != nil, case .tcp = target {
            throw invalid(.keyword, "a keyword needs a \"url\" check; a \"tcp\" check reads no body")
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
            try c.encode(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)", forKey: .tcp)
        case .ping(let host, let count, let maxLossPercent):
            try c.encode(host, forKey: .ping)
            try c.encode(count, forKey: .count)
            try c.encode(maxLossPercent, forKey: .maxLossPercent)
        case .dns(let name, let type, let expect, let server):
            try c.encode(name, forKey: .dns)
            try c.encode(type.rawValue, forKey: .type)
            try c.encode(expect, forKey: .expect)
            try c.encodeIfPresent(server.map(Self.serverText), forKey: .server)
        }
        try c.encode([expectStatus.lowerBound, expectStatus.upperBound], forKey: .expectStatus)
        try c.encodeIfPresent(keyword, forKey: .keyword)
        try c.encode(timeoutMS, forKey: .timeoutMS)
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

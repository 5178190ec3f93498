import LookoutCore

extension ServiceCheckConfig {
    /// Echoes a ping check sends unless `count` says otherwise.
    public static let defaultPingCount = 3
    /// A ping check is unhealthy from this share of lost echoes on (`max_loss_percent`).
    public static let defaultMaxLossPercent = 50.0
    /// More echoes than this would make one sample a load test of the target.
    static let maxPingCount = 100

    /// The `ping` target when the entry has a `ping` key, `nil` when it has none; `count`
    /// and `max_loss_percent` belong to ping checks only, so elsewhere they are an error
    /// rather than silently ignored.
    static func decodePing(
        _ c: KeyedDecodingContainer<CodingKeys>, url: String?, tcp: String?
    ) throws -> Target? {
        func invalid(_ key: CodingKeys, _ message: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: message)
        }
        guard let host = try c.decodeIfPresent(String.self, forKey: .ping) else {
            for key in [CodingKeys.count, .maxLossPercent] where c.contains(key) {
                throw invalid(key, "only a \"ping\" check takes \"\(key.rawValue)\"")
            }
            return nil
        }
        if url != nil || tcp != nil {
            throw invalid(.ping, "\"ping\" and \"\(url != nil ? "url" : "tcp")\" are both set; a check has exactly one")
        }
        if let problem = pingHostProblem(host) { throw invalid(.ping, problem) }
        let count = try c.decodeIfPresent(Int.self, forKey: .count) ?? defaultPingCount
        guard (1...maxPingCount).contains(count) else {
            throw invalid(.count, "\(count) is not between 1 and \(maxPingCount) echoes")
        }
        let maxLoss = try c.decodeIfPresent(Double.self, forKey: .maxLossPercent) ?? defaultMaxLossPercent
        guard maxLoss > 0, maxLoss <= 100 else {
            throw invalid(
                .maxLossPercent, "\(maxLoss) is not above 0 and at most 100 (healthy while the loss is below it)")
        }
        return .ping(
            host: host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host,
            count: count, maxLossPercent: maxLoss)
    }

    /// Why `host` cannot be a ping target: it is a bare host name or address, not a URL or `host:port`.
    static func pingHostProblem(_ host: String) -> String? {
        let shown = "\"\(host.prefix(200))\""
        if host.isEmpty { return "\"\" is empty; give a host name or an IP address" }
        if host.utf8.count > 253 { return "\(shown) is longer than 253 bytes, the longest host name" }
        if host.contains("://") || host.contains("/") {
            return "\(shown) is not a host: a ping target is a host name or an IP address, without a scheme or path"
        }
        if host.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "\(shown) holds a space or a control character"
        }
        let inner = host.hasPrefix("[") && host.hasSuffix("]") ? host.dropFirst().dropLast() : Substring(host)
        if inner.isEmpty { return "\(shown) is empty between the brackets" }
        // One colon is `host:port` (a ping has no port); an IPv6 address has several.
        if inner.filter({ $0 == ":" }).count == 1 {
            return "\(shown) has a port; a ping target is a host name or an IP address alone"
        }
        return nil
    }
}

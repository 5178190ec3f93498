import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a hub offers agents (`GET /install/agents.json`, the shared contract of issue 13):
/// one entry per architecture, its version read from the binary's own stamp.
public struct HubReleases: Decodable, Sendable, Equatable {
    public var hubVersion: String?
    public var agents: [Agent]

    public struct Agent: Decodable, Sendable, Equatable {
        /// `uname -m`: `x86_64`, `aarch64`.
        public var arch: String
        /// Read from the binary's stamp by the hub; absent when the file has none.
        public var version: String?
        /// 64 lowercase hex digits.
        public var sha256: String
        public var size: Int

        enum CodingKeys: String, CodingKey { case arch, version, sha256, size }
    }

    enum CodingKeys: String, CodingKey {
        case hubVersion = "hub_version", agents
    }

    /// Decodes agents.json; the error says what is wrong, in one line.
    public static func parse(_ bytes: [UInt8]) throws(UpgradeError) -> HubReleases {
        do {
            return try JSONDecoder().decode(HubReleases.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .failed("/install/agents.json is not what a Lookout hub serves: \(DocumentError(error))")
        } catch {
            throw .failed("/install/agents.json is not what a Lookout hub serves: \(error)")
        }
    }

    /// The `sha256sum` lines of `/install/SHA256SUMS` as path → digest
    /// (`<64 hex>  x86_64/lookout-agent`; a `*` before the path marks binary mode).
    public static func checksums(_ text: String) -> [String: String] {
        var sums: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, isDigest(String(parts[0])) else { continue }
            var path = parts[1].drop { $0 == " " }
            if path.first == "*" { path = path.dropFirst() }
            sums[String(path)] = parts[0].lowercased()
        }
        return sums
    }

    /// 64 hex digits.
    public static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64
            && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
    }

    /// The hub's base URL for an ingest URL: scheme, host, port and any sub-path before
    /// `/api/monitoring/ingest` (`https://hub.example.com/lookout/api/monitoring/ingest` →
    /// `https://hub.example.com/lookout`). A URL without that path gives its origin.
    public static func hubBase(ofIngest url: String) -> String? {
        guard HTTPURL.problem(with: url) == nil, let parsed = URL(string: url), let scheme = parsed.scheme,
            let host = parsed.host(percentEncoded: true)
        else { return nil }
        var base = "\(scheme.lowercased())://\(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host)"
        if let port = parsed.port { base += ":\(port)" }
        let path = parsed.path(percentEncoded: true)
        if let range = path.ranges(of: "/api/monitoring/ingest").last {
            base += path[..<range.lowerBound]
        }
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}

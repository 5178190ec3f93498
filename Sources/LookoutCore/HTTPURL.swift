#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The one check for every URL Lookout will send a request to (push target, health
/// check, webhook, dashboard link): http or https, with a host.
public enum HTTPURL {
    /// `nil` when `url` is an http(s) URL with a host, else what is wrong with it.
    public static func problem(with url: String) -> String? {
        let shown = "\"\(url.prefix(200))\""
        guard url.utf8.count <= 2048 else { return "\(shown)… is longer than 2048 bytes" }
        guard let parsed = URL(string: url) else { return "\(shown) is not a URL" }
        guard let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return "\(shown) must start with http:// or https://"
        }
        guard let host = parsed.host, !host.isEmpty else {
            return "\(shown) has no host"
        }
        return nil
    }

    /// Whether `host` names this machine: `localhost` (and `*.localhost`), an IPv4 literal in
    /// 127.0.0.0/8 or `::1`, judged by name, because a config check cannot connect. The one
    /// test of "loopback" for a secret that may travel in clear text (SMTP without TLS, an
    /// http:// chat API). A name that merely starts with `127.` (`127.0.0.1.example.com`)
    /// resolves wherever its owner likes, so it is not loopback.
    public static func isLoopback(_ host: String) -> Bool {
        let lower = host.lowercased()
        if lower == "localhost" || lower.hasSuffix(".localhost") || lower == "::1" || lower == "[::1]" { return true }
        let octets = lower.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { $0.count <= 3 && UInt8($0) != nil }
    }

    /// Whether a request to `url` (already a valid ``problem(with:)``-free URL) would carry a
    /// secret in clear text to another machine: plain `http://` to a host that is not
    /// loopback. A test server on 127.0.0.1 stays allowed.
    public static func sendsInClearText(_ url: String) -> Bool {
        guard let parsed = URL(string: url), parsed.scheme?.lowercased() == "http" else { return false }
        return !isLoopback(parsed.host ?? "")
    }
}

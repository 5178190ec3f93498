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
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// This machine's fully qualified name, for the default `From` (`lookout@<fqdn>`): relays
/// refuse a sender whose domain is a bare host name, and SPF or DMARC cannot pass for one.
enum HostDomain {
    /// The canonical name of `hostName` from the resolver (`getaddrinfo` with
    /// `AI_CANONNAME`, which reads /etc/hosts and DNS); when that has no dot, the host name
    /// joined to the `domain` (else the first `search`) of `resolvConf`. `nil` when neither
    /// gives a name with a domain (`localhost.localdomain` has none).
    static func fullyQualifiedName(
        hostName: String = ProcessInfo.processInfo.hostName, resolvConf: String = "/etc/resolv.conf"
    ) -> String? {
        let short = hostName.split(separator: ".").first.map(String.init) ?? hostName
        for candidate in [
            hostName, canonicalName(of: hostName), domain(resolvConf: resolvConf).map { "\(short).\($0)" },
        ] {
            if let candidate, usable(candidate) { return candidate.lowercased() }
        }
        return nil
    }

    static func usable(_ name: String) -> Bool {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 }), name.utf8.count <= 253 else {
            return false
        }
        let lower = name.lowercased()
        guard !lower.hasPrefix("localhost"), !lower.hasSuffix(".localdomain"), !lower.hasSuffix(".local") else {
            return false
        }
        return name.unicodeScalars.allSatisfy { c in
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "."
        } && !labels.last!.allSatisfy(\.isNumber)
    }

    static func canonicalName(of hostName: String) -> String? {
        var hints = addrinfo()
        hints.ai_flags = AI_CANONNAME
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(hostName, nil, &hints, &result) == 0, let result else { return nil }
        defer { freeaddrinfo(result) }
        return result.pointee.ai_canonname.map { String(cString: $0) }
    }

    /// `domain example.com`, else the first name of `search example.com corp.example.com`.
    static func domain(resolvConf: String) -> String? {
        guard let data = FileManager.default.contents(atPath: resolvConf) else { return nil }
        var search: String?
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2 else { continue }
            if words[0] == "domain" { return String(words[1]) }
            if words[0] == "search", search == nil { search = String(words[1]) }
        }
        return search
    }
}

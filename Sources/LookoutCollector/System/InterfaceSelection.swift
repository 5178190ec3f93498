import LookoutCore

/// Which network interfaces the document covers: the agent config's `network.interfaces`.
///
/// - ``automatic``: every interface that is up and not loopback or the virtual kind a
///   container or VM host creates by the dozen (``virtualPatterns``).
/// - ``allow(_:)`` (`["eth0", "ens*"]`): exactly the interfaces matching a pattern, up or
///   not and virtual or not, since the operator named them.
/// - ``deny(_:)`` (`["-wg0"]`): the automatic choice minus the interfaces matching a pattern.
///
/// Patterns match the whole name; `*` stands for any run of characters.
public enum InterfaceSelection: Sendable, Equatable {
    case automatic
    case allow([String])
    case deny([String])

    /// Loopback and the interfaces Docker, libvirt, Calico, flannel and VPN tunnels create:
    /// their traffic is either internal or already counted on the physical interface.
    public static let virtualPatterns = ["lo", "docker*", "br-*", "veth*", "virbr*", "cali*", "flannel*", "tun*"]

    /// Validates the config list: every entry a plausible interface name or pattern, and all
    /// entries of one kind (a leading `-` makes a deny entry).
    /// - Throws: a message naming the entry that is wrong, for the config error.
    public init(entries: [String]) throws(CollectorError) {
        guard !entries.isEmpty else {
            throw CollectorError("is empty; leave the key out to report every interface that is up")
        }
        var allowed: [String] = []
        var denied: [String] = []
        for (index, entry) in entries.enumerated() {
            let pattern = entry.hasPrefix("-") ? String(entry.dropFirst()) : entry
            if let problem = Self.problem(with: pattern) {
                throw CollectorError("[\(index)] \"\(entry.replacingControlCharacters(with: "?"))\": \(problem)")
            }
            if !entry.hasPrefix("-") {
                allowed.append(pattern)
            } else if pattern.utf8.allSatisfy({ $0 == UInt8(ascii: "*") }) {
                throw CollectorError("[\(index)] \"\(entry)\": leaves out every interface")
            } else {
                denied.append(pattern)
            }
        }
        if let allow = allowed.first, let deny = denied.first {
            throw CollectorError(
                "mixes allow entries (\"\(allow)\") and deny entries (\"-\(deny)\"); use one kind: "
                    + "names to report only those, or -names to leave those out")
        }
        self = allowed.isEmpty ? .deny(denied) : .allow(allowed)
    }

    /// What is wrong with a pattern, or `nil`. Linux names are 1–15 bytes without `/`, `:`
    /// or white space; a pattern may add `*`.
    static func problem(with pattern: String) -> String? {
        if pattern.isEmpty { return "an empty interface name" }
        if pattern.utf8.count > 64 { return "longer than 64 bytes" }
        if let bad = pattern.unicodeScalars.first(where: { $0 == "/" || $0 == ":" }) {
            return "holds \"\(bad)\", which no interface name can"
        }
        // The kernel refuses the ASCII white space of isspace(3); the rest of it is control characters.
        if pattern.unicodeScalars.contains(where: { $0 == " " || ControlCharacters.contains($0) }) {
            return "holds white space or a control character, which no interface name can"
        }
        return nil
    }

    /// Whether the interface is reported.
    /// - Parameter isUp: asked only when the answer depends on it (not for an allow list).
    public func includes(_ name: String, isUp: () -> Bool) -> Bool {
        switch self {
        case .allow(let patterns):
            return patterns.contains { WildcardPattern.matches($0, name) }
        case .automatic:
            return !Self.virtualPatterns.contains { WildcardPattern.matches($0, name) } && isUp()
        case .deny(let patterns):
            return !patterns.contains { WildcardPattern.matches($0, name) } && Self.automatic.includes(name, isUp: isUp)
        }
    }
}

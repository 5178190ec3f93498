/// A name pattern where `*` matches any run of characters (none included) and every other
/// character only itself, case-sensitively (VM ids, alert kinds and interface names are).
/// The one matcher of every `*` list: silences and quiet hours (`vm`, `alerts`), channel
/// routes, and the agent's `network.interfaces`.
///
/// A pattern is read once into its form (`*`, an exact name, `prefix*`, the usual ones, or
/// anything else), for the many names of one alert pass.
public struct WildcardPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    let form: Form

    enum Form: Sendable, Equatable {
        case any
        case exact
        case prefix(String)
        case general
    }

    public init(_ text: String) {
        self.text = text
        let star = UInt8(ascii: "*")
        if text == "*" {
            form = .any
        } else if !text.utf8.contains(star) {
            form = .exact
        } else if text.utf8.last == star && !text.utf8.dropLast().contains(star) {
            form = .prefix(String(text.dropLast()))
        } else {
            form = .general
        }
    }

    public var description: String { text }

    /// Whether the whole of `name` matches.
    public func matches(_ name: String) -> Bool {
        switch form {
        case .any: true
        case .exact: text == name
        case .prefix(let prefix): name.hasPrefix(prefix)
        case .general: Self.matchesBytes(text, name)
        }
    }

    /// `WildcardPattern(pattern).matches(name)` without keeping the pattern (and without
    /// building one: a pass asks this for every alert).
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        if pattern == "*" { return true }
        if !pattern.utf8.contains(UInt8(ascii: "*")) { return pattern == name }
        return matchesBytes(pattern, name)
    }

    private static func matchesBytes(_ pattern: String, _ name: String) -> Bool {
        var pattern = pattern
        var name = name
        // withUTF8 reads the strings' own storage: no copy per match (a pass makes thousands).
        return pattern.withUTF8 { p in name.withUTF8 { t in matches(p, t) } }
    }

    /// Greedy match with backtracking to the last star: linear in practice.
    static func matches(_ p: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>) -> Bool {
        let star = UInt8(ascii: "*")
        var pi = 0
        var ti = 0
        var lastStar = -1
        var mark = 0
        while ti < t.count {
            if pi < p.count && p[pi] != star && p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == star {
                lastStar = pi
                mark = ti
                pi += 1
            } else if lastStar >= 0 {
                pi = lastStar + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == star { pi += 1 }
        return pi == p.count
    }
}

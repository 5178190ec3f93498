import LookoutCore
import Testing

/// The one `*` matcher of silences, quiet hours, channel routes and the agent's interface lists.
@Suite struct WildcardPatternTests {
    @Test(arguments: [
        ("*", "anything", true), ("*", "", true), ("**", "", true),
        ("web-*", "web-1", true), ("web-*", "web-", true), ("web-*", "db-1", false),
        ("web-1", "web-1", true), ("web-1", "web-10", false), ("web-1", "web-", false),
        ("*-1", "web-1", true), ("*-1", "db-2", false),
        ("w*b*1", "web-1", true), ("w*b*2", "web-1", false),
        ("web-*-1", "web-a-1", true), ("web-*-1", "web-a-2", false),
        ("a*b*c", "aXbYc", true), ("a*b*c", "abc", true), ("a*b*c", "acb", false), ("a*a", "a", false),
        ("service/*", "service/web", true), ("fs//v*", "fs//var", true),
        ("ens*", "ens3", true), ("ens*", "eth0", false), ("*eth*", "veth12", true),
    ])
    func matches(pattern: String, name: String, expected: Bool) {
        #expect(WildcardPattern(pattern).matches(name) == expected, "\(pattern) against \(name)")
        #expect(WildcardPattern.matches(pattern, name) == expected)
    }

    /// Case matters: VM ids and interface names are case-sensitive.
    @Test func caseSensitive() {
        #expect(!WildcardPattern("Web-*").matches("web-1"))
        #expect(!WildcardPattern("*X").matches("ax"))
    }
}

import LookoutCore

/// The one line an operator runs on a new VM, and the rule for the hub address in it. The
/// line is pasted into a root shell, so the address may hold only characters that mean
/// nothing to `sh` (no quotes, `$`, `;`, blanks, `&`, `|`, backquotes).
public enum InstallCommand {
    /// `curl -fsSL <hub>/install/agent.sh | sudo sh -s -- --hub <hub> --code <code>`. An https
    /// hub's line lets curl speak only https (no redirect to plain http); a plain http hub on
    /// another machine gets `--insecure-http`, which agent.sh needs to accept it, so the
    /// operator sees that the agent will come over an unprotected network.
    public static func line(hub: String, code: String) -> String {
        if HTTPURL.sendsInClearText(hub) {
            return "curl -fsSL \(hub)/install/agent.sh | sudo sh -s -- --hub \(hub) --code \(code) --insecure-http"
        }
        let proto = hub.lowercased().hasPrefix("https:") ? "--proto '=https' " : ""
        return "curl \(proto)-fsSL \(hub)/install/agent.sh | sudo sh -s -- --hub \(hub) --code \(code)"
    }

    /// Said beside the line when the hub is plain http on another machine.
    public static let clearTextWarning =
        "plain http: anyone between the VM and the hub could replace the agent it installs as root; "
        + "put the hub behind TLS (docs/reverse-proxy.md) unless the network is yours"

    /// The hub address without a trailing `/`, or what is wrong with it.
    public static func hubAddress(_ text: String) -> Result<String, EnrollmentError> {
        var url = text
        while url.hasSuffix("/") { url.removeLast() }
        if let problem = HTTPURL.problem(with: url) {
            return .failure(EnrollmentError("hub address: \(problem)", kind: .usage))
        }
        let allowed = url.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "/"),
                UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: "["),
                UInt8(ascii: "]"):
                return true
            default: return false
            }
        }
        guard allowed, !url.contains("?"), !url.contains("#") else {
            return .failure(
                EnrollmentError(
                    "hub address \"\(url.prefix(200))\": only letters, digits and . : / _ - ~ % [ ] may appear in it "
                        + "(it is pasted into a shell), and no query or fragment",
                    kind: .usage))
        }
        return .success(url)
    }
}

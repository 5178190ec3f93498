import LookoutCore

/// The one line an operator runs on a new VM, and the rule for the hub address in it. The
/// line is pasted into a root shell, so the address may hold only characters that mean
/// nothing to `sh` (no quotes, `$`, `;`, blanks, `&`, `|`, backquotes).
public enum InstallCommand {
    /// `curl -fsSL <hub>/install/agent.sh | sudo sh -s -- --hub <hub> --code <code>`
    public static func line(hub: String, code: String) -> String {
        "curl -fsSL \(hub)/install/agent.sh | sudo sh -s -- --hub \(hub) --code \(code)"
    }

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

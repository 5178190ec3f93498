import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The SMTP login. Secrets stay out of the JSON config (DESIGN section 5), and out of
/// logs: `description` shows the user only.
public struct SMTPCredentials: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    public var description: String { "SMTPCredentials(user: \(user), password: <redacted>)" }

    /// `$LOOKOUT_SMTP_USER` and `$LOOKOUT_SMTP_PASSWORD` (both, non-empty), else the file
    /// named by `credentials_file`: two lines (user, then password), or `user=...` and
    /// `password=...` lines. Blank lines are ignored; values are taken as written.
    /// - Returns: nil when neither is set (send without AUTH, e.g. to a local relay).
    /// - Throws: `HubError` naming the variable or file, never its content.
    public static func load(settings: EmailSettings, environment: [String: String]) throws(HubError)
        -> SMTPCredentials?
    {
        let fromUser = environment["LOOKOUT_SMTP_USER"].flatMap { $0.isEmpty ? nil : $0 }
        let fromPassword = environment["LOOKOUT_SMTP_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        switch (fromUser, fromPassword) {
        case (let user?, let password?): return SMTPCredentials(user: user, password: password)
        case (_?, nil): throw HubError("LOOKOUT_SMTP_USER is set but LOOKOUT_SMTP_PASSWORD is not")
        case (nil, _?): throw HubError("LOOKOUT_SMTP_PASSWORD is set but LOOKOUT_SMTP_USER is not")
        case (nil, nil): break
        }
        guard let path = settings.credentialsFile else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HubError("SMTP credentials_file \(path) does not exist or cannot be read")
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        var user: String?
        var password: String?
        if let first = lines.first, first.hasPrefix("user=") || first.hasPrefix("password=") {
            for line in lines {
                if line.hasPrefix("user=") { user = String(line.dropFirst(5)) }
                if line.hasPrefix("password=") { password = String(line.dropFirst(9)) }
            }
        } else if lines.count == 2 {
            (user, password) = (lines[0], lines[1])
        }
        guard let user, let password, !user.isEmpty, !password.isEmpty else {
            throw HubError(
                "SMTP credentials_file \(path) must hold two lines (user, password) or user=... and password=...")
        }
        return SMTPCredentials(user: user, password: password)
    }
}

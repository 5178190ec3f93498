/// The escaping routines for the formats notices are sent in, one per format, so text a
/// VM supplies (a service id, a container name, a mount point) is shown as written and
/// can neither format a message, fake a link nor mention anyone.
enum MarkupEscaping {
    /// HTML text (Telegram's `parse_mode: HTML`, Matrix's `formatted_body`, Slack's
    /// mrkdwn, which knows these three entities only): `&` first, so the others' entities
    /// are not escaped again. Text only, never an attribute value.
    static func html(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
    }

    /// Markdown text (Teams' Adaptive Card `TextBlock`): a backslash before every
    /// character that can start emphasis, a link, code or a heading, the backslash first.
    static func markdown(_ text: String) -> String {
        var result = ""
        for character in text {
            if markdownSpecials.contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }

    static let markdownSpecials: Set<Character> = [
        "\\", "*", "_", "[", "]", "(", ")", "`", "~", "#", "<", ">", "|", "!",
    ]
}

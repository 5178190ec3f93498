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
    /// character that can start emphasis, a link, code or a heading, the backslash first;
    /// and before a list marker that starts a line (`-`, `+`, or the `.` of `12.`), which
    /// would turn the line into a list item. Lines are joined by a blank line: outside a
    /// list, a TextBlock breaks a line only there (a single `\n` runs the lines together).
    static func markdown(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(markdownLine).joined(separator: "\n\n")
    }

    private static func markdownLine(_ line: Substring) -> String {
        let characters = Array(line)
        var result = ""
        var index = 0
        while index < characters.count, characters[index] == " " || characters[index] == "\t" { index += 1 }
        var digits = index
        while digits < characters.count, characters[digits].isASCII, characters[digits].isNumber { digits += 1 }
        // `12. ` starts an ordered list (`12)` is escaped anyway: `)` is special).
        let ordered =
            digits > index && digits < characters.count && characters[digits] == "."
            && (digits + 1 == characters.count || characters[digits + 1] == " " || characters[digits + 1] == "\t")
        for (position, character) in characters.enumerated() {
            let bullet = position == index && (character == "-" || character == "+")
            if bullet || (ordered && position == digits) || markdownSpecials.contains(character) {
                result.append("\\")
            }
            result.append(character)
        }
        return result
    }

    static let markdownSpecials: Set<Character> = [
        "\\", "*", "_", "[", "]", "(", ")", "`", "~", "#", "<", ">", "|", "!",
    ]
}

import LookoutCore
import Testing

@testable import LookoutHub

/// Mail headers and webhook headers (ntfy's Title) take text from alerts; a line break, or
/// any control character, must never start a header of its own. Judged per scalar, since
/// `"\r\n"` is one `Character` and a check on `Character.isNewline` alone misses C1 and DEL.
@Suite struct HeaderSafetyTests {
    static let hostile = "disk 97%\r\nBcc: victim@example.com\u{85}\u{7F}\u{0}x"

    @Test func mailHeadersStayOneLine() {
        let safe = EmailMessage.headerSafe(Self.hostile)
        #expect(!safe.containsControlCharacter)
        #expect(safe == "disk 97%  Bcc: victim@example.com   x")
    }

    @Test func webhookHeadersStayOneLine() {
        let safe = WebhookChannel.headerSafe(Self.hostile)
        #expect(!safe.containsControlCharacter)
        #expect(safe.hasPrefix("disk 97%  Bcc"))
        #expect(WebhookChannel.headerSafe(String(repeating: "x", count: 400)).count == 250)
    }
}

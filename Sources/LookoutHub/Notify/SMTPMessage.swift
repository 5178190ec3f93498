import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One plain-text email, and its RFC 5322 form.
///
/// The rendered text is 7-bit clean whatever the subject and body hold, so it passes any
/// relay (no 8BITMIME or SMTPUTF8 needed): a non-ASCII or over-long Subject becomes RFC 2047
/// encoded-words, and a body that is not plain short ASCII is sent quoted-printable.
public struct EmailMessage: Sendable, Equatable {
    public var from: String
    public var to: [String]
    public var subject: String
    /// Plain text, UTF-8; `\n`, `\r\n` and lone `\r` all count as line breaks.
    public var body: String

    public init(from: String, to: [String], subject: String, body: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
    }

    /// The message as RFC 5322 text with CRLF line endings, ending in CRLF.
    ///
    /// Headers: Date (UTC, `+0000`), Message-ID, From, To, Subject, MIME-Version,
    /// Content-Type `text/plain; charset=UTF-8`, Content-Transfer-Encoding, and
    /// `Auto-Submitted: auto-generated` (RFC 3834) so vacation responders do not answer
    /// alerts. The body is `7bit` when it is printable ASCII in lines of at most 998 octets, else
    /// `quoted-printable` (which keeps ASCII text readable and wraps long lines losslessly).
    /// Every line break becomes CRLF: a bare `\n` or `\r` never reaches the wire, so a body
    /// cannot end the DATA phase early (SMTP smuggling). Dot-stuffing is left to the client.
    /// - Parameters:
    ///   - date: the Date header.
    ///   - messageID: `local@domain`, with or without angle brackets.
    public func rendered(date: Date, messageID: String) -> String {
        let id = messageID.hasPrefix("<") ? messageID : "<\(messageID)>"
        let lines = Self.lines(of: body)
        let plain = lines.allSatisfy { line in
            line.utf8.count <= 998 && line.utf8.allSatisfy { $0 == 0x09 || (0x20..<0x7F).contains($0) }
        }
        var text = "Date: \(Self.rfc5322Date(date))\r\n"
        text += "Message-ID: \(Self.headerSafe(id))\r\n"
        text += "From: \(Self.headerSafe(from))\r\n"
        text += Self.addressHeader("To", to.map(Self.headerSafe))
        text += Self.subjectHeader(subject)
        text += "MIME-Version: 1.0\r\n"
        text += "Content-Type: text/plain; charset=UTF-8\r\n"
        text += "Content-Transfer-Encoding: \(plain ? "7bit" : "quoted-printable")\r\n"
        text += "Auto-Submitted: auto-generated\r\n\r\n"
        for line in lines {
            text += plain ? line + "\r\n" : Self.quotedPrintable(line)
        }
        return text
    }

    /// A fresh `<random@domain>` with the domain of `from` (RFC 5322 asks for a unique id
    /// on the right of `@`; the sender's domain is the one we can vouch for).
    static func makeMessageID(from: String) -> String {
        let domain = from.split(separator: "@").last.map(String.init) ?? "lookout.invalid"
        return "<\(UUID().uuidString.lowercased())@\(headerSafe(domain))>"
    }

    // MARK: - Pieces

    /// The body's lines, splitting on CRLF, LF and lone CR alike.
    static func lines(of text: String) -> [String] {
        // "\r\n" is one Character in Swift, so this splits each kind of break once.
        var lines = text.split(omittingEmptySubsequences: false) { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }
            .map(String.init)
        if lines.count > 1, lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Control characters (CR, LF, TAB ...) become spaces so no value can add a header.
    static func headerSafe(_ text: String) -> String {
        text.replacingControlCharacters()
    }

    /// `To: a, b` on one line when it fits in 78 columns, else one address per folded line.
    static func addressHeader(_ name: String, _ addresses: [String]) -> String {
        let single = "\(name): \(addresses.joined(separator: ", "))"
        return (single.utf8.count <= 78 ? single : "\(name): \(addresses.joined(separator: ",\r\n "))") + "\r\n"
    }

    /// Printable ASCII stays as it is (folded at spaces past 78 columns); anything else, or
    /// a text that looks like an encoded-word already, becomes `=?UTF-8?B?…?=` words of at
    /// most 75 characters, each holding whole code points (RFC 2047 section 5).
    static func subjectHeader(_ subject: String) -> String {
        let clean = headerSafe(subject)
        let ascii = clean.utf8.allSatisfy { $0 < 0x80 } && !clean.contains("=?") && clean.utf8.count <= 900
        var words: [String] = []
        if ascii {
            words = clean.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        } else {
            var chunk = String.UnicodeScalarView()
            for scalar in clean.unicodeScalars {
                if chunk.count > 0, String(chunk).utf8.count + String(scalar).utf8.count > 45 {
                    words.append(encodedWord(String(chunk)))
                    chunk = String.UnicodeScalarView()
                }
                chunk.append(scalar)
            }
            words.append(encodedWord(String(chunk)))
        }
        var text = "Subject:"
        var column = text.count
        for (index, word) in words.enumerated() {
            // Folding inserts CRLF before the space; an empty word (double space) stays put.
            if index > 0, column + 1 + word.utf8.count > 78, !word.isEmpty {
                text += "\r\n"
                column = 0
            }
            text += " " + word
            column += 1 + word.utf8.count
        }
        return text + "\r\n"
    }

    static func encodedWord(_ text: String) -> String {
        "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    /// One body line as quoted-printable (RFC 2045 section 6.7): lines of at most 76
    /// characters with `=` soft breaks, trailing space or tab encoded, CRLF at the end.
    static func quotedPrintable(_ line: String) -> String {
        let bytes = Array(line.utf8)
        var out = ""
        var column = 0
        for (index, byte) in bytes.enumerated() {
            let literal =
                (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                || ((byte == 0x20 || byte == 0x09) && index < bytes.count - 1)
            let token = literal ? String(UnicodeScalar(byte)) : "=" + hex(byte)
            if column + token.count > 75 {
                out += "=\r\n"
                column = 0
            }
            out += token
            column += token.count
        }
        return out + "\r\n"
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    /// `Tue, 05 May 2026 09:07:03 +0000`, computed by hand: FoundationEssentials has no
    /// DateFormatter, and this format needs the English names whatever the locale.
    static func rfc5322Date(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = seconds - days * 86_400
        let (year, month, day) = Timestamp.civilDate(fromDays: Int64(days))
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekday = weekdays[((days % 7) + 7) % 7]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(day)) \(months[month - 1]) \(year) "
            + "\(two(time / 3600)):\(two(time / 60 % 60)):\(two(time % 60)) +0000"
    }
}

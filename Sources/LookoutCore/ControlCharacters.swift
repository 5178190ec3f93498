/// The one definition of a control character that every part of Lookout uses: the C0 set
/// (U+0000–U+001F), DEL (U+007F) and the C1 set (U+0080–U+009F), judged per Unicode
/// scalar.
///
/// Per scalar, not per `Character`: Swift joins `"\r\n"` into one grapheme cluster, so a
/// check on `Character` values (`== "\n"`) lets a CRLF through. Every string that leaves
/// Lookout in a line-oriented format (log lines, mail headers, notice titles, the
/// Prometheus exposition) is either refused when it holds one (documents, config values)
/// or passed through ``Swift/String/replacingControlCharacters(with:)`` first.
public enum ControlCharacters {
    /// Whether `scalar` is a control character.
    @inlinable
    public static func contains(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// The first control character of `text` and its offset in scalars, if any.
    public static func first(in text: String) -> (scalar: Unicode.Scalar, offset: Int)? {
        for (offset, scalar) in text.unicodeScalars.enumerated() where contains(scalar) {
            return (scalar, offset)
        }
        return nil
    }

    /// `U+000D`: how an error message names a control character.
    public static func name(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

extension String {
    /// Whether the string holds a control character (``ControlCharacters``).
    public var containsControlCharacter: Bool {
        unicodeScalars.contains(where: ControlCharacters.contains)
    }

    /// The string with each control character replaced by `replacement` (a space by
    /// default): for text from elsewhere that must stay on one line.
    public func replacingControlCharacters(with replacement: Unicode.Scalar = " ") -> String {
        guard containsControlCharacter else { return self }
        var scalars = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            scalars.append(ControlCharacters.contains(scalar) ? replacement : scalar)
        }
        return String(scalars)
    }
}

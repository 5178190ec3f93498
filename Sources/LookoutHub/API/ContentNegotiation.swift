// The two request headers a cached, compressed answer is chosen by, parsed as RFC 9110
// spells them. Pure: strings in, a decision out; a malformed header never throws, it only
// loses the part that cannot be read (the answer is then the plain, unconditional one).

/// `Accept-Encoding` (RFC 9110 §12.5.3): comma-separated codings, each with an optional
/// `;q=` weight. Names are case-insensitive; `q=0` refuses a coding; `*` stands for every
/// coding not named; `x-gzip` is gzip's old name.
enum AcceptEncoding {
    /// Whether a client that sent `values` (every `Accept-Encoding` line of the request)
    /// takes a gzip body. No header at all: plain (what every server does, whatever the
    /// RFC allows), as is an element whose q-value cannot be read.
    static func acceptsGzip(_ values: [String]) -> Bool {
        var gzip: Double?
        var any: Double?
        for element in values.joined(separator: ",").split(separator: ",") {
            let parts = element.split(separator: ";", omittingEmptySubsequences: false)
            let name = parts[0].trimmed.lowercased()
            guard !name.isEmpty, let quality = quality(parts.dropFirst()) else { continue }
            switch name {
            case "gzip", "x-gzip": gzip = max(gzip ?? 0, quality)
            case "*": any = max(any ?? 0, quality)
            default: continue
            }
        }
        return (gzip ?? any ?? 0) > 0
    }

    /// The `q` parameter among `parameters` (1 when absent), or nil when it is there but is
    /// no qvalue: `0`, `1` or a decimal between them with at most three digits.
    static func quality(_ parameters: some Sequence<Substring>) -> Double? {
        for parameter in parameters {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, pair[0].trimmed.lowercased() == "q" else { continue }
            let text = pair[1].trimmed
            let digits = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard let whole = digits.first, whole == "0" || whole == "1",
                digits.count == 1 || (digits[1].count <= 3 && digits[1].allSatisfy(\.isASCIIDigit)),
                let value = Double(text), value <= 1
            else { return nil }
            return value
        }
        return 1
    }
}

/// `If-None-Match` (RFC 9110 §13.1.2): `*` or a list of entity tags, each `"…"` or weak
/// `W/"…"`. A GET matches with the weak comparison: `W/"a"` matches `"a"`.
enum IfNoneMatch {
    /// Whether `values` (every `If-None-Match` line) names `etag` (a quoted tag, as sent in
    /// `ETag`), or is `*` (the resource exists: every answer of this hub that asks has a body).
    static func matches(_ values: [String], etag: String) -> Bool {
        let wanted = opaque(etag)
        for value in values {
            if value.trimmed == "*" { return true }
            if tags(value).contains(where: { $0 == wanted }) { return true }
        }
        return false
    }

    /// The opaque tags of one header line (quotes kept, `W/` dropped), read up to the first
    /// thing that is not a tag; commas inside quotes are part of the tag.
    static func tags(_ value: String) -> [Substring] {
        var found: [Substring] = []
        var rest = value[...]
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "," }
            if rest.isEmpty { return found }
            if rest.hasPrefix("W/") { rest = rest.dropFirst(2) }
            guard rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") else { return found }
            found.append(rest[...close])
            rest = rest[rest.index(after: close)...]
        }
    }

    static func opaque(_ etag: String) -> Substring {
        etag.hasPrefix("W/") ? etag.dropFirst(2) : etag[...]
    }
}

extension Substring {
    /// Without the spaces and tabs HTTP allows around list elements and parameters.
    fileprivate var trimmed: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}

extension String {
    fileprivate var trimmed: Substring { self[...].trimmed }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    /// The string cut to at most `characters` characters and `bytes` UTF-8 bytes, ending in
    /// "…" when cut (the ellipsis counts towards both limits), so a reader sees that text is
    /// missing. Cut at a `Character` boundary, never inside a scalar or a grapheme.
    ///
    /// For text of any length from elsewhere (a server's answer, a notice body) that must fit
    /// a field with a limit: a check's `error`, a chat message.
    public func cut(characters: Int, bytes: Int = .max) -> String {
        if count <= characters, utf8.count <= bytes { return self }
        let ellipsis = "…"
        var kept = 0
        var keptBytes = 0
        var end = startIndex
        for character in self {
            let size = character.utf8.count
            guard kept + 1 < characters, keptBytes + size + ellipsis.utf8.count <= bytes else { break }
            kept += 1
            keptBytes += size
            end = index(after: end)
        }
        return String(self[..<end]) + ellipsis
    }
}

import Foundation
import LookoutCore
import Testing

@Suite struct TextCutTests {
    @Test(arguments: [
        ("short", 10, Int.max, "short"),
        ("abcdef", 6, Int.max, "abcdef"),
        ("abcdefg", 6, Int.max, "abcde…"),
        // The byte limit counts the ellipsis (3 bytes) and never splits a character.
        ("ééééé", 100, 8, "éé…"),
        // A grapheme of several scalars is kept whole or dropped whole.
        ("ae\u{301}e\u{301}e\u{301}", 3, Int.max, "ae\u{301}…"),
    ])
    func textIsCutAtACharacterWithAnEllipsis(text: String, characters: Int, bytes: Int, cut: String) {
        #expect(text.cut(characters: characters, bytes: bytes) == cut)
    }

    @Test func aCheckErrorOfAnyLengthFitsTheDocument() throws {
        // 4-byte characters: 1024 of them are 4096 bytes, so the byte limit is the one that cuts.
        let wide = String(repeating: "😀", count: 5000)
        let control = "line one\r\nline\u{1B}[31m two " + String(repeating: "x", count: 9000)
        for problem in [wide, control] {
            let error = ServiceStatus.errorText(problem)
            #expect(error.count <= ServiceStatus.errorMaxCharacters)
            #expect(error.utf8.count <= ServiceStatus.errorMaxBytes)
            #expect(!error.containsControlCharacter)
            #expect(error.hasSuffix("…"))
            var document = try MetricsDocument.decode(Array(designExample.utf8))
            document.services[0].healthy = false
            document.services[0].error = error
            try document.validate()
            // The uncut reason is what the hub would refuse, with the whole document.
            document.services[0].error = problem.replacingControlCharacters()
            #expect(throws: DocumentError.self) { try document.validate() }
        }
        #expect(ServiceStatus.errorText("status 500, expected 200-399") == "status 500, expected 200-399")
        #expect(ServiceStatus.errorText("a\tb") == "a b")
    }
}

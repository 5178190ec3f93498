import Foundation
import LookoutCore
import Testing

@Suite struct JSONLineCommentsTests {
    func stripped(_ text: String) throws(JSONLineComments.Problem) -> String {
        String(decoding: try JSONLineComments.strip(Array(text.utf8)), as: UTF8.self)
    }

    @Test func wholeLineCommentsBecomeBlanksOfTheSameLength() throws {
        let text = "// head\n{\n  // \"vm_id\": \"x\",\n\t// tab\r\n  \"a\": 1\n}\n// tail"
        let result = try stripped(text)
        #expect(result.utf8.count == text.utf8.count)
        #expect(result.utf8.filter { $0 == UInt8(ascii: "\n") }.count == 6, "every line break stays")
        #expect(!result.contains("//"))
        #expect(result.contains("\r\n"), "a CRLF line keeps its CR")
        let decoded = try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Int]
        #expect(decoded == ["a": 1])
    }

    @Test func slashesInsideStringsAreNotComments() throws {
        let text = #"{"url": "https://hub.example.com//x", "q": "a \" // b", "c": "/*"}"#
        #expect(try stripped(text) == text)
    }

    @Test(arguments: [
        ("{\n  \"a\": 1 // one\n}", 2, 10),
        ("{\"a\": 1} /* block */", 1, 10),
        ("{\n\n  \"u\": \"x\", // \"y\"\n}", 3, 13),
    ])
    func aCommentAfterAValueIsRefusedByLineAndColumn(_ text: String, line: Int, column: Int) throws {
        let problem = try #require(throws: JSONLineComments.Problem.self) { try stripped(text) }
        #expect(problem.line == line)
        #expect(problem.description.hasPrefix("line \(line): a comment after column \(column);"), "\(problem)")
        #expect(problem.description.contains("whole lines starting with //"))
    }

    @Test func plainJSONIsUnchanged() throws {
        let text = "{\"services\": [], \"disk_path\": \"/\"}\n"
        #expect(try stripped(text) == text)
        #expect(try stripped("") == "")
    }
}

/// JSON with whole-line `//` comments, so a packaged config file (`/etc/lookout/agent.json`)
/// can explain itself and show the keys to uncomment. Only lines whose first non-blank
/// characters are `//` are comments; a `//` or `/*` after a value, outside a string, is
/// refused by line number, so a half-commented file is never silently read differently
/// from how it looks.
public enum JSONLineComments {
    /// Why a file's comments cannot be accepted.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let line: Int
        public let message: String

        public var description: String { "line \(line): \(message)" }
    }

    /// The bytes with every whole-line comment blanked out (spaces, so offsets and line
    /// numbers stay those of the file), ready for a strict JSON decoder.
    /// - Throws: ``Problem`` for a comment that does not start its line.
    public static func strip(_ bytes: [UInt8]) throws(Problem) -> [UInt8] {
        var output = bytes
        var lineStart = 0
        var lineNumber = 1
        while lineStart <= bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let line = bytes[lineStart..<lineEnd]
            let first = line.firstIndex { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            if let first, line[first...].starts(with: [UInt8(ascii: "/"), UInt8(ascii: "/")]) {
                for index in first..<lineEnd where bytes[index] != UInt8(ascii: "\r") {
                    output[index] = UInt8(ascii: " ")
                }
            } else if let column = commentOutsideString(line) {
                throw Problem(
                    line: lineNumber,
                    message:
                        "a comment after column \(column - lineStart + 1); comments must be whole lines starting with //"
                )
            }
            lineStart = lineEnd + 1
            lineNumber += 1
        }
        return output
    }

    /// The index of a `//` or `/*` outside a JSON string in one line, if any. JSON strings
    /// cannot span lines (a raw line break is invalid in them), so each line is scanned alone.
    private static func commentOutsideString(_ line: ArraySlice<UInt8>) -> Int? {
        var inString = false
        var escaped = false
        var index = line.startIndex
        while index < line.endIndex {
            let byte = line[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "/"), index + 1 < line.endIndex,
                line[index + 1] == UInt8(ascii: "/") || line[index + 1] == UInt8(ascii: "*")
            {
                return index
            }
            index += 1
        }
        return nil
    }
}

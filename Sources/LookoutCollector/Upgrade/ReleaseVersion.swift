/// A release number as the version stamp spells it (`0.1.0`, `0.1.10`, `1.0.0~rc1`),
/// compared the way an operator reads it: field by field as numbers, so `0.1.10` is newer
/// than `0.1.9` (a string comparison says the opposite).
///
/// After the dotted numbers a suffix may follow: one starting with `~` or `-` is a
/// pre-release and sorts before the plain number (`1.0.0~rc1 < 1.0.0`, as dpkg sorts `~`);
/// one starting with `+` is a rebuild and sorts after it. Two suffixes compare as text.
/// Missing fields count as 0 (`1.2 == 1.2.0`).
public struct ReleaseVersion: Comparable, Sendable, CustomStringConvertible {
    /// The version as it was written.
    public let text: String
    let numbers: [Int]
    let suffix: Substring

    /// The characters the stamp may hold (`[0-9A-Za-z.+~-]`, the shared contract).
    static func isStampCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "~"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }

    /// `nil` unless `text` starts with a number and holds only stamp characters.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 64, text.utf8.allSatisfy(Self.isStampCharacter) else { return nil }
        let numeric = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let fields = numeric.split(separator: ".", omittingEmptySubsequences: false)
        var numbers: [Int] = []
        for field in fields {
            // A trailing "." before a suffix ("1.0.~rc") or an empty field ("1..2") is not a version.
            guard let value = Int(field), field.count <= 9 else { return nil }
            numbers.append(value)
        }
        guard !numbers.isEmpty else { return nil }
        let suffix = text.dropFirst(numeric.count)
        if let first = suffix.first, !"~-+".contains(first) { return nil }
        self.text = text
        self.numbers = numbers
        self.suffix = suffix
    }

    public var description: String { text }

    public static func == (a: ReleaseVersion, b: ReleaseVersion) -> Bool { !(a < b) && !(b < a) }

    public static func < (a: ReleaseVersion, b: ReleaseVersion) -> Bool {
        for index in 0..<max(a.numbers.count, b.numbers.count) {
            let x = index < a.numbers.count ? a.numbers[index] : 0
            let y = index < b.numbers.count ? b.numbers[index] : 0
            if x != y { return x < y }
        }
        return rank(a.suffix) != rank(b.suffix) ? rank(a.suffix) < rank(b.suffix) : a.suffix < b.suffix
    }

    /// Pre-release (`~`, `-`) before the plain number before a rebuild (`+`).
    private static func rank(_ suffix: Substring) -> Int {
        switch suffix.first {
        case nil: 1
        case "+": 2
        default: 0
        }
    }

}

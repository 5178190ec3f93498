/// The identifier of one monitored machine.
///
/// A vm_id names a folder in the data directory and appears in URLs, so it is
/// restricted to `[A-Za-z0-9._-]{1,64}`, never starts with `.` (which also rules out `.`
/// and `..`), and is never one of the names the hub uses for its own files in the data
/// folder (``reservedNames``; DESIGN §3).
/// Every place where a vm_id enters Lookout (folder name, document field, URL,
/// command line) goes through ``init(validating:)``.
public struct VMID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// The longest vm_id accepted.
    public static let maxLength = 64

    /// Validates `text` against the vm_id rule.
    /// - Throws: ``VMIDError`` naming what is wrong with `text`.
    public init(validating text: String) throws(VMIDError) {
        if let problem = VMID.problem(with: text) {
            throw VMIDError(value: text, reason: problem)
        }
        self.rawValue = text
    }

    /// Names of the hub's own files and folders in the data folder. A VM with one of these
    /// ids would have its folder collide with them (`outbox/`, `history/`) or its files
    /// read as the hub's (`alerts.json`, the SQLite database and its `-wal`/`-shm`/`-journal`
    /// companions). Hidden names (`.alerts.lock`, temp files) are ruled out by the dot rule.
    public static let reservedNames: Set<String> = [
        "outbox", "history", "alerts.json", "silences.json", "enrollments.json", "vm-tokens.json", "lookout.sqlite",
        "lookout.sqlite-wal",
        "lookout.sqlite-shm", "lookout.sqlite-journal",
    ]

    /// `nil` when `text` is a valid vm_id, else a sentence saying why it is not.
    public static func problem(with text: String) -> String? {
        if text.isEmpty { return "it is empty" }
        if text == "." || text == ".." { return "'.' and '..' are not allowed" }
        if text.utf8.first == UInt8(ascii: ".") { return "it starts with '.' (names the hub keeps hidden)" }
        var count = 0
        for byte in text.utf8 {
            count += 1
            if count > maxLength { return "it is longer than \(maxLength) characters" }
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            default:
                return "only letters, digits, '.', '_' and '-' are allowed"
            }
        }
        if reservedNames.contains(text) { return "\"\(text)\" is the name of one of the hub's own files" }
        return nil
    }

    public var description: String { rawValue }

    public static func < (lhs: VMID, rhs: VMID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A vm_id that breaks the rule of DESIGN §3.
public struct VMIDError: Error, CustomStringConvertible, Equatable {
    public let value: String
    public let reason: String

    public var description: String {
        "invalid vm_id \"\(value.prefix(80))\": \(reason) (allowed: [A-Za-z0-9._-]{1,64}, not starting with '.', not a name of the hub's own files)"
    }
}

extension VMID: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(validating: text)
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

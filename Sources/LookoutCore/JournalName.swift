#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How the agent's journal names its files: `DATA/<vm_id>/journal/<unix seconds>.json`.
///
/// The agent writes them and the hub reads them, so the rule lives here, once. The seconds
/// are zero-padded to 12 digits (good until the year 33658), so names sort as their times
/// do and `ls` shows the oldest first; a longer run of digits is still read, so nothing
/// breaks the day the padding runs out.
public enum JournalName {
    /// The folder inside a VM's folder that holds the journal.
    public static let folder = "journal"

    /// The file name of the sample taken at `date` (whole seconds, rounded down).
    public static func name(for date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let digits = String(seconds)
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".json"
    }

    /// The unix seconds a journal file name stands for (12 to 18 digits, so it fits an
    /// `Int64`), or `nil` when the name is not one (temp files, conflict copies, anything an
    /// operator left there).
    public static func seconds(of name: String) -> Int64? {
        let bytes = Array(name.utf8)
        guard bytes.count >= 17, bytes.count <= 23, bytes.suffix(5).elementsEqual(".json".utf8) else { return nil }
        var value: Int64 = 0
        for byte in bytes.dropLast(5) {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// The seconds of `date` as the name carries them, to compare a name with its document.
    public static func seconds(of date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down))
    }
}

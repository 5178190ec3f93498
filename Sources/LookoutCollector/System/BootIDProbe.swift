/// This boot's id from `/proc/sys/kernel/random/boot_id`, a random UUID the kernel draws
/// at every boot: the exact sign of a reboot between two samples (`btime` is only the
/// fallback, as it moves with the wall clock).
public enum BootIDProbe {
    static let file = "sys/kernel/random/boot_id"

    /// Reads the boot id under the procfs root, or `nil` where the kernel has none (before
    /// 2.6.29, some containers) or the file holds something else than an id.
    public static func read(from procfs: ProcFS) -> String? {
        guard let text = try? procfs.read(file) else { return nil }
        return parse(text)
    }

    /// The id in `text` (`0f6e4c4e-8f0b-4a5e-9d6c-1a2b3c4d5e6f` and a line break), or `nil`
    /// unless it is 1 to 64 hex digits and dashes: it goes into the document and the
    /// state file as it is, so nothing else may pass.
    public static func parse(_ text: String) -> String? {
        var id = Substring(text)
        while let last = id.utf8.last, last == 0x0A || last == 0x20 { id = id.dropLast() }
        let valid = id.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) || (0x41...0x46).contains(byte)
                || byte == 0x2D
        }
        return valid && (1...64).contains(id.utf8.count) ? String(id) : nil
    }
}

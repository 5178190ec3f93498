/// The mounts of the agent's mount namespace, from `/proc/self/mountinfo` (proc(5)).
///
/// mountinfo rather than `/proc/mounts`: it carries each mount's device number
/// (`major:minor`), which is what ties a mount to its line of `/proc/diskstats` and what
/// tells a bind mount from a second filesystem.
public enum MountInfo {
    /// One line of mountinfo, reduced to what the agent uses.
    public struct Mount: Sendable, Equatable {
        /// The device number of the filesystem (`0:NN` for those with no block device).
        public var major: UInt32
        public var minor: UInt32
        /// The directory of the filesystem that is mounted here: `/` for a whole
        /// filesystem, a subdirectory for a bind mount (or a btrfs subvolume), `net:[…]`
        /// for a namespace file.
        public var root: String
        /// Where it is mounted, escapes decoded (`/mnt/my disk`).
        public var mountPoint: String
        public var fstype: String
        /// What was mounted: `/dev/vda1`, `tmpfs`, `overlay`, `rpool/ROOT`, `host:/export`.
        public var source: String

        public init(major: UInt32, minor: UInt32, root: String, mountPoint: String, fstype: String, source: String) {
            self.major = major
            self.minor = minor
            self.root = root
            self.mountPoint = mountPoint
            self.fstype = fstype
            self.source = source
        }

        /// `major:minor`, as diskstats' first two columns and sysfs' `dev` files write it.
        public var deviceNumber: String { "\(major):\(minor)" }
    }

    static let file = "self/mountinfo"

    /// Reads `self/mountinfo` under the procfs root.
    public static func read(from procfs: ProcFS) throws(CollectorError) -> [Mount] {
        try parse(procfs.read(file), path: procfs.path(file))
    }

    /// Parses the text of mountinfo, in the kernel's order (mount order, so a mount that
    /// hides another comes after it).
    ///
    /// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`:
    /// mount id, parent id, major:minor, root, mount point, options, zero or more optional
    /// fields ended by `-`, then fstype, source and superblock options. The kernel escapes
    /// space, tab, line feed and backslash in paths as `\040`, `\011`, `\012`, `\134`.
    /// - Parameter path: the file the text came from, named in errors.
    /// - Throws: ``CollectorError`` naming the first line that does not have this shape.
    public static func parse(_ text: String, path: String) throws(CollectorError) -> [Mount] {
        var mounts: [Mount] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            // Not collapsing runs of spaces: an empty source would shift every later field.
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            let quoted = "mountinfo line \"\(line.prefix(120))\""
            guard fields.count >= 10, let dash = fields.dropFirst(6).firstIndex(of: "-"), dash + 2 < fields.count
            else { throw .malformed(path, quoted) }
            let numbers = fields[2].split(separator: ":", omittingEmptySubsequences: false)
            guard numbers.count == 2, let major = UInt32(numbers[0]), let minor = UInt32(numbers[1]),
                fields[4].hasPrefix("/"), !fields[dash + 1].isEmpty
            else { throw .malformed(path, quoted) }
            mounts.append(
                Mount(
                    major: major, minor: minor, root: unescape(fields[3]), mountPoint: unescape(fields[4]),
                    fstype: unescape(fields[dash + 1]), source: unescape(fields[dash + 2])))
        }
        return mounts
    }

    /// The mount that is visible at `mountPoint`: the last one mounted there, as the kernel
    /// lists stacked mounts in the order they were made.
    public static func visible(at mountPoint: String, in mounts: [Mount]) -> Mount? {
        mounts.last { $0.mountPoint == mountPoint }
    }

    /// Decodes the kernel's `\ooo` octal escapes; a backslash not followed by three octal
    /// digits is kept as it is.
    static func unescape(_ field: Substring) -> String {
        guard field.utf8.contains(0x5C) else { return String(field) }
        let bytes = Array(field.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x5C, i + 3 < bytes.count {
                let digits = bytes[(i + 1)...(i + 3)]
                if digits.allSatisfy({ (0x30...0x37).contains($0) }) {
                    let value = digits.reduce(0) { $0 * 8 + Int($1 - 0x30) }
                    if value <= 0xFF {
                        out.append(UInt8(value))
                        i += 4
                        continue
                    }
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

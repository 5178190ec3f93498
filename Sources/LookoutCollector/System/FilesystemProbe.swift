import Logging
import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which filesystems `system.filesystems` lists beside the root (agent config `filesystems`).
public enum FilesystemSelection: Codable, Sendable, Equatable {
    /// These mount points, in this order (`[]`: the root filesystem only).
    case paths([String])
    /// Every real block-device filesystem of mountinfo (``FilesystemProbe/isRealBlockFilesystem(_:)``).
    case auto

    /// More would make the document big and the dashboard unreadable; `system.filesystems`
    /// holds at most this many entries, the root included.
    public static let limit = 64

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let word = try? c.decode(String.self) {
            guard word == "auto" else {
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "\"\(word.prefix(80))\" is neither \"auto\" nor a list of mount points")
            }
            self = .auto
            return
        }
        let listed = try c.decode([String].self)
        guard listed.count < Self.limit else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "\(listed.count) mount points, at most \(Self.limit - 1) beside the root")
        }
        var paths: [String] = []
        for (index, path) in listed.enumerated() {
            let problem: String? =
                if !path.hasPrefix("/") {
                    "\"\(path.prefix(80))\" is not an absolute path (it must start with /)"
                } else if path.containsControlCharacter {
                    "\"\(path.replacingControlCharacters().prefix(80))\" holds a control character"
                } else if path.utf8.count > 4096 {
                    "is longer than 4096 bytes"
                } else if paths.contains(Self.normalised(path)) {
                    "\"\(path.prefix(80))\" is listed twice"
                } else {
                    nil
                }
            if let problem {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: c.codingPath + [AnyCodingKey(intValue: index)], debugDescription: problem))
            }
            paths.append(Self.normalised(path))
        }
        self = .paths(paths)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .auto: try c.encode("auto")
        case .paths(let paths): try c.encode(paths)
        }
    }

    /// `/srv/backup/` → `/srv/backup`, as mountinfo writes mount points.
    static func normalised(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }
}

/// `system.filesystems`: the root filesystem first, then the configured mount points (or,
/// with `"auto"`, every real block-device filesystem), each measured with `statvfs` exactly
/// as `system.disk` is (``DiskProbe``).
public struct FilesystemProbe: Sendable {
    /// Measures the filesystem mounted at a path; injected by tests that have no such mount.
    public typealias Statvfs = @Sendable (String) throws(CollectorError) -> DiskMetrics

    public var selection: FilesystemSelection
    public var statvfs: Statvfs
    let logger: Logger
    let warned = OncePerKey()

    public init(
        selection: FilesystemSelection = .paths([]), logger: Logger,
        statvfs: @escaping Statvfs = { path throws(CollectorError) in try DiskProbe.read(path: path) }
    ) {
        self.selection = selection
        self.statvfs = statvfs
        self.logger = logger
    }

    /// Filesystem types that are never listed by `"auto"` even with a `/dev/…` source:
    /// memory and pseudo filesystems, container layers, and read-only images (squashfs of
    /// snaps, ISO images) that are always full by design and would only raise disk alerts.
    /// FUSE mounts are left out too (`fuse.sshfs` may hang statvfs when the far side is
    /// gone), except `fuseblk`, which is a FUSE driver for a local block device (ntfs-3g).
    public static let pseudoTypes: Set<String> = [
        "tmpfs", "devtmpfs", "ramfs", "overlay", "aufs", "squashfs", "erofs", "cramfs", "iso9660", "nsfs", "proc",
        "sysfs", "cgroup", "cgroup2", "autofs", "devpts", "mqueue", "hugetlbfs", "debugfs", "tracefs", "securityfs",
        "pstore", "bpf", "configfs", "fusectl", "binfmt_misc", "efivarfs", "selinuxfs", "rpc_pipefs", "nfsd", "fuse",
    ]

    /// Whether `"auto"` lists a mount: its source is a device node (`/dev/…`, which leaves
    /// out NFS, CIFS, zfs datasets and every pseudo filesystem) and its type is not in
    /// ``pseudoTypes`` or another FUSE type than `fuseblk`.
    public static func isRealBlockFilesystem(_ mount: MountInfo.Mount) -> Bool {
        mount.source.hasPrefix("/dev/") && !pseudoTypes.contains(mount.fstype) && !mount.fstype.hasPrefix("fuse.")
    }

    /// A mount left out, and why, for the log.
    public struct Skipped: Sendable, Equatable {
        public var path: String
        public var reason: String

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// The mounts to measure, root first, and those left out with the reason.
    ///
    /// Only the visible mount of each mount point counts (the last one mounted there). A
    /// mount of a device already listed (a bind mount, a btrfs subvolume: same
    /// `major:minor`) is the same filesystem and is counted once: `"auto"` keeps the
    /// whole filesystem's mount, else the shortest mount point; a configured list keeps the
    /// first one and says so. A
    /// configured path that is not a mount point is skipped: measuring it would report the
    /// filesystem it happens to live on under its name.
    /// - Parameter exists: whether a path exists, to tell "missing" from "not a mount point".
    public static func select(
        _ selection: FilesystemSelection, mounts: [MountInfo.Mount],
        exists: (String) -> Bool = { access($0, F_OK) == 0 }
    ) -> (mounts: [MountInfo.Mount], skipped: [Skipped]) {
        guard let root = MountInfo.visible(at: "/", in: mounts) else { return ([], []) }
        var lastIndex: [String: Int] = [:]
        for (index, mount) in mounts.enumerated() { lastIndex[mount.mountPoint] = index }
        let visible = mounts.enumerated().filter { lastIndex[$0.element.mountPoint] == $0.offset }.map(\.element)
        var chosen = [root]
        var byDevice = [root.deviceNumber: root.mountPoint]
        var skipped: [Skipped] = []
        func add(_ mount: MountInfo.Mount) {
            if let first = byDevice[mount.deviceNumber] {
                skipped.append(Skipped(path: mount.mountPoint, reason: "the same filesystem as \(first), counted once"))
            } else if let problem = [mount.mountPoint, mount.source, mount.fstype].first(where: {
                $0.containsControlCharacter || $0.utf8.count > 4096
            }) {
                skipped.append(
                    Skipped(
                        path: mount.mountPoint.replacingControlCharacters(),
                        reason: "\"\(problem.replacingControlCharacters().prefix(80))\" cannot go into a document"))
            } else if chosen.count >= FilesystemSelection.limit {
                skipped.append(
                    Skipped(path: mount.mountPoint, reason: "more than \(FilesystemSelection.limit) filesystems"))
            } else {
                chosen.append(mount)
                byDevice[mount.deviceNumber] = mount.mountPoint
            }
        }
        switch selection {
        case .auto:
            let real = visible.filter { $0.mountPoint != "/" && isRealBlockFilesystem($0) }
            // The mount of the whole filesystem first (a bind mount shows a subdirectory as
            // its root), then the shortest mount point: /srv/backup, not /var/www bound from it.
            func key(_ mount: MountInfo.Mount) -> (Int, Int, String) {
                (mount.root == "/" ? 0 : 1, mount.mountPoint.utf8.count, mount.mountPoint)
            }
            for mount in real.sorted(by: { key($0) < key($1) }) { add(mount) }
            let tail = chosen.dropFirst().sorted { $0.mountPoint < $1.mountPoint }
            chosen = [root] + tail
        case .paths(let paths):
            for path in paths.map(FilesystemSelection.normalised) where path != "/" {
                if let mount = visible.last(where: { $0.mountPoint == path }) {
                    add(mount)
                } else if !exists(path) {
                    skipped.append(Skipped(path: path, reason: "it does not exist"))
                } else {
                    let holder = visible.filter { path.hasPrefix($0.mountPoint == "/" ? "/" : $0.mountPoint + "/") }
                        .max { $0.mountPoint.utf8.count < $1.mountPoint.utf8.count }
                    skipped.append(
                        Skipped(
                            path: path,
                            reason:
                                "it is not a mount point (it lives on the filesystem of \(holder?.mountPoint ?? "/"))"
                        ))
                }
            }
        }
        return (chosen, skipped)
    }

    /// Measures the selected filesystems, or `nil` when mountinfo has no root mount
    /// (nothing can be said about which filesystem is which). Every mount left out or that
    /// statvfs cannot measure is logged as a warning once per process, then skipped.
    public func read(mounts: [MountInfo.Mount]) -> [FilesystemMetrics]? {
        let (chosen, skipped) = Self.select(selection, mounts: mounts)
        guard !chosen.isEmpty else {
            if warned.claim("no root") {
                logger.warning("filesystems left out: mountinfo lists no mount on /")
            }
            return nil
        }
        for skip in skipped where warned.claim("skip \(skip.path)") {
            // A bind mount found by "auto" is expected on every docker host: not worth a warning.
            if case .auto = selection, skip.reason.hasPrefix("the same filesystem") {
                logger.debug("filesystems: \(skip.path) skipped: \(skip.reason)")
            } else {
                logger.warning("filesystems: \(skip.path) skipped: \(skip.reason)")
            }
        }
        var result: [FilesystemMetrics] = []
        for mount in chosen {
            do {
                let disk = try statvfs(mount.mountPoint)
                result.append(
                    FilesystemMetrics(
                        path: mount.mountPoint, device: mount.source, fstype: mount.fstype, totalGB: disk.totalGB,
                        usedGB: disk.usedGB, percent: disk.percent))
            } catch {
                if warned.claim("statvfs \(mount.mountPoint)") {
                    logger.warning("filesystems: \(mount.mountPoint) skipped: \(error)")
                }
            }
        }
        return result.isEmpty ? nil : result
    }
}

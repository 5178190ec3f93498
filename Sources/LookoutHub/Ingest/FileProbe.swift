import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The few file-system questions the folder watcher asks, answered with plain POSIX calls.
///
/// Paths are handled as bytes: a folder name that is not UTF-8 must still be found again
/// (to be refused by name), and a resolved symlink is compared with the data folder byte
/// for byte, never through a repaired `String`.
enum FileProbe {
    /// What `stat` or `lstat` said about one path.
    struct Info: Equatable {
        enum Kind: Equatable { case file, folder, symlink, other }
        let kind: Kind
        let stamp: FileStamp
    }

    /// One name in a folder listing, as the file system spells it.
    struct Name {
        let bytes: [UInt8]
        /// The name, or `nil` when it is not UTF-8.
        var text: String? { String(validating: bytes, as: UTF8.self) }
        /// The name for log lines and keys (invalid bytes shown as U+FFFD).
        var display: String { String(decoding: bytes, as: UTF8.self) }
        var isHidden: Bool { bytes.first == UInt8(ascii: ".") }
    }

    /// `stat` (following symlinks) or `lstat`; `nil` when the path cannot be examined.
    static func info(_ path: [UInt8], followSymlinks: Bool) -> Info? {
        try? examine(path, followSymlinks: followSymlinks)
    }

    /// `stat` (following symlinks) or `lstat`, with the system's reason when it fails.
    static func examine(_ path: [UInt8], followSymlinks: Bool) throws(FileError) -> Info {
        var st = stat()
        let rc = withCString(path) { followSymlinks ? stat($0, &st) : lstat($0, &st) }
        guard rc == 0 else {
            throw FileError(path: String(decoding: path, as: UTF8.self), operation: "examine", errno: errno)
        }
        let kind: Info.Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .folder
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        let stamp = FileStamp(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
            modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            changed: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
        return Info(kind: kind, stamp: stamp)
    }

    /// The canonical path (`realpath`): every symlink and `..` resolved.
    static func resolve(_ path: [UInt8]) throws(FileError) -> [UInt8] {
        let resolved = withCString(path) { realpath($0, nil) }
        guard let resolved else {
            throw FileError(path: String(decoding: path, as: UTF8.self), operation: "resolve", errno: errno)
        }
        defer { free(resolved) }
        return Array(UnsafeRawBufferPointer(start: resolved, count: strlen(resolved)))
    }

    /// Whether the call failed for lack of permission (as opposed to a missing file).
    static func isPermissionDenied(_ error: FileError) -> Bool { error.code == EACCES }

    /// Whether canonical `path` is `root` or lies below it.
    static func isInside(_ path: [UInt8], root: [UInt8]) -> Bool {
        if path == root || root == [UInt8(ascii: "/")] { return true }
        return path.count > root.count && path.starts(with: root) && path[root.count] == UInt8(ascii: "/")
    }

    /// The names in `folder`, without `.` and `..`.
    static func list(_ folder: [UInt8]) throws(FileError) -> [Name] {
        guard let dir = withCString(folder, { opendir($0) }) else {
            throw FileError(path: String(decoding: folder, as: UTF8.self), operation: "list", errno: errno)
        }
        defer { closedir(dir) }
        var names: [Name] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if bytes == [UInt8(ascii: ".")] || bytes == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(Name(bytes: bytes))
        }
        return names
    }

    private static func withCString<T>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        (path + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }
}

/// The identity and version of a file: when any part differs, the file is new or was rewritten.
///
/// Inode and device catch the rename of an atomic write (Syncthing, rsync and our own agent
/// all write a temp file and rename it), even when the sync tool copies the sender's mtime.
/// Size and mtime catch writers that rewrite in place (NFS, `rsync --inplace`). The change
/// time, which no tool can set, catches an in-place rewrite of the same size that kept the
/// old mtime.
struct FileStamp: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    /// Nanoseconds since the epoch.
    var modified: Int64
    /// Nanoseconds since the epoch.
    var changed: Int64
}

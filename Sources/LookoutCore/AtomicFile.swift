#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes whole files so that a reader sees the old content or the new, never a torn one.
///
/// The one piece of file I/O in `LookoutCore`: the agent, the hub's state files and the
/// daily aggregates all need exactly this, and the two sides may not import each other.
/// The temp file lives in the destination folder (a rename is only atomic within one
/// file system), starts with `.` and ends in `.tmp`, so the hub's folder watcher and
/// sync tools' ignore patterns skip it.
public enum AtomicFile {
    /// Writes `bytes` to `path`: temp file in the same folder, fsync, rename, fsync folder.
    /// - Parameters:
    ///   - mode: permission bits for a new file.
    ///   - durable: fsync the file and the folder, so the new content survives a power
    ///     cut. A cache that can be rebuilt (the agent's CPU counters) passes `false`: it is
    ///     still never torn, and a sample skips two disk flushes.
    public static func write(
        _ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o644, durable: Bool = true
    ) throws(FileError) {
        let (folder, name) = split(path)
        let tempPath = "\(folder)/.\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(path: tempPath, operation: "create", errno: errno) }
        var written = 0
        let buffer = Array(bytes)
        while written < buffer.count {
            let n = buffer[written...].withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress, raw.count)
            }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(tempPath)
                throw FileError(path: tempPath, operation: "write", errno: code)
            }
            written += n
        }
        if durable && fsync(fd) != 0 {
            let code = errno
            close(fd)
            unlink(tempPath)
            throw FileError(path: tempPath, operation: "fsync", errno: code)
        }
        close(fd)
        if rename(tempPath, path) != 0 {
            let code = errno
            unlink(tempPath)
            throw FileError(path: path, operation: "rename into place", errno: code)
        }
        guard durable else { return }
        // Make the rename itself durable: without this a crash can bring the old file back.
        let dirFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    /// Creates `path` and its parents (like `mkdir -p`).
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(FileError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw FileError(path: current, operation: "create folder", errno: errno)
            }
        }
    }

    /// Reads a whole file, refusing anything larger than `limit` bytes.
    public static func read(_ path: String, limit: Int) throws(FileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
            if result.count > limit {
                throw FileError(path: path, operation: "read", reason: "larger than \(limit) bytes")
            }
        }
        return result
    }

    /// The names in `folder` (no `.` or `..`), unsorted; empty when it cannot be read.
    public static func fileNames(in folder: String) -> [String] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The folder part of `path` (`.` for a bare file name).
    public static func folder(of path: String) -> String { split(path).folder }

    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }
}

/// A file-system call that failed, with the path and the system's reason.
public struct FileError: Error, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let reason: String
    /// The errno value, when the failure came from the system.
    public let code: Int32?

    public init(path: String, operation: String, errno code: Int32) {
        self.path = path
        self.operation = operation
        self.reason = String(cString: strerror(code))
        self.code = code
    }

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
        self.code = nil
    }

    public var isNotFound: Bool { code == ENOENT }

    public var description: String { "could not \(operation) \(path): \(reason)" }
}

import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Puts a new agent binary in place of the installed one without a moment where the path
/// is missing, half written or "Text file busy".
///
/// Writing into a running executable fails with ETXTBSY; renaming a new file over its path
/// does not: the running process keeps its (now unnamed) old file, the next start gets the
/// new one. So the new bytes go to a temp file in the same folder (rename is only atomic
/// within one file system), are synced, proven to run (`--version`), and only then renamed
/// over the path, after the old file got its second name `<path>.previous`.
public struct BinaryReplacer: Sendable {
    /// The installed binary, e.g. `/usr/local/bin/lookout-agent`.
    public let path: String
    /// Prints a binary's version; ``VersionProbe/version(of:)`` outside tests.
    public var versionOf: @Sendable (String) throws(UpgradeError) -> String = { path throws(UpgradeError) in
        try VersionProbe.version(of: path)
    }

    public init(path: String) {
        self.path = path
    }

    /// Where the binary before the last upgrade (or rollback) is kept.
    public var previousPath: String { "\(path).previous" }

    var folder: String { AtomicFile.folder(of: path) }

    /// Installs `bytes` if they run and print `version`; keeps the old file as ``previousPath``.
    public func install(_ bytes: [UInt8], expecting version: String) throws(UpgradeError) {
        let temp = try writeTemp(bytes)
        do throws(UpgradeError) {
            let printed = try versionOf(temp)
            guard printed == version else {
                throw .failed(
                    "the downloaded binary says it is \(printed.prefix(80)), not \(version): keeping the installed one")
            }
            try keepPrevious()
            try move(temp, over: path)
        } catch {
            unlink(temp)
            throw error
        }
    }

    /// Swaps the installed binary and ``previousPath`` (so a second rollback undoes the
    /// first); returns the version now installed.
    @discardableResult
    public func rollback() throws(UpgradeError) -> String {
        guard access(previousPath, F_OK) == 0 else {
            throw .failed("there is no \(previousPath) to roll back to (it is kept by an upgrade)")
        }
        let restored = try secondName(of: previousPath, as: "rollback")
        let current = try secondName(of: path, as: "current")
        do throws(UpgradeError) {
            let version = try versionOf(restored)
            try move(restored, over: path)
            try move(current, over: previousPath)
            return version
        } catch {
            unlink(restored)
            unlink(current)
            throw error
        }
    }

    // MARK: Steps

    private func tempPath(_ role: String) -> String {
        "\(folder)/.lookout-agent.\(role).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
    }

    private func problem(_ operation: String, _ target: String, _ code: Int32) -> UpgradeError {
        let hint = code == EACCES || code == EPERM || code == EROFS ? " (run it as the user who owns \(folder))" : ""
        return .failed("could not \(operation) \(target): \(String(cString: strerror(code)))\(hint)")
    }

    /// The new bytes, mode 0755, synced to disk.
    private func writeTemp(_ bytes: [UInt8]) throws(UpgradeError) -> String {
        let temp = tempPath("upgrade")
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o700)
        guard fd >= 0 else { throw problem("write a new binary in", folder, errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let code = errno
                close(fd)
                unlink(temp)
                throw problem("write", temp, code)
            }
            written += n
        }
        // fchmod, not open's mode: the umask must not leave the agent unexecutable for its service user.
        let synced = fchmod(fd, 0o755) == 0 && fsync(fd) == 0
        let code = errno
        // Closed before it runs: an executable still open for writing gives ETXTBSY.
        close(fd)
        guard synced else {
            unlink(temp)
            throw problem("sync", temp, code)
        }
        return temp
    }

    /// A second name for `source` in the folder: a hard link, or a synced copy where the
    /// file system has none.
    private func secondName(of source: String, as role: String) throws(UpgradeError) -> String {
        let temp = tempPath(role)
        if link(source, temp) == 0 { return temp }
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(source, limit: 1 << 30)
        } catch {
            throw .failed("could not read \(source): \(error)")
        }
        do {
            try AtomicFile.write(bytes, to: temp, mode: 0o755)
        } catch {
            throw .failed("could not copy \(source): \(error)")
        }
        return temp
    }

    /// The installed binary also named ``previousPath`` (replacing an older one).
    private func keepPrevious() throws(UpgradeError) {
        let temp = try secondName(of: path, as: "previous")
        do throws(UpgradeError) {
            try move(temp, over: previousPath)
        } catch {
            unlink(temp)
            throw error
        }
    }

    private func move(_ source: String, over target: String) throws(UpgradeError) {
        guard rename(source, target) == 0 else { throw problem("rename into place", target, errno) }
        let dirFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }
}

import LookoutCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The agent binaries the hub hands out (`/install/*`): `DIR/<arch>/lookout-agent`, where
/// `<arch>` is what `uname -m` prints on the VM (`x86_64`, `aarch64`). The SHA-256 and the
/// version stamp of each are computed once per (device, inode, size, mtime) and cached, so a
/// request costs a `stat`, not a pass over a 10 MB file.
public final class AgentBinaries: Sendable {
    public let folder: String

    /// One binary as `/install/agents.json` lists it.
    public struct Agent: Sendable, Equatable {
        public let arch: String
        public let path: String
        public let size: Int
        public let sha256: String
        /// From the `LOOKOUT_VERSION=` stamp in its bytes; nil when it has none.
        public let version: String?
    }

    struct Identity: Equatable {
        let device: UInt64, inode: UInt64, size: Int, seconds: Int, nanoseconds: Int
    }

    private let cache = Mutex<[String: (Identity, Agent)]>([:])
    /// Held while a checksum is computed, so a request arriving during the start-up pass
    /// waits for its result instead of reading the file a second time.
    private let computing = Mutex(())

    /// The most bytes read from one binary (a release agent is ~10 MB, a debug one ~15 MB).
    public static let sizeLimit = 256 << 20

    public init(folder: String) {
        self.folder = folder
    }

    /// The package's folder when it exists, else `dist/` beside the running binary (or the
    /// `dist/` the binary runs from, `dist/<arch>/lookout`), else `dist/` in the working
    /// folder; nil when there is none.
    public static func defaultFolder(executable: String?) -> String? {
        var candidates = ["/usr/lib/lookout/agents"]
        if let executable {
            let folder = AtomicFile.folder(of: executable)
            candidates.append("\(folder)/dist")
            let parent = AtomicFile.folder(of: folder)
            if parent.hasSuffix("/dist") || parent == "dist" { candidates.append(parent) }
        }
        candidates.append("dist")
        return candidates.first { candidate in
            var info = stat()
            return stat(candidate, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
        }
    }

    /// An architecture name as `uname -m` prints them; anything else (`..`, `a/b`) names no file.
    public static func isArchitecture(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 32
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                    return true
                default: return false
                }
            }
    }

    /// The architectures that have a regular `lookout-agent` file under `folder`, sorted.
    static func architectures(in folder: String) -> [String] {
        AtomicFile.fileNames(in: folder).filter { name in
            var info = stat()
            return isArchitecture(name) && stat("\(folder)/\(name)/lookout-agent", &info) == 0
                && info.st_mode & S_IFMT == S_IFREG
        }.sorted()
    }

    /// The architectures this hub has a binary for.
    public func architectures() -> [String] { Self.architectures(in: folder) }

    /// The file of `arch`'s binary (`arch` must pass ``isArchitecture(_:)``).
    public func path(of arch: String) -> String { "\(folder)/\(arch)/lookout-agent" }

    /// `arch`'s binary with its checksum and version, or nil when there is none.
    /// - Throws: `FileError` when the file is there but cannot be read, or is too large.
    public func agent(_ arch: String) throws(FileError) -> Agent? {
        guard Self.isArchitecture(arch) else { return nil }
        let path = path(of: arch)
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        let identity = Identity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int(info.st_size),
            seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec))
        if let agent = cached(arch, identity) { return agent }
        guard identity.size <= Self.sizeLimit else {
            throw FileError(path: path, operation: "read", errno: EFBIG)
        }
        return try computing.withLock { (_: inout ()) throws(FileError) -> Agent in
            if let agent = cached(arch, identity) { return agent }
            let bytes = try AtomicFile.read(path, limit: Self.sizeLimit)
            let agent = Agent(
                arch: arch, path: path, size: bytes.count, sha256: SHA256.hex(bytes), version: Self.version(in: bytes))
            cache.withLock { $0[arch] = (identity, agent) }
            return agent
        }
    }

    private func cached(_ arch: String, _ identity: Identity) -> Agent? {
        cache.withLock { entries in entries[arch].flatMap { $0.0 == identity ? $0.1 : nil } }
    }

    /// Every binary, sorted by architecture; one that cannot be read is left out (and named
    /// in `problems`).
    public func agents() -> (agents: [Agent], problems: [String]) {
        var agents: [Agent] = []
        var problems: [String] = []
        for arch in architectures() {
            do {
                if let agent = try agent(arch) { agents.append(agent) }
            } catch {
                problems.append("\(arch): \(error)")
            }
        }
        return (agents, problems)
    }

    /// The version in a binary's `LOOKOUT_VERSION=` stamp: the bytes after it up to the first
    /// one outside `[0-9A-Za-z.+~-]` (the shared contract; the agent's `upgrade` reads it so too).
    public static func version(in bytes: [UInt8]) -> String? {
        let prefix = Array(LookoutVersion.stampPrefix.utf8)
        guard bytes.count > prefix.count else { return nil }
        var start = 0
        while start + prefix.count < bytes.count {
            guard let first = bytes[start...].firstIndex(of: prefix[0]) else { return nil }
            if first + prefix.count <= bytes.count, bytes[first..<(first + prefix.count)].elementsEqual(prefix) {
                let value = bytes[(first + prefix.count)...].prefix(while: isVersionByte)
                if !value.isEmpty { return String(decoding: value.prefix(64), as: UTF8.self) }
            }
            start = first + 1
        }
        return nil
    }

    static func isVersionByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "~"),
            UInt8(ascii: "-"):
            return true
        default: return false
        }
    }
}

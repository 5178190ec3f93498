import LookoutCore

/// Resolves and reads files under a procfs root.
///
/// The only place a `/proc` path is built: tests point `root` at a fixture tree
/// (as node_exporter's `--path.procfs` does), the agent at `--procfs`.
public struct ProcFS: Sendable {
    public let root: String

    /// procfs files are small; anything bigger is not a procfs file.
    static let readLimit = 1 << 20

    public init(root: String = "/proc") {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// The full path of `name` (e.g. `stat`, `sys/kernel/random/boot_id`) under the root.
    public func path(_ name: String) -> String { "\(root)/\(name)" }

    /// Reads `name` under the root as text.
    public func read(_ name: String) throws(CollectorError) -> String {
        let path = path(name)
        do {
            let bytes = try AtomicFile.read(path, limit: ProcFS.readLimit)
            return String(decoding: bytes, as: UTF8.self)
        } catch {
            throw .unreadable(path, error.reason)
        }
    }
}

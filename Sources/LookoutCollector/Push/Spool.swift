import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// Documents that could not be pushed yet, one file each, oldest first.
///
/// File names start with the document's Unix time, zero-padded, so a plain name sort is
/// delivery order. The folder is bounded: past `limit` files the oldest are dropped,
/// with a log line, so a hub that is gone for a month cannot fill a small VM's disk.
public struct Spool: Sendable {
    public let folder: String
    public let limit: Int

    public init(folder: String, limit: Int) {
        self.folder = folder
        self.limit = limit
    }

    /// Paths of the spooled documents, oldest first.
    public func pending() -> [String] {
        AtomicFile.fileNames(in: folder).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
            .map { "\(folder)/\($0)" }
    }

    /// Keeps `document` for a later run. Returns the paths dropped to stay within the limit.
    @discardableResult
    public func add(_ document: [UInt8], timestamp: Int64) throws(FileError) -> [String] {
        try AtomicFile.makeDirectories(folder, mode: 0o700)
        let stamp = String(max(0, timestamp))
        let padded = String(repeating: "0", count: max(0, 12 - stamp.count)) + stamp
        let name = "\(padded)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16)).json"
        try AtomicFile.write(document, to: "\(folder)/\(name)", mode: 0o600)
        let all = pending()
        guard all.count > limit else { return [] }
        let dropped = Array(all.prefix(all.count - limit))
        for path in dropped { unlink(path) }
        return dropped
    }

    public func remove(_ path: String) {
        unlink(path)
    }
}

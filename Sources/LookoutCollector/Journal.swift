import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The agent's recent documents, one file each, beside `metrics.json`.
///
/// `metrics.json` holds only the latest sample, so a file-sync tool that cannot reach the
/// hub for a while (its Syncthing stopped, the network down) delivers only the last one
/// when it comes back: every sample in between is lost. The journal keeps the last `limit`
/// documents as `DATA/<vm_id>/journal/<unix seconds>.json` (the same bytes as that sample's
/// `metrics.json`), so the sync tool carries all of them and the hub stores each one it
/// has not stored yet. Files are written atomically and pruned oldest first; only names
/// of the journal's own pattern are ever deleted, whatever else is in the folder.
struct Journal: Sendable {
    /// `DATA/<vm_id>/journal`.
    let folder: String
    /// How many documents to keep; 0 keeps none (and prunes what an earlier run left).
    let limit: Int
    let logger: Logger

    /// A day of 5-minute samples.
    static let defaultLimit = 288

    init(vmFolder: String, limit: Int, logger: Logger) {
        folder = "\(vmFolder)/\(JournalName.folder)"
        self.limit = limit
        self.logger = logger
    }

    /// Adds the document to the journal and prunes it to `limit` files.
    ///
    /// Never throws: the journal is written after `metrics.json`, and a journal that cannot
    /// be written (a full disk) must not fail the run that already delivered the latest
    /// sample. It logs what went wrong instead, and the next run tries again.
    func record(_ bytes: [UInt8], timestamp: Date) {
        if limit > 0 {
            let path = "\(folder)/\(JournalName.name(for: timestamp))"
            do {
                try AtomicFile.makeDirectories(folder)
                try AtomicFile.write(bytes, to: path)
                logger.debug("wrote \(path)")
            } catch {
                logger.warning("could not add the sample to the journal: \(error); metrics.json was written")
            }
        }
        prune(now: timestamp)
    }

    /// Deletes the oldest journal files beyond `limit`; names that are not journal files stay.
    ///
    /// Files stamped more than 10 minutes after `now` (the sample just taken) go first: they
    /// were written while the clock ran ahead, the hub refused them as from the future, and
    /// kept by their names they would outlive every new sample (each new file being "the
    /// oldest") until the wall clock caught up with them.
    func prune(now: Date = Date()) {
        let present = JournalName.seconds(of: now) + 600
        let entries = AtomicFile.fileNames(in: folder).compactMap { name in
            JournalName.seconds(of: name).map { (seconds: $0, name: name) }
        }
        let future = entries.filter { $0.seconds > present }
        guard entries.count > limit || !future.isEmpty else { return }
        let kept = entries.filter { $0.seconds <= present }
        let oldest =
            future + kept.sorted { ($0.seconds, $0.name) < ($1.seconds, $1.name) }.prefix(max(0, kept.count - limit))
        for entry in oldest where unlink("\(folder)/\(entry.name)") != 0 && errno != ENOENT {
            let error = FileError(path: "\(folder)/\(entry.name)", operation: "delete", errno: errno)
            logger.warning("could not prune the journal: \(error)")
            return
        }
        logger.debug("pruned \(oldest.count) journal file(s) from \(folder), keeping \(limit)")
    }
}

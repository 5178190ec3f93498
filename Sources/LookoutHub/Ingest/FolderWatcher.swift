import Logging
import LookoutCore
import ServiceLifecycle
import Synchronization

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

/// What one scan did with one candidate file, so tests and logs can tell every case apart.
public struct ScanEntry: Sendable, Equatable {
    /// The `metrics.json`, journal file (or conflict copy of one) this entry is about.
    public var path: String
    public var result: Result

    public enum Result: Sendable, Equatable {
        /// The document was read and handed to the store.
        case ingested(IngestOutcome)
        /// Same file as at the previous scan: not read, not logged again.
        case unchanged
        /// Not ingested, with the reason (logged once per change of the file).
        case skipped(String)
        /// A journal file whose sample the store already holds: not read.
        case alreadyStored
    }

    public init(path: String, result: Result) {
        self.path = path
        self.result = result
    }
}

/// Ingests `DATA/<vm_id>/metrics.json` as a file-sync tool (Syncthing, rsync, NFS) delivers it.
///
/// It polls rather than using inotify: polling works the same on every file system (NFS and
/// FUSE mounts send no inotify events for remote writes), it sees the end result of every sync
/// tool's temp-file-and-rename dance without having to follow it event by event, and a few
/// `stat` calls per VM every five seconds cost nothing next to the documents themselves. A
/// file whose (device, inode, size, mtime, ctime) has not changed since the last scan is not
/// read again, so a steady state costs no reads and writes no log lines.
///
/// A VM folder is any folder of `DATA` (or symlink to one inside `DATA`) that holds a
/// `metrics.json`; everything else (`alerts.json`, `lookout.sqlite*`, `history/`, `.stfolder`,
/// `.stversions`, folders with nothing in them yet) is passed over without a word. Hidden
/// names are not special: DESIGN §3 allows a vm_id such as `.web` or `..x`, and no sync tool
/// keeps a `metrics.json` directly inside its own hidden folders. Only `metrics.json` is ever
/// read, so temp files (`.syncthing.*.tmp`, `~syncthing~*`, our own `.*.tmp`) are never seen,
/// and conflict copies (`metrics.sync-conflict-*`) are noted once at debug level.
///
/// A VM folder may also hold the agent's journal, `journal/<unix seconds>.json`: its recent
/// documents, one file each, so that samples a sync outage kept from the hub still arrive.
/// Every journal file not seen before is read and stored (the store answers `duplicate` for a
/// sample it has, so a rescan stores nothing twice) after that folder's `metrics.json`, so an
/// older sample goes to history and never becomes the VM's latest. Journal files are stamped
/// like `metrics.json`: a steady state of a day's journal per VM costs one folder listing and
/// one `lstat` per file, no reads. A journal file gets the same refusals as `metrics.json`,
/// and one more: a name whose time is not its document's timestamp. The hub never deletes a
/// journal file: the agent prunes its own, and a Receive Only folder would report a file the
/// hub deleted as a local change.
///
/// A file that is refused (folder name that is not a vm_id, symlink out of `DATA`, larger than
/// ``MetricsDocument/maxEncodedSize``, empty, torn or invalid JSON, a vm_id that disagrees with
/// its folder, a VM folder the hub may not enter) gets one warning naming the file and the
/// reason, and no other until it changes.
/// Nothing a file contains can stop the watcher.
public struct FolderWatcher: Service {
    /// Hands a document to the store and says what became of it.
    public typealias Ingest = @Sendable (MetricsDocument) async -> IngestOutcome
    /// Which of the unix seconds in the range the store already holds for the VM (empty when
    /// it cannot say: every file is then read, and the store answers duplicates).
    public typealias StoredSeconds = @Sendable (VMID, ClosedRange<Int64>) async -> Set<Int64>

    public let dataFolder: String
    public let pollInterval: Duration
    private let logger: Logger
    private let ingest: Ingest
    private let beforeScan: @Sendable (_ watching: Bool) async -> Void
    let storedSeconds: StoredSeconds?
    let memory = ScanMemory()
    /// Files that could not be read or stored for a reason that may pass (a full disk, EMFILE):
    /// retried every scan, logged once and then summarised.
    private let failures: RepeatedFailureLog

    /// - Parameters:
    ///   - dataFolder: the hub's `DATA`; it may not exist yet (a sync tool may create it later).
    ///   - pollInterval: time between the end of one scan and the start of the next.
    ///   - failureSummaryInterval: the least time between two "still failing" lines.
    ///   - now: the clock of those summaries.
    ///   - beforeScan: run at the start of every scan (the hub applies `lookout forget` requests);
    ///     `watching` is true for the scans of ``run()``, false for a one-off ``scan()``.
    ///   - storedSeconds: asked once per VM folder with journal files this watcher has not seen
    ///     (all of them after a restart, or in every cron `lookout check`): those whose sample
    ///     is stored are not read, so a day's journal costs one query instead of 288 reads.
    ///   - ingest: called once per new or changed file that holds a valid document.
    public init(
        dataFolder: String, pollInterval: Duration = .seconds(5), failureSummaryInterval: TimeInterval = 300,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
        beforeScan: @escaping @Sendable (_ watching: Bool) async -> Void = { _ in },
        storedSeconds: StoredSeconds? = nil, ingest: @escaping Ingest
    ) {
        var folder = dataFolder
        while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
        self.dataFolder = folder
        self.pollInterval = pollInterval
        self.logger = logger
        self.ingest = ingest
        self.beforeScan = beforeScan
        self.storedSeconds = storedSeconds
        failures = RepeatedFailureLog(
            logger: logger, what: "ingesting from \(folder)", interval: failureSummaryInterval, now: now)
    }

    /// Scans every `pollInterval` until graceful shutdown or cancellation, then returns.
    ///
    /// While it runs it holds `DATA/.watcher.lock` (shared), which tells `lookout forget`
    /// that a hub will pick up its request.
    public func run() async throws {
        logger.info("watching \(dataFolder)/*/metrics.json and */journal/ every \(pollInterval)")
        let presence = await WatcherPresence(dataFolder: dataFolder).hold()
        defer { if let presence { close(presence) } }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            _ = await scan(watching: true)
            do {
                try await cancelWhenGracefulShutdown { [pollInterval] in try await Task.sleep(for: pollInterval) }
            } catch {
                break  // cancelled or shutting down: either way the watcher is done
            }
        }
        logger.debug("stopped watching \(dataFolder)")
    }

    /// One pass over the folder; returns what happened to each candidate (for tests and logs).
    ///
    /// Scans are meant to run one at a time (as ``run()`` does); two at once may ingest a
    /// changed file twice, which the store answers with `duplicate`.
    public func scan() async -> [ScanEntry] {
        await scan(watching: false)
    }

    private func scan(watching: Bool) async -> [ScanEntry] {
        await beforeScan(watching)
        let folderBytes = Array(dataFolder.utf8)
        let root: [UInt8]
        let names: [FileProbe.Name]
        do {
            root = try FileProbe.resolve(folderBytes)
            names = try FileProbe.list(folderBytes)
        } catch {
            if memory.noteFolderProblem(error.description) {
                logger.warning("cannot watch the data folder: \(error)")
            }
            return []
        }
        if memory.noteFolderProblem(nil) {
            logger.notice("the data folder \(dataFolder) can be read again")
        }

        var entries: [ScanEntry] = []
        var present: Set<String> = []
        for name in names.sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }) {
            var filled = 0
            defer {
                if filled > 0 { logger.info("stored \(filled) sample(s) of \(name.display) from its journal") }
            }
            let found = candidates(in: name, root: root)
            let stored = await alreadyStored(found)
            for candidate in found {
                present.insert(candidate.path)
                if memory.stamp(of: candidate.path) == candidate.stamp {
                    entries.append(ScanEntry(path: candidate.path, result: .unchanged))
                    continue
                }
                if case .journal(_, let seconds) = candidate.verdict, stored.contains(seconds) {
                    memory.remember(candidate.stamp, of: candidate.path)
                    entries.append(ScanEntry(path: candidate.path, result: .alreadyStored))
                    continue
                }
                let result = await handle(candidate)
                if result.remember {
                    memory.remember(candidate.stamp, of: candidate.path)
                } else {
                    memory.forget(candidate.path)
                }
                entries.append(ScanEntry(path: candidate.path, result: result.result))
                if case .journal = candidate.verdict, case .ingested(let outcome) = result.result,
                    outcome == .stored || outcome == .storedOlder
                {
                    filled += 1
                }
            }
        }
        // Files that are gone are forgotten, so one that comes back is read (and logged) anew.
        memory.keepOnly(present)
        failures.keepOnly(present)
        return entries
    }

    // MARK: - One VM folder

    /// A `metrics.json`, journal file or conflict copy, with what the file system alone says
    /// about it (internal for the journal's half, in FolderWatcher+Journal.swift).
    struct Candidate {
        enum Verdict {
            case read(VMID)
            /// A journal file whose name says the sample was taken at `seconds`.
            case journal(VMID, seconds: Int64)
            case refuse(String)
            case conflict
        }

        var path: String
        var stamp: FileStamp
        var verdict: Verdict
    }

    /// The candidates in `DATA/<name>`; none when it is not a VM folder (or has just vanished).
    private func candidates(in name: FileProbe.Name, root: [UInt8]) -> [Candidate] {
        let folderBytes = Array(dataFolder.utf8) + [UInt8(ascii: "/")] + name.bytes
        let metricsBytes = folderBytes + Array("/metrics.json".utf8)
        let path = String(decoding: metricsBytes, as: UTF8.self)
        // lstat through the folder: a symlinked folder counts, a plain file gives ENOTDIR.
        let link: FileProbe.Info
        do {
            link = try FileProbe.examine(metricsBytes, followSymlinks: false)
        } catch {
            // A VM's folder the hub may not enter (a sync tool running as another user made it
            // 0700) would otherwise be ignored without a trace.
            guard FileProbe.isPermissionDenied(error), !name.isHidden, let text = name.text,
                VMID.problem(with: text) == nil,
                let folder = FileProbe.info(folderBytes, followSymlinks: true), folder.kind == .folder
            else { return [] }
            return [Candidate(path: path, stamp: folder.stamp, verdict: .refuse("\(error)"))]
        }
        let target = FileProbe.info(metricsBytes, followSymlinks: true)
        let stamp = target?.stamp ?? link.stamp
        func refuse(_ reason: String) -> [Candidate] { [Candidate(path: path, stamp: stamp, verdict: .refuse(reason))] }

        // The folder itself.
        guard let text = name.text else {
            return refuse("the folder name \"\(name.display)\" is not UTF-8, so it is not a valid vm_id")
        }
        let vmID: VMID
        do {
            vmID = try VMID(validating: text)
        } catch {
            return refuse("the folder name \"\(text)\" is not a valid vm_id: \(error.reason)")
        }
        if FileProbe.info(folderBytes, followSymlinks: false)?.kind == .symlink {
            if let problem = escape(folderBytes, root: root, what: "the folder") { return refuse(problem) }
        }

        // Read after metrics.json, so the latest sample is the VM's latest before any older one.
        let rest = journal(in: folderBytes, vmID: vmID, root: root) + conflictCopies(in: folderBytes)

        // The file.
        if link.kind == .symlink {
            if let problem = escape(metricsBytes, root: root, what: "metrics.json") {
                return refuse(problem) + rest
            }
        }
        guard let target else { return rest }  // removed since the lstat: nothing to do
        if let reason = problem(with: target, named: "metrics.json") { return refuse(reason) + rest }
        return [Candidate(path: path, stamp: stamp, verdict: .read(vmID))] + rest
    }

    /// Why the symlink at `path` may not be followed: it leads outside `DATA`, or nowhere.
    func escape(_ path: [UInt8], root: [UInt8], what: String) -> String? {
        do {
            let resolved = try FileProbe.resolve(path)
            guard !FileProbe.isInside(resolved, root: root) else { return nil }
            let shown = String(decoding: resolved, as: UTF8.self)
            return "\(what) is a symlink to \(shown), outside the data folder \(String(decoding: root, as: UTF8.self))"
        } catch {
            return "\(what) is a symlink that cannot be resolved (\(error.reason))"
        }
    }

    /// Why a file that `stat` describes as `info` cannot be a document, or `nil` when it may be one.
    func problem(with info: FileProbe.Info, named name: String) -> String? {
        if info.kind != .file {
            "\(name) is not a regular file"
        } else if info.stamp.size > Int64(MetricsDocument.maxEncodedSize) {
            "\(name) is \(info.stamp.size) bytes, more than the \(MetricsDocument.maxEncodedSize) allowed"
        } else if info.stamp.size == 0 {
            "\(name) is empty (a sync tool may not have finished writing it)"
        } else {
            nil
        }
    }

    /// Syncthing's `metrics.sync-conflict-<date>-<time>-<device>.json` copies in a VM folder.
    private func conflictCopies(in folder: [UInt8]) -> [Candidate] {
        guard let names = try? FileProbe.list(folder) else { return [] }
        return names.compactMap { name in
            guard let text = name.text, text.hasPrefix("metrics."), text.contains(".sync-conflict-") else {
                return nil
            }
            let bytes = folder + [UInt8(ascii: "/")] + name.bytes
            guard let info = FileProbe.info(bytes, followSymlinks: false) else { return nil }
            return Candidate(path: String(decoding: bytes, as: UTF8.self), stamp: info.stamp, verdict: .conflict)
        }
        .sorted { $0.path < $1.path }
    }

    // MARK: - Reading and ingesting

    /// Acts on a new or changed candidate; `remember` is false when it should be looked at
    /// again next scan whatever its stamp (it vanished before it could be read).
    private func handle(_ candidate: Candidate) async -> (result: ScanEntry.Result, remember: Bool) {
        // A refused name may hold a control character; the log line must not (it could forge one).
        let path = candidate.path.replacingControlCharacters(with: "?")
        switch candidate.verdict {
        case .conflict:
            logger.debug("not ingesting \(path): a conflict copy left by a sync tool; only metrics.json is read")
            return (.skipped("conflict copy left by a sync tool; only metrics.json is read"), true)
        case .refuse(let reason):
            logger.warning("not ingesting \(path): \(reason)")
            return (.skipped(reason), true)
        case .read(let vmID):
            return await read(candidate.path, folderVMID: vmID)
        case .journal(let vmID, let seconds):
            return await read(candidate.path, folderVMID: vmID, journalSeconds: seconds)
        }
    }

    /// Reads, checks and ingests one document; `journalSeconds` is the time a journal file's
    /// name gives, which its document must have.
    private func read(
        _ path: String, folderVMID: VMID, journalSeconds: Int64? = nil
    ) async -> (result: ScanEntry.Result, remember: Bool) {
        func refuse(_ reason: String) -> (result: ScanEntry.Result, remember: Bool) {
            logger.warning("not ingesting \(path): \(reason)")
            return (.skipped(reason), true)
        }
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: MetricsDocument.maxEncodedSize)
        } catch let error where error.isNotFound {
            logger.debug("\(path) disappeared before it could be read")
            return (.skipped("disappeared before it could be read"), false)
        } catch let error where error.mayPass {
            // Not the file's fault (too many open files, an I/O error): read it again next scan.
            failures.failed(path, error.description)
            return (.skipped(error.description), false)
        } catch {
            return refuse(error.description)
        }
        let document: MetricsDocument
        do {
            document = try MetricsDocument.decode(bytes)
        } catch {
            return refuse("not a valid metrics document: \(error)")
        }
        guard document.vmID == folderVMID else {
            return refuse("the document's vm_id is \"\(document.vmID)\" but its folder is \"\(folderVMID)\"")
        }
        if let journalSeconds, JournalName.seconds(of: document.timestamp) != journalSeconds {
            let named = Timestamp.format(Date(timeIntervalSince1970: TimeInterval(journalSeconds)))
            return refuse(
                "the file name says \(named) but the document's timestamp is \(Timestamp.format(document.timestamp))")
        }
        let outcome = await ingest(document)
        if case .failed = outcome {} else { failures.succeeded(path) }
        let sample = "\(document.vmID) at \(Timestamp.format(document.timestamp))"
        switch outcome {
        case .stored:
            logger.debug("ingested \(sample) from \(path)")
        case .storedOlder where journalSeconds != nil:
            // The journal's usual case: one summary line per scan instead (see scan()).
            logger.debug("ingested \(sample) from \(path) for history")
        case .storedOlder:
            logger.info("ingested \(sample) from \(path) for history only: older than the latest sample")
        case .duplicate:
            logger.debug("\(path) holds \(sample), which is already stored")
        case .rejected(let reason):
            logger.warning("the store refused \(sample) from \(path): \(reason)")
        case .failed(let reason):
            // Not remembered as seen: the next scan tries the same file again. A full disk
            // fails every file of every scan: one line, then a summary every few minutes.
            failures.failed(path, "could not store \(sample): \(reason)")
            return (.ingested(outcome), false)
        }
        return (.ingested(outcome), true)
    }
}

extension FileError {
    /// Whether reading again later may succeed: the system ran short (descriptors, memory) or
    /// the disk failed, as opposed to a file that is wrong (too large, a folder, no permission).
    fileprivate var mayPass: Bool {
        guard let code else { return false }
        return [EMFILE, ENFILE, ENOMEM, EIO, EAGAIN, EINTR, ENOSPC].contains(code)
    }
}

/// What the previous scans saw, so an unchanged file is neither re-read nor re-logged.
final class ScanMemory: Sendable {
    private struct State {
        var stamps: [String: FileStamp] = [:]
        var folderProblem: String?
    }

    private let state = Mutex(State())

    func stamp(of path: String) -> FileStamp? {
        state.withLock { $0.stamps[path] }
    }

    func remember(_ stamp: FileStamp, of path: String) {
        state.withLock { $0.stamps[path] = stamp }
    }

    func forget(_ path: String) {
        state.withLock { _ = $0.stamps.removeValue(forKey: path) }
    }

    func keepOnly(_ paths: Set<String>) {
        state.withLock { $0.stamps = $0.stamps.filter { paths.contains($0.key) } }
    }

    /// Records the data folder's current problem (`nil`: none); true when it differs from the
    /// last one, which is when it is worth a log line.
    func noteFolderProblem(_ problem: String?) -> Bool {
        state.withLock { state in
            defer { state.folderProblem = problem }
            return state.folderProblem != problem
        }
    }
}

import LookoutCore

/// The journal's half of the folder watcher: listing `DATA/<vm>/journal/` and asking the
/// store which of its samples are there already.
extension FolderWatcher {
    /// The files of `DATA/<vm>/journal/`, oldest first; none when there is no journal.
    ///
    /// Sync tools' temp files (hidden names, `~syncthing~*`) are passed over without a word;
    /// conflict copies are noted at debug level; any other name that is not
    /// `<unix seconds>.json` is refused, once, so a stray file is seen but costs nothing after.
    func journal(in folder: [UInt8], vmID: VMID, root: [UInt8]) -> [Candidate] {
        let journalBytes = folder + Array("/\(JournalName.folder)".utf8)
        let journalPath = String(decoding: journalBytes, as: UTF8.self)
        guard let link = FileProbe.info(journalBytes, followSymlinks: false) else { return [] }
        if link.kind == .symlink, let problem = escape(journalBytes, root: root, what: "the journal folder") {
            return [Candidate(path: journalPath, stamp: link.stamp, verdict: .refuse(problem))]
        }
        guard let target = FileProbe.info(journalBytes, followSymlinks: true) else { return [] }
        let names: [FileProbe.Name]
        do {
            guard target.kind == .folder else {
                throw FileError(path: journalPath, operation: "list", reason: "not a folder")
            }
            names = try FileProbe.list(journalBytes)
        } catch {
            return [Candidate(path: journalPath, stamp: target.stamp, verdict: .refuse("\(error)"))]
        }
        var found: [(seconds: Int64, candidate: Candidate)] = []
        for name in names where !name.isHidden && !name.bytes.starts(with: Array("~syncthing~".utf8)) {
            let bytes = journalBytes + [UInt8(ascii: "/")] + name.bytes
            let path = String(decoding: bytes, as: UTF8.self)
            guard var info = FileProbe.info(bytes, followSymlinks: false) else { continue }  // just removed
            func add(_ verdict: Candidate.Verdict, _ seconds: Int64 = .max) {
                found.append((seconds, Candidate(path: path, stamp: info.stamp, verdict: verdict)))
            }
            guard let text = name.text, let seconds = JournalName.seconds(of: text) else {
                if name.display.contains(".sync-conflict-") {
                    add(.conflict)
                } else {
                    let shown = name.display.replacingControlCharacters(with: "?")
                    add(.refuse("\"\(shown)\" is not a journal file name (<unix seconds, 12 digits>.json)"))
                }
                continue
            }
            if info.kind == .symlink {
                if let problem = escape(bytes, root: root, what: "the journal file") {
                    add(.refuse(problem), seconds)
                    continue
                }
                guard let followed = FileProbe.info(bytes, followSymlinks: true) else { continue }
                info = followed
            }
            if let reason = problem(with: info, named: "the journal file") {
                add(.refuse(reason), seconds)
            } else {
                add(.journal(vmID, seconds: seconds), seconds)
            }
        }
        return found.sorted { ($0.seconds, $0.candidate.path) < ($1.seconds, $1.candidate.path) }.map(\.candidate)
    }

    /// The seconds of the new journal files in `found` (one VM folder's) that the store holds.
    func alreadyStored(_ found: [Candidate]) async -> Set<Int64> {
        guard let storedSeconds else { return [] }
        var vmID: VMID?
        var range: ClosedRange<Int64>?
        for candidate in found {
            guard case .journal(let vm, let seconds) = candidate.verdict,
                memory.stamp(of: candidate.path) != candidate.stamp
            else { continue }
            vmID = vm
            range = range.map { min($0.lowerBound, seconds)...max($0.upperBound, seconds) } ?? seconds...seconds
        }
        guard let vmID, let range else { return [] }
        return await storedSeconds(vmID, range)
    }
}

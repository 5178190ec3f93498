import GRDBSQLite
import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The check every command runs on `lookout.sqlite` before it opens it for writing.
///
/// A damaged database must reach the operator untouched: opening it read-write would
/// migrate it, create a WAL and start writing into pages SQLite already reports as broken,
/// which is what turned one bad page into a week of 503s. So the file is opened read-only
/// (`immutable` when it has no WAL, so not even `-wal`/`-shm` files appear) and
/// `PRAGMA quick_check` must answer `ok`; anything else is a ``HubError`` of kind
/// ``HubError/Kind/needsOperator`` that names the file, the cause and the restore command.
enum StoreCheck {
    /// Passes for a missing file (a new data folder) and a sound database; throws otherwise.
    /// - Returns: `false` when the check has to wait until the file is open read-write: a hot
    ///   rollback journal beside it (a crashed `sqlite3` session in rollback mode) must be
    ///   rolled back first, and only a writer may do that.
    @discardableResult
    static func verify(path: String) throws(HubError) -> Bool {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            if code == ENOENT { return true }
            throw HubError(
                "cannot examine the history database \(path): \(String(cString: strerror(code)))",
                kind: code == EACCES ? .needsOperator : .failure)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw HubError("\(path) is not a regular file; move it away", kind: .needsOperator)
        }
        guard info.st_size > 0 else {
            throw HubError(
                "\(path) is 0 bytes: not a database but the trace of a failed copy or of a disk that filled up "
                    + "while it was created. Restore it from a backup (\(restoreHint(path))), or delete it "
                    + "(rm \(path)*) to start with an empty history",
                kind: .needsOperator)
        }
        if access(path + "-journal", F_OK) == 0 { return false }
        let hasWAL = access(path + "-wal", F_OK) == 0
        var db: OpaquePointer?
        // `immutable` reads the main file as it is, taking no locks and creating nothing;
        // right only when no WAL holds committed pages beside it.
        let uri = "file:\(uriEscaped(path))?mode=ro" + (hasWAL ? "" : "&immutable=1")
        let opened = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nil)
        defer { sqlite3_close_v2(db) }
        guard opened == SQLITE_OK, let db else {
            throw problem(path, code: opened, detail: db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")
        }
        sqlite3_busy_timeout(db, 5000)
        var statement: OpaquePointer?
        var rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &statement, nil)
        defer { sqlite3_finalize(statement) }
        guard rc == SQLITE_OK else {
            throw problem(path, code: sqlite3_extended_errcode(db), detail: String(cString: sqlite3_errmsg(db)))
        }
        var findings: [String] = []
        while true {
            rc = sqlite3_step(statement)
            guard rc == SQLITE_ROW else { break }
            if let text = sqlite3_column_text(statement, 0) { findings.append(String(cString: text)) }
        }
        guard rc == SQLITE_DONE else {
            throw problem(path, code: sqlite3_extended_errcode(db), detail: String(cString: sqlite3_errmsg(db)))
        }
        guard findings == ["ok"] else {
            throw damaged(path, detail: "PRAGMA quick_check found: " + findings.prefix(3).joined(separator: "; "))
        }
        return true
    }

    /// The error for a failed open or read of `path`, by SQLite's result code.
    private static func problem(_ path: String, code: Int32, detail: String) -> HubError {
        switch code & 0xff {
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return damaged(path, detail: detail, notADatabase: code & 0xff == SQLITE_NOTADB)
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH:
            return HubError(
                "cannot open the history database \(path) (\(detail)); check that the user running lookout "
                    + "may read and write it and its folder",
                kind: .needsOperator)
        default:
            return HubError("cannot read the history database \(path): \(detail)")
        }
    }

    /// A database SQLite reports as damaged, with what to do about it.
    static func damaged(_ path: String, detail: String, notADatabase: Bool = false) -> HubError {
        HubError(
            "the history database \(path) is \(notADatabase ? "not a SQLite database" : "damaged") (\(detail)); "
                + "lookout has not changed it. "
                + "Restore the last backup: \(restoreHint(path)). Without a backup, moving the files aside alone "
                + "starts an empty history (sqlite3 <moved file> .recover may save part of the old one)",
            kind: .needsOperator)
    }

    /// The restore steps of docs/install.md ("Restore"), spelled out for `path`.
    static func restoreHint(_ path: String) -> String {
        let folder = AtomicFile.folder(of: path)
        return "systemctl stop lookout; mkdir -p \(folder).damaged && mv \(path)* \(folder).damaged/; "
            + "cp /backup/lookout/lookout.sqlite \(folder)/ && chown lookout:lookout \(path); "
            + "systemctl start lookout (docs/install.md, section 7, Restore)"
    }

    /// `path` with every byte a URI could misread (`?`, `#`, `%`, spaces, non-ASCII) percent-encoded.
    static func uriEscaped(_ path: String) -> String {
        var result = ""
        for byte in path.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (c.isLetter || c.isNumber || "/-._~".contains(c)) {
                result.append(c)
            } else {
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

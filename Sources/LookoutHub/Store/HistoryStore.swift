import GRDB
import Logging
import LookoutCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The hub's time-series history: every accepted document, in `DATA/lookout.sqlite`.
///
/// SQLite in WAL mode with `synchronous = NORMAL`: a sample that ``insert(_:)`` acknowledged
/// survives a crash or SIGKILL of the hub; a power cut or kernel panic may lose the last
/// transactions (about the last second), never corrupt the file. Readers (the API) never
/// wait for the writer.
///
/// Writes go through one writer task that group-commits whatever arrived while the previous
/// transaction ran, so thousands of documents per second cost a few hundred transactions.
public final class HistoryStore: Sendable {
    /// The database file, named in every error.
    public let path: String
    let pool: DatabasePool
    let logger: Logger
    let writeQueue = Mutex(WriteQueue())

    /// What the store learned about its file while running (`/healthz`).
    let condition: StoreCondition
    /// Time between two probe writes while writes fail (``probeWhileFailing()``).
    let probeInterval: Duration

    /// Most bytes the WAL keeps after a checkpoint (it is truncated to this), and about when
    /// SQLite checkpoints on its own (1000 pages of 4 KB): the WAL never holds much more than
    /// a few MB beside the database, unless the disk is too full for a checkpoint to copy.
    static let walSizeLimit = 4 << 20

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// An existing file is first checked read-only (``StoreCheck``): a damaged or 0-byte
    /// database is refused before anything writes to it, so it stays as it was for a restore.
    /// - Parameters:
    ///   - path: usually `DATA/lookout.sqlite`; its folder must exist.
    ///   - logger: where the store reports what it could not do on its own (a failed batch).
    ///   - probeInterval: how often to try a write while writes fail (tests shorten it).
    /// - Throws: ``HubError`` naming `path` and what to do: of kind ``HubError/Kind/needsOperator``
    ///   when the file is damaged, 0 bytes, not a database, may not be opened, or was written by
    ///   a newer Lookout (an unknown migration); ``HubError/Kind/failure`` for a full disk and
    ///   other conditions that may pass.
    public init(path: String, logger: Logger, probeInterval: Duration = .seconds(30)) throws(HubError) {
        self.path = path
        self.logger = logger
        self.probeInterval = probeInterval
        condition = StoreCondition(path: path, logger: logger)
        let checked = try StoreCheck.verify(path: path)
        // A first start on a full disk must not leave a 0-byte file behind: the next start
        // would refuse it as damaged instead of trying again.
        let created = access(path, F_OK) != 0
        func removeCreated() {
            guard created else { return }
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
        }
        var config = Configuration()
        config.label = "lookout.history"
        // Another process (a backup, `sqlite3` by hand) may hold the lock for a moment.
        config.busyMode = .timeout(5)
        // A 1 GB VM: each connection has its own page cache; the API needs few readers.
        config.maximumReaderCount = 2
        config.prepareDatabase { db in
            // GRDB's pool already sets this with WAL; stated here because durability depends on it.
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                try db.execute(sql: "PRAGMA journal_size_limit = \(HistoryStore.walSizeLimit)")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 1000")
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            removeCreated()
            throw HistoryStore.openError(path: path, error)
        }
        do {
            if !checked {
                // The pool has rolled the hot journal back; now the file can be judged.
                let findings = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
                guard findings == ["ok"] else {
                    let detail = "PRAGMA quick_check found: " + findings.joined(separator: "; ")
                    throw StoreCheck.damaged(path, detail: detail)
                }
            }
            let superseded = try pool.read { db in try HistoryStore.migrator.hasBeenSuperseded(db) }
            guard !superseded else {
                throw HubError(
                    "\(path) was written by a newer version of lookout (its schema has migrations this "
                        + "binary does not know); upgrade lookout or restore an older copy of the file",
                    kind: .needsOperator)
            }
            try HistoryStore.migrate(pool, path: path, logger: logger)
        } catch let error as HubError {
            throw error
        } catch {
            removeCreated()
            throw HistoryStore.openError(path: path, error)
        }
    }

    /// Runs the migrations the file lacks. An upgrade says so before and after: one may go
    /// over old history (`v5-service-hourly` rolls up every stored service check), which on a
    /// large fleet keeps the hub from serving for some seconds. A new file is silent.
    private static func migrate(_ pool: DatabasePool, path: String, logger: Logger) throws {
        let applied = try pool.read { db in try HistoryStore.migrator.appliedMigrations(db) }
        let pending = HistoryStore.migrator.migrations.filter { !applied.contains($0) }
        guard !applied.isEmpty, !pending.isEmpty else { return try HistoryStore.migrator.migrate(pool) }
        let clock = ContinuousClock()
        let started = clock.now
        logger.notice(
            "\(path): upgrading the schema (\(pending.joined(separator: ", "))); a large history takes a while")
        try HistoryStore.migrator.migrate(pool)
        let elapsed = Int((clock.now - started) / .milliseconds(1))
        logger.notice("\(path): schema upgraded in \(elapsed) ms")
    }

    static func openError(path: String, _ error: any Error) -> HubError {
        let code = (error as? DatabaseError)?.resultCode
        // A full disk shows as an I/O error, "full", or a -wal/-shm that cannot be created.
        if code == .SQLITE_FULL || code == .SQLITE_IOERR || code == .SQLITE_CANTOPEN,
            let full = DiskSpace.fullMessage(folder: AtomicFile.folder(of: path))
        {
            return HubError(
                "cannot open the history database \(path): \(full); then start again (systemd does every 5 s)")
        }
        switch code {
        case .SQLITE_NOTADB?, .SQLITE_CORRUPT?:
            return StoreCheck.damaged(path, detail: "\(error)", notADatabase: code == .SQLITE_NOTADB)
        case .SQLITE_FULL?, .SQLITE_IOERR?:
            return HubError("cannot open the history database \(path): \(error); the disk may be failing (see dmesg)")
        case .SQLITE_CANTOPEN?, .SQLITE_READONLY?, .SQLITE_PERM?:
            return HubError(
                "cannot open the history database \(path) for writing (\(error)); check that the user running "
                    + "lookout owns it, its -wal and -shm files and its folder, and that the file system is not "
                    + "read-only",
                kind: .needsOperator)
        default:
            return HubError("cannot open the history database \(path): \(error)")
        }
    }

    /// Whether the store takes writes, and if not why (`/healthz`).
    public var health: StoreHealth { condition.health }

    /// Every VM's latest document, sorted by vm_id: the hub's in-memory view on start.
    ///
    /// A row that no longer decodes (written by a buggy or newer agent) is skipped with a
    /// warning rather than keeping the hub from starting; the VM's next document replaces it.
    public func latestDocuments() async throws(HubError) -> [MetricsDocument] {
        let rows = try await read("reading the latest documents") { db in
            try Row.fetchAll(db, sql: "SELECT vm_id, document FROM latest ORDER BY vm_id")
                .map { row -> (String, Data) in (row["vm_id"], row["document"]) }
        }
        var documents: [MetricsDocument] = []
        for (vmID, data) in rows {
            do {
                documents.append(try MetricsDocument.decode(data))
            } catch {
                logger.warning("\(path): skipping the stored latest document of \(vmID): \(error)")
            }
        }
        return documents
    }

    /// Number of raw samples stored for a VM.
    public func sampleCount(vmID: VMID) async throws(HubError) -> Int {
        try await read("counting samples") { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM samples WHERE vm_id = ?", arguments: [vmID.rawValue]) ?? 0
        }
    }

    /// A VM's service check results with a time in [from, to), oldest first.
    public func serviceSamples(vmID: VMID, from: Date, to: Date) async throws(HubError) -> [ServiceSample] {
        try await read("reading service samples") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT ts, service_id, healthy, response_ms FROM service_samples
                    WHERE vm_id = ? AND ts >= ? AND ts < ? ORDER BY ts, service_id
                    """,
                arguments: [vmID.rawValue, from.timeIntervalSince1970, to.timeIntervalSince1970]
            ).map { row in
                ServiceSample(
                    time: Date(timeIntervalSince1970: Double(row["ts"] as Int64)), serviceID: row["service_id"],
                    healthy: row["healthy"], responseMS: row["response_ms"])
            }
        }
    }

    /// A VM's per-container figures with a time in [from, to), oldest first.
    public func containerSamples(vmID: VMID, from: Date, to: Date) async throws(HubError) -> [ContainerSample] {
        try await read("reading container samples") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT ts, name, status, cpu_percent, memory_mb FROM container_samples
                    WHERE vm_id = ? AND ts >= ? AND ts < ? ORDER BY ts, name
                    """,
                arguments: [vmID.rawValue, from.timeIntervalSince1970, to.timeIntervalSince1970]
            ).map { row in
                ContainerSample(
                    time: Date(timeIntervalSince1970: Double(row["ts"] as Int64)), name: row["name"],
                    status: row["status"], cpuPercent: row["cpu_percent"], memoryMB: row["memory_mb"])
            }
        }
    }

    /// Runs `PRAGMA quick_check`: true when SQLite finds the file sound (`/healthz`, crash tests).
    public func integrityCheck() async throws(HubError) -> Bool {
        try await read("checking integrity") { db in
            try String.fetchAll(db, sql: "PRAGMA quick_check") == ["ok"]
        }
    }

    // MARK: - Helpers

    /// Runs `body` on a reader connection; errors become a ``HubError`` naming the file and the task.
    /// A read that finds corruption marks the store damaged, so nothing writes into it any more.
    func read<T: Sendable>(
        _ task: String, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(HubError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            let code = (error as? DatabaseError)?.resultCode
            if code == .SQLITE_CORRUPT || code == .SQLITE_NOTADB { throw condition.failed(error, task: task) }
            throw HubError("history database \(path): \(task): \(error)")
        }
    }

    /// Runs `body` in one write transaction; errors become a ``HubError`` naming the file and the task.
    /// Refused at once when the file is known to be damaged.
    func write<T: Sendable>(
        _ task: String, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(HubError) -> T {
        if let damage = condition.damage { throw damage }
        do {
            let result = try await pool.write(body)
            if condition.succeeded() { await checkpoint() }
            return result
        } catch {
            let failure = condition.failed(error, task: task)
            if StoreCondition.isStoreWide(error) {
                await checkpoint()
                probeWhileFailing()
            }
            throw failure
        }
    }

    /// `PRAGMA wal_checkpoint(TRUNCATE)`: copies the WAL into the database and empties it, after a
    /// failure (a full disk leaves the WAL as large as the last checkpoint let it grow) and when
    /// writes work again. Best effort: on a full disk it fails too, and the next one retries.
    func checkpoint() async {
        guard condition.damage == nil else { return }
        do {
            try await pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        } catch {
            logger.debug("\(path): WAL checkpoint failed: \(error)")
        }
    }

    /// Whole unix seconds, the unit of every `ts` and `hour` column.
    static func seconds(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down))
    }
}

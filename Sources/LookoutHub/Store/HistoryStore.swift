#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import LookoutCore
import Logging
import Synchronization

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

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// - Parameters:
    ///   - path: usually `DATA/lookout.sqlite`; its folder must exist.
    ///   - logger: where the store reports what it could not do on its own (a failed batch).
    /// - Throws: ``HubError`` naming `path` when the file is not a SQLite database, is
    ///   corrupt, cannot be opened, or was written by a newer Lookout (an unknown migration).
    public init(path: String, logger: Logger) throws(HubError) {
        self.path = path
        self.logger = logger
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
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw HistoryStore.openError(path: path, error)
        }
        do {
            let superseded = try pool.read { db in try HistoryStore.migrator.hasBeenSuperseded(db) }
            guard !superseded else {
                throw HubError(
                    "\(path) was written by a newer version of lookout (its schema has migrations this "
                        + "binary does not know); upgrade lookout or restore an older copy of the file")
            }
            try HistoryStore.migrator.migrate(pool)
        } catch let error as HubError {
            throw error
        } catch {
            throw HistoryStore.openError(path: path, error)
        }
    }

    static func openError(path: String, _ error: any Error) -> HubError {
        switch (error as? DatabaseError)?.resultCode {
        case .SQLITE_NOTADB?:
            return HubError("\(path) is not a SQLite database; move it away or choose another data folder")
        case .SQLITE_CORRUPT?:
            return HubError("\(path) is corrupt (\(error)); restore a backup or move it away")
        default:
            return HubError("cannot open the history database \(path): \(error)")
        }
    }

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
    func read<T: Sendable>(
        _ task: String, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(HubError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw HubError("history database \(path): \(task): \(error)")
        }
    }

    /// Runs `body` in one write transaction; errors become a ``HubError`` naming the file and the task.
    func write<T: Sendable>(
        _ task: String, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(HubError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw HubError("history database \(path): \(task): \(error)")
        }
    }

    /// Whole unix seconds, the unit of every `ts` and `hour` column.
    static func seconds(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down))
    }
}

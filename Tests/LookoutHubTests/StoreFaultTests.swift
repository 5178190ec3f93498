import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// A broken store: refused untouched at start, reported (not silent) while running, and
/// alerts.json that cannot be read is an error, not an empty list. Real SQLite files.
@Suite final class StoreFaultTests: Sendable {
    static let t0 = Date(timeIntervalSince1970: 1_765_238_400)  // 2025-12-09T00:00:00Z

    let folder: String
    let path: String

    init() throws {
        folder =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("lookout-faults-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        path = "\(folder)/lookout.sqlite"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A real database of a few hundred samples, closed and checkpointed into the main file.
    func makeDatabase() async throws {
        do {
            let store = try HistoryStore(path: path, logger: Logger(label: "test"))
            for i in 0..<400 {
                _ = try await store.insert(makeDocument("web-\(i % 4)", at: Self.t0.addingTimeInterval(Double(i * 60))))
            }
            await store.checkpoint()
        }
        // GRDB closes the pool when the store goes; a TRUNCATE checkpoint left the WAL empty.
        try? FileManager.default.removeItem(atPath: path + "-wal")
        try? FileManager.default.removeItem(atPath: path + "-shm")
    }

    /// The whole file, compared byte for byte before and after.
    func digest(_ file: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: file))
    }

    func sideFiles() -> [String] {
        ["-wal", "-shm", "-journal"].filter { FileManager.default.fileExists(atPath: path + $0) }
    }

    @Test func damagedPagesAreRefusedAndLeftByteForByte() async throws {
        try await makeDatabase()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 5 * 4096)
        // Garbage over pages 3 and 4 (b-tree pages of the tables), the header left intact.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 2 * 4096)
        try handle.write(contentsOf: Data((0..<(2 * 4096)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }))
        try handle.close()
        let before = try digest(path)
        #expect(sideFiles().isEmpty)

        let error = try #require(throws: HubError.self) { try HistoryStore(path: path, logger: Logger(label: "test")) }
        #expect(error.kind == .needsOperator)
        #expect(error.message.contains(path))
        #expect(error.message.contains("damaged"))
        #expect(error.message.contains("has not changed it"))
        #expect(error.message.contains("docs/install.md"))
        #expect(try digest(path) == before)
        #expect(sideFiles().isEmpty, "created \(sideFiles())")
    }

    @Test func zeroByteDatabaseIsRefusedWithItsCause() throws {
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let error = try #require(throws: HubError.self) { try HistoryStore(path: path, logger: Logger(label: "test")) }
        #expect(error.kind == .needsOperator)
        #expect(error.message.contains("\(path) is 0 bytes"))
        #expect(error.message.contains("failed copy"))
        #expect(error.message.contains("delete it"))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 0)
        #expect(sideFiles().isEmpty)
    }

    @Test func soundDatabaseStillOpensAndAPathNeedingEscapesWorks() async throws {
        let odd = "\(folder)/a b?c#d%e"
        try FileManager.default.createDirectory(atPath: odd, withIntermediateDirectories: true)
        do {
            let store = try HistoryStore(path: "\(odd)/lookout.sqlite", logger: Logger(label: "test"))
            #expect(try await store.insert(makeDocument("web-1", at: Self.t0)))
        }
        let reopened = try HistoryStore(path: "\(odd)/lookout.sqlite", logger: Logger(label: "test"))
        #expect(try await reopened.sampleCount(vmID: VMID(validating: "web-1")) == 1)
        #expect(reopened.health == .ok)
    }

    /// Corruption found while running: the store stops writing (the file stays as it is),
    /// ingest fails at once, /healthz says degraded with the restore command, and the fleet
    /// still takes the document so alerts judge it.
    @Test func corruptionAtRunTimeStopsWritesAndDegradesHealth() async throws {
        let hub = try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"), now: { Self.t0 })
        let store = hub.ingestor.store
        #expect(await hub.ingestor.ingest(makeDocument("web-1", at: Self.t0.addingTimeInterval(-60))) == .stored)
        await store.checkpoint()
        store.condition.failed(
            DatabaseError(resultCode: .SQLITE_CORRUPT, message: "database disk image is malformed"),
            task: "reading")
        let before = try digest(path)
        let outcome = await hub.ingestor.ingest(makeDocument("web-1", at: Self.t0, disk: 97))
        guard case .failed(let reason) = outcome else {
            Issue.record("expected failed, got \(outcome)")
            return
        }
        #expect(reason.contains("damaged"))
        #expect(try digest(path) == before)
        #expect(hub.ingestor.fleet.entry(try VMID(validating: "web-1"))?.document.system.disk.percent == 97)
        let app = Application(router: hub.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                let body = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                #expect(body?["status"] as? String == "degraded")
                let reason = body?["reason"] as? String ?? ""
                #expect(reason.contains(self.path) && reason.contains("damaged") && reason.contains("docs/install.md"))
            }
            let next = ByteBuffer(bytes: makeDocument("web-1", at: Self.t0.addingTimeInterval(1)).encoded())
            try await client.execute(uri: "/api/monitoring/ingest", method: .post, body: next) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }

    /// A failure that may pass (a full disk) degrades health; the first write that commits
    /// afterwards clears it, with no restart. (The real full disk: tests/test_store_faults.py.)
    @Test func aPassingFailureClearsWithTheNextWrite() async throws {
        let hub = try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"), now: { Self.t0 })
        let store = hub.ingestor.store
        store.condition.failed(
            DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full"),
            task: "storing 1 document(s)")
        #expect(store.health.status == .degraded)
        #expect(store.health.reason?.contains("full") == true)
        #expect(await hub.ingestor.ingest(makeDocument("web-1", at: Self.t0)) == .stored)
        #expect(store.health == .ok)
    }

    /// With nothing arriving (every agent down), a probe write notices that writes work again.
    @Test func aProbeClearsAPassingFailureWhenNothingArrives() async throws {
        let store = try HistoryStore(path: path, logger: Logger(label: "test"), probeInterval: .milliseconds(10))
        store.condition.failed(DatabaseError(resultCode: .SQLITE_IOERR, message: "disk I/O error"), task: "storing")
        #expect(store.health.status == .degraded)
        store.probeWhileFailing()
        for _ in 0..<1000 where store.health != .ok {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(store.health == .ok)
        #expect(try await store.latestDocuments().isEmpty)  // the probe wrote no data
    }

    /// A document that the store could not take (503) and that the sender sends again is
    /// `stored`, not `storedOlder`: the fleet already held it.
    @Test func aResentDocumentAfterAFailureIsStored() async throws {
        let hub = try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"), now: { Self.t0 })
        hub.ingestor.fleet.update(makeDocument("web-1", at: Self.t0))  // as the failed ingest left it
        #expect(await hub.ingestor.ingest(makeDocument("web-1", at: Self.t0)) == .stored)
    }

    @Test func alertsThatCannotBeReadAreA500NotAnEmptyList() async throws {
        let hub = try await Hub.open(Hub.Settings(dataFolder: folder), logger: Logger(label: "test"))
        let app = Application(router: hub.router())
        try await app.test(.router) { client in
            // Before the first pass: no file, no alerts.
            try await client.execute(uri: "/api/monitoring/alerts", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"alerts":[]}"#)
            }
            try Data("{\"alerts\": [tr".utf8).write(to: URL(fileURLWithPath: "\(self.folder)/alerts.json"))
            try await client.execute(uri: "/api/monitoring/alerts", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(String(buffer: response.body).contains("alerts.json"))
            }
            // Exists but cannot be opened (a folder where the file should be).
            try FileManager.default.removeItem(atPath: "\(self.folder)/alerts.json")
            try FileManager.default.createDirectory(
                atPath: "\(self.folder)/alerts.json", withIntermediateDirectories: false)
            try await client.execute(uri: "/api/monitoring/alerts", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(!String(buffer: response.body).contains(#""alerts""#))
            }
        }
    }

    @Test func walSizeIsLimited() async throws {
        let store = try HistoryStore(path: path, logger: Logger(label: "test"))
        let writerLimit = try await store.write("reading a pragma") { db in
            try Int.fetchOne(db, sql: "PRAGMA journal_size_limit")
        }
        #expect(writerLimit == HistoryStore.walSizeLimit)
        for i in 0..<2000 {
            _ = try await store.insert(makeDocument("web-\(i % 8)", at: Self.t0.addingTimeInterval(Double(i))))
        }
        await store.checkpoint()
        let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        #expect(wal == 0)
    }
}

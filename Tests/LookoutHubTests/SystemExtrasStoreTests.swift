import Foundation
import GRDB
import Logging
import LookoutCore
import Testing

@testable import LookoutHub

/// Issue 11's figures in the history store: nullable columns for the fixed series, rows of
/// `series_samples` for `fs:`/`temp:`, their rollups, retention, purge and listing.
@Suite final class SystemExtrasStoreTests: Sendable {
    /// 2025-12-09T00:00:00Z.
    static let t0 = Date(timeIntervalSince1970: 1_765_238_400)
    static let vm = "web-1"

    let folder: String
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-extras-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        folder = url.path
        path = "\(folder)/lookout.sqlite"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func openStore() throws -> HistoryStore {
        try HistoryStore(path: path, logger: Logger(label: "test"))
    }

    static func vmID() throws -> VMID { try VMID(validating: vm) }

    static func retention(rawDays: Int = 14) -> Retention {
        var retention = Retention()
        retention.rawDays = rawDays
        return retention
    }

    static let io = DiskIOMetrics(device: "vda", readBytesPerSecond: 4096, writeBytesPerSecond: 8192, utilPercent: 3.5)

    /// A sample with every extra figure at `minutes` after t0.
    static func full(_ minutes: Double, swap: Double = 1.5, backup: Double = 91) -> MetricsDocument {
        makeExtrasDocument(
            vm, at: t0.addingTimeInterval(minutes * 60), rxTotal: 1e6, txTotal: 2e6, rxRate: 5120, txRate: 880,
            bootID: "boot-a", diskIO: io, swapPercent: swap, filesystems: [("/", 25.5), ("/srv/backup", backup)],
            temperatures: [("coretemp package_id_0", 48)])
    }

    /// A sample from an older agent: none of the extra figures.
    static func plain(_ minutes: Double) -> MetricsDocument {
        makeDocument(vm, at: t0.addingTimeInterval(minutes * 60))
    }

    func values(_ store: HistoryStore, _ name: String, hours: Double = 3) async throws -> [Double] {
        try await store.series(
            vmID: Self.vmID(), HistorySeries(parsing: name), from: Self.t0,
            to: Self.t0.addingTimeInterval(hours * 3600), maxPoints: 1000, now: Self.t0.addingTimeInterval(86_400),
            retention: Self.retention()
        ).map(\.avg)
    }

    @Test func extraFiguresAreStoredAndAbsentOnesStayNull() async throws {
        let store = try openStore()
        #expect(try await store.insert(Self.full(0)))
        #expect(try await store.insert(Self.plain(5)))
        #expect(try await values(store, "cpu") == [10, 10])
        #expect(try await values(store, "net_rx") == [5120])
        #expect(try await values(store, "net_tx") == [880])
        #expect(try await values(store, "disk_read") == [4096])
        #expect(try await values(store, "disk_write") == [8192])
        #expect(try await values(store, "disk_util") == [3.5])
        #expect(try await values(store, "swap") == [1.5])
        #expect(try await values(store, "fs:/srv/backup") == [91])
        #expect(try await values(store, "fs:/") == [25.5])
        #expect(try await values(store, "temp:coretemp package_id_0") == [48])
        #expect(try await values(store, "fs:/nowhere").isEmpty)
        let columns = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT net_rx_total, net_tx_total, boot FROM samples ORDER BY ts")
        }
        #expect(columns[0]["net_rx_total"] as Double? == 1e6 && columns[0]["net_tx_total"] as Double? == 2e6)
        #expect(columns[0]["boot"] as Int64? == TrafficCounter.boot("boot-a"))
        #expect(columns[1]["net_rx_total"] as Double? == nil && columns[1]["boot"] as Int64? == nil)
    }

    @Test func recentValuesSkipSamplesWithoutTheFigure() async throws {
        let store = try openStore()
        _ = try await store.insert(Self.full(0, swap: 10))
        _ = try await store.insert(Self.full(5, swap: 20))
        _ = try await store.insert(Self.plain(10))
        let recent = try await store.recentValues(vmID: Self.vmID(), metrics: [.swap, .cpu, .diskUtil], limit: 3)
        #expect(recent[.swap] == [20, 10])
        #expect(recent[.cpu] == [10, 10, 10])
        #expect(recent[.diskUtil] == [3.5, 3.5])
    }

    @Test func rollupSkipsNullsAndCoversNamedSeries() async throws {
        let store = try openStore()
        // 00:xx: an older agent; 01:xx: the new figures.
        for minutes in [0.0, 30] { _ = try await store.insert(Self.plain(minutes)) }
        for (minutes, backup) in [(60.0, 90.0), (90, 92)] {
            _ = try await store.insert(Self.full(minutes, backup: backup))
        }
        _ = try await store.applyRetention(now: Self.t0.addingTimeInterval(3 * 3600), retention: Self.retention())
        let rows = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT metric, hour, min, avg, max, count FROM hourly ORDER BY metric, hour")
                .map { row -> String in
                    let hour = (row["hour"] as Int64 - 1_765_238_400) / 3600
                    return "\(row["metric"] as String)@\(hour) \(row["avg"] as Double)/\(row["count"] as Int)"
                }
        }
        #expect(rows.contains("cpu@0 10.0/2") && rows.contains("cpu@1 10.0/2"))
        #expect(rows.contains("net_rx@1 5120.0/2") && !rows.contains { $0.hasPrefix("net_rx@0") })
        #expect(rows.contains("swap@1 1.5/2") && !rows.contains { $0.hasPrefix("swap@0") })
        #expect(rows.contains("fs:/srv/backup@1 91.0/2"))
        #expect(rows.contains("temp:coretemp package_id_0@1 48.0/2"))
        #expect(rows.filter { $0.contains("@0 ") }.count == 8)  // the fixed eight only

        // Past the raw window: the charts read these rollups, and the raw rows are gone.
        let later = Self.t0.addingTimeInterval(20 * 86_400)
        _ = try await store.applyRetention(now: later, retention: Self.retention())
        let remaining = try await store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM series_samples")
        }
        #expect(remaining == 0)
        for (name, expected) in [("fs:/srv/backup", 91.0), ("net_rx", 5120), ("swap", 1.5)] {
            let points = try await store.series(
                vmID: Self.vmID(), HistorySeries(parsing: name), from: Self.t0,
                to: Self.t0.addingTimeInterval(86_400), maxPoints: 24, now: later, retention: Self.retention())
            #expect(points.map(\.avg) == [expected], "\(name)")
            #expect(points.map(\.count) == [2], "\(name)")
        }
    }

    @Test func theSeriesListNamesWhatTheVMHas() async throws {
        let store = try openStore()
        _ = try await store.insert(Self.plain(0))
        #expect(try await store.extraSeries(vmID: Self.vmID(), now: Self.t0, retention: Self.retention()).isEmpty)
        var swapOnly = Self.plain(5)
        swapOnly.system.swap = SwapMetrics(totalMB: 512, usedMB: 1, percent: 0.2)
        _ = try await store.insert(swapOnly)
        #expect(
            try await store.extraSeries(vmID: Self.vmID(), now: Self.t0, retention: Self.retention()).map(\.rawValue)
                == ["swap"])
        _ = try await store.insert(Self.full(10))
        // Other VMs' series, sorted before and after web-1, are not web-1's.
        _ = try await store.insert(makeExtrasDocument("app-1", at: Self.t0, filesystems: [("/data", 1)]))
        _ = try await store.insert(makeExtrasDocument("zz-9", at: Self.t0, temperatures: [("acpitz", 30)]))
        let app = try await store.extraSeries(
            vmID: VMID(validating: "app-1"), now: Self.t0, retention: Self.retention())
        #expect(app.map(\.rawValue) == ["fs:/data"])
        #expect(
            try await store.extraSeries(vmID: Self.vmID(), now: Self.t0, retention: Self.retention()).map(\.rawValue)
                == [
                    "net_rx", "net_tx", "disk_read", "disk_write", "disk_util", "swap", "fs:/", "fs:/srv/backup",
                    "temp:coretemp package_id_0",
                ])
        // Outside the raw window the old figures no longer count.
        let later = Self.t0.addingTimeInterval(30 * 86_400)
        #expect(try await store.extraSeries(vmID: Self.vmID(), now: later, retention: Self.retention()).isEmpty)
    }

    @Test func purgeDeletesTheNamedSeries() async throws {
        let store = try openStore()
        _ = try await store.insert(Self.full(0))
        _ = try await store.insert(Self.full(5))
        #expect(try await store.purge(vmID: Self.vmID(), notAfter: Self.t0.addingTimeInterval(3600)) == 2)
        let left = try await store.pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT (SELECT COUNT(*) FROM series_samples) + (SELECT COUNT(*) FROM traffic_days)")
        }
        #expect(left == 0)
    }

    @Test func aDocumentNamingAFilesystemTwiceKeepsTheFirst() async throws {
        let store = try openStore()
        var document = Self.full(0)
        document.system.filesystems?.append(
            FilesystemMetrics(
                path: "/srv/backup", device: "/dev/vdc", fstype: "ext4", totalGB: 1, usedGB: 1, percent: 5))
        #expect(try await store.insert(document))
        #expect(try await values(store, "fs:/srv/backup") == [91])
    }

    // MARK: - Names

    static let validNames: [(String, String)] = [
        ("cpu", "cpu"), ("net_rx", "net_rx"), ("disk_util", "disk_util"), ("fs:/", "fs:/"),
        ("fs:/srv/backup", "fs:/srv/backup"), ("temp:coretemp package_id_0", "temp:coretemp package_id_0"),
        ("temp:acpitz", "temp:acpitz"), ("fs:/srv/my disk", "fs:/srv/my disk"),
    ]

    @Test(arguments: validNames)
    func seriesNamesParse(_ row: (String, String)) throws {
        #expect(try HistorySeries(parsing: row.0).rawValue == row.1)
    }

    /// Refused names and a word the error must contain.
    static let refusedNames: [(String, String)] = [
        ("bogus", "not one of"), ("", "not one of"), ("fs:", "needs a name"), ("temp:", "needs a name"),
        ("fs:relative/path", "must start with /"), ("fs:/srv/../etc", ".."), ("fs:/srv/./x", ".."),
        ("fs:/a\nb", "control character"), ("temp:x\u{1B}[31m", "control character"),
        ("fs:/" + String(repeating: "a", count: 5000), "more than 4096"),
        ("temp:" + String(repeating: "t", count: 200), "more than 128"), ("FS:/", "not one of"),
    ]

    @Test(arguments: refusedNames)
    func hostileSeriesNamesAreRefused(_ row: (String, String)) {
        let error = #expect(throws: SeriesNameError.self) { try HistorySeries(parsing: row.0) }
        #expect(error?.description.contains(row.1) == true, "\(row.0.prefix(30)): \(error?.description ?? "")")
        #expect(error?.description.contains("\n") == false)
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Testing

@testable import LookoutHub

/// The history routes for issue 11's series, the series list and monthly traffic, through
/// HummingbirdTesting (no socket) on a real SQLite file.
@Suite struct HistoryRoutesTests {
    static let now = Date(timeIntervalSince1970: 1_765_276_200)  // 2025-12-09T10:30:00Z
    let folder = NSTemporaryDirectory() + "lookout-history-routes-\(UUID().uuidString)"

    func withHub(
        config: MonitoringConfig = MonitoringConfig(),
        _ body: @escaping @Sendable (Hub, any TestClientProtocol) async throws -> Void
    ) async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hub = try await Hub.open(
            Hub.Settings(dataFolder: folder, config: config), logger: Logger(label: "test"),
            now: { HistoryRoutesTests.now })
        let app = Application(router: hub.router())
        try await app.test(.router) { client in try await body(hub, client) }
    }

    func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    /// Ten minutes of samples of web-1, the last at `now`, with every extra figure.
    func fill(_ hub: Hub) async throws {
        for minute in 0..<10 {
            let document = makeExtrasDocument(
                "web-1", at: Self.now.addingTimeInterval(Double(minute - 9) * 60), rxTotal: Double(minute) * 1000,
                txTotal: Double(minute) * 3000, rxRate: Double(minute), txRate: 1, bootID: "b",
                diskIO: DiskIOMetrics(device: "vda", readBytesPerSecond: 1, writeBytesPerSecond: 2, utilPercent: 3),
                swapPercent: 4, filesystems: [("/", 25), ("/srv/backup", Double(90 + minute % 2))],
                temperatures: [("coretemp package_id_0", 48)])
            #expect(await hub.ingestor.ingest(document) == .stored)
        }
    }

    @Test func extraSeriesAreServedByName() async throws {
        try await withHub { hub, client in
            try await fill(hub)
            for (name, average) in [
                ("net_rx", 4.5), ("net_tx", 1), ("disk_read", 1), ("disk_write", 2), ("disk_util", 3), ("swap", 4),
                ("fs%3A%2Fsrv%2Fbackup", 90.5), ("fs:/srv/backup", 90.5), ("temp%3Acoretemp%20package_id_0", 48),
                ("temp:coretemp+package_id_0", 48),
            ] {
                let uri = "/api/monitoring/history/web-1?metric=\(name)&range=1h&points=1"
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(name)")
                    let body = try json(response.body)
                    let points = try #require(body["points"] as? [[String: Any]])
                    #expect(points.map { $0["avg"] as? Double } == [average], "\(name)")
                    #expect(points.map { $0["n"] as? Int } == [10], "\(name)")
                    let asked = name.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
                    #expect(body["metric"] as? String == asked, "\(name)")
                }
            }
        }
    }

    @Test func unknownAndHostileNamesAre400() async throws {
        try await withHub { hub, client in
            try await fill(hub)
            let long = String(repeating: "a", count: 5000)
            for (query, message) in [
                ("metric=bogus", #"metric: \"bogus\" is not one of cpu"#), ("metric=fs%3A", "needs a name"),
                ("metric=fs%3A%2Fsrv%2F..%2Fetc", ".."), ("metric=fs%3A%2Fa%0Ab", "control character"),
                ("metric=temp%3Ax%1B%5B31m", "control character"), ("metric=fs%3A%2F\(long)", "more than 4096"),
                ("metric=%0A", "the name is not one of"), ("metric=fs%3Arelative", "must start with /"),
                ("metric=%ZZ", "not valid URL encoding"),
            ] {
                try await client.execute(uri: "/api/monitoring/history/web-1?\(query)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(query.prefix(40))")
                    let text = String(buffer: response.body)
                    #expect(text.contains(message), "\(query.prefix(40)): \(text.prefix(200))")
                    #expect(text.contains("fs:<path>, temp:<sensor>") || !text.contains("not one of"))
                }
            }
        }
    }

    @Test func theSeriesListNamesTheVMsExtraSeries() async throws {
        try await withHub { hub, client in
            _ = await hub.ingestor.ingest(makeDocument("db-1", at: Self.now))
            try await fill(hub)
            try await client.execute(uri: "/api/monitoring/history/web-1/series", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["vm_id"] as? String == "web-1")
                #expect(
                    body["series"] as? [String] == [
                        "net_rx", "net_tx", "disk_read", "disk_write", "disk_util", "swap", "fs:/", "fs:/srv/backup",
                        "temp:coretemp package_id_0",
                    ])
            }
            try await client.execute(uri: "/api/monitoring/history/db-1/series", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"series":[],"vm_id":"db-1"}"#)
            }
            try await client.execute(uri: "/api/monitoring/history/..%2Fx/series", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func trafficListsEveryVMSortedWithItsAllowance() async throws {
        var config = MonitoringConfig()
        config.traffic[try VMID(validating: "web-1")] = TrafficAllowance(monthlyGB: 1, direction: .tx, resetDay: 1)
        config.traffic[try VMID(validating: "app-1")] = TrafficAllowance(monthlyGB: 2, direction: .both, resetDay: 15)
        try await withHub(config: config) { hub, client in
            try await fill(hub)
            // History of a VM the fleet does not list (forgotten): its traffic is not shown.
            for minute in 0..<2 {
                let document = makeExtrasDocument(
                    "gone-1", at: Self.now.addingTimeInterval(Double(minute) * -60), rxTotal: 5, txTotal: 5)
                #expect(try await hub.ingestor.store.insert(document))
            }
            #expect(try await hub.ingestor.store.trafficUsage(config: hub.settings.config, now: Self.now).count == 3)
            try await client.execute(uri: "/api/monitoring/traffic", method: .get) { response in
                #expect(response.status == .ok)
                let vms = try #require(try json(response.body)["vms"] as? [[String: Any]])
                #expect(vms.map { $0["vm_id"] as? String } == ["app-1", "web-1"])
                let web = vms[1]
                #expect(web["rx_bytes"] as? Double == 9000 && web["tx_bytes"] as? Double == 27000)
                #expect(web["used_bytes"] as? Double == 27000 && web["allowance_bytes"] as? Double == 1e9)
                #expect(web["period_start"] as? String == "2025-12-01T00:00:00Z")
                #expect(web["period_end"] as? String == "2026-01-01T00:00:00Z")
                #expect(web["direction"] as? String == "tx")
                let app = vms[0]
                #expect(app["used_bytes"] as? Double == 0 && app["period_start"] as? String == "2025-11-15T00:00:00Z")
                #expect(app["projected_exhaustion"] is NSNull)
            }
        }
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Testing

@testable import LookoutHub

/// `GET /api/monitoring/sparklines` and the `metrics=` form of the history route, with the
/// hub and helpers of ``HistoryRoutesTests`` (HummingbirdTesting on a real SQLite file).
extension HistoryRoutesTests {
    /// The JSON array as optionals (NSNull → nil).
    func values(_ any: Any?) throws -> [Double?] {
        try #require(any as? [Any]).map { $0 as? Double }
    }

    func at(_ offset: Double) -> Date { Self.now.addingTimeInterval(offset) }

    @Test func sparklinesHaveBucketEdgesNullsAndOnlyTheFleet() async throws {
        try await withHub { hub, client in
            // 24 h in 48 buckets of 1800 s from now − 24 h; the last bucket holds a sample at now.
            for (offset, cpu, memory) in [
                (-86_400.0, 10.0, 20.0), (-86_400 + 1799, 30, 20), (-86_400 + 1800, 50, 33.33), (0, 70, 20),
            ] {
                #expect(
                    await hub.ingestor.ingest(makeDocument("web-1", at: at(offset), cpu: cpu, memory: memory))
                        == .stored)
            }
            // Before the window: neither counted nor a reason to drop the VM (it is in the fleet).
            #expect(await hub.ingestor.ingest(makeDocument("idle-1", at: at(-90_000))) == .stored)
            // History of a VM the fleet does not list (forgotten): never answered.
            #expect(try await hub.ingestor.store.insert(makeDocument("gone-1", at: at(-60))))
            try await client.execute(uri: "/api/monitoring/sparklines?range=24h&points=48", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["from"] as? String == "2025-12-08T10:30:00Z")
                #expect(body["to"] as? String == "2025-12-09T10:30:00Z")
                #expect(body["step_seconds"] as? Int == 1800)
                #expect(body["points"] as? Int == 48)
                let vms = try #require(body["vms"] as? [String: [String: Any]])
                #expect(Set(vms.keys) == ["web-1", "idle-1"])
                let cpu = try values(vms["web-1"]?["cpu"])
                let memory = try values(vms["web-1"]?["memory"])
                #expect(cpu.count == 48 && memory.count == 48)
                #expect(cpu[0] == 20 && cpu[1] == 50 && cpu[47] == 70)
                #expect(cpu[2..<47].allSatisfy { $0 == nil })
                #expect(memory[0] == 20 && memory[1] == 33.3 && memory[47] == 20)
                #expect(try values(vms["idle-1"]?["cpu"]) == Array(repeating: nil, count: 48))
                #expect(try values(vms["idle-1"]?["memory"]) == Array(repeating: nil, count: 48))
            }
        }
    }

    @Test func sparklinesDefaultsAndAnEmptyFleet() async throws {
        try await withHub { hub, client in
            try await client.execute(uri: "/api/monitoring/sparklines", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["points"] as? Int == 48 && body["step_seconds"] as? Int == 1800)
                #expect((body["vms"] as? [String: Any])?.isEmpty == true)
            }
            #expect(await hub.ingestor.ingest(makeDocument("web-1", at: at(-30))) == .stored)
            try await client.execute(uri: "/api/monitoring/sparklines?range=1h&points=1", method: .get) { response in
                let vms = try #require(try json(response.body)["vms"] as? [String: [String: Any]])
                #expect(try values(vms["web-1"]?["cpu"]) == [10])
            }
        }
    }

    /// Past the raw window the hourly rollups answer, as they do for one VM's series.
    @Test func sparklinesBeyondTheRawWindowReadTheHourlyRollups() async throws {
        var config = MonitoringConfig()
        config.retention = Retention(rawDays: 1, hourlyDays: 30)
        try await withHub(config: config) { hub, client in
            // Three days ago, two samples in one hour (cpu 10 and 30), then one now (cpu 90).
            for (offset, cpu) in [(-3 * 86_400.0 - 1200, 10.0), (-3 * 86_400 - 600, 30), (0, 90)] {
                #expect(await hub.ingestor.ingest(makeDocument("web-1", at: at(offset), cpu: cpu)) == .stored)
            }
            let report = try await hub.ingestor.store.applyRetention(
                now: Self.now, retention: hub.settings.config.retention)
            #expect(report.rawDeleted == 2)
            try await client.execute(uri: "/api/monitoring/sparklines?range=7d&points=7", method: .get) { response in
                #expect(response.status == .ok)
                let vms = try #require(try json(response.body)["vms"] as? [String: [String: Any]])
                #expect(try values(vms["web-1"]?["cpu"]) == [nil, nil, nil, 20, nil, nil, 90])
            }
        }
    }

    @Test func badSparklineParametersAre400NamingThem() async throws {
        try await withHub { _, client in
            for (query, message) in [
                ("range=2d3", "range: \\\"2d3\\\" is not a duration from 1h to 30d"), ("range=30m", "range:"),
                ("range=31d", "range:"), ("range=", "range:"),
                ("points=0", "points: \\\"0\\\" is not a number from 1 to 200"),
                ("points=201", "points:"), ("points=x", "points:"),
            ] {
                try await client.execute(uri: "/api/monitoring/sparklines?\(query)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(query)")
                    let text = String(buffer: response.body)
                    #expect(text.contains(message), "\(query): \(text.prefix(200))")
                }
            }
        }
    }

    @Test func manySeriesComeInOneAnswer() async throws {
        try await withHub { hub, client in
            for minute in 0..<10 {
                let document = makeExtrasDocument(
                    "web-1", at: at(Double(minute - 9) * 60), rxTotal: Double(minute) * 1000,
                    txTotal: Double(minute) * 3000, rxRate: Double(minute), txRate: 1, bootID: "b",
                    filesystems: [("/", 25), ("/srv/backup, old", 91)], temperatures: [("coretemp package_id_0", 48)])
                #expect(await hub.ingestor.ingest(document) == .stored)
            }
            let names = "cpu,memory,disk,load1,net_rx,fs%3A%2F,temp:coretemp+package_id_0,cpu"
            let uri = "/api/monitoring/history/web-1?metrics=\(names)&range=1h&points=1"
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["vm_id"] as? String == "web-1")
                #expect(
                    body["from"] as? String == "2025-12-09T09:30:00Z" && body["to"] as? String == "2025-12-09T10:30:00Z"
                )
                let series = try #require(body["series"] as? [String: [[String: Any]]])
                #expect(
                    Set(series.keys) == [
                        "cpu", "memory", "disk", "load1", "net_rx", "fs:/", "temp:coretemp package_id_0",
                    ])
                #expect(series["net_rx"]?.map { $0["avg"] as? Double } == [4.5])
                #expect(series["fs:/"]?.map { $0["n"] as? Int } == [10])
                #expect(series["temp:coretemp package_id_0"]?.map { $0["avg"] as? Double } == [48])
            }
            // The same points as the single form, with from/to instead of range.
            let window = "from=2025-12-09T10:20:00Z&to=2025-12-09T10:30:00Z&points=5"
            var single: [[String: Any]] = []
            try await client.execute(uri: "/api/monitoring/history/web-1?metric=cpu&\(window)", method: .get) { r in
                single = try #require(try json(r.body)["points"] as? [[String: Any]])
            }
            try await client.execute(uri: "/api/monitoring/history/web-1?metrics=cpu&\(window)", method: .get) { r in
                let many = try #require((try json(r.body)["series"] as? [String: [[String: Any]]])?["cpu"])
                #expect(many.count == 5 && many.count == single.count)
                #expect(many.map { $0["t"] as? String } == single.map { $0["t"] as? String })
                #expect(many.map { $0["n"] as? Int } == single.map { $0["n"] as? Int })
            }
            // A name holding a comma is asked through the single form.
            let comma = "/api/monitoring/history/web-1?metric=fs%3A%2Fsrv%2Fbackup%2C%20old&range=1h&points=1"
            try await client.execute(uri: comma, method: .get) { response in
                #expect(response.status == .ok)
                let points = try #require(try json(response.body)["points"] as? [[String: Any]])
                #expect(points.first?["avg"] as? Double == 91)
            }
        }
    }

    @Test func badSeriesListsAre400NamingTheName() async throws {
        try await withHub { hub, client in
            #expect(await hub.ingestor.ingest(makeDocument("web-1", at: Self.now)) == .stored)
            let many = (0..<33).map { _ in "cpu" }.joined(separator: ",")
            for (query, message) in [
                ("metrics=cpu,bogus", #"metrics: \"bogus\" is not one of cpu"#), ("metrics=cpu,,memory", "empty name"),
                ("metrics=", "empty name"), ("metrics=cpu,", "empty name"),
                ("metrics=\(many)", "33 names, more than 32"),
                ("metrics=fs%3A%2Fa%2F..%2Fb", ".."), ("metrics=cpu&metric=cpu", "not both"),
                ("metrics=cpu&range=x", "range:"), ("metrics=cpu&points=2001", "points:"),
            ] {
                try await client.execute(uri: "/api/monitoring/history/web-1?\(query)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(query.prefix(40))")
                    let text = String(buffer: response.body)
                    #expect(text.contains(message), "\(query.prefix(40)): \(text.prefix(200))")
                }
            }
        }
    }
}

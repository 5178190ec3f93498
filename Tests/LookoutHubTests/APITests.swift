import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Testing

@testable import LookoutHub

/// The monitoring API through HummingbirdTesting (no socket), on a real SQLite file.
@Suite struct APITests {
    static let now = Date(timeIntervalSince1970: 1_765_276_200)  // 2025-12-09T10:30:00Z
    let folder = NSTemporaryDirectory() + "lookout-api-\(UUID().uuidString)"

    func withHub(
        tokens: APITokens = APITokens(), config: MonitoringConfig = MonitoringConfig(),
        _ body: @escaping @Sendable (Hub, any TestClientProtocol) async throws -> Void
    ) async throws {
        let hub = try await Hub.open(
            Hub.Settings(dataFolder: folder, config: config, tokens: tokens), logger: Logger(label: "test"),
            now: { APITests.now })
        let app = Application(router: hub.router())
        try await app.test(.router) { client in try await body(hub, client) }
    }

    func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    func post(_ client: any TestClientProtocol, _ document: MetricsDocument, token: String? = nil) async throws -> (
        HTTPResponse.Status, String
    ) {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        headers[.contentType] = "application/json"
        return try await client.execute(
            uri: "/api/monitoring/ingest", method: .post, headers: headers, body: ByteBuffer(bytes: document.encoded())
        ) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func summaryAndVMServeTheLatestDocuments() async throws {
        try await withHub { hub, client in
            try await client.execute(uri: "/api/monitoring/summary", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"vms":{}}"#)
            }
            let older = makeDocument("web-1", at: Self.now.addingTimeInterval(-600), cpu: 10)
            let newer = makeDocument("web-1", at: Self.now.addingTimeInterval(-60), cpu: 55)
            #expect(try await post(client, newer).0 == .created)
            #expect(try await post(client, older).1 == #"{"status":"stored_older"}"#)
            #expect(try await post(client, makeDocument("db-1", at: Self.now)).0 == .created)
            try await client.execute(uri: "/api/monitoring/summary", method: .get) { response in
                let vms = try #require(try json(response.body)["vms"] as? [String: [String: Any]])
                #expect(Set(vms.keys) == ["web-1", "db-1"])
                let system = try #require(vms["web-1"]?["system"] as? [String: Any])
                #expect((system["cpu"] as? [String: Any])?["percent"] as? Double == 55)
            }
            try await client.execute(uri: "/api/monitoring/vm/web-1", method: .get) { response in
                #expect(response.status == .ok)
                #expect((try? MetricsDocument.decode(Array(response.body.readableBytesView))) == newer)
            }
            try await client.execute(uri: "/api/monitoring/vm/nope", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body) == #"{"error":"Not found"}"#)
            }
            #expect(try await hub.ingestor.store.sampleCount(vmID: VMID(validating: "web-1")) == 2)
        }
    }

    @Test(arguments: ["%2e%2e", "..", "a%2Fb", "%2E%2E%2Fetc", "x%00y", "é", String(repeating: "a", count: 65)])
    func hostileVMIDsInURLsGet400(_ id: String) async throws {
        try await withHub { _, client in
            for path in ["/api/monitoring/vm/\(id)", "/api/monitoring/history/\(id)"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .badRequest, "\(path)")
                    #expect(String(buffer: response.body).contains("invalid vm_id"), "\(path)")
                }
            }
        }
    }

    @Test func alertsAreEmptyUntilTheEngineWritesThem() async throws {
        try await withHub { _, client in
            try await client.execute(uri: "/api/monitoring/alerts", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"alerts":[]}"#)
            }
        }
    }

    @Test func ingestIsIdempotentAndNamesBadFields() async throws {
        try await withHub { hub, client in
            let document = makeDocument("web-1", at: Self.now)
            #expect(try await post(client, document) == (.created, #"{"status":"stored"}"#))
            #expect(try await post(client, document) == (.ok, #"{"status":"duplicate"}"#))
            let bad = String(decoding: document.encoded(), as: UTF8.self).replacingOccurrences(
                of: #""cores":1"#, with: #""cores":"one""#)
            try await client.execute(uri: "/api/monitoring/ingest", method: .post, body: ByteBuffer(string: bad)) {
                response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body) == #"{"error":"system.cpu.cores: expected a whole number"}"#)
            }
            try await client.execute(
                uri: "/api/monitoring/ingest", method: .post, body: ByteBuffer(string: "{not json")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("not valid JSON"))
            }
            let huge = ByteBuffer(repeating: UInt8(ascii: " "), count: MetricsDocument.maxEncodedSize + 10)
            try await client.execute(uri: "/api/monitoring/ingest", method: .post, body: huge) { response in
                #expect(response.status == .contentTooLarge)
                #expect(String(buffer: response.body).hasPrefix(#"{"error":"#))
            }
            var future = makeDocument("web-1", at: Self.now.addingTimeInterval(3600))
            future.vmID = try VMID(validating: "web-2")
            let (status, body) = try await post(client, future)
            #expect(status == .badRequest && body.contains("ahead of the hub's clock"))
            #expect(try await hub.ingestor.store.sampleCount(vmID: VMID(validating: "web-1")) == 1)
        }
    }

    @Test func aMainTokenGuardsEveryAPIRoute() async throws {
        let tokens = APITokens(
            main: "main-token-0123456789", perVM: [try VMID(validating: "web-1"): "web-1-token-0123456789"])
        try await withHub(tokens: tokens) { _, client in
            #expect(
                try await post(client, makeDocument("web-1", at: Self.now), token: "main-token-0123456789").0
                    == .created)
            for path in [
                "/api/monitoring/summary", "/api/monitoring/vm/web-1", "/api/monitoring/alerts",
                "/api/monitoring/status", "/metrics",
            ] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(path)")
                    #expect(String(buffer: response.body) == #"{"error":"Missing bearer token"}"#)
                }
                try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer wrong"]) {
                    response in
                    #expect(response.status == .unauthorized, "\(path)")
                    #expect(String(buffer: response.body) == #"{"error":"Invalid token"}"#)
                }
                try await client.execute(
                    uri: path, method: .get, headers: [.authorization: "Bearer web-1-token-0123456789"]
                ) { response in
                    #expect(response.status == .forbidden, "a VM token may not read \(path)")
                }
                try await client.execute(
                    uri: path, method: .get, headers: [.authorization: "Bearer main-token-0123456789"]
                ) { response in
                    #expect(response.status == .ok, "\(path)")
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { response in #expect(response.status == .ok) }
            let next = makeDocument("web-1", at: Self.now.addingTimeInterval(60))
            #expect(try await post(client, next).0 == .unauthorized)
            #expect(try await post(client, next, token: "web-1-token-0123456789").0 == .created)
            let (status, body) = try await post(
                client, makeDocument("db-1", at: Self.now), token: "web-1-token-0123456789")
            #expect(status == .forbidden && body.contains("only push documents of web-1"))
            #expect(
                try await post(client, makeDocument("db-1", at: Self.now), token: "main-token-0123456789").0 == .created
            )
        }
    }

    /// The dashboard draws a filesystem's threshold lines from `/config`: a per-path override
    /// is there under its config spelling, beside the VM's other thresholds.
    @Test func configCarriesPerFilesystemOverrides() async throws {
        var config = MonitoringConfig()
        config.overrides[try VMID(validating: "backup-1")] = try JSONDecoder().decode(
            ThresholdOverrides.self,
            from: Data(
                #"{"fs:/srv/backup": {"warning": 95, "critical": 98}, "cpu": {"warning": 1, "critical": 2}}"#.utf8))
        try await withHub(config: config) { _, client in
            try await client.execute(uri: "/api/monitoring/config", method: .get) { response in
                let body = try json(response.body)
                let vm = try #require((body["overrides"] as? [String: Any])?["backup-1"] as? [String: Any])
                let fs = try #require(vm["fs:/srv/backup"] as? [String: Any])
                #expect(fs["warning"] as? Double == 95 && fs["critical"] as? Double == 98)
                #expect((vm["cpu"] as? [String: Any])?["critical"] as? Double == 2)
                #expect((vm["disk"] as? [String: Any])?["warning"] as? Double == 80)
            }
        }
    }

    @Test func statusJudgesThresholdsOverridesAndStaleness() async throws {
        var config = MonitoringConfig()
        config.overrides[try VMID(validating: "backup")] = try JSONDecoder().decode(
            ThresholdOverrides.self, from: Data(#"{"disk": {"warning": 95, "critical": 99}}"#.utf8))
        try await withHub(config: config) { _, client in
            _ = try await post(client, makeDocument("ok-vm", at: Self.now))
            _ = try await post(client, makeDocument("hot", at: Self.now, disk: 93))
            _ = try await post(client, makeDocument("backup", at: Self.now, disk: 93))
            _ = try await post(client, makeDocument("gone", at: Self.now.addingTimeInterval(-3600)))
            try await client.execute(uri: "/api/monitoring/status", method: .get) { response in
                let body = try json(response.body)
                #expect(body["status"] as? String == "stale")
                let vms = try #require(body["vms"] as? [[String: Any]])
                let byID = Dictionary(uniqueKeysWithValues: vms.map { ($0["vm_id"] as! String, $0) })
                #expect(byID["ok-vm"]?["status"] as? String == "ok")
                #expect(byID["hot"]?["status"] as? String == "critical")
                let problem = try #require((byID["hot"]?["problems"] as? [[String: Any]])?.first)
                #expect(problem["threshold"] as? Double == 90 && problem["value"] as? Double == 93)
                #expect(byID["backup"]?["status"] as? String == "ok")
                #expect(byID["gone"]?["status"] as? String == "stale")
                #expect(byID["gone"]?["age_seconds"] as? Int == 3600)
            }
        }
    }

    @Test func historyIsDownsampledAndValidatesItsQuery() async throws {
        try await withHub { _, client in
            for minute in 0..<60 {
                _ = try await post(
                    client,
                    makeDocument(
                        "web-1", at: Self.now.addingTimeInterval(Double(minute - 60) * 60), cpu: Double(minute)))
            }
            try await client.execute(uri: "/api/monitoring/history/web-1?metric=cpu&range=1h&points=6", method: .get) {
                response in
                #expect(response.status == .ok)
                let points = try #require(try json(response.body)["points"] as? [[String: Any]])
                #expect(points.count == 6)
                #expect(points.first?["min"] as? Double == 0 && points.first?["max"] as? Double == 9)
                #expect(points.last?["max"] as? Double == 59)
            }
            for (query, message) in [
                ("metric=bogus", "metric: \\\"bogus\\\" is not one of"), ("range=5y", "range:"),
                ("range=200000000000000d", "range:"), ("range=9223372036854775807d", "range:"), ("points=0", "points:"),
                ("from=yesterday", "from:"),
                ("from=2025-12-09T10:30:00Z&to=2025-12-09T10:00:00Z", "from must be before to"),
            ] {
                try await client.execute(uri: "/api/monitoring/history/web-1?\(query)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(query)")
                    #expect(
                        String(buffer: response.body).contains(message), "\(query): \(String(buffer: response.body))")
                }
            }
        }
    }

    @Test func servicesOverviewSaysSinceWhen() async throws {
        try await withHub { _, client in
            let t0 = Self.now.addingTimeInterval(-300)
            _ = try await post(
                client, makeDocument("web-1", at: t0, services: [.init(id: "site", healthy: true, responseMS: 12)]))
            _ = try await post(
                client,
                makeDocument(
                    "web-1", at: Self.now.addingTimeInterval(-120),
                    services: [.init(id: "site", healthy: true, responseMS: 15)]))
            _ = try await post(
                client,
                makeDocument(
                    "web-1", at: Self.now,
                    services: [.init(id: "site", healthy: false, responseMS: 3000, error: "timed out after 3000 ms")]))
            try await client.execute(uri: "/api/monitoring/services", method: .get) { response in
                let rows = try #require(try json(response.body)["services"] as? [[String: Any]])
                #expect(rows.count == 1)
                #expect(rows.first?["healthy"] as? Bool == false)
                #expect(rows.first?["since"] as? String == Timestamp.format(Self.now))
                #expect(rows.first?["error"] as? String == "timed out after 3000 ms")
            }
        }
    }

    @Test func aRestartedHubServesWhatItHadBefore() async throws {
        try await withHub { _, client in
            _ = try await post(client, makeDocument("web-1", at: Self.now, cpu: 42))
        }
        try await withHub { _, client in
            try await client.execute(uri: "/api/monitoring/vm/web-1", method: .get) { response in
                #expect(response.status == .ok)
                #expect((try? MetricsDocument.decode(Array(response.body.readableBytesView)))?.system.cpu.percent == 42)
            }
        }
    }

    @Test func aStoreThatCannotWriteAnswers503SoTheAgentKeepsTheDocument() async throws {
        try await withHub { _, client in
            // Break the database under the running hub, as a full or damaged disk would.
            let queue = try DatabaseQueue(path: folder + "/lookout.sqlite")
            try await queue.write { db in try db.execute(sql: "DROP TABLE samples") }
            let (status, body) = try await post(client, makeDocument("web-1", at: Self.now))
            #expect(status == .serviceUnavailable)
            #expect(body == #"{"error":"the hub could not store the document right now; retry later"}"#)
            // The fleet still took it: the dashboard and the alert pass judge what the VM says now.
            try await client.execute(uri: "/api/monitoring/vm/web-1", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func unknownRoutesAnswerJSON404() async throws {
        try await withHub { _, client in
            try await client.execute(uri: "/api/monitoring/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body) == #"{"error":"Not found"}"#)
            }
        }
    }
}

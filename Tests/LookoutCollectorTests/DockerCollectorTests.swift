import Foundation
import Logging
import LookoutCore
import NIOHTTP1
import Synchronization
import Testing

@testable import LookoutCollector

/// The fixture daemon's containers (Fixtures/docker/containers.json) and the figures their
/// stats bodies lead to:
/// - mailu-front, running, cgroup v2: usage 60817408 − inactive_file 13631488 = 45.0 MiB;
///   precpu delta 50 ms of 2 s host time = 2.5 %.
/// - postgres, running, cgroup v1: usage 162529280 − cache 52428800 = 105.0 MiB;
///   precpu delta 10 ms of 1 s = 1.0 %.
/// - redis, paused: served the cgroup v2 body.
/// - worker, restarting: the zeroed body the daemon sends between restarts.
/// - backup, exited: no stats call.
enum DockerFixture {
    static let front = "3def684b1b9634603e7809259fd816dfe03ee77c75b7df7e526a4f8634ca4b41"
    static let postgres = "0c4000bac6a45f0f8007ee9ba739d3c4931ead91102bb6a358fc81ce5bb83d5e"
    static let backup = "a7f9c31705bc418cbe5e173f499b92a76d9fa50e7eb1473c37629bd79995d6e0"
    static let worker = "a2b518a2f081a0e50ad74e1f2d054f47effb8912914c14b377aec6ad9a26a31a"
    static let redis = "20e1ef6ba681055dc0d3b848cd1a40a207d000e28b60aa1df173603a151cd723"

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/docker")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }

    /// The routes of a daemon serving the fixtures.
    static func routes() throws -> [String: FixtureHTTPServer.Response] {
        let v2 = try bytes("stats-cgroup2.json")
        return [
            "GET /containers/json": .json(try bytes("containers.json")),
            "GET /containers/\(front)/stats": .json(v2),
            "GET /containers/\(postgres)/stats": .json(try bytes("stats-cgroup1.json")),
            "GET /containers/\(worker)/stats": .json(try bytes("stats-restarting.json")),
            "GET /containers/\(redis)/stats": .json(v2),
        ]
    }
}

/// Keeps what a `Logger` was given, to check what a run logs and how often.
final class CapturedLogs: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
    }

    private let box = Mutex<[Entry]>([])

    var entries: [Entry] { box.withLock { $0 } }
    /// Entries at info level and above: what an operator sees at the default log level.
    var notices: [Entry] { entries.filter { $0.level >= .info } }

    var logger: Logger {
        Logger(label: "lookout.test") { _ in Handler(recorder: self) }
    }

    struct Handler: LogHandler {
        let recorder: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.box.withLock { $0.append(Entry(level: event.level, message: "\(event.message)")) }
        }
    }
}

@Suite struct DockerCollectorTests {
    let socketPath = FixtureHTTPServer.temporarySocketPath()

    func collector(_ logs: CapturedLogs = CapturedLogs(), timeout: Duration = .seconds(10)) -> DockerCollector {
        DockerCollector(socketPath: socketPath, timeout: timeout, logger: logs.logger)
    }

    @Test func listsEveryContainerWithItsStateMemoryAndCPU() async throws {
        let server = FixtureHTTPServer(.unix(path: socketPath), routes: try DockerFixture.routes())
        let logs = CapturedLogs()
        let (containers, counters) = try await server.run { _ in
            await collector(logs).collect(previous: [:])
        }

        #expect(
            containers == [
                ContainerMetrics(name: "backup", status: "exited", cpuPercent: 0, memoryMB: 0),
                ContainerMetrics(name: "mailu-front", status: "running", cpuPercent: 2.5, memoryMB: 45),
                ContainerMetrics(name: "postgres", status: "running", cpuPercent: 1, memoryMB: 105),
                ContainerMetrics(name: "redis", status: "paused", cpuPercent: 2.5, memoryMB: 45),
                ContainerMetrics(name: "worker", status: "restarting", cpuPercent: 0, memoryMB: 0),
            ])
        #expect(
            counters == [
                DockerFixture.front: ContainerCPUCounters(usage: 84_512_345_000, system: 912_345_670_000_000),
                DockerFixture.redis: ContainerCPUCounters(usage: 84_512_345_000, system: 912_345_670_000_000),
                DockerFixture.postgres: ContainerCPUCounters(usage: 1_234_567_890_000, system: 4_567_890_120_000_000),
            ])
        #expect(logs.notices.isEmpty)

        let requests = server.requests
        let list = try #require(requests.first { $0.path == "/containers/json" })
        #expect(list.query == "all=1")
        let stats = requests.filter { $0.path.hasSuffix("/stats") }
        #expect(
            Set(stats.map(\.path))
                == Set(
                    [
                        DockerFixture.front, DockerFixture.postgres, DockerFixture.worker,
                        DockerFixture.redis,
                    ].map { "/containers/\($0)/stats" }))
        for request in stats {
            let query = Set((request.query ?? "").split(separator: "&"))
            #expect(query == ["stream=false", "one-shot=true"])
        }
        #expect(requests.allSatisfy { $0.method == .GET && !$0.path.hasPrefix("/v1") })
    }

    @Test func cpuComesFromThePreviousCountersWhenGiven() async throws {
        let server = FixtureHTTPServer(.unix(path: socketPath), routes: try DockerFixture.routes())
        let previous = [
            // 3.456 s of container time in 100 s of host time.
            DockerFixture.front: ContainerCPUCounters(usage: 81_056_345_000, system: 912_245_670_000_000),
            // Larger than now: the container restarted since.
            DockerFixture.postgres: ContainerCPUCounters(usage: 9_999_999_999_999, system: 4_567_000_000_000_000),
        ]
        let (containers, _) = try await server.run { _ in
            await collector().collect(previous: previous)
        }
        let cpu = Dictionary(uniqueKeysWithValues: containers.map { ($0.name, $0.cpuPercent) })
        #expect(cpu["mailu-front"] == 3.5)
        #expect(cpu["postgres"] == 0)
        #expect(cpu["redis"] == 2.5)  // no previous entry: precpu_stats
    }

    @Test func noSocketMeansNoContainersAndOneInfoLine() async {
        let logs = CapturedLogs()
        let (containers, counters) = await collector(logs).collect(previous: [:])
        #expect(containers.isEmpty)
        #expect(counters.isEmpty)
        let entries = logs.entries  // not a single request, so nothing from the HTTP client either
        #expect(entries.count == 1)
        #expect(entries.first?.level == .info)
        #expect(entries.first?.message == "no Docker socket at \(socketPath); reporting no containers")
    }

    @Test func aDaemonSlowerThanTheTimeoutMeansNoContainers() async throws {
        let routes = try DockerFixture.routes()
        let server = FixtureHTTPServer(.unix(path: socketPath)) { request in
            var response = routes["GET \(request.path)"] ?? .notFound
            response.delay = .seconds(30)
            return response
        }
        let logs = CapturedLogs()
        let (containers, counters) = try await server.run { _ in
            await collector(logs, timeout: .milliseconds(300)).collect(previous: [:])
        }
        #expect(containers.isEmpty)
        #expect(counters.isEmpty)
        let warning = try #require(logs.notices.only)
        #expect(warning.level == .warning)
        #expect(warning.message.contains(socketPath))
        #expect(warning.message.contains("timed out after 300 ms"))
    }

    struct BadAnswer: Sendable, CustomTestStringConvertible {
        var response: FixtureHTTPServer.Response
        /// Text the warning must contain.
        var reason: String
        var testDescription: String {
            "\(response.status.code) \(String(decoding: response.body.prefix(30), as: UTF8.self))"
        }
    }

    @Test(arguments: [
        BadAnswer(response: .text("<html>502 Bad Gateway</html>"), reason: "not valid JSON"),
        BadAnswer(response: .json(#"[{"Id": "abc", "Names": ["/x"], "State": "run"#), reason: "not valid JSON"),
        BadAnswer(response: .json(#"{"containers": []}"#), reason: "not the Engine API's JSON: expected a list"),
        BadAnswer(
            response: .json(#"{"message":"client version 1.99 is too new"}"#, status: .badRequest),
            reason: "400: client version 1.99 is too new"),
        BadAnswer(
            response: .json(#"{"message":"daemon is shutting down"}"#, status: .internalServerError),
            reason: "500: daemon is shutting down"),
    ])
    func aDaemonAnsweringGarbageMeansNoContainers(_ answer: BadAnswer) async throws {
        let server = FixtureHTTPServer(.unix(path: socketPath), routes: ["/containers/json": answer.response])
        let logs = CapturedLogs()
        let (containers, _) = try await server.run { _ in
            await collector(logs).collect(previous: [:])
        }
        #expect(containers.isEmpty)
        let warning = try #require(logs.notices.only)
        #expect(warning.level == .warning)
        #expect(warning.message.contains(socketPath))
        #expect(warning.message.contains(answer.reason))
    }

    @Test func aContainerWhoseStatsFailIsListedWithoutFigures() async throws {
        var routes = try DockerFixture.routes()
        routes["GET /containers/\(DockerFixture.postgres)/stats"] = .text("garbage")
        routes["GET /containers/\(DockerFixture.worker)/stats"] = .json(
            #"{"message":"No such container"}"#,
            status: .notFound)
        let server = FixtureHTTPServer(.unix(path: socketPath), routes: routes)
        let logs = CapturedLogs()
        let (containers, counters) = try await server.run { _ in
            await collector(logs).collect(previous: [:])
        }
        // worker vanished between the list and its stats; postgres is there without figures.
        #expect(containers.map(\.name) == ["backup", "mailu-front", "postgres", "redis"])
        #expect(
            containers.first { $0.name == "postgres" }
                == ContainerMetrics(
                    name: "postgres", status: "running", cpuPercent: 0, memoryMB: 0))
        #expect(counters[DockerFixture.postgres] == nil)
        let warning = try #require(logs.notices.only)
        #expect(warning.level == .warning)
        #expect(warning.message.contains("1 of 4 containers"))
        #expect(warning.message.contains(String(DockerFixture.postgres.prefix(12))))
    }

    @Test func fiftyContainersAllComeBackWithBoundedConcurrency() async throws {
        let ids = (0..<50).map { String(format: "%064x", 0xC0FFEE + $0) }
        let list = ids.enumerated().map { index, id in
            #"{"Id":"\#(id)","Names":["/svc-\#(String(format: "%02d", index))"],"State":"running","Status":"Up"}"#
        }
        let listBody = "[" + list.joined(separator: ",") + "]"
        let stats = try DockerFixture.bytes("stats-cgroup2.json")
        final class Gauge: Sendable {
            let state = Mutex((now: 0, most: 0))
        }
        let gauge = Gauge()
        let server = FixtureHTTPServer(.unix(path: socketPath)) { request in
            if request.path == "/containers/json" { return .json(listBody) }
            gauge.state.withLock {
                $0.now += 1
                $0.most = max($0.most, $0.now)
            }
            try? await Task.sleep(for: .milliseconds(10))
            gauge.state.withLock { $0.now -= 1 }
            return .json(stats)
        }
        let (containers, counters) = try await server.run { _ in
            await collector().collect(previous: [:])
        }
        #expect(containers.count == 50)
        #expect(containers.map(\.name) == (0..<50).map { String(format: "svc-%02d", $0) })
        #expect(containers.allSatisfy { $0.memoryMB == 45 && $0.cpuPercent == 2.5 })
        #expect(Set(counters.keys) == Set(ids))
        #expect(server.requests.count == 51)
        #expect(gauge.state.withLock { $0.most } <= DockerCollector.maxConcurrentStats)
    }

    // MARK: The pure parts

    @Test func memoryUsesCacheOnCgroupV1AndInactiveFileOnV2() throws {
        let v1 = try DockerCollector.parseStats(Data(DockerFixture.bytes("stats-cgroup1.json")))
        let v2 = try DockerCollector.parseStats(Data(DockerFixture.bytes("stats-cgroup2.json")))
        #expect(DockerCollector.memoryMB(v1.memoryStats) == 105)
        #expect(DockerCollector.memoryMB(v2.memoryStats) == 45)

        // A v1 daemon without `cache`: total_inactive_file (41943040) instead.
        var withoutCache = v1.memoryStats
        withoutCache.cache = nil
        #expect(DockerCollector.memoryMB(withoutCache) == 115)

        // More cache than usage (counters read at different instants): never below 0.
        #expect(DockerCollector.memoryMB(.init(usage: 1000, inactiveFile: 5000)) == 0)
    }

    @Test func cpuNeedsABaselineAndForwardCounters() {
        let now = ContainerCPUCounters(usage: 2_000_000_000, system: 200_000_000_000)
        #expect(DockerCollector.cpuPercent(current: now, previous: nil) == 0)
        #expect(DockerCollector.cpuPercent(current: nil, previous: now) == 0)
        #expect(DockerCollector.cpuPercent(current: now, previous: now) == 0)
        let before = ContainerCPUCounters(usage: 1_000_000_000, system: 100_000_000_000)
        #expect(DockerCollector.cpuPercent(current: now, previous: before) == 1)
        let restarted = ContainerCPUCounters(usage: 5_000_000_000, system: 100_000_000_000)
        #expect(DockerCollector.cpuPercent(current: now, previous: restarted) == 0)
        let rebooted = ContainerCPUCounters(usage: 1_000_000_000, system: 300_000_000_000)
        #expect(DockerCollector.cpuPercent(current: now, previous: rebooted) == 0)
    }

    @Test func precpuWithoutHostTimeGivesNoFigure() throws {
        let json = #"""
            {"cpu_stats": {"cpu_usage": {"total_usage": 5000}, "system_cpu_usage": 90000},
             "precpu_stats": {"cpu_usage": {"total_usage": 0}}, "memory_stats": {}}
            """#
        let stats = try DockerCollector.parseStats(Data(json.utf8))
        let summary = DockerContainerSummary(id: "abc", names: [], state: "running")
        let (metrics, counters) = DockerCollector.metrics(for: summary, stats: stats, previous: nil)
        #expect(metrics == ContainerMetrics(name: "abc", status: "running", cpuPercent: 0, memoryMB: 0))
        #expect(counters == ContainerCPUCounters(usage: 5000, system: 90000))
    }

    /// Whatever answers on the socket names the containers; a name the hub would refuse must
    /// not cost the VM its whole document.
    @Test func controlCharactersInNamesAndStatesBecomeSpaces() throws {
        let summary = DockerContainerSummary(id: "abc", names: ["/evil\r\nlookout_up 1"], state: "run\u{1B}ning")
        let (metrics, _) = DockerCollector.metrics(for: summary, stats: nil, previous: nil)
        #expect(metrics.name == "evil  lookout_up 1")
        #expect(metrics.status == "run ning")
    }

    @Test func fixtureListDecodes() throws {
        let list = try DockerCollector.parseContainers(Data(DockerFixture.bytes("containers.json")))
        #expect(list.map(\.displayName) == ["redis", "worker", "backup", "postgres", "mailu-front"])
        #expect(list.map(\.state) == ["paused", "restarting", "exited", "running", "running"])
        #expect(list.filter(\.hasLiveStats).count == 4)
    }
}

extension Array {
    /// The single element, or `nil` when there are none or several.
    fileprivate var only: Element? { count == 1 ? first : nil }
}

import Foundation
import Logging
import LookoutCollector
import LookoutCore
import Synchronization
import Testing

@Suite struct CollectorTests {
    /// A copy of a fixture procfs tree that the test may change while a sample runs.
    static func copyOfFixture(_ tree: String) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/proc/\(tree)").path
        let copy = NSTemporaryDirectory() + "lookout-proc-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: source, toPath: copy)
        return copy
    }

    /// The first-ever sample sleeps between two reads of `stat`; a service check running
    /// meanwhile would count as the machine's work. Here the check's server makes the CPU
    /// look fully busy the moment it is asked (it rewrites the fixture's `stat`): the short
    /// sample must be over by then, so it still reads an idle machine.
    @Test func theFirstShortSampleIsTakenBeforeServiceChecksStart() async throws {
        let root = try Self.copyOfFixture("x86_64-1cpu")
        let stat = root + "/stat"
        let original = try String(contentsOfFile: stat, encoding: .utf8)
        // 100 000 more user ticks and nothing else: 100 % busy since the first read.
        let busy = original.replacingOccurrences(of: "cpu  2500000 ", with: "cpu  2600000 ")
            .replacingOccurrences(of: "cpu0 2500000 ", with: "cpu0 2600000 ")
        #expect(busy != original)
        let server = FixtureHTTPServer { _ in
            try? busy.write(toFile: stat, atomically: true, encoding: .utf8)
            return .text("ok")
        }
        try await server.run { server in
            let collector = Collector(
                vmID: try VMID(validating: "web-1"), procfs: ProcFS(root: root), diskPath: "/",
                dockerSocket: root + "/no-docker.sock",
                serviceChecks: [ServiceCheckConfig(id: "site", target: .http(url: server.url("/health")))],
                intervalSeconds: 300, logger: Logger(label: "test.collector"))
            // A long short sample: a check started alongside it would land inside it.
            let (document, state) = try await collector.collect(state: AgentState(), firstSampleDelay: .seconds(1))
            #expect(document.services.map(\.healthy) == [true])
            #expect(server.requests.count == 1)
            #expect(document.system.cpu.percent == 0)
            #expect(state.cpu?.total == 43_200_000)
        }
    }

    /// The loop of `lookout-agent run` and the hub's local agent: one document per tick,
    /// counters carried from one sample to the next, deadlines one interval apart, and it
    /// ends when its sleep throws (cancellation, or the hub's graceful shutdown).
    @Test func theSamplingLoopDeliversEveryTickUntilItsSleepThrows() async throws {
        let root = try Self.copyOfFixture("x86_64-1cpu")
        let collector = Collector(
            vmID: try VMID(validating: "web-1"), procfs: ProcFS(root: root), diskPath: "/",
            dockerSocket: root + "/no-docker.sock", serviceChecks: [], intervalSeconds: 60,
            logger: Logger(label: "test.loop"))
        let loop = SamplingLoop(collector: collector, interval: .seconds(60), logger: Logger(label: "test.loop"))
        let deadlines = Mutex<[ContinuousClock.Instant]>([])
        var percents: [Double] = []
        // 1000 ticks before the fixture's counters, half of them idle: 50 %.
        let start = AgentState(cpu: CPUCounters(total: 43_199_000, idle: 39_299_500))
        await loop.run(
            from: start,
            sleep: { deadline in
                let count = deadlines.withLock {
                    $0.append(deadline); return $0.count
                }
                if count == 3 { throw CancellationError() }
            },
            deliver: { document in percents.append(document.system.cpu.percent) })
        // The second and third samples see the same counters (less than a tick later):
        // they repeat the figure measured against the first sample's baseline.
        #expect(percents == [50, 50, 50])
        let times = deadlines.withLock { $0 }
        #expect(times.count == 3)
        #expect(times[1] - times[0] == .seconds(60))
        #expect(times[2] - times[1] == .seconds(60))
    }
}

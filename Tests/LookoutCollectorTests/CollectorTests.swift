import Foundation
import LookoutCollector
import LookoutCore
import Logging
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
}

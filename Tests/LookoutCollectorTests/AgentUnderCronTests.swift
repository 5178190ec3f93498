import Foundation
import LookoutCore
import NIOHTTP1
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `lookout-agent collect` as cron runs it: overlapping runs, a full disk under the spool.
/// Real processes, a real hub stand-in on loopback, a real tmpfs.
@Suite struct AgentUnderCronTests {
    static let procfs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/proc/x86_64-1cpu").path
    let work: String = {
        let path = NSTemporaryDirectory() + "lookout-cron-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func collect(_ extra: [String]) -> [String] {
        [
            "collect", "--procfs", Self.procfs, "--state", "\(work)/state/state.json", "--docker-socket",
            "\(work)/no-docker.sock", "--vm-id", "web-1",
        ] + extra
    }

    /// The first run's push waits until the test opens the gate, so it is known to hold
    /// the lock (mid-push) while a second run starts.
    @Test func overlappingRunsTakeTurnsOnTheStateFile() async throws {
        let open = Atomic<Bool>(false)
        let server = FixtureHTTPServer { _ in
            while !open.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(10)) }
            return .json(#"{"status":"stored"}"#, status: .created)
        }
        try await server.run { server in
            let push = ["--push", server.url("/api/monitoring/ingest"), "--lock-wait", "120"]
            let first = try RunningAgent(collect(push + ["--data", "\(work)/data-1"]))
            // The first run has sampled and is pushing: it holds the lock.
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while server.requests.isEmpty {
                try #require(ContinuousClock.now < deadline, "the first run never pushed: \(first.stderr)")
                try await Task.sleep(for: .milliseconds(20))
            }
            let second = try RunningAgent(collect(push + ["--data", "\(work)/data-2"]))
            try await second.waitForStderr(containing: "another collect holds \(work)/state/state.json.lock")
            // The second run waits for the lock before it samples: nothing written yet.
            #expect(!FileManager.default.fileExists(atPath: "\(work)/data-2"))
            open.store(true, ordering: .releasing)
            let firstResult = try await first.result()
            let secondResult = try await second.result()
            #expect(firstResult.status == 0, "\(firstResult.stderr)")
            #expect(secondResult.status == 0, "\(secondResult.stderr)")
            #expect(server.requests.count == 2)
            // The second run measured against the counters the first one saved, so it took
            // no short sample of its own.
            #expect(firstResult.stderr.contains("no state file"))
            #expect(!secondResult.stderr.contains("no state file"), "\(secondResult.stderr)")
        }
        let state = try String(contentsOfFile: "\(work)/state/state.json", encoding: .utf8)
        #expect(state.contains(#""total":43200000"#), "\(state)")
    }

    @Test func aRunThatCannotGetTheLockExits75AndTouchesNothing() async throws {
        let folder = "\(work)/state"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let fd = open("\(folder)/state.json.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let result = try await RunningAgent(collect(["--data", "\(work)/data", "--lock-wait", "1"])).result()
        #expect(result.status == 75)
        #expect(result.stderr.contains("another collect still holds \(folder)/state.json.lock"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(work)/data"))
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/state.json"))
        // Released, the next run goes through.
        flock(fd, LOCK_UN)
        let next = try await RunningAgent(collect(["--data", "\(work)/data", "--lock-wait", "1"])).result()
        #expect(next.status == 0, "\(next.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(work)/data/web-1/metrics.json"))
    }

    /// The spool folder on a 64 KiB tmpfs, filled up; the hub is down. The run must say the
    /// sample is lost (exit 1, ENOSPC named), never that it is spooled; once space is free
    /// again, exit 75 means the document is there.
    @Test func aFullDiskUnderTheSpoolIsAFailureNotASpooledDocument() async throws {
        let spool = "\(work)/state/spool"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        let mounted = try AgentProcess.shell(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", spool])
        try #require(mounted.status == 0, "mounting a tmpfs needs root: \(mounted.stderr)")
        defer { _ = try? AgentProcess.shell(["umount", spool]) }
        // Fill it: dd stops at ENOSPC.
        _ = try AgentProcess.shell(["dd", "if=/dev/zero", "of=\(spool)/filler", "bs=4096"])
        let gone = FixtureHTTPServer { _ in .json("{}") }
        try await gone.start()
        let deadURL = gone.url("/api/monitoring/ingest")
        await gone.shutdown()

        let full = try await RunningAgent(collect(["--push", deadURL])).result()
        #expect(full.status == 1, "\(full.stderr)")
        #expect(full.stderr.contains("No space left on device"), "\(full.stderr)")
        #expect(full.stderr.contains("sample lost"), "\(full.stderr)")
        #expect(!full.stderr.contains("kept in"), "\(full.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: spool)
        #expect(names == ["filler"], "no document (nor a temp file) may be left: \(names)")

        try FileManager.default.removeItem(atPath: "\(spool)/filler")
        let freed = try await RunningAgent(collect(["--push", deadURL])).result()
        #expect(freed.status == 75, "\(freed.stderr)")
        let spooled = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasSuffix(".json") }
        #expect(spooled.count == 1)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(spool)/\(spooled[0])"))
        let document = try MetricsDocument.decode(Array(bytes))
        #expect(document.vmID.rawValue == "web-1")
    }
}

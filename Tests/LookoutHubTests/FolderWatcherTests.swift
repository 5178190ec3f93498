import Foundation
import Logging
import LookoutCore
import LookoutHub
import ServiceLifecycle
import Synchronization
import Testing

@Suite struct FolderWatcherTests {
    private let t0 = Date(timeIntervalSince1970: 1_765_276_200)  // 2025-12-09T10:30:00Z

    /// Everything a sync tool can leave in DATA at once, scanned three times: the first scan
    /// ingests exactly the good documents and names every refusal, the second finds nothing
    /// new, the third sees a file that went back in time, a same-sample rewrite and a repair.
    @Test func syncChaosIngestsExactlyTheGoodDocuments() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        // Good documents, one written through a symlink that stays inside DATA, one through a
        // symlinked folder inside DATA, and one whose vm_id starts with dots.
        try tree.write(sample("vm-a", t0), at: "vm-a/metrics.json")
        try tree.write(sample("vm-b", t0), at: "vm-b/metrics.json")
        try tree.write(sample("vm-c", t0), at: "store/vm-c.json")
        try tree.symlink("vm-c/metrics.json", to: "../store/vm-c.json")
        try tree.write(sample("vm-d", t0), at: ".real/vm-d/metrics.json")
        try tree.symlink("vm-d", to: ".real/vm-d")
        try tree.write(sample("x..", t0), at: "x../metrics.json")
        // Sync tools' temp files and a conflict copy, all valid JSON, none to be ingested.
        try tree.write(sample("vm-a", t0 + 600), at: "vm-a/.syncthing.metrics.json.tmp")
        try tree.write(sample("vm-a", t0 + 900), at: "vm-a/~syncthing~metrics.json.tmp")
        try tree.write(sample("vm-a", t0 + 1200), at: "vm-a/.metrics.json.4242.99.tmp")
        try tree.write(sample("vm-b", t0 + 60), at: "vm-b/metrics.sync-conflict-20251209-103000-ABCDEFG.json")
        // Broken files.
        try tree.write([], at: "empty/metrics.json")
        try tree.write(Array(sample("partial", t0).prefix(100)), at: "partial/metrics.json")
        let padding = [UInt8](repeating: UInt8(ascii: " "), count: MetricsDocument.maxEncodedSize)
        try tree.write(sample("huge", t0) + padding, at: "huge/metrics.json")
        try tree.write(sample("vm-a", t0 + 3000), at: "imposter/metrics.json")
        // Folder names that are not vm_ids.
        let tooLong = String(repeating: "a", count: 65)
        try tree.write(sample("vm-z", t0), at: "bad name/metrics.json")
        try tree.write(sample("vm-z", t0), at: "\(tooLong)/metrics.json")
        try tree.write(sample("vm-z", t0), at: "é/metrics.json")
        // Symlinks that lead out of DATA.
        try tree.write(sample("escape", t0), at: "../outside/escape/metrics.json")
        try tree.symlink("escape", to: tree.outside + "/escape")
        try tree.write(sample("linked", t0), at: "../outside/linked.json")
        try tree.symlink("linked/metrics.json", to: tree.outside + "/linked.json")
        // The hub's own files and sync tools' folders: not VM folders, not worth a word.
        try tree.write(Array("{}".utf8), at: "history/2025-12-09.json")
        try tree.write(Array(#"{"alerts":[]}"#.utf8), at: "alerts.json")
        try tree.write([1, 2, 3], at: "lookout.sqlite")
        try tree.write([1, 2, 3], at: "lookout.sqlite-wal")
        try tree.makeFolder(".stfolder")
        try tree.write(sample("vm-a", t0 - 600), at: ".stversions/vm-a/metrics~20251209-102000.json")
        try tree.makeFolder("waiting")

        let store = FakeStore()
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, logger: logs.logger) { await store.ingest($0) }

        // First scan.
        let first = tree.byPath(await watcher.scan())
        let good = ["vm-a", "vm-b", "vm-c", "vm-d", "x.."]
        let refusals: [String: [String]] = [
            "empty/metrics.json": ["empty"],
            "partial/metrics.json": ["not a valid metrics document", "JSON"],
            "huge/metrics.json": ["\(MetricsDocument.maxEncodedSize)", "bytes, more than"],
            "imposter/metrics.json": [#"vm_id is "vm-a""#, #"folder is "imposter""#],
            "bad name/metrics.json": [#""bad name" is not a valid vm_id"#, "only letters"],
            "\(tooLong)/metrics.json": ["not a valid vm_id", "longer than 64"],
            "é/metrics.json": [#""é" is not a valid vm_id"#],
            "escape/metrics.json": ["the folder is a symlink", "outside the data folder"],
            "linked/metrics.json": ["metrics.json is a symlink", "outside the data folder"],
        ]
        let conflict = "vm-b/metrics.sync-conflict-20251209-103000-ABCDEFG.json"
        #expect(Set(first.keys) == Set(good.map { "\($0)/metrics.json" } + refusals.keys + [conflict]))
        for vm in good {
            #expect(first["\(vm)/metrics.json"] == .ingested(.stored), "\(vm)")
        }
        for (path, words) in refusals {
            let reason = try #require(first[path]?.skippedReason, "\(path) should be skipped")
            for word in words {
                #expect(reason.contains(word), "\(path): \(reason)")
            }
        }
        #expect(first[conflict]?.skippedReason?.contains("conflict copy") == true)
        #expect(await store.samples == Set(good.map { Sample($0, t0) }))

        // Second scan: nothing changed, so nothing is read, ingested or logged again.
        let second = tree.byPath(await watcher.scan())
        #expect(Set(second.keys) == Set(first.keys))
        #expect(second.values.allSatisfy { $0 == .unchanged })
        #expect(await store.count == good.count)
        let warnings = logs.messages(at: .warning)
        #expect(warnings.count == refusals.count)
        for path in refusals.keys {
            #expect(warnings.filter { $0.contains("\(tree.data)/\(path):") }.count == 1, "\(path) logged once")
        }
        #expect(logs.messages(at: .debug).filter { $0.contains(conflict) }.count == 1)

        // Third scan: vm-a goes back in time, vm-b is rewritten with the same sample, the
        // partial file is completed.
        try tree.write(sample("vm-a", t0 - 300), at: "vm-a/metrics.json")
        try tree.write(sample("vm-b", t0), at: "vm-b/metrics.json")
        try tree.write(sample("partial", t0), at: "partial/metrics.json")
        let third = tree.byPath(await watcher.scan())
        #expect(third["vm-a/metrics.json"] == .ingested(.storedOlder))
        #expect(third["vm-b/metrics.json"] == .ingested(.duplicate))
        #expect(third["partial/metrics.json"] == .ingested(.stored))
        let changed: Set = ["vm-a/metrics.json", "vm-b/metrics.json", "partial/metrics.json"]
        #expect(third.filter { !changed.contains($0.key) }.values.allSatisfy { $0 == .unchanged })
        let later = [Sample("vm-a", t0 - 300), Sample("partial", t0)]
        #expect(await store.samples == Set(good.map { Sample($0, t0) } + later))
        #expect(logs.messages(at: .warning).count == refusals.count)
    }

    /// A refused file is logged again once it changes, and only then.
    @Test func aRefusedFileIsLoggedOncePerChange() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        try tree.write(Array(#"{"vm_id": "vm-a"}"#.utf8), at: "vm-a/metrics.json")
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, logger: logs.logger) { _ in .stored }

        let first = await watcher.scan()
        _ = await watcher.scan()
        #expect(first.first?.result.skippedReason?.contains("timestamp: missing") == true)
        #expect(logs.messages(at: .warning).count == 1)

        try tree.write(Array(#"{"vm_id": "vm-a", "timestamp": "yesterday"}"#.utf8), at: "vm-a/metrics.json")
        let changed = await watcher.scan()
        _ = await watcher.scan()
        #expect(changed.first?.result.skippedReason?.contains("timestamp") == true)
        let warnings = logs.messages(at: .warning)
        #expect(warnings.count == 2)
        #expect(warnings.allSatisfy { $0.contains("\(tree.data)/vm-a/metrics.json") })
    }

    /// A full disk fails every file of every scan: one error line, then a summary every 5 min
    /// (injected clock, one scan a minute), and one notice when storing works again.
    @Test func aFailureOnEveryScanIsLoggedOnceThenSummarised() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        for vm in ["vm-a", "vm-b", "vm-c"] {
            try tree.write(sample(vm, t0), at: "\(vm)/metrics.json")
        }
        let logs = CapturedLogs()
        let clock = Mutex(t0)
        let failing = Mutex(true)
        let watcher = FolderWatcher(
            dataFolder: tree.data, logger: logs.logger, now: { clock.withLock { $0 } }
        ) { _ in failing.withLock { $0 } ? .failed("disk I/O error: the file system is full") : .stored }

        for minute in 0..<12 {
            clock.withLock { $0 = t0 + Double(minute * 60) }
            let entries = await watcher.scan()
            let failed = ScanEntry.Result.ingested(.failed("disk I/O error: the file system is full"))
            #expect(entries.count == 3 && entries.allSatisfy { $0.result == failed })
        }
        let errors = logs.messages(at: .error)
        // Minute 0: the first failure; minutes 5 and 10: summaries. 36 failures, 3 lines.
        #expect(errors.count == 3, "\(errors)")
        #expect(errors.first?.contains("vm-a/metrics.json") == true)
        #expect(errors.first?.contains("the file system is full") == true)
        #expect(errors.dropFirst().allSatisfy { $0.contains("still failing: 3 item(s)") && $0.contains("last error") })
        #expect(logs.messages(at: .warning).isEmpty)

        failing.withLock { $0 = false }
        let recovered = await watcher.scan()
        #expect(recovered.allSatisfy { $0.result == .ingested(.stored) })
        #expect(logs.messages(at: .notice).filter { $0.contains("works again") }.count == 1)
        _ = await watcher.scan()
        #expect(logs.messages(at: .error).count == 3)
    }

    /// Folders come and go with sync tools: a vanished one is dropped without a word and read
    /// anew when it comes back.
    @Test func foldersThatDisappearAndReappear() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        try tree.write(sample("vm-a", t0), at: "vm-a/metrics.json")
        let store = FakeStore()
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, logger: logs.logger) { await store.ingest($0) }

        #expect(await watcher.scan().map(\.result) == [.ingested(.stored)])
        try FileManager.default.removeItem(atPath: "\(tree.data)/vm-a")
        #expect(await watcher.scan().isEmpty)
        try tree.write(sample("vm-a", t0), at: "vm-a/metrics.json")
        #expect(await watcher.scan().map(\.result) == [.ingested(.duplicate)])
        #expect(logs.messages(at: .warning).isEmpty)
    }

    /// A hub may start before the sync tool has created DATA: one warning, then business as usual.
    @Test func aMissingDataFolderIsReportedOnceAndWatchedUntilItAppears() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        let missing = tree.data + "/not-yet"
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: missing, logger: logs.logger) { _ in .stored }

        #expect(await watcher.scan().isEmpty)
        #expect(await watcher.scan().isEmpty)
        #expect(logs.messages(at: .warning).count == 1)
        #expect(logs.messages(at: .warning).first?.contains(missing) == true)

        try tree.write(sample("vm-a", t0), at: "not-yet/vm-a/metrics.json")
        #expect(await watcher.scan().map(\.result) == [.ingested(.stored)])
    }

    @Test func runPicksUpAFileWrittenAfterItStarted() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        let store = FakeStore()
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, pollInterval: .milliseconds(20), logger: logs.logger) {
            await store.ingest($0)
        }
        let task = Task { try await watcher.run() }
        try await eventually { !logs.messages(at: .info).isEmpty }  // the watcher has started

        try tree.write(sample("late", t0), at: "late/metrics.json")
        try await eventually { await store.count > 0 }
        task.cancel()
        try await task.value
        #expect(await store.samples == [Sample("late", t0)])
    }

    @Test func runEndsOnGracefulShutdown() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        let store = FakeStore()
        try tree.write(sample("vm-a", t0), at: "vm-a/metrics.json")
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, pollInterval: .seconds(3600), logger: logs.logger) {
            await store.ingest($0)
        }
        let group = ServiceGroup(services: [watcher], logger: logs.logger)
        let task = Task { try await group.run() }
        try await eventually { await store.count > 0 }
        await group.triggerGracefulShutdown()
        try await task.value  // returns although the next poll is an hour away
        #expect(await store.count == 1)
    }

    // MARK: - Helpers

    private func sample(_ vm: String, _ timestamp: Date) throws -> [UInt8] {
        try TempTree.sample(vm, timestamp)
    }

    /// Waits for `condition`, checking every 10 ms for at most 10 s.
    private func eventually(_ condition: () async -> Bool) async throws {
        for _ in 0..<1000 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within 10 s")
    }
}

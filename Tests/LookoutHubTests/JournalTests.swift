import Foundation
import Logging
import LookoutCore
import LookoutHub
import Testing

/// The folder watcher reading the agents' journals (`DATA/<vm>/journal/<seconds>.json`):
/// what a sync outage held back is stored, once, and never as the VM's latest.
@Suite struct JournalTests {
    private let t0 = Date(timeIntervalSince1970: 1_765_276_200)  // 2025-12-09T10:30:00Z

    private func at(_ step: Int) -> Date { t0 + TimeInterval(300 * step) }

    private func journalPath(_ vm: String, _ step: Int) -> String {
        "\(vm)/journal/\(JournalName.name(for: at(step)))"
    }

    /// An outage's worth of samples in the journal, only the last one in metrics.json.
    private func outage(_ tree: TempTree, _ vm: String, steps: Range<Int>) throws {
        for step in steps { try tree.write(TempTree.sample(vm, at(step)), at: journalPath(vm, step)) }
        try tree.write(TempTree.sample(vm, at(steps.upperBound - 1)), at: "\(vm)/metrics.json")
    }

    @Test func theGapsAreFilledAsHistoryAndTheLatestStaysTheLatest() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        try outage(tree, "web-1", steps: 0..<5)
        try outage(tree, "web-2", steps: 2..<4)
        let store = FakeStore()
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, logger: logs.logger) { await store.ingest($0) }

        let first = tree.byPath(await watcher.scan())
        // metrics.json first, so it is the latest; the older journal files go to history.
        #expect(first["web-1/metrics.json"] == .ingested(.stored))
        for step in 0..<4 { #expect(first[journalPath("web-1", step)] == .ingested(.storedOlder), "\(step)") }
        #expect(first[journalPath("web-1", 4)] == .ingested(.duplicate))
        #expect(first[journalPath("web-2", 2)] == .ingested(.storedOlder))
        #expect(first[journalPath("web-2", 3)] == .ingested(.duplicate))
        #expect(first.count == 6 + 3)  // each metrics.json and its journal files
        #expect(
            await store.samples
                == Set((0..<5).map { Sample("web-1", at($0)) } + [2, 3].map { Sample("web-2", at($0)) }))
        #expect(
            logs.messages(at: .info) == [
                "stored 4 sample(s) of web-1 from its journal", "stored 1 sample(s) of web-2 from its journal",
            ])
        #expect(logs.messages(at: .warning).isEmpty, "\(logs.messages(at: .warning))")

        // Nothing changed: nothing read, nothing logged.
        let calls = await store.calls
        let second = await watcher.scan()
        #expect(second.allSatisfy { $0.result == .unchanged })
        #expect(await store.calls == calls)
        #expect(logs.messages(at: .info).count == 2)

        // The next run: one new journal file and a new metrics.json; only they are read.
        try tree.write(TempTree.sample("web-1", at(5)), at: journalPath("web-1", 5))
        try tree.write(TempTree.sample("web-1", at(5)), at: "web-1/metrics.json")
        let third = tree.byPath(await watcher.scan())
        #expect(third["web-1/metrics.json"] == .ingested(.stored))
        #expect(third[journalPath("web-1", 5)] == .ingested(.duplicate))
        #expect(third.values.filter { $0 != .unchanged }.count == 2)
        #expect(await store.calls == calls + 2)
        // A pruned file is simply gone: the hub deletes nothing and asks nothing.
        try FileManager.default.removeItem(atPath: "\(tree.data)/\(journalPath("web-1", 0))")
        let fourth = tree.byPath(await watcher.scan())
        #expect(fourth[journalPath("web-1", 0)] == nil)
        #expect(fourth.values.allSatisfy { $0 == .unchanged })
    }

    /// A hub restarted (no memory of earlier scans) reads the journal again; the store's
    /// duplicate answer keeps it from storing anything twice.
    @Test func aRescanByARestartedHubStoresNothingTwice() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        try outage(tree, "web-1", steps: 0..<5)
        let store = FakeStore()
        let logs = CapturedLogs()
        _ = await FolderWatcher(dataFolder: tree.data, logger: logs.logger) { await store.ingest($0) }.scan()
        #expect(await store.count == 5)
        let again = await FolderWatcher(dataFolder: tree.data, logger: logs.logger) { await store.ingest($0) }.scan()
        #expect(again.count == 6)
        #expect(again.allSatisfy { $0.result == .ingested(.duplicate) })
        #expect(await store.count == 5)
        #expect(logs.messages(at: .info) == ["stored 4 sample(s) of web-1 from its journal"])
    }

    /// With the real store behind it (as `lookout serve` and cron `lookout check` have), a
    /// watcher that starts afresh asks the store once per VM and reads only what it lacks.
    @Test func aRestartedHubReadsOnlyTheJournalFilesItsStoreLacks() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        let logs = CapturedLogs()
        let store = try HistoryStore(path: tree.base + "/lookout.sqlite", logger: logs.logger)
        let ingestor = Ingestor(store: store, fleet: Fleet(), logger: logs.logger)
        let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3000).rounded(.down))
        func when(_ step: Int) -> Date { base + TimeInterval(300 * step) }
        func name(_ step: Int) -> String { "web-1/journal/\(JournalName.name(for: when(step)))" }
        for step in 0..<5 { try tree.write(TempTree.sample("web-1", when(step)), at: name(step)) }
        try tree.write(TempTree.sample("web-1", when(4)), at: "web-1/metrics.json")
        let reads = ReadCounter()
        func watcher() -> FolderWatcher {
            FolderWatcher(
                dataFolder: tree.data, logger: logs.logger,
                storedSeconds: { vmID, range in (try? await store.storedSeconds(vmID: vmID, in: range)) ?? [] }
            ) { document in
                await reads.add()
                return await ingestor.ingest(document)
            }
        }
        _ = await watcher().scan()
        #expect(await reads.count == 6)
        #expect(try await store.sampleCount(vmID: VMID(validating: "web-1")) == 5)

        // A restart, and one new journal file meanwhile (Syncthing delivered it before metrics.json).
        try tree.write(TempTree.sample("web-1", when(5)), at: name(5))
        let again = tree.byPath(await watcher().scan())
        for step in 0..<5 { #expect(again[name(step)] == .alreadyStored, "\(step)") }
        #expect(again[name(5)] == .ingested(.stored))
        #expect(again["web-1/metrics.json"] == .ingested(.duplicate))
        #expect(await reads.count == 6 + 2)
        #expect(try await store.sampleCount(vmID: VMID(validating: "web-1")) == 6)
    }

    @Test func damagedJournalFilesAreRefusedOnceAndReadAgainWhenRepaired() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        try tree.write(TempTree.sample("web-1", at(9)), at: "web-1/metrics.json")
        let torn = Array(try TempTree.sample("web-1", at(1)).prefix(80))
        try tree.write(torn, at: journalPath("web-1", 1))
        try tree.write([], at: journalPath("web-1", 2))
        try tree.write(TempTree.sample("web-9", at(3)), at: journalPath("web-1", 3))
        try tree.write(TempTree.sample("web-1", at(7)), at: journalPath("web-1", 4))
        let padding = [UInt8](repeating: UInt8(ascii: " "), count: MetricsDocument.maxEncodedSize)
        try tree.write(TempTree.sample("web-1", at(5)) + padding, at: journalPath("web-1", 5))
        try tree.write(TempTree.sample("web-1", at(6)), at: journalPath("web-1", 6))
        let store = FakeStore()
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, logger: logs.logger) { await store.ingest($0) }

        let first = tree.byPath(await watcher.scan())
        let refusals: [Int: [String]] = [
            1: ["not a valid metrics document"],
            2: ["the journal file is empty"],
            3: [#"the document's vm_id is "web-9" but its folder is "web-1""#],
            4: ["the file name says 2025-12-09T10:50:00Z", "the document's timestamp is 2025-12-09T11:05:00Z"],
            5: ["the journal file is", "more than the \(MetricsDocument.maxEncodedSize) allowed"],
        ]
        for (step, words) in refusals {
            let reason = try #require(first[journalPath("web-1", step)]?.skippedReason, "\(step)")
            for word in words { #expect(reason.contains(word), "\(step): \(reason)") }
        }
        #expect(first[journalPath("web-1", 6)] == .ingested(.storedOlder))
        #expect(await store.samples == [Sample("web-1", at(9)), Sample("web-1", at(6))])
        let warnings = logs.messages(at: .warning)
        #expect(warnings.count == refusals.count, "\(warnings)")
        for step in refusals.keys {
            #expect(warnings.contains { $0.hasPrefix("not ingesting \(tree.data)/\(journalPath("web-1", step)): ") })
        }

        // Refused files are not read again (nor logged) until they change.
        #expect(await watcher.scan().allSatisfy { $0.result == .unchanged })
        #expect(logs.messages(at: .warning).count == refusals.count)
        try tree.write(TempTree.sample("web-1", at(1)), at: journalPath("web-1", 1))
        let repaired = tree.byPath(await watcher.scan())
        #expect(repaired[journalPath("web-1", 1)] == .ingested(.storedOlder))
        #expect(repaired.values.filter { $0 != .unchanged }.count == 1)
    }

    @Test func namesThatAreNotTimestampsAreRefusedAndTempFilesPassedOver() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        try tree.write(TempTree.sample("web-1", at(9)), at: "web-1/metrics.json")
        let good = JournalName.name(for: at(1))
        let document = try TempTree.sample("web-1", at(1))
        // Sync tools' and the agent's own temp files: valid documents, never read, never named.
        for temp in [".syncthing.\(good).tmp", "~syncthing~\(good).tmp", ".\(good).4242.99.tmp"] {
            try tree.write(document, at: "web-1/journal/\(temp)")
        }
        // Conflict copies: noted at debug level.
        try tree.write(document, at: "web-1/journal/001765276500.sync-conflict-20251209-103000-ABCDEFG.json")
        // Not journal names.
        let strangers = [
            "notes.json", "1765276500.json", "0017652765001.json.bak", "00176527650x.json", "001765276500.JSON",
            "9999999999999999999.json", "00176527\u{1}500.json",
        ]
        for name in strangers { try tree.write(document, at: "web-1/journal/\(name)") }
        let store = FakeStore()
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, logger: logs.logger) { await store.ingest($0) }

        let first = tree.byPath(await watcher.scan())
        #expect(!first.keys.contains { $0.contains("tmp") }, "\(first.keys.sorted())")
        #expect(first["web-1/journal/001765276500.sync-conflict-20251209-103000-ABCDEFG.json"]?.skippedReason != nil)
        for name in strangers {
            let reason = try #require(first["web-1/journal/\(name)"]?.skippedReason, "\(name)")
            #expect(reason.contains("is not a journal file name (<unix seconds, 12 digits>.json)"), "\(reason)")
            #expect(!reason.unicodeScalars.contains { $0.value < 0x20 }, "\(reason)")
        }
        #expect(await store.samples == [Sample("web-1", at(9))])
        #expect(logs.messages(at: .warning).count == strangers.count)
        #expect(logs.messages(at: .warning).allSatisfy { !$0.unicodeScalars.contains { $0.value < 0x20 } })
    }

    @Test func symlinksOutOfTheDataFolderAreRefused() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        try tree.write(TempTree.sample("web-1", at(9)), at: "web-1/metrics.json")
        try tree.write(TempTree.sample("web-1", at(1)), at: "../outside/journal/\(JournalName.name(for: at(1)))")
        try tree.symlink("web-1/journal", to: tree.outside + "/journal")
        try tree.write(TempTree.sample("web-2", at(9)), at: "web-2/metrics.json")
        try tree.write(TempTree.sample("web-2", at(2)), at: "../outside/two.json")
        try tree.symlink(journalPath("web-2", 2), to: tree.outside + "/two.json")
        // A symlink that stays inside DATA is followed, as for metrics.json.
        try tree.write(TempTree.sample("web-2", at(3)), at: "store/three.json")
        try tree.symlink(journalPath("web-2", 3), to: "../../store/three.json")
        let store = FakeStore()
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, logger: logs.logger) { await store.ingest($0) }

        let first = tree.byPath(await watcher.scan())
        let folder = try #require(first["web-1/journal"]?.skippedReason)
        #expect(folder.contains("the journal folder is a symlink") && folder.contains("outside the data folder"))
        let file = try #require(first[journalPath("web-2", 2)]?.skippedReason)
        #expect(file.contains("the journal file is a symlink") && file.contains("outside the data folder"))
        #expect(first[journalPath("web-2", 3)] == .ingested(.storedOlder))
        #expect(await store.samples == [Sample("web-1", at(9)), Sample("web-2", at(9)), Sample("web-2", at(3))])
    }

    /// A journal far larger than a day's: every file stored once, then a rescan reads none.
    @Test func tenThousandJournalFilesAreStoredOnceAndThenCostNoReads() async throws {
        let tree = try TempTree()
        defer { tree.remove() }
        try tree.write(TempTree.sample("web-1", at(10_000)), at: "web-1/metrics.json")
        for step in 0..<10_000 {
            try tree.write(TempTree.sample("web-1", at(step)), at: journalPath("web-1", step))
        }
        let store = FakeStore()
        let logs = CapturedLogs()
        let watcher = FolderWatcher(dataFolder: tree.data, logger: logs.logger) { await store.ingest($0) }

        let first = await watcher.scan()
        #expect(first.count == 10_001)
        #expect(await store.count == 10_001)
        #expect(first.dropFirst().allSatisfy { $0.result == .ingested(.storedOlder) })
        #expect(logs.messages(at: .info) == ["stored 10000 sample(s) of web-1 from its journal"])
        let second = await watcher.scan()
        #expect(second.count == 10_001 && second.allSatisfy { $0.result == .unchanged })
        #expect(await store.calls == 10_001)
    }
}

private actor ReadCounter {
    private(set) var count = 0
    func add() { count += 1 }
}

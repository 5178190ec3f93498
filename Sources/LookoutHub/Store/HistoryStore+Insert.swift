import GRDB
import Logging
import LookoutCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Documents waiting for the writer task, each with the caller awaiting its outcome.
struct WriteQueue {
    struct Pending {
        let document: MetricsDocument
        /// The document as `encoded()` writes it, when the caller has it already.
        let encoded: Data?
        let continuation: CheckedContinuation<Result<Bool, HubError>, Never>
    }

    var pending: [Pending] = []
    var writerRunning = false
    /// Transactions the writer has run (tests check that concurrent inserts share them).
    var transactions = 0
}

extension HistoryStore {
    /// The most documents written in one transaction, so that one commit stays short.
    static let maxBatch = 1000

    /// Stores one accepted document, and makes it the VM's latest when it is newer.
    ///
    /// Returns once the transaction holding it has committed. Calls that arrive while a
    /// transaction runs are written together in the next one (group commit).
    /// - Returns: `false` when the VM already has a sample at that timestamp (a spool replay):
    ///   nothing is written then.
    /// - Parameter encoded: `document.encoded()`, when the caller has it (saves encoding twice).
    public func insert(_ document: MetricsDocument, encoded: Data? = nil) async throws(HubError) -> Bool {
        let result = await withCheckedContinuation { continuation in
            enqueue(WriteQueue.Pending(document: document, encoded: encoded, continuation: continuation))
        }
        return try result.get()
    }

    /// Write transactions run so far (batches, counting a failed batch's retries as one).
    var writeTransactions: Int {
        writeQueue.withLock { $0.transactions }
    }

    private func enqueue(_ pending: WriteQueue.Pending) {
        let startWriter = writeQueue.withLock { queue in
            queue.pending.append(pending)
            guard !queue.writerRunning else { return false }
            queue.writerRunning = true
            return true
        }
        if startWriter {
            Task { await self.drainWriteQueue() }
        }
    }

    /// The writer task: one transaction per batch until the queue is empty.
    private func drainWriteQueue() async {
        while true {
            let batch = writeQueue.withLock { queue -> [WriteQueue.Pending] in
                if queue.pending.isEmpty {
                    queue.writerRunning = false
                    return []
                }
                queue.transactions += 1
                if queue.pending.count <= Self.maxBatch {
                    defer { queue.pending = [] }
                    return queue.pending
                }
                defer { queue.pending.removeFirst(Self.maxBatch) }
                return Array(queue.pending.prefix(Self.maxBatch))
            }
            if batch.isEmpty { return }
            await writeBatch(batch)
        }
    }

    private func writeBatch(_ batch: [WriteQueue.Pending]) async {
        if let damage = condition.damage {
            // Nothing more goes into a file SQLite reported as damaged.
            for pending in batch { pending.continuation.resume(returning: .failure(damage)) }
            return
        }
        let documents = batch.map { ($0.document, $0.encoded) }
        do {
            let results = try await pool.write { db in try HistoryStore.insert(documents, db) }
            for (pending, isNew) in zip(batch, results) {
                pending.continuation.resume(returning: .success(isNew))
            }
            if condition.succeeded() { await checkpoint() }
            return
        } catch  where StoreCondition.isStoreWide(error) {
            // A full disk or a damaged file fails every document alike: no point in one by one.
            let failure = condition.failed(error, task: "storing \(batch.count) document(s)")
            for pending in batch { pending.continuation.resume(returning: .failure(failure)) }
            await checkpoint()
            probeWhileFailing()
            return
        } catch  where batch.count > 1 {
            // One bad document must not fail the others: write each on its own.
            logger.warning("\(path): a batch of \(batch.count) documents failed (\(error)); retrying one by one")
        } catch {
            let message = "history database \(path): storing the document of \(documents[0].0.vmID): \(error)"
            batch[0].continuation.resume(returning: .failure(HubError(message)))
            return
        }
        for pending in batch {
            await writeBatch([pending])
        }
    }

    /// Writes `documents` in the current transaction; one flag per document, true when it was new.
    private static func insert(_ documents: [(MetricsDocument, Data?)], _ db: Database) throws -> [Bool] {
        let sample = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO samples
                (vm_id, ts, cpu, memory, disk, load1, load5, load15, memory_used_mb, disk_used_gb, uptime,
                 \(Metric.optional.map(\.column).joined(separator: ", ")), net_rx_total, net_tx_total, boot)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \(Array(repeating: "?", count: Metric.optional.count + 3)
                    .joined(separator: ", ")))
                """)
        // OR IGNORE: a sample's series are written once, with the sample.
        let named = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO series_samples (vm_id, series, ts, value) VALUES (?, ?, ?, ?)")
        // OR IGNORE: a document listing the same service or container twice keeps the first.
        let service = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO service_samples (vm_id, ts, service_id, healthy, response_ms)
                VALUES (?, ?, ?, ?, ?)
                """)
        let container = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO container_samples (vm_id, ts, name, status, cpu_percent, memory_mb)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
        var results: [Bool] = []
        results.reserveCapacity(documents.count)
        var newest: [VMID: (ts: Int64, document: MetricsDocument, encoded: Data?)] = [:]
        var hours: Set<HourKey> = []
        for (document, encoded) in documents {
            let vm = document.vmID.rawValue
            let ts = seconds(document.timestamp)
            let system = document.system
            let reading = TrafficCounter.reading(document)
            var arguments: StatementArguments = [
                vm, ts, system.cpu.percent, system.memory.percent, system.disk.percent,
                system.load.one, system.load.five, system.load.fifteen,
                system.memory.usedMB, system.disk.usedGB, system.uptime.seconds,
            ]
            arguments += StatementArguments(
                Metric.optional.map { $0.value(in: document) as (any DatabaseValueConvertible)? })
            arguments += [reading?.rx, reading?.tx, TrafficCounter.boot(system.bootID)]
            try sample.execute(arguments: arguments)
            let isNew = db.changesCount > 0
            results.append(isNew)
            guard isNew else { continue }
            for (name, value) in SeriesName.values(in: document) {
                try named.execute(arguments: [vm, name.rawValue, ts, value])
            }
            if let reading { try recordTraffic(vm: vm, ts: ts, reading: reading, db) }
            for status in document.services {
                try service.execute(arguments: [vm, ts, status.id, status.healthy, status.responseMS])
            }
            for metrics in document.containers {
                try container.execute(arguments: [
                    vm, ts, metrics.name, metrics.status, metrics.cpuPercent, metrics.memoryMB,
                ])
            }
            hours.insert(HourKey(vm: vm, hour: ts - ts.modulo(3600)))
            if ts > newest[document.vmID]?.ts ?? .min {
                newest[document.vmID] = (ts, document, encoded)
            }
        }
        let pending = try db.cachedStatement(sql: "INSERT OR IGNORE INTO rollup_pending (vm_id, hour) VALUES (?, ?)")
        for key in hours {
            try pending.execute(arguments: [key.vm, key.hour])
        }
        // Only the newest document of each VM in the batch is encoded; the WHERE keeps a
        // newer stored one when an old document (a spool replay) arrives late.
        let latest = try db.cachedStatement(
            sql: """
                INSERT INTO latest (vm_id, ts, document) VALUES (?, ?, ?)
                ON CONFLICT (vm_id) DO UPDATE SET ts = excluded.ts, document = excluded.document
                WHERE excluded.ts > latest.ts
                """)
        for (vmID, entry) in newest {
            try latest.execute(arguments: [vmID.rawValue, entry.ts, entry.encoded ?? entry.document.encoded()])
        }
        return results
    }
}

private struct HourKey: Hashable {
    let vm: String
    let hour: Int64
}

extension Int64 {
    /// The remainder with the sign of the divisor (times before 1970 round down too).
    fileprivate func modulo(_ divisor: Int64) -> Int64 {
        let r = self % divisor
        return r < 0 ? r + divisor : r
    }
}

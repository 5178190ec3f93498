import LookoutCore
import NIOCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The hub's live view: every VM's latest document, held in memory so that the summary,
/// a VM's document and `/metrics` never touch the disk.
///
/// Reads far outnumber writes (a dashboard refreshes every 15 s, a VM reports every few
/// minutes), so each document is encoded once when it arrives and the summary body is
/// built once per change; a request only takes a lock and shares the buffer.
public final class Fleet: Sendable {
    public struct Entry: Sendable {
        public let document: MetricsDocument
        /// The document as the API serves it (compact JSON).
        public let body: ByteBuffer
        /// When each service entered its current healthy / unhealthy state.
        public let serviceSince: [String: Date]
    }

    struct State {
        var entries: [VMID: Entry] = [:]
        /// VMs forgotten (`lookout forget`), with the moment: their documents up to then are refused.
        var forgotten: [VMID: Date] = [:]
        var version = 0
        /// The summary as last built, plain and gzip, with the version it was built at.
        var summary: (version: Int, body: EncodedBody)?
    }

    private let state = Mutex(State())

    public init() {}

    /// Makes `document` the VM's latest if it is newer than what the fleet holds.
    /// - Returns: `true` when it became the latest.
    /// - Parameter encoded: `document.encoded()`, when the caller has it already.
    @discardableResult
    public func update(_ document: MetricsDocument, encoded: Data? = nil) -> Bool {
        let body = ByteBuffer(bytes: encoded ?? document.encoded())
        return state.withLock { state in
            let previous = state.entries[document.vmID]
            if let previous, previous.document.timestamp >= document.timestamp { return false }
            if let forgotten = state.forgotten[document.vmID] {
                guard document.timestamp > forgotten else { return false }
                // Newer than the forget: the VM is alive and back.
                state.forgotten[document.vmID] = nil
            }
            var since: [String: Date] = [:]
            for service in document.services {
                let before = previous?.document.services.first { $0.id == service.id }
                since[service.id] =
                    before?.healthy == service.healthy
                    ? previous?.serviceSince[service.id] ?? document.timestamp : document.timestamp
            }
            state.entries[document.vmID] = Entry(document: document, body: body, serviceSince: since)
            state.version += 1
            return true
        }
    }

    /// Drops `vmID` unless its latest document is newer than `at`, and from then on refuses its
    /// documents up to `at` (a late file or spool replay must not bring a forgotten VM back).
    /// - Returns: `false` when the fleet already knew this forget (nothing to do again).
    @discardableResult
    public func forget(_ vmID: VMID, at: Date) -> Bool {
        state.withLock { state in
            if let known = state.forgotten[vmID], known >= at { return false }
            state.forgotten[vmID] = at
            if let entry = state.entries[vmID], entry.document.timestamp <= at {
                state.entries[vmID] = nil
                state.version += 1
            }
            return true
        }
    }

    /// When `vmID` was forgotten, if it was and has not reported since.
    public func forgottenAt(_ vmID: VMID) -> Date? {
        state.withLock { $0.forgotten[vmID] }
    }

    public func entry(_ vmID: VMID) -> Entry? {
        state.withLock { $0.entries[vmID] }
    }

    /// Every VM's entry, sorted by vm_id.
    public func entries() -> [Entry] {
        state.withLock { Array($0.entries.values) }.sorted { $0.document.vmID < $1.document.vmID }
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// `{"vms": {"<vm_id>": <document>, …}}`, built once per change.
    public func summaryBody() -> ByteBuffer { summary().plain }

    /// The summary in both representations with its ETag, built (encoded, hashed, gzipped)
    /// on the first request after a change and shared by every request until the next one:
    /// a dashboard's refresh of an unchanged fleet costs a lock and a hash comparison. Built
    /// outside the lock; two requests racing after a change may both build it, the same bytes.
    func summary() -> EncodedBody {
        let (cached, entries, version) = state.withLock { state -> (EncodedBody?, [VMID: Entry], Int) in
            if let summary = state.summary, summary.version == state.version {
                return (summary.body, [:], state.version)
            }
            return (nil, state.entries, state.version)
        }
        if let cached { return cached }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(entries.values.reduce(16) { $0 + $1.body.readableBytes + 80 })
        buffer.writeString(#"{"vms":{"#)
        for (index, key) in entries.keys.sorted().enumerated() {
            if index > 0 { buffer.writeString(",") }
            buffer.writeString("\"\(key.rawValue)\":")
            var body = entries[key]!.body
            buffer.writeBuffer(&body)
        }
        buffer.writeString("}}")
        let summary = EncodedBody(buffer)
        state.withLock { state in
            if state.version == version { state.summary = (version, summary) }
        }
        return summary
    }
}

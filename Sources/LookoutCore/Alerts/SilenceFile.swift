#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A silence request or file that cannot be used, in words that name what is wrong.
public struct SilenceError: Error, CustomStringConvertible, Equatable {
    public let message: String
    /// True for a bad request (unknown id, bad field), false for a file problem.
    public let isUsage: Bool
    public init(_ message: String, isUsage: Bool = false) {
        self.message = message
        self.isUsage = isUsage
    }
    public var description: String { message }
}

/// `DATA/silences.json`, shared by `lookout silence` and `lookout serve`: every change is a
/// read-modify-write under `DATA/.silences.lock` (so a CLI add beside an API remove loses
/// neither), written atomically, with the silences that ended pruned on the way.
public struct SilenceFile: Sendable {
    public let path: String
    let lockPath: String

    public init(dataFolder: String) {
        path = "\(dataFolder)/silences.json"
        lockPath = "\(dataFolder)/.silences.lock"
    }

    struct Body: Codable { var silences: [Silence] }

    /// The silences not yet ended at `now` (ended ones are left for the next write to
    /// prune). No file: none. A damaged file is an error naming it, never an empty list
    /// written over it.
    public func load(now: Date) throws(SilenceError) -> [Silence] {
        try readAll().filter { $0.endsAt > now }
    }

    func readAll() throws(SilenceError) -> [Silence] {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 4 << 20)
        } catch {
            if error.isNotFound { return [] }
            throw SilenceError("silences: \(error)")
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes)).silences
        } catch let error as DecodingError {
            throw SilenceError(
                "silences file \(path) is damaged (\(DocumentError(error))); fix it or move it aside "
                    + "(no silence applies until then)")
        } catch {
            throw SilenceError("silences file \(path): \(error)")
        }
    }

    /// Runs `body` on the current silences (ended ones pruned) under the lock and writes
    /// the result atomically.
    public func modify<T>(
        now: Date, wait: Duration = .seconds(10), _ body: (inout [Silence]) throws(SilenceError) -> T
    ) async throws(SilenceError) -> T {
        let fd: Int32
        do {
            // 0644, as the alert lock: a `sudo lookout silence add` that creates it first must
            // not lock the hub's user (who can then open it read-only) out of silences.
            fd = try await FileLocking.lock(lockPath, permissions: 0o644, wait: wait)
        } catch {
            throw SilenceError(error.message(lock: "silences", wait: wait))
        }
        defer { close(fd) }
        var silences = try readAll().filter { $0.endsAt > now }
        let result = try body(&silences)
        do {
            let bytes = try JSONEncoder.lookout(pretty: true).encode(Body(silences: silences))
            try AtomicFile.write(bytes, to: path, mode: 0o644)
        } catch let error as FileError {
            throw SilenceError("could not save \(path): \(error)")
        } catch {
            throw SilenceError("could not encode the silences: \(error)")
        }
        return result
    }

    /// Most silences active at once: far more than any fleet plans, and the file stays far
    /// below the size that is read (a file past it would hold no silence at all).
    public static let maximumActive = 1000

    /// Adds a silence from `now` to `endsAt` after checking its fields.
    public func add(
        vm: String, alert: String, reason: String, endsAt: Date, now: Date
    ) async throws(SilenceError) -> Silence {
        if let problem = Silence.problem(vm: vm, alert: alert, reason: reason) {
            throw SilenceError(problem, isUsage: true)
        }
        guard endsAt > now else {
            throw SilenceError("the end \(Timestamp.format(endsAt)) is not in the future", isUsage: true)
        }
        guard endsAt.timeIntervalSince(now) <= 366 * 86_400 else {
            throw SilenceError("the end \(Timestamp.format(endsAt)) is more than a year away", isUsage: true)
        }
        return try await modify(now: now) { (silences: inout [Silence]) throws(SilenceError) -> Silence in
            guard silences.count < Self.maximumActive else {
                throw SilenceError(
                    "\(silences.count) silences are active, the most there may be; remove some "
                        + "(lookout silence list) or use a pattern such as \"web-*\"", isUsage: true)
            }
            var id = Silence.newID()
            while silences.contains(where: { $0.id == id }) { id = Silence.newID() }
            let silence = Silence(id: id, vm: vm, alert: alert, reason: reason, createdAt: now, endsAt: endsAt)
            silences.append(silence)
            return silence
        }
    }

    /// Removes the silence `id`; an unknown id (or one that already ended) is an error.
    public func remove(id: String, now: Date) async throws(SilenceError) -> Silence {
        try await modify(now: now) { (silences: inout [Silence]) throws(SilenceError) -> Silence in
            guard let index = silences.firstIndex(where: { $0.id == id }) else {
                throw SilenceError("no active silence has the id \"\(id.prefix(40))\"", isUsage: true)
            }
            return silences.remove(at: index)
        }
    }
}

import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Why an enrollment could not be made or traded, in words that say what to do.
public struct EnrollmentError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A request that can never work as sent (a bad vm_id, a code of the wrong shape): 400.
        case usage
        /// A code that is wrong, used or expired, or a hub that may not enroll: 403.
        case refused
        /// A file that cannot be read or written: 500.
        case file
        /// Too many refused codes in the last minute (``WrongCodeBudget``): 429.
        case tooMany
    }

    public let message: String
    public let kind: Kind

    public init(_ message: String, kind: Kind) {
        self.message = message
        self.kind = kind
    }

    public var description: String { message }
}

/// One code made by `lookout enroll` or the dashboard: who it is for, when it ends, and
/// whether it was traded. The code itself is never stored, only its hash.
public struct Enrollment: Codable, Sendable, Equatable {
    public var vmID: VMID
    public var codeSHA256: String
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?

    enum CodingKeys: String, CodingKey {
        case vmID = "vm_id", codeSHA256 = "code_sha256", createdAt = "created_at", expiresAt = "expires_at"
        case usedAt = "used_at"
    }

    public init(vmID: VMID, codeSHA256: String, createdAt: Date, expiresAt: Date, usedAt: Date? = nil) {
        self.vmID = vmID
        self.codeSHA256 = codeSHA256
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vmID = try c.decode(VMID.self, forKey: .vmID)
        codeSHA256 = try c.decode(String.self, forKey: .codeSHA256)
        createdAt = try Self.date(c, .createdAt)
        expiresAt = try Self.date(c, .expiresAt)
        usedAt = nil
        if try c.decodeIfPresent(String.self, forKey: .usedAt) != nil { usedAt = try Self.date(c, .usedAt) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vmID, forKey: .vmID)
        try c.encode(codeSHA256, forKey: .codeSHA256)
        try c.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try c.encode(Timestamp.format(expiresAt), forKey: .expiresAt)
        try c.encodeIfPresent(usedAt.map(Timestamp.format), forKey: .usedAt)
    }

    static func date(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Date {
        let text = try c.decode(String.self, forKey: key)
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not an RFC 3339 time")
        }
        return date
    }
}

/// `DATA/enrollments.json`, shared by `lookout enroll` and `lookout serve`: every change is
/// a read-modify-write under `DATA/.enrollments.lock`, written atomically (mode 0600), so a
/// code made by the CLI while the hub trades another loses neither, and of two trades of
/// one code exactly one wins. Entries are pruned a day after they end (until then a used or
/// expired code is refused as "used" or "expired", not as unknown).
public struct EnrollmentFile: Sendable {
    public let path: String
    let lockPath: String
    let dataFolder: String

    /// How long after its end (expiry or use) an entry is kept to explain a refusal.
    static let keepAfterEnd: TimeInterval = 86_400
    /// The longest a code may be valid.
    public static let maximumValidity: TimeInterval = 7 * 86_400

    public init(dataFolder: String) {
        path = "\(dataFolder)/enrollments.json"
        lockPath = "\(dataFolder)/.enrollments.lock"
        self.dataFolder = dataFolder
    }

    struct Body: Codable { var enrollments: [Enrollment] }

    /// Every entry on file. No file: none. A damaged file is an error naming it, never an
    /// empty list written over it.
    public func load() throws(EnrollmentError) -> [Enrollment] {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 4 << 20)
        } catch {
            if error.isNotFound { return [] }
            throw EnrollmentError("enrollments: \(error)", kind: .file)
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes)).enrollments
        } catch let error as DecodingError {
            throw EnrollmentError(
                "enrollments file \(path) is damaged (\(DocumentError(error))); move it aside (its codes stop "
                    + "working) and make new codes with `lookout enroll <vm_id>`",
                kind: .file)
        } catch {
            throw EnrollmentError("enrollments file \(path): \(error)", kind: .file)
        }
    }

    /// Runs `body` on the entries (old ones pruned) under the lock and writes the result.
    public func modify<T>(
        now: Date, wait: Duration = .seconds(10), _ body: (inout [Enrollment]) async throws(EnrollmentError) -> T
    ) async throws(EnrollmentError) -> T {
        let fd: Int32
        do {
            // 0644 and handed to the folder's owner: a `sudo lookout enroll` that creates it
            // first must not lock the hub's user out (a 0600 root file cannot even be read).
            fd = try await FileLocking.lock(lockPath, permissions: 0o644, wait: wait)
        } catch {
            throw EnrollmentError(error.message(lock: "enrollments", wait: wait), kind: .file)
        }
        defer { close(fd) }
        giveToFolderOwner(lockPath)
        var entries = try load().filter { ($0.usedAt ?? $0.expiresAt).addingTimeInterval(Self.keepAfterEnd) > now }
        let result = try await body(&entries)
        do {
            let bytes = try JSONEncoder.lookout(pretty: true).encode(Body(enrollments: entries))
            try AtomicFile.write(bytes, to: path, mode: 0o600)
            giveToFolderOwner(path)
        } catch let error as FileError {
            throw EnrollmentError("could not save \(path): \(error)", kind: .file)
        } catch {
            throw EnrollmentError("could not encode the enrollments: \(error)", kind: .file)
        }
        return result
    }

    /// `sudo lookout enroll` writes the files as root, but the hub reading them runs as the data
    /// folder's owner (the package's `lookout` user): as root, the file and its lock are handed
    /// to that owner so the hub can read the 0600 file, take the lock and trade the code.
    func giveToFolderOwner(_ file: String) {
        guard geteuid() == 0 else { return }
        var folder = stat()
        guard stat(dataFolder, &folder) == 0, folder.st_uid != 0 else { return }
        _ = chown(file, folder.st_uid, folder.st_gid)
    }

    /// Makes a code for `vm`, valid for `validity` seconds from `now`; returns the code
    /// (shown once, never stored) and its entry.
    public func create(
        vm: VMID, validity: TimeInterval, now: Date, code: String = EnrollmentCode.generate()
    ) async throws(EnrollmentError) -> (code: String, enrollment: Enrollment) {
        guard validity >= 60, validity <= Self.maximumValidity else {
            throw EnrollmentError("a code must be valid for 1 minute to 7 days", kind: .usage)
        }
        guard let canonical = EnrollmentCode.canonical(code) else {
            throw EnrollmentError("\"\(code.prefix(20))\" is not a code of \(EnrollmentCode.shape)", kind: .usage)
        }
        let entry = Enrollment(
            vmID: vm, codeSHA256: EnrollmentCode.hash(canonical: canonical), createdAt: now,
            expiresAt: now.addingTimeInterval(validity))
        try await modify(now: now) { (entries: inout [Enrollment]) throws(EnrollmentError) in
            // 40 bits make a clash of live codes next to impossible; refusing one keeps a
            // trade's answer unambiguous anyway.
            guard !entries.contains(where: { $0.codeSHA256 == entry.codeSHA256 }) else {
                throw EnrollmentError("the new code clashed with a live one; run the command again", kind: .file)
            }
            entries.append(entry)
        }
        return (code, entry)
    }

    /// Trades `code` at `now`: a known, unused, unexpired code is marked used after
    /// `issue` ran for its VM (so a failed issue leaves the code usable); anything else is
    /// refused saying which it was and what to do.
    public func trade<T: Sendable>(
        code: String, now: Date, issue: (VMID) async throws(EnrollmentError) -> T
    ) async throws(EnrollmentError) -> T {
        guard let canonical = EnrollmentCode.canonical(code) else {
            throw EnrollmentError(
                "code: not an enrollment code (\(EnrollmentCode.shape)); copy the command from `lookout enroll "
                    + "<vm_id>` or the dashboard's Add VM again",
                kind: .usage)
        }
        let hash = EnrollmentCode.hash(canonical: canonical)
        return try await modify(now: now) { (entries: inout [Enrollment]) throws(EnrollmentError) -> T in
            guard let index = entries.firstIndex(where: { $0.codeSHA256 == hash }) else {
                throw EnrollmentError(
                    "this enrollment code is wrong (the hub made no such code, or it ended more than a day ago); "
                        + "make a new one on the hub with `lookout enroll <vm_id>` or the dashboard's Add VM",
                    kind: .refused)
            }
            let entry = entries[index]
            if let used = entry.usedAt {
                throw EnrollmentError(
                    "this enrollment code for \(entry.vmID) was already used at \(Timestamp.format(used)); "
                        + "make a new one on the hub with `lookout enroll \(entry.vmID)`",
                    kind: .refused)
            }
            guard entry.expiresAt > now else {
                throw EnrollmentError(
                    "this enrollment code for \(entry.vmID) expired at \(Timestamp.format(entry.expiresAt)); "
                        + "make a new one on the hub with `lookout enroll \(entry.vmID)`",
                    kind: .refused)
            }
            let result = try await issue(entry.vmID)
            entries[index].usedAt = now
            return result
        }
    }
}

import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `DATA/.forget/<vm_id>`: a VM that was forgotten, and when.
///
/// The file is how `lookout forget` (another process) reaches a running hub: its folder
/// watcher applies every new request on its next scan (drops the VM from the fleet, marks
/// the request applied). It stays afterwards as a tombstone, so that a document older than
/// the forget (a sync tool delivering an old `metrics.json`, a spool replay) never brings
/// the VM back, also after a restart. The first document newer than the forget does: the
/// VM is alive; the hub then deletes the file.
public struct ForgetRequest: Codable, Sendable, Equatable {
    public var vmID: VMID
    /// The moment of the forget (the hub's clock): documents up to it are refused.
    public var forgottenAt: Date
    public var purge: Bool
    /// When a running hub dropped the VM from its fleet; `nil` until one has.
    public var appliedAt: Date?

    public init(vmID: VMID, forgottenAt: Date, purge: Bool, appliedAt: Date? = nil) {
        self.vmID = vmID
        self.forgottenAt = forgottenAt
        self.purge = purge
        self.appliedAt = appliedAt
    }

    enum CodingKeys: String, CodingKey {
        case vmID = "vm_id", forgottenAt = "forgotten_at", purge, appliedAt = "applied_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vmID = try c.decode(VMID.self, forKey: .vmID)
        forgottenAt = try Self.date(c, .forgottenAt)
        purge = try c.decodeIfPresent(Bool.self, forKey: .purge) ?? false
        appliedAt = try c.decodeIfPresent(String.self, forKey: .appliedAt) == nil ? nil : try Self.date(c, .appliedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vmID, forKey: .vmID)
        try c.encode(Timestamp.format(forgottenAt), forKey: .forgottenAt)
        try c.encode(purge, forKey: .purge)
        try c.encode(appliedAt.map(Timestamp.format), forKey: .appliedAt)
    }

    private static func date(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Date {
        let text = try c.decode(String.self, forKey: key)
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "\"\(text.prefix(40))\" is not a timestamp")
        }
        return date
    }
}

/// The folder of ``ForgetRequest`` files, `DATA/.forget` (a name no vm_id can take).
public struct ForgetRequests: Sendable {
    public let folder: String

    public init(dataFolder: String) {
        folder = "\(dataFolder)/.forget"
    }

    func path(_ vmID: VMID) -> String { "\(folder)/\(vmID.rawValue)" }

    public func save(_ request: ForgetRequest) throws(HubError) {
        do {
            try AtomicFile.makeDirectories(folder)
            try AtomicFile.write(JSONEncoder.lookout(pretty: true).encode(request), to: path(request.vmID))
        } catch let error as FileError {
            throw HubError("could not write the forget request: \(error)")
        } catch {
            throw HubError("could not encode the forget request: \(error)")
        }
    }

    public func load(_ vmID: VMID) -> ForgetRequest? {
        guard let bytes = try? AtomicFile.read(path(vmID), limit: 1 << 16) else { return nil }
        return try? JSONDecoder().decode(ForgetRequest.self, from: Data(bytes))
    }

    /// Every request, and a line for each file that is not one (named, not fatal).
    public func all() -> (requests: [ForgetRequest], problems: [String]) {
        var requests: [ForgetRequest] = []
        var problems: [String] = []
        for name in AtomicFile.fileNames(in: folder).sorted() where !name.hasPrefix(".") {
            let file = "\(folder)/\(name)"
            do {
                let request = try JSONDecoder().decode(
                    ForgetRequest.self, from: Data(try AtomicFile.read(file, limit: 1 << 16)))
                guard request.vmID.rawValue == name else {
                    problems.append("\(file) is about \(request.vmID), not \(name); ignored")
                    continue
                }
                requests.append(request)
            } catch {
                problems.append("\(file) is not a forget request (\(error)); ignored")
            }
        }
        return (requests, problems)
    }

    public func remove(_ vmID: VMID) {
        unlink(path(vmID))
    }
}

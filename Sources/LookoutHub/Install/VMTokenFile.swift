import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The per-VM tokens file (`vm_tokens_file`, else `DATA/vm-tokens.json`) as enrollment
/// writes it: a read-modify-write under a lock file beside it, keeping every other entry,
/// written atomically with mode 0600. A VM that already has a token gets a new one: the old
/// token stops working (re-installing a VM rotates its token).
public struct VMTokenFile: Sendable {
    public let path: String
    let lockPath: String

    public init(path: String) {
        self.path = path
        let (folder, name) = (AtomicFile.folder(of: path), path.split(separator: "/").last.map(String.init) ?? path)
        lockPath = "\(folder)/.\(name).lock"
    }

    /// A new random token: 32 bytes from the system's generator, in hex (64 characters).
    public static func newToken() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<4 { withUnsafeBytes(of: rng.next()) { bytes += $0 } }
        return SHA256.hexString(bytes)
    }

    /// Gives `vm` the token `token` (replacing its old one) and returns every token now on file.
    public func issue(
        _ token: String, for vm: VMID, wait: Duration = .seconds(10)
    ) async throws(EnrollmentError) -> [VMID: String] {
        let fd: Int32
        do {
            fd = try await FileLocking.lock(lockPath, wait: wait)
        } catch {
            throw EnrollmentError(error.message(lock: "per-VM tokens", wait: wait), kind: .file)
        }
        defer { close(fd) }
        var tokens: [VMID: String]
        if access(path, F_OK) == 0 {
            do {
                tokens = try APITokens.readVMTokens(path)
            } catch {
                throw EnrollmentError("\(error.message); fix it before enrolling a VM", kind: .file)
            }
        } else {
            tokens = [:]
        }
        tokens[vm] = token
        let map = Dictionary(uniqueKeysWithValues: tokens.map { ($0.key.rawValue, $0.value) })
        do {
            try AtomicFile.write(try JSONEncoder.lookout(pretty: true).encode(map), to: path, mode: 0o600)
        } catch let error as FileError {
            throw EnrollmentError("could not save the per-VM tokens \(path): \(error)", kind: .file)
        } catch {
            throw EnrollmentError("could not encode the per-VM tokens: \(error)", kind: .file)
        }
        return tokens
    }
}

import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `DATA/alerts.json`: the active alerts (the `/api/monitoring/alerts` body) and what was
/// told about each, written atomically after every pass.
struct AlertStateFile: Sendable {
    let path: String

    init(dataFolder: String) {
        path = "\(dataFolder)/alerts.json"
    }

    /// The saved state; an empty one before the first pass. A damaged file is an error,
    /// not a fresh start: starting over would resend every open alert.
    func load() throws(HubError) -> AlertState {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: 64 << 20)
        } catch {
            if error.isNotFound { return AlertState() }
            throw HubError("alert state: \(error)")
        }
        do {
            return try JSONDecoder().decode(AlertState.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw HubError("alert state \(path) is damaged (\(DocumentError(error))); move it aside to start over")
        } catch {
            throw HubError("alert state \(path): \(error)")
        }
    }

    func save(_ state: AlertState) throws(HubError) {
        do {
            try AtomicFile.write(JSONEncoder.lookout(pretty: true).encode(state), to: path)
        } catch let error as FileError {
            throw HubError("could not save the alert state: \(error)")
        } catch {
            throw HubError("could not encode the alert state: \(error)")
        }
    }
}

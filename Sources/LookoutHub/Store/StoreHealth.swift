import LookoutCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Whether the history database takes writes, as `/healthz` reports it.
///
/// `degraded` keeps HTTP 200: the hub still serves the dashboard, the API and alerts from
/// memory, and a proxy or supervisor that drops a 503 backend would take those away too.
/// Monitor the `status` field (a keyword check on `"status":"ok"`) to hear about it.
public struct StoreHealth: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case ok, degraded }

    public var status: Status
    /// Why the store is degraded, and what to do about it.
    public var reason: String?

    public static let ok = StoreHealth(status: .ok, reason: nil)

    public init(status: Status, reason: String?) {
        self.status = status
        self.reason = reason
    }

    /// The `/healthz` body: `{"reason":…,"status":"ok"|"degraded","version":…,"vms":N}`.
    public func healthzBody(vms: Int) -> ByteBuffer {
        struct Body: Encodable {
            var status: Status
            var reason: String?
            var version: String
            var vms: Int
        }
        let body = Body(status: status, reason: reason, version: LookoutVersion.current, vms: vms)
        // Encoding strings and numbers cannot fail.
        return ByteBuffer(bytes: (try? JSONEncoder.lookout().encode(body)) ?? Data(#"{"status":"degraded"}"#.utf8))
    }
}

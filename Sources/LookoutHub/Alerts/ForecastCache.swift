import LookoutCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The last forecasts, reused for ``refreshInterval``: they are fitted on hourly rollups,
/// which change once an hour, so fitting them every minute would only cost reads (under the
/// alert lock for the alert pass). `serve` shares one between its alert pass and
/// `GET /api/monitoring/forecast`, which every open dashboard asks each minute: without it
/// each request would fit every filesystem of the fleet.
final class ForecastCache: Sendable {
    static let refreshInterval: TimeInterval = 600
    private let last = Mutex<(at: Date, vms: [VMID], forecasts: [DiskForecast])?>(nil)

    /// The cached forecasts when they are for `vms` and younger than the refresh interval
    /// at `now` (a clock stepped back counts as stale), else nil.
    func forecasts(for vms: [VMID], now: Date) -> [DiskForecast]? {
        last.withLock { last in
            guard let last, last.vms == vms else { return nil }
            let age = now.timeIntervalSince(last.at)
            return age >= 0 && age < Self.refreshInterval ? last.forecasts : nil
        }
    }

    func store(_ forecasts: [DiskForecast], for vms: [VMID], at now: Date) {
        last.withLock { $0 = (now, vms, forecasts) }
    }

    /// The cached forecasts of `vms`, or those `store` fits at `now` (then cached).
    func forecasts(
        for vms: [VMID], now: Date, store: HistoryStore, settings: ForecastSettings
    ) async throws(HubError) -> [DiskForecast] {
        if let cached = forecasts(for: vms, now: now) { return cached }
        let forecasts = try await store.forecasts(vmIDs: vms, settings: settings, now: now)
        self.store(forecasts, for: vms, at: now)
        return forecasts
    }
}

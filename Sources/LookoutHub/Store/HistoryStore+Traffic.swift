import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HistoryStore {
    /// Every VM's traffic in its current allowance month at `now` (VMs with samples in
    /// `traffic_days`, plus every VM of `config.traffic`), for the traffic alerts and
    /// `GET /api/monitoring/traffic`.
    ///
    /// Contract for the alert pass and the API (issue 11); the store side fills it.
    public func trafficUsage(config: MonitoringConfig, now: Date) async throws(HubError) -> [VMID: TrafficUsage] {
        [:]
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The disk-full warning: one alert per filesystem whose ``DiskForecast`` is under
/// `forecast.warning_days` (`<vm_id>/forecast/` for the root disk, `<vm_id>/forecast/srv`
/// for `/srv`, as `fs` alerts are named). Always a warning: the disk is not full yet, and
/// the `disk`/`fs` thresholds turn critical when it nearly is.
enum ForecastRule {
    static let kind = "forecast"

    static func alert(_ forecast: DiskForecast, now: Date) -> Alert? {
        guard forecast.warning, let daysLeft = forecast.daysLeft else { return nil }
        let path = forecast.path.hasPrefix("/") ? forecast.path : "/\(forecast.path)"
        return Alert(
            id: "\(forecast.vmID)/\(kind)\(path)", vmID: forecast.vmID, kind: kind, metric: forecast.path,
            severity: .warning, value: daysLeft, threshold: nil, since: now, message: forecast.message)
    }
}

import GRDB
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HistoryStore {
    /// The disk-full projection of every filesystem of `vmIDs`: the root disk (hourly `disk`
    /// percent and `disk_used_gb`) and each `fs:<path>` series but `fs:/` (the root again),
    /// fitted over the last `settings.windowDays` of hourly rollups.
    ///
    /// Rollups only, never raw samples: a VM has at most 24 × 30 rows per series here, so a
    /// pass over a large fleet stays a few index seeks per VM. The hour in progress (and any
    /// the retention pass has not rolled up yet) is not counted, which a fit over days does
    /// not miss.
    /// - Returns: per VM the root first, then the filesystems by path.
    public func forecasts(vmIDs: [VMID], settings: ForecastSettings, now: Date) async throws(HubError)
        -> [DiskForecast]
    {
        let since = Self.seconds(now) - Int64(settings.windowDays) * 86_400
        let series = try await read("reading hourly disk usage for forecasts") { db in
            let hourly = try db.cachedStatement(
                sql: "SELECT hour, avg FROM hourly WHERE vm_id = ? AND metric = ? AND hour >= ? ORDER BY hour")
            func fetch(_ vm: String, _ metric: String) throws -> [(Int64, Double)] {
                try Row.fetchAll(hourly, arguments: [vm, metric, since]).map { ($0[0], $0[1]) }
            }
            var result: [(VMID, String, [DiskForecast.Point])] = []
            for vmID in vmIDs {
                let vm = vmID.rawValue
                let usedGB = Dictionary(try fetch(vm, Metric.diskUsedGB.rawValue), uniquingKeysWith: { a, _ in a })
                let root = try fetch(vm, Metric.disk.rawValue).map { hour, percent in
                    DiskForecast.Point(time: Self.date(hour), percent: percent, usedGB: usedGB[hour])
                }
                result.append((vmID, "/", root))
                let paths = try HistoryStore.seriesKeys(db, vm: vm).compactMap { key -> SeriesName? in
                    guard let name = try? SeriesName(parsing: key.series), name.kind == .filesystem, name.key != "/"
                    else { return nil }
                    return name
                }
                for name in paths.sorted() {
                    let points = try fetch(vm, name.rawValue).map { hour, percent in
                        DiskForecast.Point(time: Self.date(hour), percent: percent)
                    }
                    result.append((vmID, name.key, points))
                }
            }
            return result
        }
        // An hour's average stands for its middle.
        return series.map { vmID, path, points in
            DiskForecast.fit(
                vmID: vmID, path: path,
                points: points.map {
                    DiskForecast.Point(time: $0.time.addingTimeInterval(1800), percent: $0.percent, usedGB: $0.usedGB)
                },
                now: now, settings: settings)
        }
    }

    private static func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: Double(seconds)) }
}

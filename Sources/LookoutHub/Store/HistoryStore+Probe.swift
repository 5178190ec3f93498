import GRDB

extension HistoryStore {
    /// While a failure that may pass lasts (a full disk), tries a one-page write every
    /// `probeInterval` (30 s), so `/healthz` turns `ok` again once there is room even when no
    /// document arrives (every agent down, no local agent). Writing `user_version` back
    /// unchanged needs a WAL frame like any sample, and changes nothing.
    func probeWhileFailing() {
        guard condition.startProbing() else { return }
        Task { [self] in
            defer { condition.stopProbing() }
            while condition.isFailing {
                try? await Task.sleep(for: probeInterval)
                guard condition.isFailing else { return }
                _ = try? await write("probing whether writes work again") { db in
                    let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                    try db.execute(sql: "PRAGMA user_version = \(version)")
                }
            }
        }
    }
}

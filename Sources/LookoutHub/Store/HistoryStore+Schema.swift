import GRDB

extension HistoryStore {
    /// The schema's history. A migration, once released, is never edited: a change is a new
    /// migration appended here, so every existing `lookout.sqlite` upgrades in place.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Times are whole unix seconds (UTC). WITHOUT ROWID keeps each table one B-tree
            // ordered by (vm_id, ts): a series or a retention delete is a range scan.
            try db.execute(
                sql: """
                    CREATE TABLE samples (
                        vm_id TEXT NOT NULL,
                        ts INTEGER NOT NULL,
                        cpu REAL NOT NULL,
                        memory REAL NOT NULL,
                        disk REAL NOT NULL,
                        load1 REAL NOT NULL,
                        load5 REAL NOT NULL,
                        load15 REAL NOT NULL,
                        memory_used_mb REAL NOT NULL,
                        disk_used_gb REAL NOT NULL,
                        uptime REAL NOT NULL,
                        PRIMARY KEY (vm_id, ts)
                    ) WITHOUT ROWID;
                    CREATE TABLE service_samples (
                        vm_id TEXT NOT NULL,
                        ts INTEGER NOT NULL,
                        service_id TEXT NOT NULL,
                        healthy INTEGER NOT NULL,
                        response_ms REAL NOT NULL,
                        PRIMARY KEY (vm_id, ts, service_id)
                    ) WITHOUT ROWID;
                    CREATE TABLE container_samples (
                        vm_id TEXT NOT NULL,
                        ts INTEGER NOT NULL,
                        name TEXT NOT NULL,
                        status TEXT NOT NULL,
                        cpu_percent REAL NOT NULL,
                        memory_mb REAL NOT NULL,
                        PRIMARY KEY (vm_id, ts, name)
                    ) WITHOUT ROWID;
                    -- Every VM's newest document, as the API serves it: the hub's view on start.
                    CREATE TABLE latest (
                        vm_id TEXT NOT NULL PRIMARY KEY,
                        ts INTEGER NOT NULL,
                        document BLOB NOT NULL
                    );
                    -- min / avg / max / count per VM, metric and hour (hour = its start).
                    CREATE TABLE hourly (
                        vm_id TEXT NOT NULL,
                        metric TEXT NOT NULL,
                        hour INTEGER NOT NULL,
                        min REAL NOT NULL,
                        avg REAL NOT NULL,
                        max REAL NOT NULL,
                        count INTEGER NOT NULL,
                        PRIMARY KEY (vm_id, metric, hour)
                    ) WITHOUT ROWID;
                    -- Hours that received a new sample since they were last rolled up, so a
                    -- retention pass re-reads only those (late spool replays included).
                    CREATE TABLE rollup_pending (
                        vm_id TEXT NOT NULL,
                        hour INTEGER NOT NULL,
                        PRIMARY KEY (vm_id, hour)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2-alert-history") { db in
            // Alerts that cleared, for the dashboard's "recent" list and the daily aggregate.
            try db.execute(
                sql: """
                    CREATE TABLE alert_history (
                        id TEXT NOT NULL,
                        vm_id TEXT NOT NULL,
                        since INTEGER NOT NULL,
                        resolved_at INTEGER NOT NULL,
                        alert BLOB NOT NULL,
                        PRIMARY KEY (id, since)
                    ) WITHOUT ROWID;
                    CREATE INDEX alert_history_resolved ON alert_history (resolved_at);
                    """)
        }
        migrator.registerMigration("v3-system-extras") { db in
            // Issue 11's figures. Fixed series are nullable columns of `samples` (NULL: the
            // document had no such figure); per-path and per-sensor series (`fs:/srv/backup`,
            // `temp:coretemp package_id_0`) are rows of `series_samples`. `net_rx_total` /
            // `net_tx_total` are the kernel's counters and `boot` a 32-bit FNV-1a of the
            // boot_id, so byte deltas survive counter resets; `traffic_days` holds those deltas
            // summed per VM and UTC day (day = its start), the source of monthly traffic.
            try db.execute(
                sql: """
                    ALTER TABLE samples ADD COLUMN net_rx REAL;
                    ALTER TABLE samples ADD COLUMN net_tx REAL;
                    ALTER TABLE samples ADD COLUMN disk_read REAL;
                    ALTER TABLE samples ADD COLUMN disk_write REAL;
                    ALTER TABLE samples ADD COLUMN disk_util REAL;
                    ALTER TABLE samples ADD COLUMN swap REAL;
                    ALTER TABLE samples ADD COLUMN net_rx_total REAL;
                    ALTER TABLE samples ADD COLUMN net_tx_total REAL;
                    ALTER TABLE samples ADD COLUMN boot INTEGER;
                    CREATE TABLE series_samples (
                        vm_id TEXT NOT NULL,
                        series TEXT NOT NULL,
                        ts INTEGER NOT NULL,
                        value REAL NOT NULL,
                        PRIMARY KEY (vm_id, series, ts)
                    ) WITHOUT ROWID;
                    CREATE TABLE traffic_days (
                        vm_id TEXT NOT NULL,
                        day INTEGER NOT NULL,
                        rx_bytes REAL NOT NULL,
                        tx_bytes REAL NOT NULL,
                        PRIMARY KEY (vm_id, day)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v4-interface-counters") { db in
            // Each interface's counters and rates (JSON, `TrafficCounter.Reading`), so a byte
            // delta is taken per interface: an interface that leaves the sum and comes back
            // (a link flap, a rate the agent dropped as a glitch) must not bring its lifetime
            // bytes into the month again. NULL in rows of older hubs: the sum rule applies.
            try db.execute(sql: "ALTER TABLE samples ADD COLUMN net_interfaces TEXT")
        }
        migrator.registerMigration("v5-service-hourly") { db in
            // Service checks per VM, hour (its start) and check: how many ran and how many
            // passed, so a service's uptime reaches past `raw_days` as a VM's does. The retention
            // pass fills it with the VM's hours (`rollup_pending`); here, once, from every raw
            // check already stored, so an upgraded hub keeps its services' older days. An hour
            // still open is in `rollup_pending` and is rolled again once it is complete.
            try db.execute(
                sql: """
                    CREATE TABLE service_hourly (
                        vm_id TEXT NOT NULL,
                        hour INTEGER NOT NULL,
                        service_id TEXT NOT NULL,
                        checks INTEGER NOT NULL,
                        up INTEGER NOT NULL,
                        PRIMARY KEY (vm_id, hour, service_id)
                    ) WITHOUT ROWID;
                    INSERT INTO service_hourly (vm_id, hour, service_id, checks, up)
                    SELECT vm_id, ts - ((ts % 3600) + 3600) % 3600 AS hour, service_id, COUNT(*), SUM(healthy)
                    FROM service_samples GROUP BY vm_id, hour, service_id;
                    """)
        }
        return migrator
    }()
}

extension Metric {
    /// The column of `samples` holding this metric (a fixed name, safe to put in SQL).
    var column: String {
        switch self {
        case .cpu: "cpu"
        case .memory: "memory"
        case .disk: "disk"
        case .load1: "load1"
        case .load5: "load5"
        case .load15: "load15"
        case .memoryUsedMB: "memory_used_mb"
        case .diskUsedGB: "disk_used_gb"
        // Issue 11's nullable columns (migration v3) are named as the series.
        case .netRx, .netTx, .diskRead, .diskWrite, .diskUtil, .swap: rawValue
        }
    }
}

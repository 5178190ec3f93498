#!/bin/sh
# Rebuilds data/lookout.sqlite: a data folder as Lookout wrote it before the migration
# "v3-system-extras" existed (schemas "v1" and "v2-alert-history"), for SchemaUpgradeTests.
# See README.md. Run once and commit the result; the test never runs this script.
set -eu
cd "$(dirname "$0")"
rm -rf data && mkdir data
sqlite3 data/lookout.sqlite <<'SQL'
PRAGMA journal_mode = WAL;
BEGIN;
-- GRDB's migration bookkeeping, as DatabaseMigrator creates it.
CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
INSERT INTO grdb_migrations VALUES ('v1'), ('v2-alert-history');
-- Migration "v1", verbatim from Sources/LookoutHub/Store/HistoryStore+Schema.swift.
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
CREATE TABLE latest (
    vm_id TEXT NOT NULL PRIMARY KEY,
    ts INTEGER NOT NULL,
    document BLOB NOT NULL
);
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
CREATE TABLE rollup_pending (
    vm_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    PRIMARY KEY (vm_id, hour)
) WITHOUT ROWID;

-- Migration "v2-alert-history", verbatim from the same file.
CREATE TABLE alert_history (
    id TEXT NOT NULL,
    vm_id TEXT NOT NULL,
    since INTEGER NOT NULL,
    resolved_at INTEGER NOT NULL,
    alert BLOB NOT NULL,
    PRIMARY KEY (id, since)
) WITHOUT ROWID;
CREATE INDEX alert_history_resolved ON alert_history (resolved_at);

-- web-1: three samples on 2025-12-09 at 10:00, 10:05 and 10:10 UTC (cpu 10, 20, 30),
-- one service check each; db-1: two samples (disk 91, 92) and a container.
INSERT INTO samples VALUES
    ('web-1', 1765274400, 10.0, 40.0, 25.0, 0.10, 0.05, 0.02, 409.6, 12.5, 432000),
    ('web-1', 1765274700, 20.0, 41.0, 25.0, 0.20, 0.10, 0.03, 419.8, 12.5, 432300),
    ('web-1', 1765275000, 30.0, 42.0, 25.0, 0.30, 0.15, 0.04, 430.1, 12.5, 432600),
    ('db-1',  1765274400, 50.0, 70.0, 91.0, 1.00, 0.90, 0.80, 716.8, 45.5, 86400),
    ('db-1',  1765275000, 60.0, 71.0, 92.0, 1.10, 0.95, 0.85, 727.0, 46.0, 87000);
INSERT INTO service_samples VALUES
    ('web-1', 1765274400, 'site', 1, 120.0),
    ('web-1', 1765274700, 'site', 0, 5000.0),
    ('web-1', 1765275000, 'site', 1, 110.0);
INSERT INTO container_samples VALUES
    ('db-1', 1765274400, 'postgres', 'running', 12.5, 402.0),
    ('db-1', 1765275000, 'postgres', 'running', 13.0, 405.0);
INSERT INTO rollup_pending VALUES ('web-1', 1765274400), ('db-1', 1765274400);
INSERT INTO latest VALUES
    ('web-1', 1765275000, CAST('{"vm_id":"web-1","timestamp":"2025-12-09T10:10:00Z","system":{"cpu":{"percent":30,"cores":1},"memory":{"total_mb":1024,"used_mb":430.1,"available_mb":593.9,"percent":42},"disk":{"total_gb":50,"used_gb":12.5,"percent":25},"uptime":{"seconds":432600,"human":"5 days"},"load":{"1m":0.3,"5m":0.15,"15m":0.04}},"containers":[],"services":[{"id":"site","healthy":true,"response_ms":110}]}' AS BLOB)),
    ('db-1', 1765275000, CAST('{"vm_id":"db-1","timestamp":"2025-12-09T10:10:00Z","system":{"cpu":{"percent":60,"cores":1},"memory":{"total_mb":1024,"used_mb":727,"available_mb":297,"percent":71},"disk":{"total_gb":50,"used_gb":46,"percent":92},"uptime":{"seconds":87000,"human":"1 day"},"load":{"1m":1.1,"5m":0.95,"15m":0.85}},"containers":[{"name":"postgres","status":"running","cpu_percent":13,"memory_mb":405}],"services":[]}' AS BLOB));
-- v2's own rows: web-1's 09:00 hour already rolled up (cpu only, to keep it short) and
-- one resolved alert of db-1.
INSERT INTO hourly VALUES ('web-1', 'cpu', 1765270800, 5.0, 7.5, 10.0, 2);
INSERT INTO alert_history VALUES
    ('db-1/disk', 'db-1', 1765270800, 1765272600, CAST('{"id":"db-1/disk","vm_id":"db-1","kind":"threshold","metric":"disk","severity":"warning","value":85,"threshold":80,"since":"2025-12-09T09:00:00Z","message":"disk 85%, warning at 80%","resolved_at":"2025-12-09T09:30:00Z"}' AS BLOB));
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
# Closing the last connection checkpointed and removed the -wal and -shm files.
ls data

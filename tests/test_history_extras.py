"""Issue 11's history through a real `lookout serve`: the extra series by name (fs: and
temp: names URL-encoded), the list of a VM's extra series, hostile names refused with 400,
and the monthly traffic with an allowance from the config file."""

from __future__ import annotations

import json
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

from conftest import make_doc

BACKUP = "/srv/backup dir"
SENSOR = "coretemp package_id_0"


def extras_doc(vm_id: str, ts: int, n: int) -> dict:
    doc = make_doc(vm_id, ts, interval_seconds=60)
    doc["system"].update({
        "swap": {"total_mb": 1024, "used_mb": 10.24 * n, "percent": float(n)},
        "network": {"rx_bytes_per_s": 100.0 * n, "tx_bytes_per_s": 50.0, "rx_bytes": 1_000_000 + 6_000 * n,
                    "tx_bytes": 2_000_000 + 3_000 * n,
                    "interfaces": [{"name": "eth0", "rx_bytes_per_s": 100.0 * n, "tx_bytes_per_s": 50.0,
                                    "rx_bytes": 1_000_000 + 6_000 * n, "tx_bytes": 2_000_000 + 3_000 * n}]},
        "disk_io": {"device": "vda", "read_bytes_per_s": 4096.0, "write_bytes_per_s": 8192.0, "util_percent": 2.5},
        "filesystems": [{"path": "/", "device": "/dev/vda1", "fstype": "ext4", "total_gb": 47, "used_gb": 12,
                         "percent": 25.5},
                        {"path": BACKUP, "device": "/dev/vdb", "fstype": "xfs", "total_gb": 100,
                         "used_gb": 90 + n, "percent": 90.0 + n}],
        "temperatures": [{"sensor": SENSOR, "celsius": 40.0 + n}],
        "boot_id": "6f1c2d3e-0000-4000-8000-000000000001",
    })
    return doc


def history(hub, metric: str, expect: int = 200):
    query = urllib.parse.urlencode({"metric": metric, "range": "1h", "points": "1"})
    return hub.get_json(f"/api/monitoring/history/web-1?{query}", expect=expect)


def test_extra_series_list_and_traffic_through_a_real_hub(start_hub, tmp_path: Path):
    config = tmp_path / "hub.json"
    # A reset day that is not today, so no period boundary (00:00 UTC of the reset date) can
    # fall between the samples of the last minutes, whatever the hour the test runs.
    reset_day = datetime.now(timezone.utc).day % 28 + 1
    config.write_text(json.dumps({"monitoring": {"traffic": {
        "web-1": {"monthly_gb": 1, "direction": "tx", "reset_day": reset_day}}}}))
    hub = start_hub("--config", str(config), name="history-extras")
    now = int(time.time())
    for n in range(1, 4):  # 3 samples, a minute apart, the last 10 s ago
        status, body = hub.post_doc(extras_doc("web-1", now - 10 - (3 - n) * 60, n))
        assert status == 201, body
    status, body = hub.post_doc(make_doc("db-1", now - 5))  # an older agent
    assert status == 201, body

    for metric, average in [("net_rx", 200.0), ("net_tx", 50.0), ("disk_read", 4096.0), ("disk_write", 8192.0),
                            ("disk_util", 2.5), ("swap", 2.0), (f"fs:{BACKUP}", 92.0), ("fs:/", 25.5),
                            (f"temp:{SENSOR}", 42.0)]:
        body = history(hub, metric)
        assert body["metric"] == metric, body
        assert [(p["avg"], p["n"]) for p in body["points"]] == [(average, 3)], (metric, body)

    series = hub.get_json("/api/monitoring/history/web-1/series")
    assert series == {"vm_id": "web-1", "series": [
        "net_rx", "net_tx", "disk_read", "disk_write", "disk_util", "swap", "fs:/", f"fs:{BACKUP}",
        f"temp:{SENSOR}"]}, series
    assert hub.get_json("/api/monitoring/history/db-1/series") == {"vm_id": "db-1", "series": []}

    for metric, words in [("bogus", "is not one of cpu"), ("fs:/srv/../etc", ".."), ("fs:/a\nb", "control"),
                          ("temp:\x1b[31m", "control"), ("fs:/" + "a" * 5000, "more than 4096"),
                          ("fs:relative", "must start with /")]:
        body = history(hub, metric, expect=400)
        assert words in body["error"], (metric[:40], body)
        assert "\x1b" not in body["error"] and "\n" not in body["error"], body

    traffic = hub.get_json("/api/monitoring/traffic")
    rows = {row["vm_id"]: row for row in traffic["vms"]}
    assert list(rows) == ["web-1"], traffic  # db-1 sends no network figures and has no allowance
    web = rows["web-1"]
    # Two deltas after the first sample: 2 × 6000 received, 2 × 3000 sent (direction tx).
    assert (web["rx_bytes"], web["tx_bytes"], web["used_bytes"]) == (12000, 6000, 6000), web
    assert web["allowance_bytes"] == 1e9 and web["direction"] == "tx", web
    start = datetime.fromisoformat(web["period_start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(web["period_end"].replace("Z", "+00:00"))
    today = datetime.now(timezone.utc)
    assert start <= today < end and start.hour == 0 and (end - start).days in (28, 29, 30, 31), web
    assert web["projected_bytes"] >= web["used_bytes"], web

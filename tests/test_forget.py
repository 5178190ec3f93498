"""`lookout forget <vm_id>` (issue 10, item 10) against a real `lookout serve`: with the hub
stopped and running, the VM leaves the summary, /metrics and the active alerts; its history
stays unless --purge; a newer document brings it back; a vm_id like `..` is refused.
(`retention.forget_after_days` runs on an injected clock: Tests/LookoutHubTests/ForgetTests.swift.)
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from alert_support import write_doc
from conftest import make_doc, run_lookout


def forget(lookout_bin: Path, data: Path, *args: str, expect: int = 0) -> str:
    result = run_lookout(lookout_bin, "forget", "--data", str(data), *args)
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == expect, f"lookout forget exited {result.returncode}, expected {expect}\n{output}"
    return output


def samples(data: Path, vm: str) -> int:
    connection = sqlite3.connect(str(data / "lookout.sqlite"), timeout=10)
    try:
        return connection.execute("SELECT COUNT(*) FROM samples WHERE vm_id = ?", (vm,)).fetchone()[0]
    finally:
        connection.close()


def summary_vms(hub: Any) -> list[str]:
    return sorted(hub.get_json("/api/monitoring/summary")["vms"])


def test_forget_with_the_hub_stopped(lookout_bin: Path, start_hub: Any) -> None:
    hub = start_hub("--poll-interval", "1")
    t0 = int(time.time()) - 600
    write_doc(hub.data, make_doc("web-1", t0))
    (hub.data / "web-1" / "journal").mkdir()
    (hub.data / "web-1" / "journal" / "1.json").write_text(json.dumps(make_doc("web-1", t0)))
    assert hub.post_doc(make_doc("web-2", t0))[0] == 201
    hub.wait_for(lambda: summary_vms(hub) == ["web-1", "web-2"], "both VMs")
    assert hub.stop() == 0

    output = forget(lookout_bin, hub.data, "web-1")
    assert "forgot web-1" in output and "no hub is running" in output, output
    assert not (hub.data / "web-1").exists()
    assert samples(hub.data, "web-1") == 1  # history stays

    hub.start()
    assert summary_vms(hub) == ["web-2"]
    assert 'vm_id="web-1"' not in hub.request("GET", "/metrics")[2].decode()
    assert hub.get("/api/monitoring/vm/web-1")[0] == 404


def test_forget_with_the_hub_running_and_the_vm_coming_back(lookout_bin: Path, start_hub: Any) -> None:
    hub = start_hub("--poll-interval", "1", "--alert-interval", "1")
    t0 = int(time.time()) - 3600
    for vm in ("web-1", "web-2"):
        assert hub.post_doc(make_doc(vm, t0, interval_seconds=60))[0] == 201
    # web-1 is long silent: the alert pass opens "stopped reporting" for both.
    hub.wait_for(lambda: {a["vm_id"] for a in hub.get_json("/api/monitoring/alerts")["alerts"]} == {"web-1", "web-2"},
                 "the stale alerts")
    metrics = hub.request("GET", "/metrics")[2].decode()
    assert 'vm_id="web-1"' in metrics

    output = forget(lookout_bin, hub.data, "web-1", "--wait", "30")
    assert "the running hub dropped it" in output, output
    assert summary_vms(hub) == ["web-2"]
    assert 'vm_id="web-1"' not in hub.request("GET", "/metrics")[2].decode()
    alerts = hub.get_json("/api/monitoring/alerts")["alerts"]
    assert {a["vm_id"] for a in alerts} == {"web-2"}, alerts
    # Several alert passes later it is still gone (the pass does not reopen it).
    passes = json.loads((hub.data / "alerts.json").read_text())["updated_at"]
    hub.wait_for(lambda: json.loads((hub.data / "alerts.json").read_text())["updated_at"] != passes, "two more passes")
    assert {a["vm_id"] for a in hub.get_json("/api/monitoring/alerts")["alerts"]} == {"web-2"}

    # An old document (a spool replay) does not bring it back; a newer one does.
    status, body = hub.post_doc(make_doc("web-1", t0 + 60))
    assert status == 400 and "forgotten" in json.dumps(body), (status, body)
    assert summary_vms(hub) == ["web-2"]
    status, body = hub.post_doc(make_doc("web-1", int(time.time())))
    assert status == 201, body
    assert summary_vms(hub) == ["web-1", "web-2"]
    assert not (hub.data / ".forget" / "web-1").exists()


def test_forget_purge_deletes_the_history(lookout_bin: Path, start_hub: Any) -> None:
    hub = start_hub()
    t0 = int(time.time()) - 600
    for i in range(5):
        assert hub.post_doc(make_doc("web-1", t0 + i * 60))[0] == 201
    assert hub.post_doc(make_doc("web-2", t0))[0] == 201
    output = forget(lookout_bin, hub.data, "web-1", "--purge")
    assert "history purged: 5 sample(s)" in output, output
    assert samples(hub.data, "web-1") == 0
    assert samples(hub.data, "web-2") == 1
    assert summary_vms(hub) == ["web-2"]
    history = hub.get_json("/api/monitoring/history/web-1?metric=cpu&range=1h")
    assert history["points"] == []


def test_forget_refuses_bad_and_unknown_vm_ids(lookout_bin: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "alerts.json").write_text('{"alerts": []}')
    for bad in ("..", ".", "a/b", "../etc", ""):
        output = forget(lookout_bin, data, bad, expect=64)
        assert "vm_id" in output, output
    assert sorted(p.name for p in data.iterdir()) == ["alerts.json"]
    output = forget(lookout_bin, data, "web-9", expect=1)
    assert "not known" in output, output
    assert not (data / ".forget").exists()

"""Strings a hub must refuse wherever they enter (issue 10, item 4): control characters
in every string field of a document, and vm_ids that collide with the hub's own files
in the data folder. Through both transports, push and file sync, against a real
`lookout serve`; after each refusal the stored data is unchanged."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conftest import make_doc

#: (where in the document, how to put a control character there, the field path named).
CONTROL_CASES = [
    ("container name", lambda d: d["containers"].append(
        {"name": "a\r\nb", "status": "running", "cpu_percent": 0, "memory_mb": 1}), "containers[0].name"),
    ("container status", lambda d: d["containers"].append(
        {"name": "db", "status": "up\x1b[2J", "cpu_percent": 0, "memory_mb": 1}), "containers[0].status"),
    ("service id", lambda d: d["services"].append(
        {"id": "si\x00te", "healthy": True, "response_ms": 1}), "services[0].id"),
    ("service error", lambda d: d["services"].append(
        {"id": "site", "healthy": False, "response_ms": 1, "error": "boom\nX-Forged: 1"}), "services[0].error"),
    ("uptime text", lambda d: d["system"]["uptime"].update(human="5\u0085days"), "system.uptime.human"),
    ("disk path", lambda d: d["system"]["disk"].update(path="/\tsrv"), "system.disk.path"),
    ("agent", lambda d: d.update(agent="lookout-agent\x7f"), "agent"),
    ("vm_id", lambda d: d.update(vm_id="web\n1"), "vm_id"),
]

RESERVED = ["outbox", "history", "alerts.json", "silences.json", "lookout.sqlite", "lookout.sqlite-wal", ".hidden"]


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, path)


@pytest.mark.parametrize("what,spoil,field", CONTROL_CASES, ids=[c[0] for c in CONTROL_CASES])
def test_a_control_character_in_any_string_is_refused_naming_the_field(start_hub, what, spoil, field):
    hub = start_hub(name="ctl")
    now = int(time.time())
    good = make_doc("web-1", now - 60)
    assert hub.post_doc(good)[0] == 201
    doc = make_doc("web-1", now - 5)
    spoil(doc)
    status, body = hub.post_doc(doc)
    assert status == 400, (what, status, body)
    assert body["error"].startswith(field), (what, body)
    status, _, raw = hub.request("GET", "/api/monitoring/vm/web-1")
    assert status == 200 and json.loads(raw)["timestamp"] == good["timestamp"], raw


def test_a_control_character_in_a_synced_file_is_refused_and_logged(start_hub):
    hub = start_hub("--poll-interval", "1", name="ctl-file")
    now = int(time.time())
    doc = make_doc("sync-1", now - 5, containers=[
        {"name": "x\r\ny", "status": "running", "cpu_percent": 0, "memory_mb": 1}])
    write_atomically(hub.data / "sync-1" / "metrics.json", json.dumps(doc).encode())
    hub.wait_for(lambda: "containers[0].name" in hub.log(), "the refusal in the log")
    status, _, _ = hub.request("GET", "/api/monitoring/vm/sync-1")
    assert status == 404


@pytest.mark.parametrize("name", RESERVED)
def test_vm_ids_that_name_the_hubs_own_files_are_refused(start_hub, name):
    hub = start_hub(name="reserved")
    status, body = hub.post_doc(make_doc("web-1", int(time.time()) - 5) | {"vm_id": name})
    assert status == 400, (name, status, body)
    assert body["error"].startswith("vm_id"), body
    assert name in body["error"] and "hub" in body["error"], body
    status, _, raw = hub.request("GET", "/api/monitoring/summary")
    assert status == 200 and json.loads(raw)["vms"] == {}, raw

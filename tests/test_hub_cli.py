"""`lookout serve` as an operator runs it: --check-config, refusing an open listener
without a token, the zero-config start, SIGTERM, file ingest and URL vm_id checks."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from conftest import find_free_port, make_doc, parse_iso, run_lookout

GOOD_MONITORING = {
    "thresholds": {
        "cpu": {"warning": 70, "critical": 90},
        "memory": {"warning": 80, "critical": 95},
        "disk": {"warning": 80, "critical": 90},
        "load": {"warning": 2.0, "critical": 4.0},
    },
    "overrides": {"backup-1": {"disk": {"warning": 85, "critical": 95}}},
    "stale_after_minutes": 15,
    "notifications": {
        "email": {"enabled": True, "smtp_host": "smtp.example.com", "security": "starttls",
                  "from": "lookout@example.com", "recipients": ["ops@example.com"]},
        "cooldown_minutes": 30,
    },
    "retention": {"raw_days": 14, "hourly_days": 365},
}


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value, indent=2))
    return path


def check_config(lookout_bin, tmp_path, config_path):
    return run_lookout(
        lookout_bin, "serve", "--check-config", "--config", str(config_path), "--data", str(tmp_path / "data"),
        "--no-local-agent", cwd=tmp_path,
    )


@pytest.mark.parametrize(
    "form",
    ["wrapper", "bare", "app-config"],
)
def test_check_config_accepts_a_good_config(lookout_bin, tmp_path, form):
    if form == "wrapper":
        content = {"monitoring": GOOD_MONITORING}
    elif form == "bare":
        content = GOOD_MONITORING
    else:  # an existing app config with other top-level keys (cloud_dash.json)
        content = {"app": {"name": "cloud_dash", "debug": False}, "monitoring": GOOD_MONITORING}
    config = write_json(tmp_path / "lookout.json", content)
    result = check_config(lookout_bin, tmp_path, config)
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "is valid" in result.stdout, result.stdout
    # --check-config does not start serving nor create the data folder's database.
    assert not (tmp_path / "data" / "lookout.sqlite").exists()


@pytest.mark.parametrize(
    "name, content, must_mention",
    [
        ("unknown key", {"monitoring": {"tresholds": {"cpu": {"warning": 70, "critical": 90}}}}, ["tresholds"]),
        ("critical below warning", {"thresholds": {"cpu": {"warning": 80, "critical": 70}}},
         ["critical", "70", "80"]),
        ("security ssl", {"monitoring": {"notifications": {"email": {"security": "ssl"}}}}, ["security", "ssl"]),
        ("override vm_id", {"overrides": {"../x": {"disk": {"warning": 85, "critical": 95}}}}, ["overrides", "../x"]),
    ],
)
def test_check_config_rejects_a_bad_config_naming_key_and_value(lookout_bin, tmp_path, name, content, must_mention):
    config = write_json(tmp_path / "bad.json", content)
    result = check_config(lookout_bin, tmp_path, config)
    assert result.returncode == 78, f"{name}: exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    stderr = result.stderr.replace(str(config), "<config>")
    for word in must_mention:
        # As a whole word: "70" must not match inside "1700" or "0.70".
        before = (r"(?<![\w.])" if word[0].isdigit() else r"(?<!\w)") if word[0].isalnum() else ""
        after = r"(?!\w)" if word[-1].isalnum() else ""
        assert re.search(before + re.escape(word) + after, stderr), f"{name}: {word!r} not in stderr: {stderr!r}"
    assert "is valid" not in result.stdout


def test_serve_with_a_bad_config_exits_78(lookout_bin, tmp_path):
    config = write_json(tmp_path / "bad.json", {"tresholds": {}})
    result = run_lookout(
        lookout_bin, "serve", "--config", str(config), "--data", str(tmp_path / "data"), "--no-local-agent",
        "--listen", f"127.0.0.1:{find_free_port()}", cwd=tmp_path,
    )
    assert result.returncode == 78, result.stderr
    assert "tresholds" in result.stderr


def test_non_loopback_listen_without_token_is_refused(lookout_bin, tmp_path):
    port = find_free_port()
    result = run_lookout(
        lookout_bin, "serve", "--data", str(tmp_path / "data"), "--no-local-agent", "--listen", f"0.0.0.0:{port}",
        cwd=tmp_path,
    )
    assert result.returncode == 78, f"exit {result.returncode}\nstderr: {result.stderr}"
    assert "LOOKOUT_TOKEN" in result.stderr, result.stderr
    # Nothing listens.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_non_loopback_listen_with_insecure_listen_starts(start_hub, tmp_path):
    port = find_free_port()
    data = tmp_path / "open-data"
    hub = start_hub(
        "--data", str(data), "--no-local-agent", "--listen", f"0.0.0.0:{port}", "--insecure-listen",
        raw=True, port=port, name="open",
    )
    assert hub.get_json("/healthz")["status"] == "ok"
    assert hub.stop(signal.SIGTERM) == 0


def test_non_loopback_listen_with_token_starts_and_needs_it(start_hub, tmp_path):
    port = find_free_port()
    token = "cli-test-token-0123456789abcdef"
    hub = start_hub(
        "--data", str(tmp_path / "tok-data"), "--no-local-agent", "--listen", f"0.0.0.0:{port}",
        raw=True, port=port, token=token, name="token",
    )
    status, _ = hub.get("/api/monitoring/summary", token="")
    assert status == 401
    assert hub.get_json("/api/monitoring/summary")["vms"] == {}
    assert hub.stop(signal.SIGTERM) == 0


def test_serve_with_no_arguments_monitors_this_machine(start_hub, tmp_path):
    """`lookout serve` with defaults (only --listen moved to a free port): ./lookout-data,
    the local agent on, this machine in the summary; SIGTERM exits 0."""
    work = tmp_path / "zero-config"
    work.mkdir()
    port = find_free_port()
    hub = start_hub("--listen", f"127.0.0.1:{port}", raw=True, port=port, cwd=work, folder=work,
                    data=work / "lookout-data", name="zero")
    database = work / "lookout-data" / "lookout.sqlite"
    hub.wait_for(database.is_file, f"{database} to exist")

    def one_vm():
        vms = hub.get_json("/api/monitoring/summary")["vms"]
        return vms if len(vms) == 1 else None

    vms = hub.wait_for(one_vm, "the local agent's document in the summary")
    (vm_id, doc), = vms.items()
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", vm_id) and vm_id not in (".", "..")
    assert doc["vm_id"] == vm_id
    hostname = socket.gethostname().split(".")[0]
    if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", hostname):
        assert vm_id == hostname
    assert abs(parse_iso(doc["timestamp"]) - time.time()) < 600
    assert doc["system"]["cpu"]["cores"] >= 1
    assert doc["system"]["memory"]["total_mb"] > 0
    assert hub.get_json(f"/api/monitoring/vm/{vm_id}")["vm_id"] == vm_id
    assert hub.get_json("/healthz")["vms"] == 1
    assert hub.stop(signal.SIGTERM) == 0


def write_atomically(path: Path, doc: dict) -> None:
    """As the agent and sync tools do: a dot-temp file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    with open(temp, "w") as handle:
        json.dump(doc, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def test_file_ingest_picks_up_a_document_written_into_the_data_folder(start_hub):
    hub = start_hub("--poll-interval", "1", name="files")
    status, body = hub.get("/api/monitoring/vm/web-1")
    assert status == 404 and body == {"error": "Not found"}, (status, body)

    now = int(time.time())
    first = make_doc("web-1", now - 120, cpu=33.5, interval_seconds=60)
    write_atomically(hub.data / "web-1" / "metrics.json", first)

    def served(ts):
        def check():
            status, body = hub.get("/api/monitoring/vm/web-1")
            return body if status == 200 and body.get("timestamp") == ts else None
        return check

    doc = hub.wait_for(served(first["timestamp"]), "web-1 from DATA/web-1/metrics.json")
    assert doc["system"]["cpu"]["percent"] == 33.5
    assert "web-1" in hub.get_json("/api/monitoring/summary")["vms"]

    # A newer document replaces it.
    second = make_doc("web-1", now - 60, cpu=44.25, interval_seconds=60)
    write_atomically(hub.data / "web-1" / "metrics.json", second)
    doc = hub.wait_for(served(second["timestamp"]), "the newer web-1 document")
    assert doc["system"]["cpu"]["percent"] == 44.25
    assert hub.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize("path", ["/api/monitoring/vm/%2e%2e", "/api/monitoring/vm/a%2Fb",
                                  "/api/monitoring/history/%2e%2e?metric=cpu&range=1h"])
def test_bad_vm_id_in_the_url_is_400_json(start_hub, path):
    hub = start_hub(name="badid")
    status, body = hub.get(path)
    assert status == 400, (status, body)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body


def test_ingest_answers(start_hub):
    """The ingest statuses the agent's push relies on."""
    hub = start_hub(name="ingest")
    now = int(time.time())
    doc = make_doc("push-1", now - 60)
    assert hub.post_doc(doc) == (201, {"status": "stored"})
    assert hub.post_doc(doc) == (200, {"status": "duplicate"})
    assert hub.post_doc(make_doc("push-1", now - 120)) == (201, {"status": "stored_older"})
    status, body = hub.post_doc(make_doc("push-1", now + 3600))
    assert status == 400 and body["error"].startswith("timestamp"), body
    bad = make_doc("push-1", now - 30)
    del bad["system"]["memory"]["total_mb"]
    status, body = hub.post_doc(bad)
    assert status == 400 and body["error"].startswith("system.memory.total_mb:"), body
    status, body = hub.post_doc(make_doc("../x", now - 30))
    assert status == 400 and body["error"].startswith("vm_id"), body
    status, body = hub.post_doc(b"{" + b" " * ((1 << 20) + 1024) + b"}")  # 1 MiB is the limit
    assert status == 413, (status, body)
    assert hub.get_json("/api/monitoring/vm/push-1")["timestamp"] == doc["timestamp"]

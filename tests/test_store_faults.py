"""A broken store is not a silent hub (issue 10, item 6), against a real `lookout serve`:

- a database with damaged pages, and a 0-byte one: `serve`, `check` and `aggregate` exit 78
  with a message that names the file, the cause and the restore command, and the file is
  byte-for-byte what it was (no -wal or -shm appears beside it);
- a data folder on a 2 MB tmpfs filled to ENOSPC while agents push: 503 to the pusher (it
  spools), /healthz degraded with the cause, the failure logged once rather than per request,
  the alert pass still judging the newest document (a webhook hears about the full disk), and
  after space is freed: 201 again, healthz ok, `PRAGMA integrity_check` ok, without a restart.

Every wait is bounded polling of a condition.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from alert_support import WebhookReceiver, wait_until, webhook, write_config  # noqa: F401 (webhook is a fixture)
from conftest import COMMAND_TIMEOUT, Hub, clean_env, make_doc, run_lookout

PAGE = 4096


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_files(db: Path) -> list[str]:
    return [suffix for suffix in ("-wal", "-shm", "-journal") if Path(str(db) + suffix).exists()]


def make_database(start_hub: Any, folder: Path, docs: int = 300) -> Path:
    """A real lookout.sqlite with `docs` samples of 3 VMs, left by a cleanly stopped hub."""
    hub = start_hub(folder=folder, name="maker")
    t0 = int(time.time()) - docs - 60
    for i in range(docs):
        status, body = hub.post_doc(make_doc(f"web-{i % 3}", t0 + i, services=[{"id": "api", "healthy": True,
                                                                                 "response_ms": 12.5}]))
        assert status == 201, body
    assert hub.stop() == 0
    db = hub.data / "lookout.sqlite"
    # Everything into the main file, no WAL left: the damage below is then all there is.
    connection = sqlite3.connect(str(db))
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    assert side_files(db) == [], side_files(db)
    return db


def run_serve(lookout_bin: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(lookout_bin), "serve", "--data", str(data), "--no-local-agent", "--listen", "127.0.0.1:1", *args],
        env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
    )


def assert_refused(result: subprocess.CompletedProcess[str], db: Path, *words: str) -> None:
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 78, f"exit {result.returncode}, expected 78\n{output}"
    assert str(db) in result.stderr, output
    for word in words:
        assert word in result.stderr, f"{word!r} missing\n{output}"


def test_damaged_database_is_refused_with_exit_78_and_left_untouched(lookout_bin: Path, start_hub: Any,
                                                                      tmp_path: Path) -> None:
    db = make_database(start_hub, tmp_path / "maker")
    data = db.parent
    pages = db.stat().st_size // PAGE
    assert pages >= 6, f"only {pages} pages"
    # Garbage over two b-tree pages in the middle; the header (page 1) stays a SQLite header.
    with open(db, "r+b") as f:
        f.seek(3 * PAGE)
        f.write(bytes((i * 131 + 17) % 256 for i in range(2 * PAGE)))
    before = digest(db)
    mtime = db.stat().st_mtime_ns

    for result in (
        run_serve(lookout_bin, data),
        run_lookout(lookout_bin, "check", "--data", str(data)),
        run_lookout(lookout_bin, "aggregate", "--data", str(data)),
    ):
        assert_refused(result, db, "damaged", "has not changed it", "docs/install.md", "systemctl stop lookout")
        assert digest(db) == before
        assert db.stat().st_mtime_ns == mtime
        assert side_files(db) == [], f"created {side_files(db)}"


def test_damage_found_while_running_stops_every_write(start_hub: Any, tmp_path: Path) -> None:
    db = make_database(start_hub, tmp_path / "maker")
    hub = start_hub(data=db.parent, name="damaged")
    assert hub.get_json("/healthz")["status"] == "ok"
    # The pages of the tables go bad under the running hub (its writer has not read them yet).
    pages = db.stat().st_size // PAGE
    with open(db, "r+b") as f:
        f.seek(PAGE)
        f.write(bytes((i * 131 + 17) % 256 for i in range((pages - 1) * PAGE)))
        f.flush()
        os.fsync(f.fileno())
    answers = []
    ts = int(time.time()) - 30
    for i in range(10):
        status, _ = hub.post_doc(make_doc("web-1", ts + i))
        answers.append(status)
    assert 503 in answers, answers
    assert 201 not in answers[answers.index(503):], answers
    state = hub.get_json("/healthz")
    assert state["status"] == "degraded" and "damaged" in state["reason"], state
    assert "systemctl stop lookout" in state["reason"], state
    # From now on nothing is written into the file (nor its WAL).
    files = [db] + [Path(str(db) + s) for s in ("-wal",) if Path(str(db) + s).exists()]
    before = [digest(f) for f in files]
    for i in range(10, 20):
        assert hub.post_doc(make_doc("web-1", ts + i))[0] == 503
    assert [digest(f) for f in files] == before
    damaged_lines = [line for line in hub.log().splitlines() if "is damaged" in line]
    assert len(damaged_lines) == 1, "\n".join(damaged_lines)
    assert hub.poll() is None
    assert hub.stop() == 0


def test_a_hot_rollback_journal_is_rolled_back_not_refused(lookout_bin: Path, start_hub: Any, tmp_path: Path) -> None:
    """A `sqlite3` session in rollback mode that crashed mid-transaction leaves a hot
    `-journal`: not damage. Only a writer may roll it back, so the check runs after that."""
    db = make_database(start_hub, tmp_path / "maker")
    crash = (
        "import os, sqlite3\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "c.execute('PRAGMA cache_size = 2')\n"
        "c.execute('BEGIN')\n"
        "c.execute('UPDATE samples SET cpu = cpu + 1')\n"
        "os._exit(0)\n"
    )
    subprocess.run(["python3", "-c", crash], check=True, timeout=COMMAND_TIMEOUT)
    assert Path(str(db) + "-journal").exists(), "no hot journal left"
    result = run_lookout(lookout_bin, "aggregate", "--data", str(db.parent))
    assert result.returncode == 0, result.stderr
    connection = sqlite3.connect(str(db))
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("SELECT MAX(cpu) FROM samples").fetchone()[0] == 12.5  # rolled back
    finally:
        connection.close()


def test_zero_byte_database_is_refused_naming_the_cause(lookout_bin: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "lookout.sqlite"
    db.touch()
    result = run_serve(lookout_bin, data)
    assert_refused(result, db, "is 0 bytes", "failed copy", "Restore it from a backup", "delete it")
    assert db.stat().st_size == 0
    assert side_files(db) == []


def test_systemd_unit_does_not_restart_on_78() -> None:
    unit = (Path(__file__).resolve().parent.parent / "deploy/systemd/lookout.service").read_text()
    lines = [line.split("=", 1)[1].split() for line in unit.splitlines() if line.startswith("RestartPreventExitStatus=")]
    assert lines and "78" in lines[0], lines


# MARK: - a full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (the tests run as root); unmounted at the end, whatever happened."""
    if os.geteuid() != 0:
        pytest.fail("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def fill(folder: Path, name: str = "filler") -> Path:
    """Writes `folder/<name>` until the file system has no byte left."""
    filler = folder / name
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            chunk = b"\0" * size
            while True:
                try:
                    f.write(chunk)
                except OSError as error:
                    assert error.errno == errno.ENOSPC, error
                    break
    return filler


def test_a_hub_started_on_a_full_disk_names_the_cause(lookout_bin: Path, small_disk: Path) -> None:
    data = small_disk / "data"
    data.mkdir()
    filler = fill(small_disk)
    result = run_serve(lookout_bin, data)
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    # 1, not 78: systemd tries again, and the hub starts once there is room.
    assert result.returncode == 1, output
    assert "is full (ENOSPC" in result.stderr and "bytes free" in result.stderr, output
    # No 0-byte database left behind, which the next start would refuse as damaged.
    assert not list(data.glob("lookout.sqlite*")), list(data.glob("lookout.sqlite*"))
    filler.unlink()
    result = run_lookout(lookout_bin, "aggregate", "--data", str(data))
    assert result.returncode == 0, result.stderr
    db = data / "lookout.sqlite"
    assert db.stat().st_size > 0
    # An existing database on a full disk: the same message, and the file is left alone.
    filler = fill(small_disk)
    before = digest(db)
    result = run_serve(lookout_bin, data)
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 1, output
    assert "is full (ENOSPC" in result.stderr and "start again" in result.stderr, output
    assert digest(db) == before
    filler.unlink()


def health(hub: Hub) -> dict[str, Any]:
    return hub.get_json("/healthz")


def store_lines(hub: Hub) -> list[str]:
    """The store's own log lines about failing and working again."""
    return [line for line in hub.log().splitlines() if "writing to the history database" in line]


def test_full_disk_keeps_the_hub_up_and_it_recovers_without_a_restart(
    start_hub: Any, tmp_path: Path, small_disk: Path, webhook: WebhookReceiver  # noqa: F811
) -> None:
    data = small_disk / "data"
    config = write_config(tmp_path / "hub.json", {"monitoring": {
        "thresholds": {"disk": {"warning": 80, "critical": 90}},
        "notifications": {"webhooks": [{"kind": "generic", "url": webhook.url}], "cooldown_minutes": 30},
    }})
    hub = start_hub("--config", str(config), "--alert-interval", "1", "--poll-interval", "1", data=data)
    t0 = int(time.time()) - 1000
    assert hub.post_doc(make_doc("web-1", t0, disk=25))[0] == 201
    assert health(hub)["status"] == "ok"

    filler = fill(small_disk)
    # SQLite finds room for a while (free pages; a checkpoint after a failure gives back the
    # WAL's space), then every push is a 503.
    answers: list[int] = []
    ts = t0
    while answers[-20:] != [503] * 20:
        assert len(answers) < 3000, f"no steady 503 on a full disk: {answers[-40:]}\n{hub.log()}"
        ts += 1
        status, body = hub.post_doc(make_doc("web-1", ts, disk=25))
        assert status in (201, 503), (status, body)
        answers.append(status)
    # What the store's checkpoints gave back is taken too: not a byte for alerts.json either.
    topup = fill(small_disk, "filler-2")
    lines_before = store_lines(hub)
    # More failures, now with the disk of web-1 at 97 %: each is a 503, none is a new log line.
    for _ in range(30):
        ts += 1
        assert hub.post_doc(make_doc("web-1", ts, disk=97))[0] == 503
    assert store_lines(hub) == lines_before, "\n".join(store_lines(hub))
    assert any("ENOSPC" in line for line in lines_before), "\n".join(lines_before)

    state = health(hub)
    assert state["status"] == "degraded", state
    assert "full" in state["reason"] and "ENOSPC" in state["reason"], state
    assert hub.poll() is None
    # The newest document is in memory, so the API and the alert pass see the full disk.
    assert hub.get_json("/api/monitoring/vm/web-1")["system"]["disk"]["percent"] == 97

    # The alert still goes out while the disk is full: the alert pass survives a store and an
    # alerts.json it cannot write, and keeps the notice in memory until the outbox has room.
    wait_until(lambda: any(p.json().get("event") == "opened" and "disk" in json.dumps(p.json())
                           for p in webhook.received()), "the disk alert on the webhook", timeout=15)

    # Space again: the next push is stored, health is ok again, no restart.
    filler.unlink()
    topup.unlink()
    ts += 1
    status, body = hub.post_doc(make_doc("web-1", ts, disk=97))
    assert (status, body) == (201, {"status": "stored"}), (status, body)
    answers.append(status)
    assert health(hub)["status"] == "ok"
    assert hub.starts == 1 and hub.poll() is None
    assert "works again" in store_lines(hub)[-1], "\n".join(store_lines(hub))

    assert hub.stop() == 0
    connection = sqlite3.connect(str(data / "lookout.sqlite"), timeout=10)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = connection.execute("SELECT COUNT(*) FROM samples WHERE vm_id = 'web-1'").fetchone()[0]
    finally:
        connection.close()
    assert stored == 1 + answers.count(201)
    opened = [p for p in webhook.received() if p.json().get("event") == "opened" and "disk" in json.dumps(p.json())]
    assert len(opened) == 1, [p.json() for p in webhook.received()]

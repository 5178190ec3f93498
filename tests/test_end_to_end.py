"""Five VMs, end to end, on real processes (issue 6's "done when"):

- four `lookout-agent collect` runs, each on its own copy of a fixture procfs tree, write
  into their own "VM" folder; a copy step behaving like Syncthing carries each document to
  the hub's DATA/<vm_id>/ (temp file `.syncthing.metrics.json.tmp`, then a rename) and
  leaves beside it a conflict copy and an unfinished temp file the hub must ignore;
- a fifth `lookout-agent collect --push` posts to the hub's ingest route with a token;
- `lookout serve` (token set, --no-local-agent) ingests all five, two rounds each;
- `lookout check` sends exactly one email to a real SMTP server (STARTTLS + AUTH): db-1's
  disk is critical through its per-VM override (thresholds below the real usage of the
  test machine's disk), everything else stays below warning; more `check` runs send nothing;
- the dashboard in Chromium shows five cards, db-1 critical and the alert;
- `lookout aggregate` writes DATA/history/<day>.json with two samples per VM.

Disk figures come from statvfs of --disk-path (the test's tmp folder), so the thresholds
are derived from os.statvfs here instead of faking a file system. CPU, memory and load come
from the fixture trees. Every wait is a bounded poll of a condition."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from alert_support import (  # noqa: F401 (smtp_cert and smtp_server are fixtures)
    FROM,
    RECIPIENT,
    SMTPServer,
    alert_config,
    alerts_state,
    smtp_cert,
    smtp_server,
    wait_until,
    write_config,
)
from conftest import COMMAND_TIMEOUT, REPO, Hub, clean_env, make_doc, parse_iso, run_lookout
from dashboard_support import PUBLIC, UI_TIMEOUT, chromium, shot

PROC_FIXTURES = REPO / "Tests" / "LookoutCollectorTests" / "Fixtures" / "proc"
TOKEN = "e2e-hub-token-0123456789abcdef"
CONFLICT = "metrics.sync-conflict-20261125-101010-ABCDEFG.json"
ROUNDS = 2

#: vm_id → (fixture tree of round 1, of round 2, transport). mail-1's counters go
#: backwards between its rounds (a reboot); the others read the same tree twice.
VMS: dict[str, tuple[str, str, str]] = {
    "web-1": ("x86_64-1cpu", "x86_64-1cpu", "file"),
    "web-2": ("aarch64-4cpu", "aarch64-4cpu", "file"),
    "db-1": ("no-memavailable", "no-memavailable", "file"),
    "mail-1": ("counters-backwards/before", "counters-backwards/after", "file"),
    "push-1": ("x86_64-1cpu", "x86_64-1cpu", "push"),
}
CRITICAL_VM = "db-1"


def disk_thresholds(path: Path) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """The disk use of `path` as the agent computes it (used / (used + avail), like df), the
    global disk thresholds well above it and db-1's override well below it."""
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    percent = 100.0 * used / (used + st.f_bavail * st.f_frsize)
    if not 4.0 <= percent <= 96.0:
        pytest.fail(f"the test needs a tmp file system between 4 % and 96 % full, {path} is {percent:.1f} %",
                    pytrace=False)
    warning = round(percent + (100 - percent) / 2, 1)
    above = {"warning": warning, "critical": round(warning + (100 - warning) / 2, 1)}
    below = {"warning": round(percent / 4, 1), "critical": round(percent / 2, 1)}
    return percent, above, below


class Fleet:
    """The five simulated VMs: their own procfs copies, state files and synced folders."""

    def __init__(self, root: Path, agent: Path, hub: Hub) -> None:
        self.root = root
        self.agent = agent
        self.hub = hub
        self.sent: dict[str, list[dict[str, Any]]] = {vm: [] for vm in VMS}

    def vm_folder(self, vm: str) -> Path:
        return self.root / "vms" / vm

    def collect(self, vm: str, round_: int) -> dict[str, Any]:
        """Runs `lookout-agent collect` for `vm` on its tree of `round_` and returns the document."""
        tree_name = VMS[vm][round_]
        folder = self.vm_folder(vm)
        proc = folder / f"proc-{round_}"
        if not proc.exists():
            shutil.copytree(PROC_FIXTURES / tree_name, proc)
        args = [
            str(self.agent), "collect", "--vm-id", vm, "--procfs", str(proc), "--disk-path", str(self.root),
            "--state", str(folder / "state" / "state.json"), "--docker-socket", str(folder / "no-docker.sock"),
            "--interval", "300", "--log-level", "warning",
        ]
        if VMS[vm][2] == "push":
            args += ["--push", self.hub.url("/api/monitoring/ingest"), "--token", TOKEN, "--stdout"]
        else:
            args += ["--data", str(folder / "synced")]
        result = subprocess.run(args, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=COMMAND_TIMEOUT)
        assert result.returncode == 0, f"{vm}: lookout-agent exited {result.returncode}\n{result.stderr}"
        if VMS[vm][2] == "push":
            doc = json.loads(result.stdout)
        else:
            doc = json.loads((folder / "synced" / vm / "metrics.json").read_text())
        assert doc["vm_id"] == vm
        self.sent[vm].append(doc)
        return doc

    def sync(self, vm: str) -> None:
        """What Syncthing does on the hub for a changed file: a temp file in the target
        folder carrying the source's mtime, fsync, rename over metrics.json."""
        source = self.vm_folder(vm) / "synced" / vm / "metrics.json"
        target = self.hub.data / vm
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / ".syncthing.metrics.json.tmp"
        with open(tmp, "wb") as out:
            out.write(source.read_bytes())
            out.flush()
            os.fsync(out.fileno())
        stat = source.stat()
        os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(tmp, target / "metrics.json")

    def litter(self, vm: str, doc: dict[str, Any]) -> None:
        """A conflict copy holding another document (a later one with other figures) and a
        transfer Syncthing has not finished: neither may reach the hub."""
        folder = self.hub.data / vm
        bogus = make_doc(vm, parse_iso(doc["timestamp"]) + 120, disk=99.9, memory=99.9, cpu=99.9,
                         interval_seconds=300)
        (folder / CONFLICT).write_text(json.dumps(bogus))
        (folder / "~syncthing~metrics.json.tmp").write_text(json.dumps(bogus)[:57])

    def run_round(self, round_: int) -> None:
        for vm, (_, _, transport) in VMS.items():
            doc = self.collect(vm, round_)
            if transport == "file":
                self.sync(vm)
                if round_ == 0:
                    self.litter(vm, doc)

    def latest_timestamps(self) -> dict[str, str]:
        return {vm: docs[-1]["timestamp"] for vm, docs in self.sent.items()}


def wait_for_the_next_second(after: list[str]) -> None:
    """The agents stamp documents to the second: wait (bounded) until the clock is past them."""
    newest = max(parse_iso(ts) for ts in after)
    wait_until(lambda: time.time() >= newest + 1, f"the clock to pass {newest}", timeout=5, interval=0.02)


def summary_matches(hub: Hub, expected: dict[str, str]) -> dict[str, Any] | None:
    vms = hub.get_json("/api/monitoring/summary")["vms"]
    seen = {vm: doc["timestamp"] for vm, doc in vms.items()}
    return vms if seen == expected else None


def check(lookout: Path, hub: Hub, config: Path, smtp: SMTPServer) -> str:
    result = run_lookout(lookout, "check", "--data", str(hub.data), "--config", str(config), env=smtp.env())
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, f"lookout check exited {result.returncode}\n{output}"
    return result.stdout


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_five_vms_end_to_end(
    lookout_bin: Path, bin_dir: Path, tmp_path: Path, start_hub: Any, smtp_server: SMTPServer, browser: Any
) -> None:
    agent = bin_dir / "lookout-agent"
    assert agent.is_file(), f"{agent} is missing: swift build --build-tests"
    percent, above, below = disk_thresholds(tmp_path)
    config = write_config(tmp_path / "hub.json", alert_config(
        smtp_server,
        thresholds={"cpu": {"warning": 90, "critical": 95}, "memory": {"warning": 90, "critical": 97},
                    "disk": above, "load": {"warning": 8, "critical": 16}},
        overrides={CRITICAL_VM: {"disk": below}},
    ))
    hub = start_hub("--config", str(config), "--poll-interval", "1", "--alert-interval", "3600",
                    "--dashboard", str(PUBLIC), token=TOKEN, env=smtp_server.env())
    fleet = Fleet(tmp_path, agent, hub)
    # serve runs its own alert pass at start, then hourly: wait for that first (empty) pass,
    # so that `lookout check` below is the only pass that sees the fleet.
    hub.wait_for(lambda: alerts_state(hub.data).get("updated_at"), "the alert pass serve runs at start")

    # Round 1: four documents by "Syncthing", one by push; the hub shows exactly those.
    fleet.run_round(0)
    expected = fleet.latest_timestamps()
    vms = hub.wait_for(lambda: summary_matches(hub, expected), "round 1 of the five VMs in the summary")
    for vm, docs in fleet.sent.items():
        assert vms[vm] == docs[-1], f"{vm}: the hub serves another document than the agent wrote"
    assert all(vms[vm]["system"]["disk"]["percent"] < 99 for vm in VMS), "a conflict copy was ingested"

    # The alert pass: one email, for db-1's disk.
    first = check(lookout_bin, hub, config, smtp_server)
    assert "5 VM(s), 1 active alert(s), 1 new notice(s); sent 1, failed 0" in first, first
    mails = smtp_server.wait_for_messages(1)
    subject = mails[0].subject
    assert subject.startswith(f"[Lookout] CRITICAL {CRITICAL_VM}: disk "), subject
    assert f"critical at {below['critical']:g}%" in subject, subject
    assert mails[0].sidecar["mail_from"] == FROM and mails[0].sidecar["rcpt_tos"] == [RECIPIENT]
    assert mails[0].sidecar["tls"] is True
    alerts = alerts_state(hub.data)["alerts"]
    assert [(a["vm_id"], a["metric"], a["severity"]) for a in alerts] == [(CRITICAL_VM, "disk", "critical")], alerts

    # Round 2 in the next second (the agents stamp to the second), then two more checks:
    # db-1 is still critical, and nothing more is sent.
    wait_for_the_next_second(list(expected.values()))
    fleet.run_round(1)
    expected = fleet.latest_timestamps()
    vms = hub.wait_for(lambda: summary_matches(hub, expected), "round 2 of the five VMs in the summary")
    for vm, docs in fleet.sent.items():
        assert vms[vm] == docs[-1], f"{vm}: the hub serves another document than the agent wrote"
    for _ in range(2):
        again = check(lookout_bin, hub, config, smtp_server)
        assert "5 VM(s), 1 active alert(s), 0 new notice(s); sent 0, failed 0" in again, again
    assert len(smtp_server.messages()) == 1, [m.subject for m in smtp_server.messages()]

    # The API as the dashboard reads it: five VMs, db-1 critical, the others ok.
    status = hub.get_json("/api/monitoring/status")
    by_vm = {entry["vm_id"]: entry["status"] for entry in status["vms"]}
    assert by_vm == {vm: "critical" if vm == CRITICAL_VM else "ok" for vm in VMS}, status
    assert len(hub.get_json("/api/monitoring/alerts")["alerts"]) == 1

    # The dashboard: the page asks for the token once; a user who gave it has it in localStorage.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.add_init_script(f"localStorage.setItem('lookout.token', {json.dumps(TOKEN)})")
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(hub.url("/"))
        page.wait_for_function("window.__lookoutReady === true")
        assert page.locator(".card").count() == len(VMS)
        statuses = {vm: page.locator(f'.card[data-vm="{vm}"]').get_attribute("data-status") for vm in VMS}
        assert statuses == by_vm
        assert page.locator("#alert-count").inner_text() == "1"
        assert page.locator("#fleet-dot").get_attribute("data-status") == "critical"
        assert "disk" in page.locator(f'.card[data-vm="{CRITICAL_VM}"] .problems').inner_text()
        shot(page, "e2e-overview")
        page.click('.tabs a[data-view="alerts"]')
        rows = page.locator("#alerts-body table.alerts tbody tr")
        rows.first.wait_for()
        assert rows.count() == 1
        cells = [c.strip() for c in rows.nth(0).locator("td").all_inner_texts()]
        assert cells[:2] == [CRITICAL_VM, "disk"], cells
        assert rows.nth(0).get_attribute("data-level") == "critical"
        shot(page, "e2e-alerts")
        assert not errors, f"script errors in the page: {errors}"
    finally:
        context.close()

    # The daily file: every sample of every VM, counted per UTC day (a run across midnight
    # spreads them over two files).
    per_day: dict[str, Counter[str]] = {}
    for vm, docs in fleet.sent.items():
        for doc in docs:
            per_day.setdefault(doc["timestamp"][:10], Counter())[vm] += 1
    alert_day = datetime.fromtimestamp(parse_iso(alerts[0]["since"]), tz=timezone.utc).strftime("%Y-%m-%d")
    for day, counts in sorted(per_day.items()):
        result = run_lookout(lookout_bin, "aggregate", "--data", str(hub.data), "--config", str(config),
                             "--date", day)
        assert result.returncode == 0, f"lookout aggregate exited {result.returncode}\n{result.stderr}"
        report = json.loads((hub.data / "history" / f"{day}.json").read_text())
        assert report["date"] == day
        assert {vm: entry["samples"] for vm, entry in report["vms"].items()} == dict(counts), report
        for vm, entry in report["vms"].items():
            disks = [doc["system"]["disk"]["percent"] for doc in fleet.sent[vm] if doc["timestamp"][:10] == day]
            assert entry["metrics"]["disk"]["max"] == max(disks), (vm, entry)
        if day == alert_day:
            assert report["vms"][CRITICAL_VM]["alerts_opened"].get("critical") == 1, report
            assert report["alerts_opened"].get("critical") == 1, report
    assert sum(sum(c.values()) for c in per_day.values()) == ROUNDS * len(VMS)
    assert abs(percent - fleet.sent[CRITICAL_VM][-1]["system"]["disk"]["percent"]) < 2

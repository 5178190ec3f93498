"""The file transport with the real Syncthing (Debian's package), set up as docs/syncthing.md
tells an operator: a "VM" Syncthing sends the agents' data folder (Send Only), the "hub"
Syncthing receives it (Receive Only) into the DATA of a real `lookout serve`.

- Both layouts of the guide: one folder per VM, and one shared fleet folder (with the guide's
  `.stignore` files). Three rounds of `lookout-agent collect --data` on two VMs (web-1, web-2,
  each with its own state file): the hub's history has every sample.
- Syncthing's real temp files: a large file makes Syncthing hold `.syncthing.*.tmp` in the hub's
  folder for a while; the test sees one, and the hub never logged a word about it.
- The hub's own files in DATA (`lookout.sqlite*`, `alerts.json`, `history/`, locks) make the
  shared Receive Only folder report no locally changed item and nothing needed.
- The outage, in both layouts: the hub's Syncthing stopped for five collects, then started.
  web-1 (the journal on, by default) arrives whole; web-2 (`"journal_samples": 0`) arrives as its last sample only,
  the loss issue 13 describes.

How long Syncthing took to carry a document (collect done → the same bytes on the hub's disk) is
printed as a median over the rounds; `scripts/bench-syncthing` runs this file for that figure.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import COMMAND_TIMEOUT, REPO, Hub, clean_env, parse_iso, run_lookout
from syncthing_support import SYNC_TIMEOUT, Syncthing, wait_until

VMS = ("web-1", "web-2")
PROC = REPO / "Tests" / "LookoutCollectorTests" / "Fixtures" / "proc" / "x86_64-1cpu"

#: docs/syncthing.md's ignore patterns: the agent side, and the hub side of a shared folder.
AGENT_STIGNORE = "// the agent's atomic-write temp files: never send a half-written document\n(?d).*.tmp\n"


def guide_block(after: str) -> str:
    """The first ``` block after the line containing `after` in docs/syncthing.md, so the test
    uses exactly what the guide tells an operator to write."""
    text = (REPO / "docs" / "syncthing.md").read_text()
    start = text.index(after)
    start = text.index("```\n", start) + 4
    return text[start:text.index("```", start)]


class Site:
    """The agents' side: the data folder Syncthing sends, and two VMs' agents writing into it."""

    def __init__(self, root: Path, agent: Path) -> None:
        self.root = root
        self.agent = agent
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.last: dict[str, int] = {}

    def configure(self, vm: str, config: dict[str, Any]) -> None:
        (self.root / f"{vm}.json").write_text(json.dumps(config))

    def collect(self, vm: str) -> tuple[bytes, float]:
        """One `lookout-agent collect --data` for `vm`; its metrics.json and when it was written.
        Waits (polling the clock) until a new second has begun, so every sample is its own."""
        if vm in self.last:
            wait_until(lambda: int(time.time()) > self.last[vm], "the next second", timeout=10)
        args = [
            str(self.agent), "collect", "--vm-id", vm, "--data", str(self.data), "--procfs", str(PROC),
            "--state", str(self.root / "state" / vm / "state.json"),
            "--docker-socket", str(self.root / "no-docker.sock"), "--log-level", "warning",
        ]
        config = self.root / f"{vm}.json"
        if config.exists():
            args += ["--config", str(config)]
        result = subprocess.run(args, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=COMMAND_TIMEOUT)
        assert result.returncode == 0, f"{vm}: lookout-agent exited {result.returncode}\n{result.stderr}"
        written = time.monotonic()
        raw = (self.data / vm / "metrics.json").read_bytes()
        doc = json.loads(raw)
        assert doc["vm_id"] == vm
        self.last[vm] = parse_iso(doc["timestamp"])
        return raw, written


def history_count(hub: Hub, vm: str) -> int:
    """Samples of `vm` in the hub's history, from the API (every bucket's count)."""
    status, body = hub.get(f"/api/monitoring/history/{vm}?metric=cpu&range=24h&points=300")
    if status == 404:
        return 0
    assert status == 200, body
    return sum(point["n"] for point in body["points"])


def latest(hub: Hub, vm: str) -> str | None:
    status, body = hub.get(f"/api/monitoring/vm/{vm}")
    return body.get("timestamp") if status == 200 and isinstance(body, dict) else None


class Pair:
    """The VM's Syncthing and the hub's, connected, plus the hub's `lookout serve`."""

    def __init__(self, root: Path, agent: Path, hub: Hub) -> None:
        self.site = Site(root / "vm", agent)
        self.hub = hub
        self.vm_st = Syncthing(root / "st-vm", "vm")
        self.hub_st = Syncthing(root / "st-hub", "hub")
        self.vm_st.introduce(self.hub_st)
        self.hub_st.introduce(self.vm_st)
        self.folders: list[str] = []
        self.carry: list[float] = []

    def logs(self) -> str:
        return "\n".join([self.vm_st.log(), self.hub_st.log(), self.hub.log()])

    def start(self) -> None:
        self.vm_st.start()
        self.hub_st.start()
        self.wait_connected()

    def wait_connected(self) -> None:
        wait_until(lambda: self.vm_st.connected(self.hub_st) and self.hub_st.connected(self.vm_st),
                   "the two Syncthings to connect", log=self.logs)

    def share_per_vm(self) -> None:
        """The guide's recommended layout: one folder per VM, named after its vm_id on the hub."""
        for vm in VMS:
            folder = self.site.data / vm
            folder.mkdir()
            (folder / ".stignore").write_text(AGENT_STIGNORE)
            self.vm_st.add_folder(f"lookout-{vm}", folder, "sendonly", self.hub_st)
            self.hub_st.add_folder(f"lookout-{vm}", self.hub.data / vm, "receiveonly", self.vm_st)
            self.folders.append(f"lookout-{vm}")

    def share_fleet(self) -> None:
        """The guide's alternative: the whole data folder as one folder, the ignore patterns in
        the folder roots' `.stignore` (the only one Syncthing reads)."""
        (self.site.data / ".stignore").write_text(AGENT_STIGNORE)
        self.hub.data.mkdir(parents=True, exist_ok=True)
        (self.hub.data / ".stignore").write_text(guide_block("put the hub's files in the hub's `.stignore`"))
        self.vm_st.add_folder("lookout-fleet", self.site.data, "sendonly", self.hub_st)
        self.hub_st.add_folder("lookout-fleet", self.hub.data, "receiveonly", self.vm_st)
        self.folders.append("lookout-fleet")

    def share(self, layout: str) -> None:
        if layout == "per-vm":
            self.share_per_vm()
        else:
            self.share_fleet()

    def collect_and_carry(self, vm: str) -> str:
        """Collects, then waits for Syncthing to put the same bytes on the hub's disk and for the
        hub to make the sample the VM's latest; records how long Syncthing took."""
        raw, written = self.site.collect(vm)
        target = self.hub.data / vm / "metrics.json"
        wait_until(lambda: target.exists() and target.read_bytes() == raw, f"Syncthing to carry {vm}'s document",
                   log=self.logs)
        self.carry.append(time.monotonic() - written)
        timestamp = json.loads(raw)["timestamp"]
        self.hub.wait_for(lambda: latest(self.hub, vm) == timestamp, f"the hub to ingest {vm} at {timestamp}",
                          timeout=SYNC_TIMEOUT)
        return timestamp

    def settled(self) -> None:
        """Rescans every folder on both sides and waits until each is idle with nothing needed."""
        for folder in self.folders:
            self.vm_st.scan(folder)
            self.hub_st.scan(folder)
        for folder in self.folders:
            wait_until(lambda: self.hub_st.idle(folder) and self.hub_st.status(folder)["needTotalItems"] == 0
                       and self.vm_st.idle(folder), f"{folder} to settle", log=self.logs)

    def stop(self) -> None:
        for st in (self.vm_st, self.hub_st):
            st.kill()


@pytest.fixture
def pair(tmp_path: Path, bin_dir: Path, start_hub: Any) -> Iterator[Pair]:
    hub = start_hub("--poll-interval", "1")
    created = Pair(tmp_path, bin_dir / "lookout-agent", hub)
    try:
        yield created
    finally:
        created.stop()


def print_carry(layout: str, pair: Pair) -> None:
    median = statistics.median(pair.carry)
    print(f"\nsyncthing carry ({layout}): median {median:.1f} s over {len(pair.carry)} documents "
          f"(min {min(pair.carry):.1f} s, max {max(pair.carry):.1f} s)")


def see_a_temp_file(pair: Pair, vm: str) -> str:
    """Writes a 128 MiB file into `vm`'s folder on the VM and watches the hub's folder while
    Syncthing pulls it: returns the name of the `.syncthing.*.tmp` file it saw."""
    source = pair.site.data / vm / "bulk.bin"
    with open(source, "wb") as out:
        for _ in range(128):
            out.write(os.urandom(1 << 20))
    target = pair.hub.data / vm
    seen: list[str] = []

    def look() -> bool:
        seen.extend(entry.name for entry in os.scandir(target)
                    if entry.name.startswith(".syncthing.") and entry.name.endswith(".tmp"))
        return bool(seen)

    wait_until(look, "a .syncthing.*.tmp file in the hub's folder", interval=0.002, log=pair.logs)
    done = target / "bulk.bin"
    wait_until(lambda: done.exists() and done.stat().st_size == 128 << 20, "bulk.bin on the hub", log=pair.logs)
    source.unlink()
    wait_until(lambda: not done.exists(), "bulk.bin's deletion to reach the hub", log=pair.logs)
    return seen[0]


@pytest.mark.parametrize("layout", ["per-vm", "fleet"])
def test_three_rounds_arrive_whole_and_the_hubs_files_do_not_upset_syncthing(pair: Pair, layout: str,
                                                                             lookout_bin: Path) -> None:
    pair.start()
    pair.share(layout)

    sent: dict[str, list[str]] = {vm: [] for vm in VMS}
    for _ in range(3):
        for vm in VMS:
            sent[vm].append(pair.collect_and_carry(vm))
    # Every sample is in the history (metrics.json and the journal carry the same ones).
    for vm in VMS:
        assert len(set(sent[vm])) == 3
        pair.hub.wait_for(lambda: history_count(pair.hub, vm) == 3, f"{vm}'s three samples in history")
    print_carry(layout, pair)

    # Syncthing's real temp file, in a VM folder the hub scans every second.
    temp = see_a_temp_file(pair, "web-1")
    assert temp.startswith(".syncthing.bulk.bin")

    # The hub's own files in DATA, beside the VM folders (with the fleet layout, inside the
    # Receive Only folder): the database, alerts.json and the daily history file.
    day = time.strftime("%Y-%m-%d", time.gmtime())
    result = run_lookout(lookout_bin, "aggregate", "--data", str(pair.hub.data), "--date", day)
    assert result.returncode == 0, result.stderr
    for name in ("lookout.sqlite", "alerts.json", f"history/{day}.json", ".watcher.lock"):
        if not (pair.hub.data / name).exists():
            pytest.fail(f"the hub wrote no {name} in DATA ({sorted(os.listdir(pair.hub.data))}): the test "
                        "cannot show Syncthing ignores it", pytrace=False)
    pair.settled()
    for folder in pair.folders:
        status = pair.hub_st.status(folder)
        assert status["receiveOnlyChangedFiles"] == 0, (folder, pair.hub_st.local_changes(folder))
        assert status["receiveOnlyChangedDirectories"] == 0, (folder, pair.hub_st.local_changes(folder))
        assert status["needFiles"] == 0 and status["needDeletes"] == 0, status
        assert status["errors"] == 0 and status["pullErrors"] == 0, status
        assert pair.hub_st.local_changes(folder) == []

    log = pair.hub.log()
    assert "not ingesting" not in log, log
    assert ".syncthing." not in log, log
    for vm in VMS:
        assert history_count(pair.hub, vm) == 3


@pytest.mark.parametrize("layout", ["per-vm", "fleet"])
def test_an_outage_loses_nothing_with_the_journal_and_all_but_the_last_without(pair: Pair, layout: str) -> None:
    pair.site.configure("web-2", {"journal_samples": 0})
    pair.start()
    pair.share(layout)
    for vm in VMS:
        pair.collect_and_carry(vm)
    before = {vm: history_count(pair.hub, vm) for vm in VMS}
    assert before == {"web-1": 1, "web-2": 1}

    pair.hub_st.stop()
    during: dict[str, list[str]] = {vm: [] for vm in VMS}
    for _ in range(5):
        for vm in VMS:
            raw, _ = pair.site.collect(vm)
            during[vm].append(json.loads(raw)["timestamp"])
    assert len(set(during["web-1"])) == 5
    assert len(os.listdir(pair.site.data / "web-1" / "journal")) == 6
    assert not (pair.site.data / "web-2" / "journal").exists()
    # Nothing reached the hub while its Syncthing was down.
    assert {vm: history_count(pair.hub, vm) for vm in VMS} == before

    pair.hub_st.start()
    pair.wait_connected()
    for vm in VMS:
        pair.hub.wait_for(lambda: latest(pair.hub, vm) == during[vm][-1], f"{vm}'s last sample after the outage",
                          timeout=SYNC_TIMEOUT)
    pair.hub.wait_for(lambda: history_count(pair.hub, "web-1") == 1 + 5, "web-1's five samples from the journal",
                      timeout=SYNC_TIMEOUT)
    pair.settled()
    after = {vm: history_count(pair.hub, vm) for vm in VMS}
    # With the journal: all five. Without: only the last one arrived, four samples are lost.
    assert after == {"web-1": 6, "web-2": 2}, after
    # Syncthing pulls in random order, so the hub may fill the gap over more than one scan.
    assert "sample(s) of web-1 from its journal" in pair.hub.log(), pair.hub.log()
    assert "of web-2 from its journal" not in pair.hub.log()

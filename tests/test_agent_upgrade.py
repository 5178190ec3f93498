"""`lookout-agent upgrade` and `"auto_upgrade": true` through the real agent binary,
against a hub that serves the install contract of issue 13 over real HTTP.

The hub is a fixture (`release_hub`) with one small interface, `ReleaseHub`: `base_url`,
`publish(arch, binary)` (puts a binary where the hub serves it from, as
`--agent-binaries DIR/<arch>/lookout-agent`), `tamper(arch, served)` (serves other bytes
than the lists state) and `paths` (what was requested). Here it is a small Python
`http.server` that computes `agents.json` and `SHA256SUMS` from the folder as the shared
contract says; a variant backed by a real `lookout serve --agent-binaries DIR` can replace
it without touching the cases.

A "newer" agent is a copy of the debug agent whose stamp `LOOKOUT_VERSION=0.1.0` is
patched to a same-length higher version; every case checks after each step what is on
disk: the installed bytes, `lookout-agent.previous`, and no temp file left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

import alert_support
from conftest import clean_env

ARCH = platform.machine()
STAMP = b"LOOKOUT_VERSION="
#: Bound for one agent command (the debug build hashes a 14 MB download byte by byte).
COMMAND_TIMEOUT = 180.0
#: Bound for waiting on a condition of a running agent.
WAIT_TIMEOUT = 120.0


def stamped_version(data: bytes) -> str:
    """The version in a binary's stamp, read from its bytes as the shared contract says."""
    start = data.index(STAMP) + len(STAMP)
    match = re.match(rb"[0-9A-Za-z.+~-]+", data[start:])
    assert match, "the stamp holds no version"
    return match.group(0).decode()


class ReleaseHub:
    """Serves `/install/agents.json`, `/install/SHA256SUMS` and `/install/lookout-agent/<arch>`
    from `folder/<arch>/lookout-agent`, plus a `POST /api/monitoring/ingest` that takes
    every document (for `auto_upgrade`, which upgrades from the hub the agent pushes to)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths: list[str] = []
        self.served: dict[str, bytes] = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                hub.paths.append(self.path)
                binaries = hub.binaries()
                if self.path == "/install/agents.json":
                    agents = [
                        {"arch": arch, "version": stamped_version(data), "sha256": hashlib.sha256(data).hexdigest(),
                         "size": len(data), "path": f"/install/lookout-agent/{arch}"}
                        for arch, data in sorted(binaries.items())
                    ]
                    body = json.dumps({"hub_version": "0.1.0", "agents": agents}).encode()
                    self.answer(200, body, "application/json")
                elif self.path == "/install/SHA256SUMS":
                    lines = "".join(
                        f"{hashlib.sha256(data).hexdigest()}  {arch}/lookout-agent\n"
                        for arch, data in sorted(binaries.items())
                    )
                    self.answer(200, lines.encode(), "text/plain")
                elif self.path.startswith("/install/lookout-agent/") and self.path.split("/")[-1] in binaries:
                    arch = self.path.split("/")[-1]
                    self.answer(200, hub.served.get(arch, binaries[arch]), "application/octet-stream")
                else:
                    have = ", ".join(sorted(binaries))
                    self.answer(404, json.dumps({"error": f"no such file (architectures: {have})"}).encode(),
                                "application/json")

            def do_POST(self) -> None:
                hub.paths.append(f"POST {self.path}")
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.answer(200, b'{"status":"stored"}', "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def binaries(self) -> dict[str, bytes]:
        return {p.parent.name: p.read_bytes() for p in self.folder.glob("*/lookout-agent")}

    def publish(self, arch: str, binary: bytes) -> None:
        target = self.folder / arch / "lookout-agent"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(binary)
        self.served.pop(arch, None)

    def tamper(self, arch: str, served: bytes) -> None:
        self.served[arch] = served

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def release_hub(tmp_path: Path) -> Iterator[ReleaseHub]:
    hub = ReleaseHub(tmp_path / "agents")
    hub.thread.start()
    yield hub
    hub.stop()


@pytest.fixture(scope="session")
def agent_bytes(bin_dir: Path) -> bytes:
    path = bin_dir / "lookout-agent"
    if not path.is_file():
        pytest.fail(f"{path} is missing: build it first with `swift build --build-tests`", pytrace=False)
    data = path.read_bytes()
    if stamped_version(data) != "0.1.0":
        pytest.fail(f"the debug agent's stamp is {stamped_version(data)}; these cases patch 0.1.0", pytrace=False)
    return data


def patched(data: bytes, version: str) -> bytes:
    """A copy of the agent whose stamp says `version` (same length as 0.1.0)."""
    assert len(version) == len("0.1.0")
    out = data.replace(STAMP + b"0.1.0", STAMP + version.encode())
    assert out != data and len(out) == len(data)
    return out


def agent_run(binary: Path, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def version_of(binary: Path) -> str:
    result = agent_run(binary, "--version")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def installed(tmp_path: Path, agent_bytes: bytes) -> Path:
    """The debug agent (0.1.0) copied to its own folder, as an install would put it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    path = folder / "lookout-agent"
    path.write_bytes(agent_bytes)
    path.chmod(0o755)
    return path


def assert_untouched(path: Path, original: bytes) -> None:
    assert path.read_bytes() == original, "the installed binary changed"
    assert not (path.parent / "lookout-agent.previous").exists(), "a .previous appeared"
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")], "a temp file was left behind"


def test_a_patched_copy_prints_its_patched_version(installed: Path, agent_bytes: bytes, tmp_path: Path) -> None:
    newer = tmp_path / "newer"
    newer.write_bytes(patched(agent_bytes, "0.1.9"))
    newer.chmod(0o755)
    assert version_of(installed) == "0.1.0"
    assert version_of(newer) == "0.1.9"


def test_upgrade_replaces_the_binary_then_is_up_to_date_then_rolls_back(
    installed: Path, agent_bytes: bytes, release_hub: ReleaseHub, tmp_path: Path
) -> None:
    newer = patched(agent_bytes, "0.1.9")
    release_hub.publish(ARCH, newer)

    check = agent_run(installed, "upgrade", "--check", "--from", release_hub.base_url)
    assert check.returncode == 0, check.stderr
    assert "0.1.9 is available (this is 0.1.0)" in check.stdout
    assert installed.read_bytes() == agent_bytes, "--check changed the binary"

    result = agent_run(installed, "upgrade", "--from", release_hub.base_url)
    assert result.returncode == 0, result.stderr
    assert "upgraded lookout-agent 0.1.0 → 0.1.9" in result.stdout
    # Step 1: the new bytes are installed, executable, and the old ones are .previous.
    assert installed.read_bytes() == newer
    assert os.access(installed, os.X_OK)
    assert (installed.parent / "lookout-agent.previous").read_bytes() == agent_bytes
    assert version_of(installed) == "0.1.9"
    assert not [p.name for p in installed.parent.iterdir() if p.name.endswith(".tmp")]

    # Step 2: the default hub is the one of push.url in the config; it is current now.
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({"push": {"url": f"{release_hub.base_url}/api/monitoring/ingest"}}))
    again = agent_run(installed, "upgrade", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "already up to date (0.1.9)"
    assert installed.read_bytes() == newer

    # Step 3: rollback swaps the two, so the 0.1.9 one stays at hand as .previous.
    back = agent_run(installed, "upgrade", "--rollback")
    assert back.returncode == 0, back.stderr
    assert "rolled back" in back.stdout and "0.1.0" in back.stdout
    assert installed.read_bytes() == agent_bytes
    assert (installed.parent / "lookout-agent.previous").read_bytes() == newer


def test_a_tampered_download_changes_nothing(
    installed: Path, agent_bytes: bytes, release_hub: ReleaseHub
) -> None:
    newer = patched(agent_bytes, "0.1.9")
    release_hub.publish(ARCH, newer)
    release_hub.tamper(ARCH, patched(agent_bytes, "0.1.8"))
    result = agent_run(installed, "upgrade", "--from", release_hub.base_url)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "checksum mismatch" in result.stderr, result.stderr
    assert_untouched(installed, agent_bytes)


def test_a_binary_that_prints_another_version_changes_nothing(
    installed: Path, agent_bytes: bytes, release_hub: ReleaseHub
) -> None:
    # Its stamp (what the hub lists) says 0.2.0; what it prints says 0.1.5.
    liar = b"#!/bin/sh\n# LOOKOUT_VERSION=0.2.0\necho 0.1.5\n"
    release_hub.publish(ARCH, liar)
    result = agent_run(installed, "upgrade", "--from", release_hub.base_url)
    assert result.returncode == 1
    assert "says it is 0.1.5, not 0.2.0" in result.stderr, result.stderr
    assert_untouched(installed, agent_bytes)


def test_no_binary_for_this_architecture_names_what_the_hub_has(
    installed: Path, agent_bytes: bytes, release_hub: ReleaseHub
) -> None:
    other = "riscv64" if ARCH != "riscv64" else "x86_64"
    release_hub.publish(other, patched(agent_bytes, "0.1.9"))
    result = agent_run(installed, "upgrade", "--from", release_hub.base_url)
    assert result.returncode == 1
    assert f"no agent binary for {ARCH} (it has: {other})" in result.stderr, result.stderr
    assert_untouched(installed, agent_bytes)


def test_an_unreachable_hub_is_75_and_changes_nothing(
    installed: Path, agent_bytes: bytes, release_hub: ReleaseHub
) -> None:
    release_hub.publish(ARCH, patched(agent_bytes, "0.1.9"))
    url = release_hub.base_url
    release_hub.stop()
    result = agent_run(installed, "upgrade", "--from", url)
    assert result.returncode == 75, result.stderr
    assert "the hub is unreachable" in result.stderr and "try again later" in result.stderr
    assert_untouched(installed, agent_bytes)


def test_a_running_agent_keeps_running_while_its_file_is_replaced(
    installed: Path, agent_bytes: bytes, release_hub: ReleaseHub, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    agent = subprocess.Popen(
        [str(installed), "run", "--interval", "1", "--vm-id", "up-1", "--data", str(data),
         "--state", str(tmp_path / "state" / "state.json")],
        env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        metrics = data / "up-1" / "metrics.json"
        wait_until(lambda: metrics.exists(), "the running agent wrote no document")
        release_hub.publish(ARCH, patched(agent_bytes, "0.1.9"))
        result = agent_run(installed, "upgrade", "--from", release_hub.base_url)
        assert result.returncode == 0, result.stderr
        assert "Text file busy" not in result.stderr
        assert version_of(installed) == "0.1.9"
        # The old process runs on from its (now unnamed) file and keeps sampling.
        before = json.loads(metrics.read_text())["timestamp"]
        wait_until(lambda: json.loads(metrics.read_text())["timestamp"] != before,
                   "the running agent stopped sampling after the upgrade")
        assert agent.poll() is None
        assert os.readlink(f"/proc/{agent.pid}/exe").endswith("(deleted)")
    finally:
        agent.terminate()
        agent.wait(timeout=30)


def wait_until(condition, message: str, timeout: float = WAIT_TIMEOUT) -> None:
    alert_support.wait_until(condition, message, timeout, 0.1)


def write_auto_config(tmp_path: Path, hub: ReleaseHub) -> Path:
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({
        "auto_upgrade": True,
        "push": {"url": f"{hub.base_url}/api/monitoring/ingest"},
    }))
    return config


def test_auto_upgrade_in_collect_checks_once_a_day_after_the_sample(
    installed: Path, agent_bytes: bytes, release_hub: ReleaseHub, tmp_path: Path
) -> None:
    config = write_auto_config(tmp_path, release_hub)
    state = tmp_path / "state" / "state.json"
    record = state.parent / "upgrade-check.json"
    collect = [str(installed), "collect", "--vm-id", "auto-1", "--config", str(config), "--state", str(state),
               "--token", "t"]

    def run_collect() -> subprocess.CompletedProcess[str]:
        return subprocess.run(collect, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT)

    newer = patched(agent_bytes, "0.1.9")
    release_hub.publish(ARCH, newer)
    # Run 1: no check recorded yet: the sample is pushed first, then the agent upgrades itself.
    first = run_collect()
    assert first.returncode == 0, first.stderr
    assert release_hub.paths.index("POST /api/monitoring/ingest") < release_hub.paths.index("/install/agents.json")
    assert installed.read_bytes() == newer
    assert "auto_upgrade: upgraded lookout-agent 0.1.0 → 0.1.9" in first.stderr
    checked = json.loads(record.read_text())["checked_at"]
    assert abs(checked - time.time()) < 3600

    # Run 2: checked less than a day ago: the hub's even newer agent is not even asked about.
    newest = patched(agent_bytes, "0.2.0")
    release_hub.publish(ARCH, newest)
    release_hub.paths.clear()
    second = run_collect()
    assert second.returncode == 0, second.stderr
    assert release_hub.paths == ["POST /api/monitoring/ingest"]
    assert installed.read_bytes() == newer

    # Run 3: the record says a day and a second ago: due again.
    record.write_text(json.dumps({"checked_at": int(time.time()) - 86_401}))
    third = run_collect()
    assert third.returncode == 0, third.stderr
    assert installed.read_bytes() == newest
    assert (installed.parent / "lookout-agent.previous").read_bytes() == newer

    # Run 4: a failing check (the hub serves a tampered file) is logged, not fatal, and waits a day.
    record.write_text(json.dumps({"checked_at": int(time.time()) - 86_401}))
    release_hub.publish(ARCH, patched(agent_bytes, "0.2.1"))
    release_hub.tamper(ARCH, agent_bytes)
    fourth = run_collect()
    assert fourth.returncode == 0, fourth.stderr
    assert "auto_upgrade: checksum mismatch" in fourth.stderr
    assert installed.read_bytes() == newest
    assert json.loads(record.read_text())["checked_at"] > int(time.time()) - 3600


def test_auto_upgrade_in_run_restarts_as_the_new_binary(
    installed: Path, agent_bytes: bytes, release_hub: ReleaseHub, tmp_path: Path
) -> None:
    config = write_auto_config(tmp_path, release_hub)
    release_hub.publish(ARCH, patched(agent_bytes, "0.1.9"))
    log = tmp_path / "agent.log"
    with log.open("w") as err:
        agent = subprocess.Popen(
            [str(installed), "run", "--interval", "1", "--vm-id", "auto-2", "--config", str(config), "--token", "t",
             "--state", str(tmp_path / "state" / "state.json")],
            env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_until(lambda: "restarting as the new" in log.read_text(), "the agent did not upgrade and restart")
        # Same process, now running the new file (not the replaced, unnamed one), still sampling.
        wait_until(lambda: "lookout-agent 0.1.9 sampling auto-2" in log.read_text(),
                   "the restarted agent did not start sampling as 0.1.9")
        assert agent.poll() is None
        assert os.readlink(f"/proc/{agent.pid}/exe") == str(installed)
        pushes = release_hub.paths.count("POST /api/monitoring/ingest")
        wait_until(lambda: release_hub.paths.count("POST /api/monitoring/ingest") > pushes,
                   "the restarted agent pushes no sample")
        assert release_hub.paths.count("/install/agents.json") == 1
    finally:
        agent.terminate()
        agent.wait(timeout=30)


def unit_keys(path: Path) -> dict[str, str]:
    """The `Key=value` lines of a systemd unit, continuation lines joined."""
    text = path.read_text().replace("\\\n", " ")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_the_upgrade_timer_restarts_the_daemon_only_when_its_binary_was_replaced(
    installed: Path, agent_bytes: bytes, release_hub: ReleaseHub, tmp_path: Path
) -> None:
    unit = unit_keys(Path(__file__).resolve().parent.parent / "deploy/systemd/lookout-agent-upgrade.service")
    assert unit["ExecStart"] == "/usr/local/bin/lookout-agent upgrade --config /etc/lookout/agent.json"
    assert unit["SuccessExitStatus"] == "75"
    post = unit["ExecStartPost"]
    prefix = "/bin/sh -c '"
    assert post.startswith(prefix) and post.endswith("'")
    script = post[len(prefix):-1].replace("$$", "$")  # systemd's spelling of a literal $

    # A stand-in systemctl: `show` names the daemon's pid, `restart` is recorded.
    fake = tmp_path / "fakebin"
    fake.mkdir()
    calls = tmp_path / "systemctl.calls"
    (fake / "systemctl").write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\n[ "$1" = show ] && cat {tmp_path}/mainpid\nexit 0\n')
    (fake / "systemctl").chmod(0o755)
    daemon = subprocess.Popen(
        [str(installed), "run", "--interval", "3600", "--vm-id", "timer-1", "--data", str(tmp_path / "data"),
         "--state", str(tmp_path / "state" / "state.json")],
        env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        (tmp_path / "mainpid").write_text(f"{daemon.pid}\n")
        env = clean_env(PATH=f"{fake}:/usr/bin:/bin")

        def post_step() -> list[str]:
            calls.unlink(missing_ok=True)
            result = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            return calls.read_text().splitlines()

        # Not upgraded: the daemon runs the installed file, nothing is restarted.
        assert post_step() == ["show -p MainPID --value lookout-agent.service"]
        release_hub.publish(ARCH, patched(agent_bytes, "0.1.9"))
        result = agent_run(installed, "upgrade", "--from", release_hub.base_url)
        assert result.returncode == 0, result.stderr
        # Upgraded: the daemon's file is the replaced one, so it is restarted.
        assert post_step() == ["show -p MainPID --value lookout-agent.service", "restart lookout-agent.service"]
        # No daemon (MainPID 0): nothing to restart.
        (tmp_path / "mainpid").write_text("0\n")
        assert post_step() == ["show -p MainPID --value lookout-agent.service"]
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def test_upgrade_from_a_real_hub_serving_a_newer_agent(
    installed: Path, agent_bytes: bytes, start_hub, tmp_path: Path
) -> None:
    """The same steps against `lookout serve --agent-binaries` (the hub's own /install routes),
    not the stand-in server above."""
    newer = patched(agent_bytes, "0.1.9")
    agents = tmp_path / "hub-agents"
    (agents / ARCH).mkdir(parents=True)
    (agents / ARCH / "lookout-agent").write_bytes(newer)
    hub = start_hub("--agent-binaries", str(agents))
    hub.wait_for(lambda: "checksummed in" in hub.log(), "the agent binaries' checksums", timeout=300)

    result = agent_run(installed, "upgrade", "--from", f"http://127.0.0.1:{hub.port}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "upgraded lookout-agent 0.1.0 → 0.1.9" in result.stdout
    assert installed.read_bytes() == newer and version_of(installed) == "0.1.9"
    assert (installed.parent / "lookout-agent.previous").read_bytes() == agent_bytes
    again = agent_run(installed, "upgrade", "--from", f"http://127.0.0.1:{hub.port}")
    assert again.returncode == 0 and again.stdout.strip() == "already up to date (0.1.9)", again.stderr

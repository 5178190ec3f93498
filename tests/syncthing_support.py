"""Real Syncthing instances on 127.0.0.1 for the file-transport tests (tests/test_syncthing.py).

Each instance gets its own home (`syncthing generate`), loopback ports for the GUI/REST API
and for sync, an API key, and everything that would reach beyond the machine turned off
before it first starts: global and local discovery, relays, NAT traversal, usage and crash
reporting, upgrades. Folders are then added through the REST API, as an operator adds them
in the Web UI by following docs/syncthing.md. Every wait polls the REST API or the disk
with a generous failure bound; none sleeps for a fixed time.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable

import pytest

import alert_support
from conftest import find_free_port

#: Longest wait for Syncthing to start, connect, or carry a file (failure bounds only).
SYNC_TIMEOUT = 120.0

#: What the test turns off in `<options>` before the first start: nothing leaves 127.0.0.1.
OFFLINE_OPTIONS = {
    "globalAnnounceEnabled": "false",
    "localAnnounceEnabled": "false",
    "relaysEnabled": "false",
    "natEnabled": "false",
    "urAccepted": "-1",
    "crashReportingEnabled": "false",
    "autoUpgradeIntervalH": "0",
    "startBrowser": "false",
}


def syncthing_binary() -> str:
    found = shutil.which("syncthing")
    if found is None:
        pytest.fail("syncthing is not installed: run scripts/install-deps --test (Debian's syncthing package)",
                    pytrace=False)
    return found


def wait_until(condition: Callable[[], Any], what: str, timeout: float = SYNC_TIMEOUT,
               interval: float = 0.02, log: Callable[[], str] = lambda: "") -> Any:
    """alert_support's polling loop with Syncthing's bound and a finer step."""
    return alert_support.wait_until(condition, what, timeout, interval, log)


class Syncthing:
    """One `syncthing serve` process with its own home and loopback ports."""

    def __init__(self, home: Path, name: str) -> None:
        self.binary = syncthing_binary()
        self.home = home
        self.name = name
        self.gui_port = find_free_port()
        self.sync_port = find_free_port()
        self.api_key = secrets.token_hex(16)
        self.log_path = home.parent / f"syncthing-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        result = subprocess.run(
            [self.binary, "generate", "--home", str(home), "--no-default-folder", "--skip-port-probing"],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"syncthing generate failed:\n{result.stdout}{result.stderr}"
        # The device id, as an operator reads it before the first start.
        result = subprocess.run([self.binary, "--home", str(home), "--device-id"], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        self.device_id = result.stdout.strip().splitlines()[-1]
        self._configure()

    def _configure(self) -> None:
        """The offline options, the loopback addresses and the API key, in config.xml."""
        path = self.home / "config.xml"
        tree = ET.parse(path)
        root = tree.getroot()
        device = root.find(f"device[@id='{self.device_id}']")
        assert device is not None
        device.set("name", self.name)
        gui = root.find("gui")
        assert gui is not None
        gui.find("address").text = f"127.0.0.1:{self.gui_port}"  # type: ignore[union-attr]
        gui.find("apikey").text = self.api_key  # type: ignore[union-attr]
        options = root.find("options")
        assert options is not None
        options.find("listenAddress").text = f"tcp://127.0.0.1:{self.sync_port}"  # type: ignore[union-attr]
        for key, value in OFFLINE_OPTIONS.items():
            element = options.find(key)
            assert element is not None, f"config.xml has no options/{key}"
            element.text = value
        tree.write(path)

    def introduce(self, other: "Syncthing") -> None:
        """Adds `other` as a device with its loopback address (Add Remote Device, before start)."""
        path = self.home / "config.xml"
        tree = ET.parse(path)
        root = tree.getroot()
        device = ET.Element("device", {"id": other.device_id, "name": other.name, "compression": "metadata",
                                       "introducer": "false"})
        ET.SubElement(device, "address").text = f"tcp://127.0.0.1:{other.sync_port}"
        ET.SubElement(device, "autoAcceptFolders").text = "false"
        root.insert(list(root).index(root.find("gui")), device)  # type: ignore[arg-type]
        tree.write(path)

    # life cycle

    def start(self) -> "Syncthing":
        assert self.process is None or self.process.poll() is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("ST")}
        # STMONITORED: run as the server itself, not as the monitor that starts it as a child
        # (1.19 does that even with --no-restart): the child outlives a killed monitor, and a
        # test's teardown would leave it running.
        env.update({"STNOUPGRADE": "1", "STNODEFAULTFOLDER": "1", "STMONITORED": "yes", "HOME": str(self.home)})
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "serve", "--home", str(self.home), "--no-browser", "--no-restart", "--no-upgrade",
                 "--logflags=3"],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.api("GET", "/rest/system/ping") == {"ping": "pong"},
                   f"{self.name}'s REST API", log=self.log)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.api("POST", "/rest/system/shutdown")
        except OSError:
            pass
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return f"--- syncthing {self.name} ({self.log_path}) ---\n" + text[-20_000:]

    # REST

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.gui_port}{path}", data=data, method=method,
            headers={"X-API-Key": self.api_key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{self.name}: {method} {path}: HTTP {error.code}: {error.read()[:500]!r}") from None
        return json.loads(raw) if raw.strip() else None

    def add_folder(self, folder_id: str, path: Path, kind: str, other: "Syncthing") -> None:
        """A folder as docs/syncthing.md sets it: Send Only or Receive Only, no versioning,
        watching for changes, permissions ignored, shared with `other`."""
        path.mkdir(parents=True, exist_ok=True)
        self.api("POST", "/rest/config/folders", {
            "id": folder_id,
            "label": folder_id,
            "path": str(path),
            "type": kind,
            "devices": [{"deviceID": self.device_id}, {"deviceID": other.device_id}],
            "fsWatcherEnabled": True,
            "rescanIntervalS": 3600,
            "ignorePerms": True,
            "versioning": {"type": ""},
        })

    def connected(self, other: "Syncthing") -> bool:
        connections = self.api("GET", "/rest/system/connections")["connections"]
        return bool(connections.get(other.device_id, {}).get("connected"))

    def status(self, folder_id: str) -> dict[str, Any]:
        return self.api("GET", f"/rest/db/status?folder={folder_id}")

    def scan(self, folder_id: str) -> None:
        self.api("POST", f"/rest/db/scan?folder={folder_id}")

    def local_changes(self, folder_id: str) -> list[str]:
        """The names a Receive Only folder reports as locally changed."""
        answer = self.api("GET", f"/rest/db/localchanged?folder={folder_id}&perpage=1000")
        return sorted(item["name"] for item in answer.get("files") or [])

    def idle(self, folder_id: str) -> bool:
        return self.status(folder_id).get("state") == "idle"

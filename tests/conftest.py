"""Shared fixtures of the system tests: the built binaries, free ports, a real
`lookout serve` process per test, and a builder of valid metrics documents (DESIGN §2).

Every wait here is bounded polling of a condition, never a fixed sleep, so the tests do
not depend on how fast the machine is; the bounds are only there so a broken hub fails
the test instead of hanging it.
"""

from __future__ import annotations

import calendar
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Longest wait for a hub to answer /healthz after it was started.
READY_TIMEOUT = 20.0
#: Longest wait for a hub to exit after a signal.
STOP_TIMEOUT = 20.0
#: Longest wait for a short command such as `serve --check-config`.
COMMAND_TIMEOUT = 60.0


# MARK: - timestamps and documents


def iso(ts: int | float) -> str:
    """Unix seconds → `YYYY-MM-DDTHH:MM:SSZ`, the document's timestamp format."""
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int:
    """`YYYY-MM-DDTHH:MM:SSZ` (fractions allowed) → unix seconds."""
    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))


def make_doc(vm_id: str, ts: int | float | str, **figures: Any) -> dict[str, Any]:
    """A valid metrics document for `vm_id` at `ts` (unix seconds or a timestamp string).

    Figures (all optional): cpu, cores, memory (percent), total_mb, disk (percent),
    disk_total_gb, load1, load5, load15, uptime (seconds), containers, services (lists
    of dicts as in the document), interval_seconds, agent. Anything else is added as a
    top-level field (extra fields are allowed by the contract)."""
    cpu = float(figures.pop("cpu", 12.5))
    cores = int(figures.pop("cores", 1))
    memory = float(figures.pop("memory", 40.0))
    total_mb = float(figures.pop("total_mb", 1024))
    disk = float(figures.pop("disk", 25.0))
    disk_total_gb = float(figures.pop("disk_total_gb", 47))
    load1 = float(figures.pop("load1", 0.08))
    load5 = float(figures.pop("load5", 0.05))
    load15 = float(figures.pop("load15", 0.02))
    uptime = float(figures.pop("uptime", 432000))
    containers = figures.pop("containers", [])
    services = figures.pop("services", [])
    used_mb = round(total_mb * memory / 100, 1)
    doc: dict[str, Any] = {
        "vm_id": vm_id,
        "timestamp": ts if isinstance(ts, str) else iso(ts),
        "system": {
            "cpu": {"percent": cpu, "cores": cores},
            "memory": {
                "total_mb": total_mb,
                "used_mb": used_mb,
                "available_mb": round(total_mb - used_mb, 1),
                "percent": memory,
            },
            "disk": {
                "total_gb": disk_total_gb,
                "used_gb": round(disk_total_gb * disk / 100, 2),
                "percent": disk,
            },
            "uptime": {"seconds": uptime, "human": _human(uptime)},
            "load": {"1m": load1, "5m": load5, "15m": load15},
        },
        "containers": containers,
        "services": services,
    }
    doc.update(figures)
    return doc


def _human(seconds: float) -> str:
    whole = max(0, int(seconds))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if whole >= size or unit == "minute":
            n = whole // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    raise AssertionError("unreachable")


# MARK: - build products and ports


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    """The folder of the debug build products (`swift build --show-bin-path`).

    scripts/test builds with `swift build --build-tests` before pytest runs; this only asks
    where the products are and fails clearly when `lookout` is not among them."""
    try:
        result = subprocess.run(
            ["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True, text=True, timeout=300
        )
    except FileNotFoundError:
        pytest.fail("`swift` is not on PATH: the system tests need the Swift toolchain", pytrace=False)
    if result.returncode != 0:
        pytest.fail(f"`swift build --show-bin-path` failed:\n{result.stderr}", pytrace=False)
    path = Path(result.stdout.strip().splitlines()[-1])
    lookout = path / "lookout"
    if not (lookout.is_file() and os.access(lookout, os.X_OK)):
        pytest.fail(
            f"{lookout} is missing: build it first with `swift build --build-tests` (scripts/test does)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def lookout_bin(bin_dir: Path) -> Path:
    return bin_dir / "lookout"


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    return find_free_port()


def clean_env(**overrides: str | None) -> dict[str, str]:
    """The test's environment without Lookout's variables (so a developer's LOOKOUT_TOKEN
    or VM_ID does not leak into a hub), plus `overrides` (None removes a variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKOUT_") and k != "VM_ID"}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


# MARK: - HTTP


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """One request with urllib; answers 4xx and 5xx too instead of raising.
    Connection errors (refused, reset) raise `OSError`."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), error.read()


def parse_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


# MARK: - the hub process


class HubError(AssertionError):
    pass


class Hub:
    """`lookout serve` as a real process.

    By default it gets `--data <folder>/data --listen 127.0.0.1:<free port>
    --no-local-agent` plus `args`; with `raw=True` exactly `args` (the caller then passes
    `port` so the helper knows where to look). Standard output and error go to files in
    `folder`; `log()` returns them."""

    def __init__(
        self,
        lookout: Path,
        folder: Path,
        args: list[str] | tuple[str, ...] = (),
        *,
        env: dict[str, str] | None = None,
        token: str | None = None,
        data: Path | None = None,
        port: int | None = None,
        local_agent: bool = False,
        raw: bool = False,
        cwd: Path | None = None,
        name: str = "hub",
    ) -> None:
        self.lookout = lookout
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.data = data if data is not None else folder / "data"
        self.port = port if port is not None else find_free_port()
        self.token = token
        self.env = clean_env(**(env or {}))
        if token is not None:
            self.env["LOOKOUT_TOKEN"] = token
        if raw:
            self.args = list(args)
        else:
            self.args = ["--data", str(self.data), "--listen", f"127.0.0.1:{self.port}"]
            if not local_agent:
                self.args.append("--no-local-agent")
            self.args += list(args)
        self.cwd = cwd or folder
        self.name = name
        self.stdout_path = folder / f"{name}.stdout"
        self.stderr_path = folder / f"{name}.stderr"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    # life cycle

    def start(self, wait: bool = True) -> "Hub":
        assert self.process is None or self.process.poll() is not None, "the hub is already running"
        self.starts += 1
        mode = "ab" if self.starts > 1 else "wb"
        with open(self.stdout_path, mode) as out, open(self.stderr_path, mode) as err:
            if self.starts > 1:
                for stream in (out, err):
                    stream.write(f"\n----- start #{self.starts} -----\n".encode())
                    stream.flush()
            self.process = subprocess.Popen(
                [str(self.lookout), "serve", *self.args],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
        """Polls /healthz every 50 ms until it answers 200; fails with the log when the
        process exits first or `timeout` passes."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            code = self.poll()
            if code is not None:
                raise HubError(f"lookout serve exited with {code} before it was ready\n{self.log()}")
            try:
                status, _, raw = http("GET", self.url("/healthz"), timeout=2)
                if status == 200:
                    return json.loads(raw)
                last = f"HTTP {status}: {raw[:200]!r}"
            except OSError as error:
                last = str(error)
            if time.monotonic() > deadline:
                raise HubError(f"lookout serve not ready after {timeout:.0f} s ({last})\n{self.log()}")
            time.sleep(0.05)

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Sends `sig` and returns the exit code (negative: killed by that signal)."""
        assert self.process is not None, "the hub was never started"
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise HubError(f"lookout serve did not exit within {timeout:.0f} s of signal {sig}\n{self.log()}")

    def kill(self) -> None:
        """Teardown: SIGKILL whatever is still running."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        parts = []
        for label, path in (("stdout", self.stdout_path), ("stderr", self.stderr_path)):
            try:
                text = path.read_text(errors="replace")
            except FileNotFoundError:
                text = ""
            if len(text) > 40_000:
                text = "…\n" + text[-40_000:]
            parts.append(f"--- {self.name} {label} ({path}) ---\n{text}")
        return "\n".join(parts)

    # HTTP

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path if path.startswith('/') else '/' + path}"

    def _auth(self, token: str | None) -> dict[str, str]:
        token = self.token if token is None else token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """A request with the hub's token unless `token` says otherwise (`""`: none)."""
        return http(method, self.url(path), body, {**self._auth(token), **(headers or {})}, timeout)

    def get(self, path: str, *, token: str | None = None) -> tuple[int, Any]:
        status, _, raw = self.request("GET", path, token=token)
        return status, parse_body(raw)

    def get_json(self, path: str, *, token: str | None = None, expect: int | None = 200) -> Any:
        """The parsed JSON body; asserts the status is `expect` (None: any)."""
        status, headers, raw = self.request("GET", path, token=token)
        if expect is not None and status != expect:
            raise HubError(f"GET {path}: HTTP {status}, expected {expect}: {raw[:500]!r}")
        try:
            return json.loads(raw)
        except ValueError:
            raise HubError(f"GET {path}: HTTP {status}, body is not JSON: {raw[:500]!r}") from None

    def post_doc(
        self, doc: dict[str, Any] | bytes | str, token: str | None = None, timeout: float = 10.0
    ) -> tuple[int, Any]:
        """POSTs a document to /api/monitoring/ingest: (status, parsed body), 4xx included."""
        if isinstance(doc, dict):
            body = json.dumps(doc).encode()
        elif isinstance(doc, str):
            body = doc.encode()
        else:
            body = doc
        status, _, raw = self.request(
            "POST",
            "/api/monitoring/ingest",
            body,
            token=token,
            headers={"Content-Type": "application/json"},
            timeout=timeout,
        )
        return status, parse_body(raw)

    def wait_for(
        self,
        condition: Callable[[], Any],
        what: str,
        timeout: float = READY_TIMEOUT,
        interval: float = 0.05,
    ) -> Any:
        """Polls `condition` until it returns something truthy (returned); fails with the
        hub's log after `timeout`. Exceptions from `condition` count as not yet."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                result = condition()
                if result:
                    return result
                last = result
            except (OSError, ValueError, KeyError, HubError) as error:
                last = error
            code = self.poll()
            if code is not None:
                raise HubError(f"lookout serve exited with {code} while waiting for {what}\n{self.log()}")
            if time.monotonic() > deadline:
                raise HubError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})\n{self.log()}")
            time.sleep(interval)


@pytest.fixture
def start_hub(request: pytest.FixtureRequest, lookout_bin: Path, tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    """Starts hubs: `start_hub(*args, token=None, env=None, wait=True, **options)`.
    Each gets its own folder under tmp_path; leftovers are killed at teardown and the
    logs of every hub are attached to a failing test's report."""
    hubs: list[Hub] = []
    request.node._lookout_hubs = hubs

    def start(*args: str, wait: bool = True, folder: Path | None = None, **options: Any) -> Hub:
        name = options.pop("name", f"hub{len(hubs) + 1}")
        hub = Hub(lookout_bin, folder or tmp_path / name, list(args), name=name, **options)
        hubs.append(hub)
        return hub.start(wait=wait)

    yield start
    for hub in hubs:
        hub.kill()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for hub in getattr(item, "_lookout_hubs", []):
            report.sections.append((f"lookout serve log: {hub.name}", hub.log()))


def run_lookout(
    lookout: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Runs `lookout ARGS` to completion (bounded) with a clean environment."""
    return subprocess.run(
        [str(lookout), *args],
        env=clean_env(**(env or {})),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )

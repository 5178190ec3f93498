"""Adding a VM from the hub (issue 13, item 2): `lookout enroll`, then the hub's own
/install/agent.sh run as an operator would (`curl … | sh -s -- …`) under dash and under
busybox ash (busybox's own tools only: its wget and sha256sum), with `--root` so it writes
into a folder, against a real `lookout serve` that hands out the debug `lookout-agent`.

Checked: the files land with the right modes, the new token pushes only its own VM, the VM is
on the summary after the script's first collect, a re-run upgrades in place, `--uninstall`
removes everything, and each refusal (wrong, used or expired code, no binary for this
architecture, a checksum that does not match, a hub that cannot be reached) prints one line
and leaves the root exactly as it was."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import platform
import re
import shutil
import socketserver
import stat
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, clean_env, find_free_port, make_doc, run_lookout

MAIN = "main-token-for-the-install-test-0123"


def hub_address(hub) -> str:
    return f"http://127.0.0.1:{hub.port}"


ARCH = platform.machine()
SCRIPT_TIMEOUT = 120.0

SHELLS = {
    "dash": ["dash"],
    "busybox ash": ["busybox", "ash"],
    # busybox's tools only, no curl: the wget fallback (busybox wget keeps no error body, so
    # the hub's reason for a refused code is not shown; the line still says what to do).
    "busybox ash, wget": ["busybox", "ash"],
}


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: scripts/install-deps --test installs it", pytrace=False)
    return path


@pytest.fixture
def agents(tmp_path: Path, bin_dir: Path) -> Path:
    """The hub's agent binaries folder with the debug agent for this machine."""
    folder = tmp_path / "agents"
    (folder / ARCH).mkdir(parents=True)
    shutil.copy2(bin_dir / "lookout-agent", folder / ARCH / "lookout-agent")
    return folder


@pytest.fixture
def hub(start_hub, agents):
    hub = start_hub("--dashboard", str(REPO / "Public"), "--agent-binaries", str(agents), token=MAIN)
    # The hub checksums its binaries once at start (seconds for the debug agent); the timing
    # below is of an installation, not of that. The bound is a failure bound only.
    hub.wait_for(lambda: "checksummed in" in hub.log(), "the agent binaries' checksums", timeout=300)
    return hub


def script_path(shell: str, tmp_path: Path) -> str | None:
    """The PATH the script runs with: the test's own for dash; busybox applets only (its sed,
    awk, sha256sum, mktemp…) plus curl for busybox ash; busybox alone for the wget variant."""
    if shell == "dash":
        return None
    busybox = require_tool("busybox")
    folder = tmp_path / "busybox-bin"
    if not folder.exists():
        folder.mkdir()
        applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
        for applet in applets:
            (folder / applet).symlink_to(busybox)
    if shell == "busybox ash, wget":
        return str(folder)
    with_curl = tmp_path / "busybox-curl"
    if not with_curl.exists():
        with_curl.mkdir()
        (with_curl / "curl").symlink_to(require_tool("curl"))
    return f"{with_curl}:{folder}"


def refusal(shell: str, reason: str) -> str:
    """What the line says about a refused code: the hub's reason, or (busybox wget) the generic one."""
    return "wrong, used or expired" if shell == "busybox ash, wget" else reason


def enroll(lookout_bin: Path, hub, vm: str = "web-1", *extra: str) -> tuple[str, str]:
    """`lookout enroll VM` against the hub's data folder: (code, the printed command)."""
    address = hub_address(hub)
    result = run_lookout(lookout_bin, "enroll", vm, "--data", str(hub.data), "--hub", address, *extra,
                         env={"LOOKOUT_TOKEN": MAIN})
    assert result.returncode == 0, result.stderr
    command = next(line.strip() for line in result.stdout.splitlines() if line.strip().startswith("curl "))
    code = command.rsplit("--code ", 1)[1]
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code), command
    assert command == f"curl -fsSL {address}/install/agent.sh | sudo sh -s -- --hub {address} --code {code}"
    return code, command


def run_script(shell: str, script_hub: str, root: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    """`curl -fsSL <script_hub>/install/agent.sh | <shell> -s -- --root ROOT --no-start ARGS`,
    the way the printed command runs it (without sudo: the test runs as the user it is)."""
    shell_argv = " ".join([require_tool(SHELLS[shell][0]), *SHELLS[shell][1:]])
    env = clean_env()
    if path is not None:
        env["PATH"] = path
    curl = require_tool("curl")
    pipeline = f"{curl} -fsSL {script_hub}/install/agent.sh | {shell_argv} -s -- --root {root} --no-start " + " ".join(
        f"'{a}'" for a in args
    )
    return subprocess.run(["/bin/sh", "-c", pipeline], env=env, capture_output=True, text=True,
                          timeout=SCRIPT_TIMEOUT, stdin=subprocess.DEVNULL)


def tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under root with its mode and a digest of its content (folders: '')."""
    listing = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        listing[str(path.relative_to(root))] = (stat.S_IMODE(info.st_mode), digest)
    return listing


def new_root(tmp_path: Path, name: str = "root") -> Path:
    root = tmp_path / name
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("new-vm\n")
    return root


def assert_refused(result: subprocess.CompletedProcess, before: dict, root: Path, *, says: str) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {result.stderr!r}"
    assert lines[0].startswith("lookout install: "), lines[0]
    assert says in lines[0], lines[0]
    assert tree(root) == before, "the refusal changed files under the root"


def expired_code(hub, vm: str = "web-1") -> str:
    """A code whose entry ended a minute ago, written as the hub stores it (the hash only)."""
    code = "XPRD-2345"
    digest = hashlib.sha256(f"lookout-enrollment:{code.replace('-', '')}".encode()).hexdigest()
    now = time.time()
    fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    path = hub.data / "enrollments.json"
    body = json.loads(path.read_text()) if path.exists() else {"enrollments": []}
    body["enrollments"].append(
        {"vm_id": vm, "code_sha256": digest, "created_at": fmt(now - 3660), "expires_at": fmt(now - 60)}
    )
    path.write_text(json.dumps(body))
    return code


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_enroll_install_rerun_uninstall(shell, hub, lookout_bin, agents, tmp_path):
    path = script_path(shell, tmp_path)
    root = new_root(tmp_path)
    address = hub_address(hub)

    started = time.monotonic()
    code, _ = enroll(lookout_bin, hub)
    assert code not in (hub.data / "enrollments.json").read_text(), "the code itself must never be stored"
    result = run_script(shell, address, root, "--hub", address, "--code", code, path=path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(f"web-1 reports to {address} (0.1.0"), result.stdout

    # After the script's collect, the VM is on the dashboard's summary.
    summary = hub.wait_for(lambda: "web-1" in hub.get_json("/api/monitoring/summary")["vms"], "web-1 on the summary")
    assert summary
    print(f"\nenroll-to-dashboard ({shell}): {time.monotonic() - started:.2f} s")

    binary = root / "usr/local/bin/lookout-agent"
    config = root / "etc/lookout/agent.json"
    token_file = root / "etc/lookout/token"
    assert stat.S_IMODE(binary.stat().st_mode) == 0o755
    assert binary.read_bytes() == (agents / ARCH / "lookout-agent").read_bytes()
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    assert json.loads(config.read_text()) == {
        "vm_id": "web-1",
        "push": {"url": f"{address}/api/monitoring/ingest", "token_file": "/etc/lookout/token"},
    }
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    service = [p for p in ("etc/systemd/system/lookout-agent.service", "etc/cron.d/lookout-agent") if (root / p).exists()]
    assert len(service) == 1, service
    assert "/usr/local/bin/lookout-agent" in (root / service[0]).read_text()
    # The agent's own config is valid for the agent.
    token = token_file.read_text().strip()
    check = subprocess.run([str(binary), "collect", "--stdout", "--config", str(config),
                            "--state", str(tmp_path / "check-state.json")], capture_output=True, text=True, timeout=60,
                           env=clean_env(LOOKOUT_TOKEN=token))
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["vm_id"] == "web-1"

    # The VM's token pushes its own documents only.
    now = int(time.time())
    assert hub.post_doc(make_doc("web-1", now + 1), token=token)[0] == 201
    assert hub.post_doc(make_doc("db-1", now + 2), token=token)[0] == 403
    # ...and opens nothing else.
    assert hub.get("/api/monitoring/summary", token=token)[0] == 403

    # Re-run with the code: it was spent, the VM is unchanged.
    before = tree(root)
    again = run_script(shell, address, root, "--hub", address, "--code", code, path=path)
    assert_refused(again, before, root, says=refusal(shell, "already used"))

    # Re-run without a code upgrades in place: a newer binary on the hub replaces the old one;
    # config and token stay.
    newer = (agents / ARCH / "lookout-agent").read_bytes().replace(b"LOOKOUT_VERSION=0.1.0", b"LOOKOUT_VERSION=0.1.9")
    staged = agents / ARCH / ".lookout-agent.new"
    staged.write_bytes(newer)
    staged.chmod(0o755)
    staged.rename(agents / ARCH / "lookout-agent")
    upgrade = run_script(shell, address, root, "--hub", address, path=path)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert "web-1 reports to" in upgrade.stdout and "0.1.9" in upgrade.stdout, upgrade.stdout
    assert binary.read_bytes() == newer
    assert token_file.read_text().strip() == token
    assert json.loads(config.read_text())["vm_id"] == "web-1"

    # --uninstall removes every file the install wrote; the root's own files stay.
    removed = run_script(shell, address, root, "--uninstall", path=path)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "removed from web-1" in removed.stdout, removed.stdout
    files = {k for k, (_, digest) in tree(root).items() if digest}
    assert files == {"etc/hostname"}, files


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_every_refusal_changes_nothing(shell, hub, lookout_bin, agents, tmp_path):
    path = script_path(shell, tmp_path)
    root = new_root(tmp_path)
    address = hub_address(hub)
    before = tree(root)
    code, _ = enroll(lookout_bin, hub)

    # A wrong code.
    wrong = run_script(shell, address, root, "--hub", address, "--code", "2222-2222", path=path)
    assert_refused(wrong, before, root, says=refusal(shell, "wrong"))
    # An expired code.
    expired = run_script(shell, address, root, "--hub", address, "--code", expired_code(hub), path=path)
    assert_refused(expired, before, root, says=refusal(shell, "expired"))
    # A code that is not even of the shape (control characters never reach the hub).
    control = run_script(shell, address, root, "--hub", address, "--code", "7F3K\x07Q9PX", path=path)
    assert_refused(control, before, root, says="not an enrollment code")
    # A hub that cannot be reached (the script itself comes from the real one).
    closed = f"http://127.0.0.1:{find_free_port()}"
    unreachable = run_script(shell, address, root, "--hub", closed, "--code", code, path=path)
    assert_refused(unreachable, before, root, says="cannot reach the hub")

    # No binary for this machine's architecture.
    (agents / ARCH).rename(agents / "riscv64")
    try:
        no_arch = run_script(shell, address, root, "--hub", address, "--code", code, path=path)
        assert_refused(no_arch, before, root, says=f"no agent for this machine's architecture {ARCH}")
    finally:
        (agents / "riscv64").rename(agents / ARCH)

    # A download that does not match the hub's checksum (a proxy that flips a byte).
    with CorruptingProxy(hub.port) as proxy:
        corrupt = run_script(shell, address, root, "--hub", proxy.address, "--code", code, path=path)
        assert_refused(corrupt, before, root, says="does not match the hub's checksum")
        assert proxy.enroll_calls == 0, "the code was traded before the download was checked"

    # None of the refusals after the trade step spent the code: it still installs.
    ok = run_script(shell, address, root, "--hub", address, "--code", code, path=path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (root / "etc/lookout/token").exists()


def test_enroll_refuses_bad_input(lookout_bin, hub, tmp_path):
    for vm in ("..", "a/b", "outbox", "x" * 65):
        result = run_lookout(lookout_bin, "enroll", vm, "--data", str(hub.data), "--hub", hub_address(hub))
        assert result.returncode == 64, (vm, result.stderr)
        assert "vm_id" in result.stderr
    for address in ("ftp://hub", "https://hub;reboot", "https://hub/$(id)", "hub.example.com"):
        result = run_lookout(lookout_bin, "enroll", "web-1", "--data", str(hub.data), "--hub", address)
        assert result.returncode == 64, (address, result.stderr)
        assert "hub address" in result.stderr
    result = run_lookout(lookout_bin, "enroll", "web-1", "--data", str(hub.data))
    assert result.returncode == 64 and "no hub address" in result.stderr
    # public_url in the config is the default address.
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"monitoring": {"public_url": "https://hub.example.com/"}}))
    result = run_lookout(lookout_bin, "enroll", "web-1", "--data", str(hub.data), "--config", str(config),
                         env={"LOOKOUT_TOKEN": MAIN})
    assert result.returncode == 0, result.stderr
    assert "sudo sh -s -- --hub https://hub.example.com --code " in result.stdout
    for valid in ("0m", "8d", "soon"):
        result = run_lookout(lookout_bin, "enroll", "web-1", "--data", str(hub.data), "--hub", hub_address(hub),
                             "--valid", valid)
        assert result.returncode == 64, (valid, result.stderr)


def test_install_routes_refuse_attacks(hub, lookout_bin):
    # A huge body on /install/enroll is refused before it is read.
    status, _, _ = hub.request("POST", "/install/enroll", b'{"code": "' + b"A" * (2 << 20) + b'"}', token="",
                               headers={"Content-Type": "application/json"})
    assert status == 413
    # A code with control characters: 400, and nothing of it echoed.
    status, _, raw = hub.request("POST", "/install/enroll", json.dumps({"code": "7F3K\u0000\u001bQ9PX"}).encode(),
                                 token="", headers={"Content-Type": "application/json"})
    assert status == 400 and b"\\u001b" not in raw and b"\x1b" not in raw, raw
    # An enrollment for vm_id '..' through the API.
    status, _, raw = hub.request("POST", "/api/monitoring/enrollments", json.dumps({"vm_id": "..", "hub": "http://h"}).encode(),
                                 headers={"Content-Type": "application/json"})
    assert status == 400, raw
    # An architecture that climbs out of the binaries folder.
    from raw_http import raw_request

    for target in ("/install/lookout-agent/../x", "/install/lookout-agent/..%2Fx", "/install/lookout-agent/%2E%2E"):
        answer = raw_request(hub.port, "GET", target)
        assert answer.status == 404, (target, answer.status)
        assert b"ELF" not in answer.body
    # A Host that is no hub address (here: shell syntax) never comes back as the push address.
    code, _ = enroll(lookout_bin, hub, "web-9")
    answer = raw_request(hub.port, "POST", "/install/enroll", body=json.dumps({"code": code}).encode(),
                         host="evil.example;reboot")
    assert answer.status == 200 and answer.json()["vm_id"] == "web-9", (answer.status, answer.body)
    assert "push_url" not in answer.json(), answer.body


class CorruptingProxy:
    """A real HTTP server on 127.0.0.1 in front of the hub that flips one byte of every agent
    binary it passes on, and counts the enrollment calls it sees."""

    def __init__(self, hub_port: int) -> None:
        self.hub_port = hub_port
        self.enroll_calls = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                with urllib.request.urlopen(f"http://127.0.0.1:{proxy.hub_port}{self.path}", timeout=30) as answer:
                    body = answer.read()
                if self.path.startswith("/install/lookout-agent/"):
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                proxy.enroll_calls += 1
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "CorruptingProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_installer_is_clean_posix_sh():
    shellcheck = require_tool("shellcheck")
    result = subprocess.run([shellcheck, "-s", "sh", str(REPO / "Public/install/agent.sh")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout
    for shell in ("dash", "busybox"):
        require_tool(shell)
    assert subprocess.run(["dash", "-n", str(REPO / "Public/install/agent.sh")]).returncode == 0
    assert subprocess.run(["busybox", "ash", "-n", str(REPO / "Public/install/agent.sh")]).returncode == 0


def test_the_add_vm_dialog_shows_a_working_command(start_hub, tmp_path):
    from dashboard_support import UI_TIMEOUT, chromium, shot

    hub = start_hub("--dashboard", str(REPO / "Public"), "--agent-binaries", str(tmp_path / "none"), token=MAIN)
    address = hub_address(hub)
    with chromium() as browser:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        ctx.add_init_script(f"localStorage.setItem('lookout.token', {json.dumps(MAIN)})")
        errors: list[str] = []
        page = ctx.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(hub.url("/"))
        page.wait_for_function("window.__lookoutReady === true")

        # A vm_id the hub refuses: the dialog says why, no code is made.
        page.locator("#add-vm").click()
        page.fill("#enroll-vm", "..")
        page.locator('#enroll-form button[type="submit"]').click()
        page.wait_for_function("document.querySelector('#enroll-form .token-error').textContent.includes('vm_id')")
        assert "No code made" in page.locator("#enroll-form").inner_text()
        assert not (hub.data / "enrollments.json").exists() or "vm_id" not in (hub.data / "enrollments.json").read_text()

        page.fill("#enroll-vm", "web-2")
        page.locator('#enroll-form button[type="submit"]').click()
        command = page.locator("#enroll-command")
        command.wait_for()
        text = command.inner_text().strip()
        match = re.fullmatch(
            rf"curl -fsSL {re.escape(address)}/install/agent\.sh \| sudo sh -s -- --hub {re.escape(address)} "
            r"--code ([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4})",
            text,
        )
        assert match, text
        page.locator("#enroll-copy").click()
        page.wait_for_function("['Copied', 'Select and copy'].includes(document.querySelector('#enroll-copy').textContent)")
        shot(page, "add-vm-dialog")
        assert errors == []

    # The code shown works once, for web-2.
    status, _, raw = hub.request("POST", "/install/enroll", json.dumps({"code": match.group(1)}).encode(), token="",
                                 headers={"Content-Type": "application/json"})
    assert status == 200, raw
    assert json.loads(raw)["vm_id"] == "web-2"


@pytest.mark.parametrize("shell", ["dash", "busybox ash"])
def test_a_plain_http_hub_on_another_machine_needs_insecure_http(shell: str, tmp_path: Path) -> None:
    """Over plain http anyone on the path could hand the root shell another agent with its
    checksum: agent.sh refuses before any download, and changes nothing."""
    root = tmp_path / "root"
    root.mkdir()
    script = Path(__file__).resolve().parent.parent / "Public" / "install" / "agent.sh"
    result = subprocess.run([*shell.split(), str(script), "--hub", "http://10.0.0.5:8080", "--code", "7F3K-Q9PX",
                             "--root", str(root), "--no-start"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is plain http" in lines[0] and "--insecure-http" in lines[0], result.stderr
    assert list(root.iterdir()) == []


def test_upgrade_refuses_a_plain_http_hub_on_another_machine(bin_dir: Path, tmp_path: Path) -> None:
    agent_bin = bin_dir / "lookout-agent"
    copy = tmp_path / "lookout-agent"
    copy.write_bytes(agent_bin.read_bytes())
    copy.chmod(0o755)
    result = subprocess.run([str(copy), "upgrade", "--from", "http://10.0.0.5:8080"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "is plain http on another machine" in result.stderr and "--insecure-http" in result.stderr
    assert copy.read_bytes() == agent_bin.read_bytes()

"""The Debian packages (scripts/package), installed with `dpkg -i` into a fresh Debian root
made by `debootstrap --variant=minbase` (no Swift there), then used, upgraded, removed and
purged, each step saying what it checks.

Needs root (debootstrap, chroot, mount) and, the first time on a machine each day, the
network: the root is cached as `.build-deb/<suite>-minbase-<date>.tar.gz`, so a rerun costs
seconds. A machine where debootstrap cannot run fails here with the reason; nothing is
skipped. Release binaries come from `dist/<arch>/` (scripts/build-release is run when they
are missing or older than the sources).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest

from conftest import REPO, find_free_port, http

SUITE = "bookworm"
ARCH = os.uname().machine
DEBARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(ARCH, ARCH)
#: Failure bounds only: a release build on a loaded 2-core machine, a debootstrap download.
BUILD_TIMEOUT = 7200
DEBOOTSTRAP_TIMEOUT = 1800
STEP_TIMEOUT = 300
READY_TIMEOUT = 60.0
FIGURES = REPO / "test-artifacts" / "packages-figures.json"


def run(cmd: list[str], timeout: float = STEP_TIMEOUT, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def require_root_and_tools() -> None:
    if os.geteuid() != 0:
        pytest.fail("the package test must run as root (debootstrap, chroot and mount need it); CI runs as root")
    missing = [t for t in ("debootstrap", "dpkg-deb", "dpkg-shlibdeps", "lintian", "chroot") if not shutil.which(t)]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run scripts/install-deps --test")


# MARK: - the packages


def release_is_stale() -> bool:
    binaries = [REPO / "dist" / ARCH / name for name in ("lookout-agent", "lookout")]
    if not all(b.exists() for b in binaries):
        return True
    built = min(b.stat().st_mtime for b in binaries)
    sources = [*REPO.glob("Sources/**/*.swift"), REPO / "Package.swift", REPO / "scripts" / "build-release"]
    return any(s.stat().st_mtime > built for s in sources)


def source_version() -> str:
    text = (REPO / "Sources" / "LookoutCore" / "Version.swift").read_text()
    found = re.search(r'"LOOKOUT_VERSION=([0-9A-Za-z.+~-]+)"', text)
    assert found, "Version.swift holds no LOOKOUT_VERSION= literal"
    return found.group(1)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Both versions' packages: {"version", "higher", "out", "debs": {version: [agent, hub]}}."""
    require_root_and_tools()
    if release_is_stale():
        built = run([str(REPO / "scripts" / "build-release")], timeout=BUILD_TIMEOUT)
        assert built.returncode == 0, f"scripts/build-release failed:\n{built.stderr[-3000:]}"
    out = tmp_path_factory.mktemp("packages")
    version = source_version()
    higher = f"{version}+1"
    assert run(["dpkg", "--compare-versions", higher, "gt", version]).returncode == 0, f"{higher} > {version}"
    debs: dict[str, list[Path]] = {}
    for v, extra in ((version, []), (higher, ["--version", higher])):
        made = run([str(REPO / "scripts" / "package"), "--out", str(out), *extra], timeout=BUILD_TIMEOUT)
        assert made.returncode == 0, f"scripts/package {' '.join(extra)} failed:\n{made.stderr[-3000:]}"
        debs[v] = [out / f"lookout-agent_{v}_{DEBARCH}.deb", out / f"lookout_{v}_{DEBARCH}.deb"]
        for deb in debs[v]:
            assert deb.exists(), f"scripts/package wrote no {deb.name}:\n{made.stdout}"
    return {"version": version, "higher": higher, "out": out, "debs": debs}


def test_depends_names_the_package_of_every_library_the_binaries_link(packages: dict) -> None:
    """Depends is computed, not written by hand: every NEEDED library of the binary is provided
    by a package the control file names (the check dpkg-shlibdeps does, redone independently)."""
    for deb, binary in zip(packages["debs"][packages["version"]], ("usr/bin/lookout-agent", "usr/bin/lookout")):
        depends = run(["dpkg-deb", "-f", str(deb), "Depends"]).stdout
        named = {part.strip().split(" ")[0] for part in depends.split(",")}
        extracted = Path(packages["out"]) / f"x-{deb.stem}"
        assert run(["dpkg-deb", "-x", str(deb), str(extracted)]).returncode == 0
        dynamic = run(["readelf", "-d", str(extracted / binary)]).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic)
        assert needed, f"{binary} links no shared library?\n{dynamic}"
        search = re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r\w*path: \[(.*?)\]", dynamic)
        assert search in ([], ["$ORIGIN"]), f"{binary} searches libraries in {search} (a toolchain's folder?)"
        resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", run(["ldd", str(extracted / binary)]).stdout, re.M))
        for library in needed:
            if library.startswith("ld-linux"):
                continue  # the dynamic linker itself, part of libc6 with libc.so.6
            path = resolved.get(library)
            assert path, f"{binary} needs {library}, which this machine's dynamic linker does not find"
            real = os.path.realpath(path)
            candidates = {path, real, *(p.removeprefix("/usr") for p in (path, real)),
                          *("/usr" + p for p in (path, real) if not p.startswith("/usr"))}
            owners = {line.split(":")[0] for c in candidates for line in run(["dpkg", "-S", c]).stdout.splitlines()}
            assert owners, f"{binary} needs {library} ({path}), which no Debian package provides on this machine"
            assert owners & named, f"{binary} needs {library} from {owners}, but Depends is {depends!r}"


def test_lintian_reports_no_errors_and_every_warning_is_explained(packages: dict) -> None:
    """lintian on both packages: no error; each warning tag is explained in docs/decisions.md."""
    result = run(["lintian", *map(str, packages["debs"][packages["version"]])], timeout=900)
    lines = [line for line in result.stdout.splitlines() if re.match(r"^[EWI]: ", line)]
    errors = [line for line in lines if line.startswith("E: ")]
    assert not errors, "lintian errors:\n" + "\n".join(errors)
    decisions = (REPO / "docs" / "decisions.md").read_text()
    explained = decisions[decisions.index("## Issue 13 — Debian packages") :]
    for line in lines:
        if line.startswith("W: "):
            tag = line.split(": ")[2].split(" ")[0]
            assert f"`{tag}`" in explained, f"lintian warning not explained in docs/decisions.md: {line}"


def test_checksums_and_tarball(packages: dict) -> None:
    """SHA256SUMS verifies every package and tarball; the tarball has both binaries,
    the dashboard, deploy/ and the README under one folder."""
    out = Path(packages["out"])
    checked = run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=out)
    assert checked.returncode == 0, f"sha256sum --check failed:\n{checked.stdout}{checked.stderr}"
    listed = {line.split("  ", 1)[1] for line in (out / "SHA256SUMS").read_text().splitlines()}
    version = packages["version"]
    tar_name = f"lookout-{version}-linux-{ARCH}.tar.gz"
    assert {deb.name for deb in packages["debs"][version]} | {tar_name} <= listed, f"SHA256SUMS lists {listed}"
    with tarfile.open(out / tar_name) as tar:
        names = set(tar.getnames())
        top = f"lookout-{version}-linux-{ARCH}"
        for member in ("lookout", "lookout-agent", "Public/monitoring.html", "Public/js/main.js", "README.md",
                       "deploy/systemd/lookout.service", "deploy/debian/lookout/postinst"):
            assert f"{top}/{member}" in names, f"the tarball lacks {top}/{member}"
        assert tar.getmember(f"{top}/lookout-agent").mode & 0o111, "lookout-agent in the tarball is not executable"


# MARK: - the Debian root


#: What the hub's Depends needs beyond a minbase system (minbase has no SQLite); the test then
#: installs with plain `dpkg -i`, so a Depends naming anything else fails the install.
EXTRA_PACKAGES = ["libsqlite3-0"]


def cached_root() -> Path:
    """The minbase root (plus EXTRA_PACKAGES) as a tarball, made by debootstrap once per day and suite."""
    extra = "+".join(EXTRA_PACKAGES)
    cache = REPO / ".build-deb" / f"{SUITE}-minbase+{extra}-{datetime.now(timezone.utc):%Y-%m-%d}.tar.gz"
    if cache.exists():
        return cache
    cache.parent.mkdir(exist_ok=True)
    scratch = cache.parent / f"debootstrap-{os.getpid()}"
    try:
        made = run(["debootstrap", "--variant=minbase", f"--include={','.join(EXTRA_PACKAGES)}", SUITE, str(scratch),
                    "http://deb.debian.org/debian"], timeout=DEBOOTSTRAP_TIMEOUT)
        if made.returncode != 0:
            pytest.fail(
                f"debootstrap --variant=minbase {SUITE} could not run here (network to deb.debian.org? root?):\n"
                + (made.stdout + made.stderr)[-2000:])
        partial = cache.with_suffix(".tmp")
        assert run(["tar", "-C", str(scratch), "--numeric-owner", "-czf", str(partial), "."]).returncode == 0
        partial.rename(cache)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return cache


class Chroot:
    """A Debian root with /proc, /sys and /dev mounted; `close` unmounts all of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mounts: list[Path] = []

    def mount(self, *args: str, target: str) -> None:
        path = self.root / target
        path.mkdir(parents=True, exist_ok=True)
        done = run(["mount", *args, str(path)])
        assert done.returncode == 0, f"mount {' '.join(args)} {path}: {done.stderr}"
        self.mounts.append(path)

    def close(self) -> None:
        for path in reversed(self.mounts):
            if run(["umount", str(path)]).returncode != 0:
                run(["umount", "-l", str(path)])
        self.mounts.clear()

    def env(self) -> dict[str, str]:
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
                "HOME": "/root"}

    def sh(self, script: str, timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return run(["chroot", str(self.root), "/bin/sh", "-c", script], timeout=timeout, env=self.env())

    def ok(self, script: str, what: str) -> str:
        done = self.sh(script)
        assert done.returncode == 0, f"{what}: `{script}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")


@pytest.fixture
def debian_root(packages: dict, tmp_path: Path) -> Iterator[Chroot]:
    cache = cached_root()
    root = tmp_path / "root"
    root.mkdir()
    unpacked = run(["tar", "-C", str(root), "--numeric-owner", "-xpzf", str(cache)])
    assert unpacked.returncode == 0, f"unpacking {cache}: {unpacked.stderr}"
    chroot = Chroot(root)
    try:
        chroot.mount("-t", "proc", "proc", target="proc")
        chroot.mount("-t", "sysfs", "-o", "ro", "sysfs", target="sys")
        chroot.mount("--bind", "/dev", target="dev")
        yield chroot
    finally:
        chroot.close()
        shutil.rmtree(root, ignore_errors=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unit_exec_start(unit: Path) -> str:
    text = unit.read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return " ".join(line.removeprefix("ExecStart=").split())


def start_hub(chroot: Chroot, port: int) -> subprocess.Popen[bytes]:
    """`lookout serve` in the root as the package's user, with the packaged config and no
    --dashboard (it must find /usr/share/lookout/public itself)."""
    log = open(chroot.root.parent / f"hub-{port}.log", "ab")
    return subprocess.Popen(
        ["chroot", "--userspec=lookout:lookout", str(chroot.root), "/usr/bin/lookout", "serve",
         "--data", "/var/lib/lookout", "--config", "/etc/lookout/hub.json", "--listen", f"127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, env=chroot.env(), cwd="/")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if condition():
            return
        if process.poll() is not None:
            pytest.fail(f"{what}: the hub exited {process.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {READY_TIMEOUT} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def answers(url: str) -> tuple[int, bytes] | None:
    try:
        status, _, body = http("GET", url, timeout=5)
        return status, body
    except OSError:
        return None


def test_install_use_upgrade_remove_purge_in_a_minbase_root(packages: dict, debian_root: Chroot) -> None:
    chroot = debian_root
    version, higher = packages["version"], packages["higher"]
    inbox = chroot.path("/tmp/packages")
    inbox.mkdir()
    for deb in packages["debs"][version] + packages["debs"][higher]:
        shutil.copy(deb, inbox / deb.name)
    first = " ".join(f"/tmp/packages/{deb.name}" for deb in packages["debs"][version])
    second = " ".join(f"/tmp/packages/{deb.name}" for deb in packages["debs"][higher])
    figures: dict[str, object] = {"deb_bytes": {deb.name: deb.stat().st_size for deb in packages["debs"][version]}}

    # 1. A fresh minbase root: no Swift toolchain, no Swift runtime.
    assert chroot.sh("command -v swift").returncode != 0, "the Debian root must have no swift"
    assert not list(chroot.root.glob("usr/lib/**/libswiftCore.so")), "the Debian root must have no Swift runtime"

    # 2. dpkg -i of both packages succeeds without systemd, and says what to do instead.
    started = time.monotonic()
    installed = chroot.ok(f"dpkg -i {first}", "installing both packages")
    figures["seconds_dpkg_i_both"] = round(time.monotonic() - started, 2)
    assert "systemd is not running here" in installed, f"postinst should say systemd is absent:\n{installed}"
    assert "lookout-agent collect --stdout" in installed, f"postinst should say how to take a sample:\n{installed}"
    for path, mode in (("/usr/bin/lookout-agent", 0o755), ("/usr/bin/lookout", 0o755),
                       ("/etc/lookout/agent.json", 0o644), ("/etc/lookout/hub.json", 0o644),
                       ("/lib/systemd/system/lookout-agent.service", 0o644),
                       ("/lib/systemd/system/lookout.service", 0o644),
                       ("/usr/share/doc/lookout-agent/examples/lookout-agent.cron", 0o644),
                       ("/usr/share/lookout/public/monitoring.html", 0o644),
                       ("/usr/share/lookout/public/js/main.js", 0o644),
                       (f"/usr/lib/lookout/agents/{ARCH}/lookout-agent", 0o755)):
        stat = chroot.path(path).stat()
        assert stat.st_mode & 0o777 == mode and stat.st_uid == 0, f"{path}: mode {stat.st_mode:o} uid {stat.st_uid}"
    assert "/usr/bin/lookout-agent" in chroot.path(
        "/usr/share/doc/lookout-agent/examples/lookout-agent.cron").read_text(), "the example cron file names /usr/bin"
    conffiles = chroot.ok("dpkg-query -W -f='${Conffiles}\\n' lookout-agent lookout", "listing conffiles")
    assert "/etc/lookout/agent.json" in conffiles and "/etc/lookout/hub.json" in conffiles, conffiles

    # 3. The agent runs without Swift: --version, and one sample on stdout with the packaged config.
    assert chroot.ok("lookout-agent --version", "lookout-agent --version").strip() == version
    collecting = time.monotonic()
    sample = chroot.ok("lookout-agent collect --stdout --config /etc/lookout/agent.json 2>/dev/null", "one sample")
    figures["seconds_collect_to_first_document"] = round(time.monotonic() - collecting, 2)
    document = json.loads(sample)
    host = socket.gethostname().split(".")[0]
    assert document["vm_id"] == host, f"the packaged config reports this host ({host}), got {document['vm_id']}"
    assert document["system"]["memory"]["total_mb"] > 0 and "cpu" in document["system"], document

    # 4. The agent unit's own command with the packaged config: no destination, so one line and exit 0
    #    (systemd does not restart it), instead of a restart loop or documents in the journal.
    command = unit_exec_start(chroot.path("/lib/systemd/system/lookout-agent.service"))
    assert command.startswith("/usr/bin/lookout-agent run "), command
    idle = chroot.sh(command, timeout=60)
    assert idle.returncode == 0, f"the unit's command should exit 0 with no destination: {idle.stderr}"
    assert "no destination configured" in idle.stderr and idle.stdout == "", f"stdout {idle.stdout!r} {idle.stderr}"

    # 5. The hub's user and data folder, and the hub itself: /healthz, the packaged dashboard, its own VM.
    passwd = chroot.ok("getent passwd lookout", "the lookout user exists").split(":")
    assert passwd[5] == "/var/lib/lookout" and passwd[6].strip() == "/usr/sbin/nologin", passwd
    assert int(passwd[2]) < 1000, f"lookout is a system user, uid {passwd[2]}"
    data = chroot.path("/var/lib/lookout").stat()
    assert data.st_uid == int(passwd[2]) and data.st_mode & 0o777 == 0o750, "/var/lib/lookout is lookout's, 0750"
    port = find_free_port()
    serving = time.monotonic()
    hub = start_hub(chroot, port)
    log = chroot.root.parent / f"hub-{port}.log"
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: (answers(f"{base}/healthz") or (0,))[0] == 200, "/healthz answered 200", hub, log)
        status, page = answers(f"{base}/") or (0, b"")
        assert status == 200 and page == chroot.path("/usr/share/lookout/public/monitoring.html").read_bytes(), (
            "the dashboard is served from /usr/share/lookout/public without --dashboard")

        def own_vm() -> bool:
            reply = answers(f"{base}/api/monitoring/summary")
            return bool(reply and reply[0] == 200 and host in json.loads(reply[1]).get("vms", {}))

        wait_for(own_vm, f"the summary lists the hub's own VM {host}", hub, log)
        figures["seconds_serve_to_summary_with_own_vm"] = round(time.monotonic() - serving, 2)
    finally:
        stop(hub)
    assert hub.returncode == 0, f"the hub stopped with {hub.returncode}:\n{log.read_text()[-2000:]}"
    database = chroot.path("/var/lib/lookout/lookout.sqlite")
    assert database.exists() and database.stat().st_uid == int(passwd[2]), "the hub wrote its history as lookout"
    history = sha256(database)

    # 6. An operator edits both conffiles.
    agent_json = chroot.path("/etc/lookout/agent.json")
    edited_agent = agent_json.read_text().replace('// "vm_id": "web-1",', '"vm_id": "edited-vm",')
    assert edited_agent != agent_json.read_text(), "the packaged agent.json offers a vm_id line to uncomment"
    agent_json.write_text(edited_agent)
    hub_json = chroot.path("/etc/lookout/hub.json")
    edited_hub = hub_json.read_text().replace('"stale_after_minutes": 15', '"stale_after_minutes": 20')
    assert edited_hub != hub_json.read_text(), "the packaged hub.json has stale_after_minutes"
    hub_json.write_text(edited_hub)

    # 7. Upgrade to the higher version: edited conffiles kept, the history untouched, the user kept.
    chroot.ok(f"dpkg -i --force-confold {second}", f"upgrading to {higher}")
    versions = chroot.ok("dpkg-query -W -f='${Package} ${Version}\\n' lookout lookout-agent", "versions")
    assert f"lookout {higher}" in versions and f"lookout-agent {higher}" in versions, versions
    assert agent_json.read_text() == edited_agent, "the upgrade kept the edited /etc/lookout/agent.json"
    assert hub_json.read_text() == edited_hub, "the upgrade kept the edited /etc/lookout/hub.json"
    assert sha256(database) == history, "the upgrade left /var/lib/lookout/lookout.sqlite as it was"
    after = json.loads(chroot.ok("lookout-agent collect --stdout --config /etc/lookout/agent.json 2>/dev/null",
                                 "a sample after the upgrade"))
    assert after["vm_id"] == "edited-vm", "the upgraded agent reads the edited config"
    assert chroot.path("/var/lib/lookout-agent/state.json").exists(), "collect as root keeps its state"

    # 8. Remove: the programs go, the data, the user and the edited conffiles stay.
    chroot.ok("dpkg -r lookout lookout-agent", "removing both packages")
    for gone in ("/usr/bin/lookout", "/usr/bin/lookout-agent", "/usr/share/lookout/public/monitoring.html",
                 "/lib/systemd/system/lookout.service"):
        assert not chroot.path(gone).exists(), f"remove deleted {gone}"
    assert sha256(database) == history, "remove kept the hub's history in /var/lib/lookout"
    assert chroot.path("/var/lib/lookout-agent/state.json").exists(), "remove kept the agent's state"
    assert chroot.sh("getent passwd lookout").returncode == 0, "remove kept the lookout user"
    assert agent_json.read_text() == edited_agent, "remove kept the edited conffile"

    # 9. Purge: data, state, conffiles and the user are gone, asking nothing.
    purged = chroot.sh("dpkg -P lookout lookout-agent </dev/null")
    assert purged.returncode == 0, f"purge failed:\n{purged.stdout}{purged.stderr}"
    for gone in ("/var/lib/lookout", "/var/lib/lookout-agent", "/etc/lookout/agent.json", "/etc/lookout/hub.json",
                 "/etc/lookout"):
        assert not chroot.path(gone).exists(), f"purge deleted {gone}"
    assert chroot.sh("getent passwd lookout").returncode != 0, "purge deleted the lookout user"
    assert chroot.sh("getent group lookout").returncode != 0, "purge deleted the lookout group"
    assert chroot.sh("dpkg-query -W lookout lookout-agent").returncode != 0, "dpkg knows neither package any more"

    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))

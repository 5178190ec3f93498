"""Ping checks through the real `lookout-agent collect` binary and real ICMP sockets.

The loopback answers; a blackholed address is made deterministic in a network namespace of
the test's own (`unshare -n`): there the route to 192.0.2.0/24 (TEST-NET-1) leads into the
loopback device, which drops packets that are not for it, so echoes leave and nothing answers.
The same namespace sets `net.ipv4.ping_group_range` to show each socket kind: the datagram
one when the range allows it, and a clear error as an unprivileged user when nothing does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import clean_env

# A failure bound only: a bounded check returns long before this.
RUN_TIMEOUT = 60


@pytest.fixture(scope="module")
def agent_bin(bin_dir: Path) -> Path:
    path = bin_dir / "lookout-agent"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build it with `swift build --build-tests`", pytrace=False)
    return path


def require_namespaces() -> None:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        pytest.fail("these tests need root with unshare and setpriv (util-linux) to build their network",
                    pytrace=False)


def collect(agent_bin: Path, tmp_path: Path, services: list[dict], *, prefix: list[str] | None = None,
            setup: str = "", log_level: str = "info") -> tuple[subprocess.CompletedProcess[str], float]:
    """Runs one `collect --stdout` with `services` as the agent config; `prefix` wraps the
    command (unshare, setpriv) and `setup` is shell run first inside that wrapper."""
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({"services": services}))
    config.chmod(0o644)
    agent = [str(agent_bin), "collect", "--stdout", "--vm-id", "ping-test", "--config", str(config),
             "--state", str(tmp_path / "state.json"), "--docker-socket", str(tmp_path / "no-docker.sock"),
             "--log-level", log_level]
    command = agent
    if prefix is not None:
        script = (setup + "\n" if setup else "") + 'exec "$@"'
        command = prefix + ["sh", "-ec", script, "sh", *agent]
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=clean_env())
    return result, time.monotonic() - start


def services_of(result: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    assert result.returncode == 0, result.stderr
    return {s["id"]: s for s in json.loads(result.stdout)["services"]}


NAMESPACE = ["unshare", "--net"]
LOOPBACK_UP = "ip link set lo up"
BLACKHOLE = LOOPBACK_UP + "\nip route add 192.0.2.0/24 dev lo"


def test_loopback_answers_every_echo(agent_bin: Path, tmp_path: Path) -> None:
    result, _ = collect(agent_bin, tmp_path, [{"id": "lo", "ping": "127.0.0.1", "count": 3}])
    lo = services_of(result)["lo"]
    assert lo["healthy"] is True, lo
    assert lo["loss_percent"] == 0
    assert 0 <= lo["response_ms"] < 1000
    assert "error" not in lo


def test_the_ipv6_loopback_answers_too(agent_bin: Path, tmp_path: Path) -> None:
    if not Path("/proc/net/if_inet6").read_text().strip():
        pytest.fail("this machine has no IPv6 address at all (not even ::1)", pytrace=False)
    result, _ = collect(agent_bin, tmp_path, [{"id": "v6", "ping": "::1", "count": 2},
                                              {"id": "v6b", "ping": "[::1]", "count": 1}])
    services = services_of(result)
    assert services["v6"]["loss_percent"] == 0, services
    assert services["v6b"]["healthy"] is True, services


def test_a_host_name_is_resolved_once_and_pinged(agent_bin: Path, tmp_path: Path) -> None:
    result, _ = collect(agent_bin, tmp_path, [{"id": "name", "ping": "localhost", "count": 2}])
    assert services_of(result)["name"]["loss_percent"] == 0


def test_a_blackholed_address_loses_everything_within_the_timeout(agent_bin: Path, tmp_path: Path) -> None:
    require_namespaces()
    result, took = collect(
        agent_bin, tmp_path,
        [{"id": "void", "ping": "192.0.2.1", "count": 3, "timeout_ms": 1500},
         {"id": "lo", "ping": "127.0.0.1", "count": 2}],
        prefix=NAMESPACE, setup=BLACKHOLE)
    services = services_of(result)
    void = services["void"]
    assert void["healthy"] is False
    assert void["loss_percent"] == 100
    assert void["error"] == "3 of 3 echoes lost (100 % loss, unhealthy from 50 %)"
    # Each echo waited its share (500 ms): the check took at least its timeout (no upper
    # figure: a loaded machine may wake late; `took` bounds the whole run).
    assert void["response_ms"] >= 1400, void
    assert took < 30
    assert services["lo"]["healthy"] is True


def test_an_unroutable_address_reports_why(agent_bin: Path, tmp_path: Path) -> None:
    require_namespaces()
    # Only the loopback is up: there is no route at all, sending fails at once.
    result, _ = collect(agent_bin, tmp_path, [{"id": "gw", "ping": "198.51.100.7", "count": 2}],
                        prefix=NAMESPACE, setup=LOOPBACK_UP)
    gw = services_of(result)["gw"]
    assert gw["healthy"] is False
    assert gw["loss_percent"] == 100
    assert gw["error"] == "2 of 2 echoes lost (100 % loss, unhealthy from 50 %): network unreachable"


def test_max_loss_percent_decides_health(agent_bin: Path, tmp_path: Path) -> None:
    require_namespaces()
    result, _ = collect(
        agent_bin, tmp_path,
        [{"id": "strict", "ping": "127.0.0.1", "count": 1, "max_loss_percent": 0.5},
         {"id": "lenient", "ping": "192.0.2.9", "count": 1, "timeout_ms": 300, "max_loss_percent": 100}],
        prefix=NAMESPACE, setup=BLACKHOLE)
    services = services_of(result)
    assert services["strict"]["healthy"] is True
    # 100 % loss is not below 100: even the most lenient check fails when nothing answers.
    assert services["lenient"]["healthy"] is False
    assert services["lenient"]["loss_percent"] == 100


@pytest.mark.parametrize(("group_range", "kind"), [
    ("0 2147483647", "datagram ICMP socket"),  # every group may: no privilege needed
    ("1 0", "raw ICMP socket"),  # no group may (the kernel's default): root's raw socket
])
def test_the_socket_kind_follows_the_group_range(agent_bin: Path, tmp_path: Path, group_range: str,
                                                 kind: str) -> None:
    require_namespaces()
    result, _ = collect(
        agent_bin, tmp_path, [{"id": "lo", "ping": "127.0.0.1", "count": 2}],
        prefix=NAMESPACE, setup=LOOPBACK_UP + f"\necho '{group_range}' > /proc/sys/net/ipv4/ping_group_range",
        log_level="debug")
    assert services_of(result)["lo"]["loss_percent"] == 0
    assert f"socket={kind}" in result.stderr, result.stderr


def test_no_icmp_socket_at_all_is_a_clear_error_not_a_crash(agent_bin: Path) -> None:
    require_namespaces()
    # pytest's own folders are root's alone; nobody needs to read the config and write the state.
    folder = Path(tempfile.mkdtemp(prefix="lookout-ping-"))
    folder.chmod(0o777)
    # Set the range as root, then run the agent as nobody without any capability.
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all"]
    try:
        result, _ = collect(
            agent_bin, folder, [{"id": "lo", "ping": "127.0.0.1"}, {"id": "port", "tcp": "127.0.0.1:9"}],
            prefix=NAMESPACE,
            setup=LOOPBACK_UP + "\necho '1 0' > /proc/sys/net/ipv4/ping_group_range\nset -- " + " ".join(drop)
            + ' "$@"')
    finally:
        shutil.rmtree(folder)
    services = services_of(result)
    lo = services["lo"]
    assert lo["healthy"] is False
    assert "loss_percent" not in lo
    assert lo["error"].startswith("cannot open an ICMP socket: datagram: permission denied"), lo
    assert 'net.ipv4.ping_group_range is "1 0"' in lo["error"]
    assert "needs root or CAP_NET_RAW" in lo["error"]
    # The other checks still ran.
    assert services["port"]["healthy"] is False


@pytest.mark.parametrize(("check", "mentions"), [
    ({"id": "a", "ping": ""}, ["services[0].ping", "empty"]),
    ({"id": "a", "ping": "10.0.0.1:80"}, ["services[0].ping", "has a port"]),
    ({"id": "a", "ping": "https://gw"}, ["services[0].ping", "without a scheme"]),
    ({"id": "a", "ping": "10.0.0.1", "count": 0}, ["services[0].count", "0 is not between 1 and 100"]),
    ({"id": "a", "ping": "10.0.0.1", "count": 101}, ["services[0].count", "101"]),
    ({"id": "a", "ping": "10.0.0.1", "max_loss_percent": 0}, ["services[0].max_loss_percent", "above 0"]),
    ({"id": "a", "ping": "10.0.0.1", "max_loss_percent": 150}, ["services[0].max_loss_percent", "150"]),
    ({"id": "a", "tcp": "10.0.0.1:22", "count": 3}, ["services[0].count", "only a \"ping\" check"]),
    ({"id": "a", "ping": "10.0.0.1", "tcp": "10.0.0.1:22"}, ["services[0].ping", "both set"]),
])
def test_a_bad_ping_entry_stops_the_agent_naming_it(agent_bin: Path, tmp_path: Path, check: dict,
                                                      mentions: list[str]) -> None:
    result, _ = collect(agent_bin, tmp_path, [check])
    assert result.returncode != 0
    assert result.stdout == ""
    for text in mentions:
        assert text in result.stderr, result.stderr

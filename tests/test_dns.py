"""DNS checks through the real `lookout-agent collect` binary against a tiny DNS server on
127.0.0.1 (tests/dns_server.py) named by the check's `server` option."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import Hub, clean_env
from dns_server import DNSServer
from test_ping import agent_bin  # noqa: F401 (a fixture)

RUN_TIMEOUT = 60

ZONE: dict[tuple[str, str], list[Any]] = {
    ("example.test", "A"): ["192.0.2.10", "192.0.2.11"],
    ("example.test", "AAAA"): ["2001:db8::10"],
    ("example.test", "MX"): [(10, "mail.example.test")],
    ("example.test", "TXT"): ["v=spf1 -all"],
    ("www.example.test", "CNAME"): ["example.test"],
    ("empty.example.test", "TXT"): [],
    ("long.example.test", "TXT"): ["v=spf1 " + "x" * 200] * 8,
}


@pytest.fixture
def dns() -> Any:
    with DNSServer(ZONE, servfail={"broken.test"}, silent={"slow.test"}) as server:
        yield server


def collect(agent_bin: Path, tmp_path: Path, services: list[dict]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({"services": services}))
    return subprocess.run(
        [str(agent_bin), "collect", "--stdout", "--vm-id", "dns-test", "--config", str(config),
         "--state", str(tmp_path / "state.json"), "--docker-socket", str(tmp_path / "no-docker.sock")],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, env=clean_env())


def statuses(agent_bin: Path, tmp_path: Path, services: list[dict]) -> dict[str, dict]:
    result = collect(agent_bin, tmp_path, services)
    assert result.returncode == 0, result.stderr
    return {s["id"]: s for s in json.loads(result.stdout)["services"]}


def test_answers_that_hold_every_expected_value_are_healthy(agent_bin: Path, tmp_path: Path, dns: DNSServer) -> None:
    server = f"127.0.0.1:{dns.port}"
    got = statuses(agent_bin, tmp_path, [
        {"id": "a", "dns": "example.test", "type": "A", "expect": ["192.0.2.11"], "server": server},
        {"id": "any", "dns": "Example.Test.", "server": server},
        {"id": "aaaa", "dns": "example.test", "type": "AAAA", "expect": ["2001:DB8:0::10"], "server": server},
        {"id": "mx", "dns": "example.test", "type": "mx", "expect": ["10 Mail.Example.Test."], "server": server},
        {"id": "txt", "dns": "example.test", "type": "TXT", "expect": ["v=spf1 -all"], "server": server},
        {"id": "cname", "dns": "www.example.test", "type": "CNAME", "expect": ["example.test"], "server": server},
    ])
    for check in ("a", "any", "aaaa", "mx", "txt", "cname"):
        assert got[check]["healthy"] is True, got[check]
        assert "error" not in got[check]
        assert 0 <= got[check]["response_ms"] < 5000
    assert ("example.test", "MX") in dns.queries


def test_what_is_wrong_with_an_answer_is_said(agent_bin: Path, tmp_path: Path, dns: DNSServer) -> None:
    server = f"127.0.0.1:{dns.port}"
    got = statuses(agent_bin, tmp_path, [
        {"id": "moved", "dns": "example.test", "expect": ["192.0.2.99"], "server": server},
        {"id": "gone", "dns": "nope.test", "server": server},
        {"id": "fail", "dns": "broken.test", "server": server},
        {"id": "none", "dns": "empty.example.test", "type": "TXT", "server": server},
        {"id": "slow", "dns": "slow.test", "server": server, "timeout_ms": 900},
    ])
    assert got["moved"]["error"] == "answered 192.0.2.10, 192.0.2.11; expected 192.0.2.99"
    assert got["gone"]["error"] == "NXDOMAIN: nope.test does not exist"
    assert got["fail"]["error"] == "the server answered SERVFAIL"
    assert got["none"]["error"] == "no TXT record for empty.example.test"
    assert got["slow"]["error"] == "timed out after 900 ms"
    # Asked again after each third of the timeout: UDP may lose a query.
    assert dns.queries.count(("slow.test", "A")) == 3
    assert all(g["healthy"] is False for g in got.values())


def test_a_long_reason_is_cut_so_the_hub_still_takes_the_document(
        agent_bin: Path, tmp_path: Path, dns: DNSServer, start_hub: Any) -> None:
    # 64 missing TXT values of 200 bytes and 8 long answers: about 15 kB of reason, which the
    # hub (at most 4096 bytes per error) would refuse, and the whole document with it.
    server = f"127.0.0.1:{dns.port}"
    expect = [f"{i:02d}" + "é" * 99 for i in range(64)]
    check = {"id": "spf", "dns": "long.example.test", "type": "TXT", "expect": expect, "server": server}
    result = collect(agent_bin, tmp_path, [check])
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    error = document["services"][0]["error"]
    assert error.startswith("answered v=spf1 xxx")
    assert error.endswith("…")
    assert len(error) <= 1024
    assert len(error.encode()) <= 4096
    hub: Hub = start_hub()
    status, body = hub.post_doc(document)
    assert status == 201, body
    assert hub.get_json("/api/monitoring/vm/dns-test")["services"][0]["error"] == error


BIG_TXT = [f"{i:02d}-" + "v" * 197 for i in range(30)]  # about 6.5 kB: more than the 4096 bytes offered


def test_the_query_offers_edns0_and_a_truncated_answer_is_asked_again_over_tcp(
        agent_bin: Path, tmp_path: Path) -> None:
    zone = {("big.test", "TXT"): BIG_TXT, ("small.test", "A"): ["192.0.2.1"]}
    with DNSServer(zone, tcp=True) as dns:
        server = f"127.0.0.1:{dns.port}"
        got = statuses(agent_bin, tmp_path, [
            {"id": "big", "dns": "big.test", "type": "TXT", "expect": [BIG_TXT[0], BIG_TXT[29]], "server": server},
            {"id": "small", "dns": "small.test", "expect": ["192.0.2.1"], "server": server},
        ])
    assert got["big"]["healthy"] is True, got["big"]
    assert got["small"]["healthy"] is True, got["small"]
    assert dns.edns == [4096, 4096]
    # Only the answer that did not fit was asked again over TCP.
    assert dns.tcp_queries == [("big.test", "TXT")]


def test_a_truncated_answer_without_tcp_says_so(agent_bin: Path, tmp_path: Path) -> None:
    with DNSServer({("cut.test", "TXT"): ["v=spf1 -all"]}, truncate={"cut.test"}) as dns:
        got = statuses(agent_bin, tmp_path, [
            {"id": "cut", "dns": "cut.test", "type": "TXT", "expect": ["v=spf1 -all"],
             "server": f"127.0.0.1:{dns.port}"},
        ])
    assert got["cut"]["healthy"] is False
    assert got["cut"]["error"] == \
        "answer truncated (TC) over UDP, and asking again over TCP failed: connection refused", got["cut"]


def test_a_server_that_is_not_listening_is_refused_at_once(agent_bin: Path, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = statuses(agent_bin, tmp_path, [{"id": "x", "dns": "example.test", "server": f"127.0.0.1:{port}"}])
    assert got["x"]["healthy"] is False
    assert got["x"]["error"] == "connection refused"


@pytest.mark.parametrize(("check", "mentions"), [
    ({"id": "a", "dns": ""}, ["services[0].dns", "empty"]),
    ({"id": "a", "dns": "a..b"}, ["services[0].dns", "empty label"]),
    ({"id": "a", "dns": "bad name.test"}, ["services[0].dns", "space"]),
    ({"id": "a", "dns": "x.test", "type": "SRVX"}, ["services[0].type", "SRVX", "A, AAAA"]),
    ({"id": "a", "dns": "x.test", "expect": ["not-an-ip"]}, ["services[0].expect", "not an IPv4 address"]),
    ({"id": "a", "dns": "x.test", "type": "AAAA", "expect": ["1.2.3.4"]}, ["services[0].expect", "IPv6"]),
    ({"id": "a", "dns": "x.test", "server": "10.0.0.1:99999"}, ["services[0].server", "99999"]),
    ({"id": "a", "dns": "x.test", "ping": "10.0.0.1"}, ["services[0].dns", "both set"]),
    ({"id": "a", "url": "http://x", "expect": ["1.2.3.4"]}, ["services[0].expect", "only a \"dns\" check"]),
])
def test_a_bad_dns_entry_stops_the_agent_naming_it(agent_bin: Path, tmp_path: Path, check: dict,
                                                     mentions: list[str]) -> None:
    result = collect(agent_bin, tmp_path, [check])
    assert result.returncode != 0
    for text in mentions:
        assert text in result.stderr, result.stderr
